"""Builders for warehouse rows (small, exact data)."""

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.db import connection

from warehouse.models import StockData

# 10:00 IST on a trading day: clear of the UTC/IST date boundary.
T0 = datetime(2026, 11, 20, 4, 30, tzinfo=UTC)

requires_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL-only feature (COPY, pg_indexes, server-side errors)"
)


def own_connection(*, autocommit: bool = True) -> psycopg.Connection:
    """A connection of our own to the test database (beside Django's): another session."""
    s = connection.settings_dict
    return psycopg.connect(
        host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or 5432,
        user=s["USER"],
        password=s["PASSWORD"] or None,
        dbname=s["NAME"],
        autocommit=autocommit,
    )


def rows_per_partition(table: str) -> dict[str, int]:
    """How many rows of ``table`` each of its partitions holds (partitions without rows absent)."""
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT tableoid::regclass::text, count(*) FROM "{table}" GROUP BY 1')
        return dict(cursor.fetchall())


def stock_record(i: int = 0, **overrides) -> dict:
    record = {
        "ticker": "RELIANCE",
        "source": "nse_api",
        "timestamp": (T0 + timedelta(minutes=i)).isoformat(),
        "price": 2500.0 + i,
        "volume": 1000 * (i + 1),
        "change_percent": 1.25,
        "raw_data": {"lastPrice": 2500.0 + i},
    }
    record.update(overrides)
    return record


def social_record(i: int = 0, **overrides) -> dict:
    record = {
        "ticker": "INFY",
        "platform": "twitter",
        "external_id": f"tw-{i}",
        "text": f"$INFY looks strong {i}",
        "sentiment": "positive",
        "sentiment_score": 0.5,
        "is_pump_signal": False,
        "pump_score": 0.1,
        "channel": "",
        "author": "someone",
        "views": 10,
        "timestamp": (T0 + timedelta(minutes=i)).isoformat(),
        "metadata": {"lang": "en"},
    }
    record.update(overrides)
    return record


def bar_record(**overrides) -> dict:
    record = {
        "ticker": "TCS",
        "series": "EQ",
        "date": "2026-11-19",
        "source": "nse_bhavcopy",
        "isin": "INE467B01029",
        "open": "4000.5",
        "high": "4050",
        "low": "3990.05",
        "close": "4021.1",
        "last": "4020",
        "prev_close": "3999.95",
        "volume": 1234567,
        "value": "4964738291.55",
        "trades": 45678,
        "delivery_qty": 600000,
        "delivery_pct": "48.6",
    }
    record.update(overrides)
    return record


def stock_keys() -> list[tuple]:
    return list(StockData.objects.order_by("ticker", "timestamp").values_list("ticker", "series", "timestamp"))
