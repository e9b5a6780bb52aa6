"""The seed's indexes exist on PostgreSQL (the stock table's key doubling as its history index), and the
ticker master starts with the NIFTY 50."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.warehouse.conftest import requires_postgres
from warehouse.models import StockData, Ticker
from warehouse.selectors.frames import _price_values
from warehouse.selectors.rows import stock_rows

pytestmark = pytest.mark.django_db


def _indexes(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [table])
        return [row[0] for row in cursor.fetchall()]


@requires_postgres
def test_the_seeds_indexes_exist_in_pg_indexes():
    stock = _indexes("stock_data_warehouse")
    social = _indexes("social_mentions_warehouse")
    # The seed's (ticker, timestamp DESC) index on the stock table is its natural key since migration 0011:
    # one b-tree, led by the ticker and the time, covering what the historical query reads.
    key = 'UNIQUE INDEX stock_natural_key ON ONLY public.stock_data_warehouse USING btree (ticker, "timestamp", '
    assert any(
        d.startswith(f"CREATE {key}series, exchange, source) INCLUDE (price, volume, change_percent)") for d in stock
    ), stock
    assert not any('(ticker, "timestamp" DESC)' in d for d in stock), stock  # no second b-tree to update per row
    assert any("(processed_at DESC)" in d for d in stock), stock
    assert any('(ticker, "timestamp" DESC)' in d for d in social), social
    assert any("(processed_at DESC)" in d for d in social), social
    assert any('(platform, "timestamp" DESC)' in d for d in social), social
    assert any("UNIQUE" in d and '(platform, external_id, ticker, "timestamp")' in d for d in social), social


@requires_postgres
def test_the_history_query_is_answered_from_the_natural_key_alone():
    """The 30-day query of ``historical_prices`` can be an index-only scan of the key (its INCLUDE columns),
    in the selector's order (no sort), on every partition it reads."""
    now = timezone.now()
    StockData.objects.bulk_create(
        StockData(ticker="TCS", price=4000 + k, volume=10 * k, timestamp=now - timedelta(days=k), source="nse_api")
        for k in range(40)
    )
    rows = stock_rows(ticker="TCS", days=30).order_by("timestamp", "series", "exchange", "source")
    sql, params = _price_values(rows, "timestamp").query.sql_with_params()
    with connection.cursor() as cursor:
        # Only what an index alone can answer is left to the planner (a table this small would be scanned).
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    nodes = [line.strip().removeprefix("->").strip() for line in plan.splitlines()]
    scans = [node for node in nodes if re.match(r"[\w ]*Scan\b", node)]
    # A partition's copy of the key is named after its columns, ending in "_key" (an index would end "_idx").
    assert scans, plan
    assert all(re.match(r"Index Only Scan using stock_data_warehouse_\w+_key on ", s) for s in scans), plan
    assert not [node for node in nodes if re.match(r"(Incremental )?Sort +\(", node)], plan  # the key's own order


@requires_postgres
def test_json_columns_are_jsonb():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE column_name IN ('raw_data', 'metadata') AND table_name LIKE '%%_warehouse' ORDER BY 1"
        )
        assert cursor.fetchall() == [
            ("social_mentions_warehouse", "metadata", "jsonb"),
            ("stock_data_warehouse", "raw_data", "jsonb"),
        ]


def test_the_ticker_master_starts_with_the_nifty_50_as_active_nse_tickers():
    assert Ticker.objects.filter(exchange="NSE", active=True, series="EQ").count() == 50
    assert Ticker.objects.get(symbol="RELIANCE").name == "Reliance Industries Ltd."
    assert Ticker.objects.filter(symbol__in=["M&M", "BAJAJ-AUTO", "TCS", "INFY", "HDFCBANK"]).count() == 5
    assert not Ticker.objects.exclude(isin="").exists()
