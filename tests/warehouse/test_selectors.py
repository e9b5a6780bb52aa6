"""DataFrame queries and stats."""

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from django.db import connection
from django.utils import timezone

from tests.warehouse.conftest import bar_record, requires_postgres, social_record, stock_record
from warehouse import selectors
from warehouse.services import warehouse

pytestmark = pytest.mark.django_db


def _recent(minutes_ago: int, **overrides) -> dict:
    ts = timezone.now().replace(microsecond=0) - timedelta(minutes=minutes_ago)
    return stock_record(0, timestamp=ts.isoformat(), price=1000.0 + minutes_ago, **overrides)


def test_historical_data_is_a_dataframe_ordered_by_time_within_the_window():
    warehouse.insert_stock_data([_recent(5), _recent(60 * 24 * 3), _recent(60 * 24 * 40), _recent(1, ticker="TCS")])
    frame = warehouse.get_historical_stock_data("reliance", days=30)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == [
        "timestamp",
        "ticker",
        "series",
        "exchange",
        "source",
        "price",
        "volume",
        "change_percent",
    ]
    assert frame["price"].tolist() == [1000.0 + 60 * 24 * 3, 1005.0]
    assert frame["timestamp"].is_monotonic_increasing
    assert str(frame["timestamp"].dt.tz) == "Asia/Kolkata"


def test_historical_data_gives_every_stored_value_back_exactly():
    # PostgreSQL sends these rows in binary (times as microseconds since 2000-01-01): the frame must
    # hold the stored instants to the microsecond, before 2000 too, and every column as stored.
    ist = timezone.get_fixed_timezone(330)
    stored = [
        stock_record(0, timestamp="1999-12-31T23:59:59.999999+00:00", price=101.5, volume=None, change_percent=None),
        stock_record(0, timestamp="2024-06-03T09:15:00.123456+05:30", price=2500.05, volume=7, change_percent=-4.2),
        stock_record(0, timestamp="2024-06-03T09:15:00.123456+05:30", price=2500.1, series="BE", source="nse_bhavcopy"),
    ]
    warehouse.insert_stock_data(stored)
    frame = selectors.historical_prices(ticker="reliance", start=date(1999, 12, 1), end=date(2024, 6, 30))
    assert [t.to_pydatetime() for t in frame["timestamp"]] == [
        datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2024, 6, 3, 9, 15, 0, 123456, tzinfo=ist),
        datetime(2024, 6, 3, 9, 15, 0, 123456, tzinfo=ist),
    ]
    assert str(frame["timestamp"].dt.tz) == "Asia/Kolkata"
    assert frame["ticker"].tolist() == ["RELIANCE"] * 3
    assert frame["series"].tolist() == ["EQ", "BE", "EQ"]  # same instant: ordered by series
    assert frame["source"].tolist() == ["nse_api", "nse_bhavcopy", "nse_api"]
    assert frame["exchange"].tolist() == ["NSE"] * 3
    assert frame["price"].tolist() == [101.5, 2500.1, 2500.05]
    assert frame["volume"].tolist() == [pd.NA, 1000, 7]
    assert frame["change_percent"].isna().tolist() == [True, False, False]
    assert frame["change_percent"].tolist()[1:] == [1.25, -4.2]


def test_an_invalid_ticker_raises_a_clear_value_error():
    with pytest.raises(ValueError, match="invalid ticker 'DROP TABLE;'"):
        warehouse.get_historical_stock_data("DROP TABLE;")
    with pytest.raises(ValueError, match="days must be a whole number from 1 to 3650"):
        warehouse.get_historical_stock_data("TCS", days=0)


def test_an_empty_history_is_an_empty_frame_with_the_columns():
    frame = warehouse.get_historical_stock_data("TCS")
    assert frame.empty
    assert "price" in frame.columns


def test_social_mentions_filter_by_platform():
    now = timezone.now()
    warehouse.insert_social_data(
        [
            social_record(0, timestamp=now.isoformat()),
            social_record(1, platform="telegram", timestamp=now.isoformat()),
            social_record(2, timestamp=(now - timedelta(days=10)).isoformat()),
        ]
    )
    assert len(warehouse.get_social_mentions("INFY", days=7)) == 2
    frame = warehouse.get_social_mentions("$infy", days=7, platform="telegram")
    assert frame["external_id"].tolist() == ["tw-1"]


def test_daily_bars_come_back_oldest_first_between_dates():
    warehouse.insert_daily_bars([bar_record(date=f"2026-11-{d}") for d in (17, 18, 19)])
    frame = warehouse.get_daily_bars("TCS", date(2026, 11, 18), date(2026, 11, 19))
    assert [d.isoformat() for d in frame["date"]] == ["2026-11-18", "2026-11-19"]
    assert frame["close"].tolist() == [4021.1, 4021.1]


def test_stats_count_each_table_and_name_the_storage():
    warehouse.insert_stock_data([stock_record(0), stock_record(1, ticker="TCS")])
    stats = warehouse.get_stats()
    assert stats["storage_type"] == ("postgresql" if connection.vendor == "postgresql" else "sqlite")
    assert stats["stock_data"]["records"] == 2
    assert stats["stock_data"]["distinct_tickers"] == 2
    assert (
        stats["stock_data"]["newest"]
        == datetime(2026, 11, 20, 4, 31, tzinfo=UTC).astimezone(timezone.get_default_timezone()).isoformat()
    )
    assert stats["social_mentions"]["records"] == 0
    assert stats["tickers"]["total"] == 50  # the NIFTY 50 seed
    assert stats["stock_data"]["records_estimated"] is False  # a small table is counted exactly


@requires_postgres
def test_stats_of_a_large_table_estimate_the_count_but_keep_tickers_and_times_exact(monkeypatch):
    from warehouse.selectors import stats as stats_module

    warehouse.insert_stock_data([stock_record(i, ticker=t) for i in range(3) for t in ("INFY", "TCS", "RELIANCE")])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE stock_data_warehouse")  # what autovacuum keeps up to date
    monkeypatch.setattr(stats_module, "EXACT_COUNT_BELOW", 5)
    stock = warehouse.get_stats()["stock_data"]
    assert (stock["records"], stock["records_estimated"], stock["distinct_tickers"]) == (9, True, 3)
    assert (
        stock["oldest"]
        == datetime(2026, 11, 20, 4, 30, tzinfo=UTC).astimezone(timezone.get_default_timezone()).isoformat()
    )
    assert (
        stock["newest"]
        == datetime(2026, 11, 20, 4, 32, tzinfo=UTC).astimezone(timezone.get_default_timezone()).isoformat()
    )


@requires_postgres
def test_stats_of_a_partitioned_table_find_the_newest_and_oldest_time_in_any_partition():
    """The times are read a partition at a time (the newest and oldest months with rows, and the default
    partition, which may hold any time): they must agree with a plain aggregate over the whole table."""
    from warehouse.models import StockData
    from warehouse.selectors import stats as stats_module
    from warehouse.services.partitions import partitions_ensure

    months = [date(2026, m, 1) for m in (8, 9, 10, 11, 12)] + [date(2027, 1, 1)]  # the last two stay empty
    partitions_ensure(months=months, tables=["stock_data_warehouse"])
    at = [("INFY", "2026-09-10T04:00:00+00:00"), ("TCS", "2026-11-20T04:30:00+00:00")]
    at += [("RELIANCE", "2026-10-05T04:00:00+00:00"), ("INFY", "2026-11-03T09:00:00+00:00")]
    warehouse.insert_stock_data([stock_record(0, ticker=t, timestamp=ts) for t, ts in at])

    def both() -> tuple[dict, dict]:
        return stats_module._pg_table(StockData, "timestamp"), stats_module._orm_table(StockData, "timestamp")

    partitioned, plain = both()
    assert partitioned == plain
    assert (partitioned["distinct_tickers"], partitioned["records"]) == (3, 4)
    assert (
        partitioned["oldest"]
        == datetime(2026, 9, 10, 4, tzinfo=UTC).astimezone(timezone.get_default_timezone()).isoformat()
    )
    assert (
        partitioned["newest"]
        == datetime(2026, 11, 20, 4, 30, tzinfo=UTC).astimezone(timezone.get_default_timezone()).isoformat()
    )
    # Strays in the default partition (months no load makes: beyond those kept ahead, before 1990), newer and
    # older than everything else.
    warehouse.insert_stock_data(
        [
            stock_record(0, ticker="WIPRO", timestamp="2031-01-02T04:00:00+00:00"),
            stock_record(0, ticker="WIPRO", timestamp="1989-03-04T04:00:00+00:00"),
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM stock_data_warehouse_default")
        assert cursor.fetchone()[0] == 2
    partitioned, plain = both()
    assert partitioned == plain
    assert partitioned["distinct_tickers"] == 4
    assert partitioned["newest"].startswith("2031-01-02")
    assert partitioned["oldest"].startswith("1989-03-04")
