"""The seed's indexes exist on PostgreSQL, and the ticker master starts with the NIFTY 50."""

import pytest
from django.db import connection

from tests.warehouse.conftest import requires_postgres
from warehouse.models import Ticker

pytestmark = pytest.mark.django_db


def _indexes(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [table])
        return [row[0] for row in cursor.fetchall()]


@requires_postgres
def test_the_seeds_indexes_exist_in_pg_indexes():
    stock = _indexes("stock_data_warehouse")
    social = _indexes("social_mentions_warehouse")
    assert any('(ticker, "timestamp" DESC)' in d for d in stock), stock
    assert any("(processed_at DESC)" in d for d in stock), stock
    assert any('(ticker, "timestamp" DESC)' in d for d in social), social
    assert any("(processed_at DESC)" in d for d in social), social
    assert any('(platform, "timestamp" DESC)' in d for d in social), social
    assert any("UNIQUE" in d and '(ticker, series, exchange, source, "timestamp")' in d for d in stock), stock
    assert any("UNIQUE" in d and '(platform, external_id, ticker, "timestamp")' in d for d in social), social


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
