"""What the warehouse holds: counts per table, distinct tickers, the oldest and newest times."""

from __future__ import annotations

from django.db import connection
from django.db.models import Count, Max

from warehouse.models import DailyBar, DailySocial, SocialMention, StockData, Ticker
from warehouse.selectors.times import iso_local

# On PostgreSQL a table that holds at least this many rows by the planner's own estimate (pg_class,
# kept by autovacuum) reports that estimate: an exact count reads every row (10.7 s at 50M quotes).
EXACT_COUNT_BELOW = 1_000_000


def storage_type() -> str:
    return "postgresql" if connection.vendor == "postgresql" else connection.vendor


def warehouse_stats() -> dict:
    """Counts per table, distinct tickers, the newest and oldest times, and the storage type.

    ``records_estimated`` is true when ``records`` is PostgreSQL's estimate of a large table (see
    ``EXACT_COUNT_BELOW``); tickers and times are always exact.
    """
    table = _pg_table if connection.vendor == "postgresql" else _orm_table
    return {
        "storage_type": storage_type(),
        "stock_data": table(StockData, "timestamp"),
        "social_mentions": table(SocialMention, "timestamp"),
        "daily_bars": table(DailyBar, "date"),
        "daily_social": table(DailySocial, "date"),
        "tickers": {
            "total": Ticker.objects.count(),
            "active": Ticker.objects.filter(active=True).count(),
        },
    }


def _orm_table(model, time_field: str) -> dict:
    agg = model.objects.aggregate(records=Count("id"), newest=Max(time_field))
    oldest = model.objects.order_by(time_field).values_list(time_field, flat=True).first()
    return {
        "records": agg["records"],
        "records_estimated": False,
        "distinct_tickers": model.objects.order_by().values("ticker").distinct().count(),
        "newest": iso_local(agg["newest"]),
        "oldest": iso_local(oldest),
    }


def _pg_table(model, time_field: str) -> dict:
    """The same figures without reading every row: the tickers by a skip scan of the (ticker, time)
    index every warehouse table has (one probe per ticker and partition), each ticker's newest and
    oldest time from the same index, and the row count estimated for large tables."""
    name = model._meta.db_table
    table, when = connection.ops.quote_name(name), connection.ops.quote_name(model._meta.get_field(time_field).column)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(greatest(c.reltuples, 0)), 0) FROM pg_partition_tree(%s::regclass) p "
            "JOIN pg_class c ON c.oid = p.relid WHERE p.isleaf",
            [name],
        )
        records = int(cursor.fetchone()[0])
        estimated = records >= EXACT_COUNT_BELOW
        if not estimated:
            cursor.execute(f"SELECT count(*) FROM {table}")
            records = cursor.fetchone()[0]
        cursor.execute(
            f"""WITH RECURSIVE tickers(ticker) AS (
                (SELECT ticker FROM {table} ORDER BY ticker LIMIT 1)
                UNION ALL
                SELECT (SELECT s.ticker FROM {table} s WHERE s.ticker > t.ticker ORDER BY s.ticker LIMIT 1)
                FROM tickers t WHERE t.ticker IS NOT NULL
            )
            SELECT count(*), max(n.newest), min(o.oldest) FROM tickers t
            CROSS JOIN LATERAL (SELECT s.{when} AS newest FROM {table} s
                                WHERE s.ticker = t.ticker ORDER BY s.{when} DESC LIMIT 1) n
            CROSS JOIN LATERAL (SELECT s.{when} AS oldest FROM {table} s
                                WHERE s.ticker = t.ticker ORDER BY s.{when} LIMIT 1) o
            WHERE t.ticker IS NOT NULL"""
        )
        tickers, newest, oldest = cursor.fetchone()
    return {
        "records": records,
        "records_estimated": estimated,
        "distinct_tickers": tickers,
        "newest": iso_local(newest),
        "oldest": iso_local(oldest),
    }
