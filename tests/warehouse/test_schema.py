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
from warehouse.selectors.rows import bar_rows, social_rows, stock_rows

pytestmark = pytest.mark.django_db


def _indexes(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [table])
        return [row[0] for row in cursor.fetchall()]


@requires_postgres
def test_the_seeds_indexes_exist_in_pg_indexes():
    stock = _indexes("stock_data_warehouse")
    social = _indexes("social_mentions_warehouse")
    # The seed's (ticker, timestamp DESC) indexes are the natural keys since migrations 0011 and 0012: one
    # b-tree each, led by the ticker and the time (on the stock table covering what the historical query
    # reads), and no second one to update per loaded row.
    stock_key = "UNIQUE INDEX stock_natural_key ON ONLY public.stock_data_warehouse USING btree "
    assert (
        f'CREATE {stock_key}(ticker, "timestamp", series, exchange, source) INCLUDE (price, volume, change_percent)'
        in stock
    ), stock
    social_key = "UNIQUE INDEX social_natural_key ON ONLY public.social_mentions_warehouse USING btree "
    assert f'CREATE {social_key}(ticker, "timestamp", platform, external_id)' in social, social
    for defs in (stock, social):
        assert not any('(ticker, "timestamp" DESC)' in d for d in defs), defs
        assert any("(processed_at DESC)" in d for d in defs), defs
    assert any('(platform, "timestamp" DESC)' in d for d in social), social
    assert [d for d in _indexes("daily_bars") if "(ticker" in d] == [
        "CREATE UNIQUE INDEX daily_bar_key ON public.daily_bars USING btree (ticker, date, series, exchange, source)"
    ]
    assert [d for d in _indexes("daily_social") if "(ticker" in d] == [
        "CREATE UNIQUE INDEX daily_social_key ON public.daily_social USING btree (ticker, date, platform)"
    ]


def _plan_nodes(sql: str, params, *, index_only: bool = False) -> list[str]:
    """The plan's nodes when only what an index answers is left to the planner (it would scan tables this
    small); ``index_only``: what an index answers alone."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        if index_only:
            cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return [row[0].strip().removeprefix("->").strip() for row in cursor.fetchall()]


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
    nodes = _plan_nodes(*_price_values(rows, "timestamp").query.sql_with_params(), index_only=True)
    scans = [node for node in nodes if re.match(r"[\w ]*Scan\b", node)]
    # A partition's copy of the key is named after its columns, ending in "_key" (and a number when the name is
    # cut to 63 characters and clashes); an index's name would end in "_idx".
    assert scans, nodes
    assert all(re.match(r"Index Only Scan using stock_data_warehouse_\w+_key\d* on ", s) for s in scans), nodes
    assert not [node for node in nodes if re.match(r"(Incremental )?Sort +\(", node)], nodes  # the key's own order


@requires_postgres
@pytest.mark.parametrize(
    "rows",
    [
        lambda: social_rows(ticker="TCS", days=7),
        lambda: bar_rows(ticker="TCS"),
        lambda: bar_rows(ticker="TCS", start=timezone.localdate() - timedelta(days=30)),
    ],
    ids=["social_rows", "bar_rows", "bar_rows_from"],
)
def test_a_tickers_window_is_read_through_the_natural_key(rows):
    nodes = _plan_nodes(*rows().query.sql_with_params())
    scans = [node for node in nodes if re.match(r"[\w ]*Scan\b", node)]
    assert scans, nodes
    # The social key's copies on the partitions are named after its columns (ticker first), as above.
    key = r"(social_mentions_warehouse_\w+_ticker_timestamp_platform_\w*_key\d*|daily_bar_key)"
    assert all(re.match(rf"Index Scan( Backward)? using {key} on ", s) for s in scans), nodes


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
