"""The bulk loader: counts, idempotency, cleaning, and the row-by-row fallback (both databases)."""

from datetime import date
from decimal import Decimal

import pandas as pd
import pytest

from tests.warehouse.conftest import T0, bar_record, requires_postgres, social_record, stock_record
from warehouse.models import DailyBar, SocialMention, StockData
from warehouse.services import LoadResult, warehouse

pytestmark = pytest.mark.django_db


def test_it_loads_records_and_counts_each_row():
    result = warehouse.insert_stock_data([stock_record(i) for i in range(5)])
    assert isinstance(result, LoadResult)
    assert (result.inserted, result.duplicates, result.rejected, result.errors) == (5, 0, 0, [])
    assert result.dates == {date(2026, 11, 20)}
    assert StockData.objects.count() == 5
    row = StockData.objects.get(timestamp=T0)
    assert (row.ticker, row.series, row.exchange, row.source) == ("RELIANCE", "EQ", "NSE", "nse_api")
    assert (row.price, row.volume, row.change_percent) == (Decimal("2500.00"), 1000, Decimal("1.25"))
    assert row.raw_data == {"lastPrice": 2500.0}
    assert row.processed_at is not None


def test_raw_data_with_keys_that_are_no_strings_is_kept_with_text_keys():
    record = {**stock_record(0), "raw_data": {"lastPrice": 2500.0, "depth": {1: 2499.5, 2: 2499.0}}}
    assert warehouse.insert_stock_data([record]).inserted == 1
    assert StockData.objects.get().raw_data == {"lastPrice": 2500.0, "depth": {"1": 2499.5, "2": 2499.0}}


def test_loading_the_same_batch_twice_changes_nothing():
    batch = [stock_record(i) for i in range(4)]
    warehouse.insert_stock_data(batch)
    before = list(StockData.objects.order_by("id").values())
    again = warehouse.insert_stock_data(batch)
    assert (again.inserted, again.duplicates, again.rejected) == (0, 4, 0)
    assert again.dates == {date(2026, 11, 20)}
    assert list(StockData.objects.order_by("id").values()) == before


def test_a_half_new_batch_inserts_only_the_new_half():
    warehouse.insert_stock_data([stock_record(i) for i in range(0, 6, 2)])
    result = warehouse.insert_stock_data([stock_record(i) for i in range(6)])
    assert (result.inserted, result.duplicates) == (3, 3)
    assert StockData.objects.count() == 6


def test_rows_repeating_a_key_within_one_batch_count_as_duplicates():
    result = warehouse.insert_stock_data([stock_record(0), stock_record(0, price=1.0), stock_record(1)])
    assert (result.inserted, result.duplicates) == (2, 1)
    assert StockData.objects.get(timestamp=T0).price == Decimal("2500.00")


def test_it_loads_a_dataframe_with_real_timestamps():
    frame = pd.DataFrame([stock_record(i) for i in range(3)])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    result = warehouse.insert_stock_data(frame)
    assert (result.inserted, result.rejected) == (3, 0)
    assert sorted(StockData.objects.values_list("price", flat=True)) == [
        Decimal("2500.00"),
        Decimal("2501.00"),
        Decimal("2502.00"),
    ]


def test_it_normalises_tickers_and_fills_series_and_exchange_defaults():
    warehouse.insert_stock_data(
        [
            stock_record(0, ticker="$tcs"),
            stock_record(1, ticker="infy.ns", series=None, exchange=""),
            stock_record(2, ticker=" #wipro ", series="be"),
        ]
    )
    assert sorted(StockData.objects.values_list("ticker", "series", "exchange")) == [
        ("INFY", "EQ", "NSE"),
        ("TCS", "EQ", "NSE"),
        ("WIPRO", "BE", "NSE"),
    ]


def test_the_same_symbol_in_two_series_is_two_rows():
    result = warehouse.insert_stock_data([stock_record(0, series="EQ"), stock_record(0, series="BE", price=2400.0)])
    assert result.inserted == 2


def test_naive_timestamps_are_read_as_india_time():
    warehouse.insert_stock_data([stock_record(0, timestamp="2026-11-20 10:00:00")])
    assert StockData.objects.get().timestamp == T0


def test_a_row_late_in_the_utc_day_belongs_to_the_next_india_day():
    result = warehouse.insert_stock_data([stock_record(0, timestamp="2026-11-20T20:00:00+00:00")])
    assert result.dates == {date(2026, 11, 21)}


def test_it_refuses_records_it_cannot_store_and_says_why():
    batch = [
        stock_record(0),
        stock_record(1, ticker="RELIANCE;DROP"),
        stock_record(2, ticker=None),
        stock_record(3, timestamp="yesterday-ish"),
        stock_record(4, price=None),
        stock_record(5, price="abc"),
        stock_record(6, volume=1.5),
        stock_record(7, source=""),
    ]
    result = warehouse.insert_stock_data(batch)
    assert (result.inserted, result.duplicates, result.rejected) == (1, 0, 7)
    reasons = {e.record["timestamp"]: e.error for e in result.errors}
    assert reasons[batch[1]["timestamp"]].startswith("ticker: invalid ticker 'RELIANCE;DROP'")
    assert reasons[batch[2]["timestamp"]] == "ticker: missing"
    assert reasons["yesterday-ish"] == "timestamp: missing or not a date-time"
    assert reasons[batch[4]["timestamp"]] == "price: missing or not a finite number"
    assert reasons[batch[5]["timestamp"]] == "price: missing or not a finite number"
    assert reasons[batch[6]["timestamp"]] == "volume: not a whole number"
    assert reasons[batch[7]["timestamp"]] == "source: missing"
    assert [e.record for e in result.errors if e.record["ticker"] == "RELIANCE;DROP"] == [batch[1]]
    assert StockData.objects.count() == 1


def test_an_empty_batch_does_nothing():
    assert warehouse.insert_stock_data([]) == LoadResult()
    assert warehouse.insert_stock_data(pd.DataFrame()) == LoadResult()
    assert StockData.objects.count() == 0


@requires_postgres
def test_a_bad_row_falls_back_to_row_by_row_so_the_good_rows_load():
    batch = [stock_record(i) for i in range(5)]
    batch[2]["change_percent"] = 123456.0  # NUMERIC(6,2) overflows
    result = warehouse.insert_stock_data(batch)
    assert (result.inserted, result.duplicates, result.rejected) == (4, 0, 1)
    assert result.errors[0].record == batch[2]
    assert result.errors[0].error.startswith("numeric field overflow")
    assert StockData.objects.count() == 4
    assert not StockData.objects.filter(timestamp=batch[2]["timestamp"]).exists()
    # The fallback is idempotent too: the same batch again inserts nothing and refuses the same row.
    again = warehouse.insert_stock_data(batch)
    assert (again.inserted, again.duplicates, again.rejected) == (0, 4, 1)


@requires_postgres
def test_a_nul_byte_in_text_is_dropped_and_the_row_loads():
    # PostgreSQL's text refuses NUL: it is dropped before the column (issue 11, item 4), the lake keeps it.
    batch = [social_record(i) for i in range(3)]
    batch[1]["text"] = "pump\x00it"
    result = warehouse.insert_social_data(batch)
    assert (result.inserted, result.rejected) == (3, 0)
    assert SocialMention.objects.get(external_id="tw-1").text == "pumpit"


@requires_postgres
def test_a_bad_row_in_a_batch_that_clashes_with_stored_rows_still_loads_the_rest():
    warehouse.insert_stock_data([stock_record(0)])
    batch = [stock_record(i) for i in range(3)]
    batch[1]["series"] = "TOO-LONG-SERIES"
    result = warehouse.insert_stock_data(batch)
    assert (result.inserted, result.duplicates, result.rejected) == (1, 1, 1)
    assert result.errors[0].error.startswith("value too long for type character varying(8)")


def test_social_rows_are_keyed_by_platform_message_and_ticker():
    batch = [social_record(0), social_record(0, ticker="TCS"), social_record(0, platform="telegram")]
    result = warehouse.insert_social_data(batch)
    assert (result.inserted, result.duplicates) == (3, 0)
    assert warehouse.insert_social_data(batch).duplicates == 3
    row = SocialMention.objects.get(ticker="INFY", platform="twitter")
    assert (row.sentiment, row.sentiment_score, row.is_pump_signal, row.views) == ("positive", 0.5, False, 10)
    assert row.metadata == {"lang": "en"}


def test_social_rows_whose_metadata_is_not_an_object_are_refused_with_the_reason():
    batch = [
        social_record(0, metadata=["pump_rules", "upper_circuit"]),
        social_record(1, metadata="upper_circuit"),
        social_record(2, metadata=7),
        social_record(3, metadata='{"lang": "hi"}'),  # JSON text of an object: kept
        social_record(4, metadata=None),
    ]
    result = warehouse.insert_social_data(batch)
    assert result.inserted == 2
    assert [(e.record["external_id"], e.error) for e in result.errors] == [
        (social_record(n)["external_id"], "metadata: expected a JSON object") for n in range(3)
    ]
    assert SocialMention.objects.get(external_id=social_record(3)["external_id"]).metadata == {"lang": "hi"}


def test_social_rows_with_an_unknown_sentiment_are_refused():
    result = warehouse.insert_social_data([social_record(0, sentiment="ecstatic"), social_record(1, sentiment=None)])
    assert result.inserted == 1
    assert [e.error for e in result.errors] == ["sentiment: expected positive, neutral or negative"]
    assert SocialMention.objects.get().sentiment == "neutral"


def test_daily_bars_load_exact_decimals_and_only_once():
    result = warehouse.insert_daily_bars([bar_record(), bar_record(series="BE", delivery_qty=None, delivery_pct=" ")])
    assert (result.inserted, result.duplicates, result.rejected) == (2, 0, 0)
    assert result.dates == {date(2026, 11, 19)}
    bar = DailyBar.objects.get(series="EQ")
    assert (bar.open, bar.close, bar.value, bar.delivery_pct) == (
        Decimal("4000.5"),
        Decimal("4021.1"),
        Decimal("4964738291.55"),
        Decimal("48.6"),
    )
    assert (bar.volume, bar.trades, bar.isin) == (1234567, 45678, "INE467B01029")
    assert DailyBar.objects.get(series="BE").delivery_qty is None
    again = warehouse.insert_daily_bars([bar_record()])
    assert (again.inserted, again.duplicates) == (0, 1)


def test_daily_bars_of_floats_keep_the_digits_as_parsed_and_refuse_infinite_prices():
    # What the bhavcopy parser gives: floats, NaN for "-"; a float column is stored as its shortest repr.
    good = bar_record(open=4000.5, close=4021.1, value=4964738291.55, delivery_pct=float("nan"))
    infinite = bar_record(ticker="INFY", open=float("inf"), close=1.25, value=1.0, delivery_pct=1.0)
    result = warehouse.insert_daily_bars(pd.DataFrame([good, infinite]))
    assert (result.inserted, result.rejected) == (1, 1)
    assert [e.error for e in result.errors] == ["open: not a finite number"]
    bar = DailyBar.objects.get()
    assert (bar.open, bar.close, bar.value, bar.delivery_pct) == (
        Decimal("4000.5"),
        Decimal("4021.1"),
        Decimal("4964738291.55"),
        None,
    )


def test_rows_prepared_ahead_load_as_the_records_would():
    from warehouse.services import stock_rows_load, stock_rows_prepare
    from warehouse.services.loader import DAILY, rows_load

    prepared = stock_rows_prepare(records=[stock_record(i) for i in range(3)] + [stock_record(3, price="abc")])
    assert StockData.objects.count() == 0  # preparing touches no database
    result = stock_rows_load(prepared=prepared)
    assert (result.inserted, result.rejected) == (3, 1)
    assert result.errors[0].error == "price: missing or not a finite number"
    assert result.errors[0].record["ticker"] == "RELIANCE"
    assert result.dates == {date(2026, 11, 20)}
    assert stock_rows_load(prepared=stock_rows_prepare(records=[stock_record(0)])).duplicates == 1
    with pytest.raises(ValueError, match="rows prepared for stock_data_warehouse, not daily_bars"):
        rows_load(spec=DAILY, prepared=prepared)


def test_a_load_links_each_row_to_its_lake_object():
    warehouse.insert_stock_data([stock_record(0, lake_object_id=42), stock_record(1)])
    assert sorted(StockData.objects.values_list("lake_object_id", flat=True), key=str) == [42, None]


@requires_postgres
def test_work_offered_to_a_load_runs_once_while_the_server_takes_the_rows_in():
    """``core.overlap``: a replay reads the next group while the server works on this group's COPY."""
    from django.db import connection
    from psycopg.pq import TransactionStatus

    from core.overlap import meanwhile

    seen = []

    def work():
        # The COPY is still open on the connection (the server taking the rows in): nothing may use it.
        seen.append(connection.connection.info.transaction_status)

    with meanwhile(work):
        first = warehouse.insert_stock_data([stock_record(i) for i in range(50)])
        second = warehouse.insert_stock_data([stock_record(i) for i in range(50, 60)])
    assert seen == [TransactionStatus.ACTIVE]  # once, inside the first load's COPY
    assert (first.inserted, second.inserted) == (50, 10)
    assert StockData.objects.count() == 60
    warehouse.insert_stock_data([stock_record(60)])  # outside the block: no work offered
    assert len(seen) == 1
