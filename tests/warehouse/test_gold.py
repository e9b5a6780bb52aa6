"""Gold refresh: daily social aggregates and quote-derived daily bars, incremental and idempotent."""

from datetime import date
from decimal import Decimal

import pytest

from tests.warehouse.conftest import bar_record, requires_postgres, social_record, stock_record
from warehouse.models import DailyBar, DailySocial, Ticker
from warehouse.services import gold, gold_refresh, warehouse

pytestmark = pytest.mark.django_db
DAY = date(2026, 11, 20)


def test_it_aggregates_a_days_mentions_per_ticker_and_platform():
    warehouse.insert_social_data(
        [
            social_record(0, sentiment_score=0.5, is_pump_signal=True, pump_score=0.9),
            social_record(1, sentiment_score=-0.1, pump_score=0.2),
            social_record(2, platform="telegram", sentiment_score=0.0),
            social_record(3, ticker="TCS", sentiment_score=0.25),
        ]
    )
    result = gold_refresh(dates={DAY})
    assert result.daily_social == 3
    rows = {
        (r.ticker, r.platform): (r.mentions, r.mean_sentiment, r.pump_signals, r.max_pump_score)
        for r in DailySocial.objects.filter(date=DAY)
    }
    assert rows == {
        ("INFY", "twitter"): (2, 0.2, 1, 0.9),
        ("INFY", "telegram"): (1, 0.0, 0, 0.1),
        ("TCS", "twitter"): (1, 0.25, 0, 0.1),
    }


def test_a_refresh_is_incremental_and_idempotent_and_keeps_the_pump_score():
    warehouse.insert_social_data([social_record(0), social_record(1, timestamp="2026-11-21T05:00:00+00:00")])
    gold_refresh(dates={DAY, date(2026, 11, 21)})
    DailySocial.objects.filter(date=DAY).update(pump_score=0.7)
    warehouse.insert_social_data([social_record(5), social_record(6, timestamp="2026-11-21T06:00:00+00:00")])
    gold_refresh(dates={DAY})
    gold_refresh(dates={DAY})
    assert DailySocial.objects.get(date=DAY).mentions == 2
    assert DailySocial.objects.get(date=DAY).pump_score == 0.7
    assert DailySocial.objects.get(date=date(2026, 11, 21)).mentions == 1  # not refreshed: untouched
    assert DailySocial.objects.count() == 2


def test_a_refresh_limited_to_tickers_leaves_the_others_alone():
    warehouse.insert_social_data([social_record(0), social_record(1, ticker="TCS")])
    gold_refresh(dates={DAY}, tickers=["$tcs"])
    assert list(DailySocial.objects.values_list("ticker", flat=True)) == ["TCS"]


@requires_postgres
def test_the_refresh_groups_with_more_memory_inside_its_own_transaction_only(monkeypatch):
    from django.db import connection

    def work_mem() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW work_mem")
            return cursor.fetchone()[0]

    seen, quote_days = [], gold._quote_days
    monkeypatch.setattr(gold, "_quote_days", lambda *args: seen.append(work_mem()) or quote_days(*args))
    before = work_mem()
    warehouse.insert_stock_data([stock_record(0, price=100.0)])
    gold_refresh(dates={DAY})
    assert seen == [gold.GOLD_WORK_MEM]  # (4 MB, the default, sorted 22 days of quotes on disk: bench/scale)
    assert work_mem() == before
    assert DailyBar.objects.get(ticker="RELIANCE", date=DAY).close == Decimal("100")


def test_it_builds_daily_bars_from_the_days_quotes():
    warehouse.insert_stock_data(
        [
            stock_record(0, price=100.0, volume=10),
            stock_record(1, price=110.0, volume=30),
            stock_record(2, price=95.0, volume=50),
            stock_record(3, price=105.0, volume=70, change_percent=5.0),
        ]
    )
    gold_refresh(dates={DAY})
    bar = DailyBar.objects.get(ticker="RELIANCE", date=DAY, source="nse_api")
    assert (bar.open, bar.high, bar.low, bar.close, bar.last) == (
        Decimal("100"),
        Decimal("110"),
        Decimal("95"),
        Decimal("105"),
        Decimal("105"),
    )
    assert bar.volume == 70  # NSE's quote volume is the day's running total
    assert bar.prev_close == Decimal("100.00")  # 105 is +5% on 100


def test_bars_follow_indias_day_and_keep_each_series_apart():
    warehouse.insert_stock_data(
        [
            # 18:00 UTC on the 19th is 23:30 in India: still the 19th; 19:00 UTC is 00:30 on the 20th.
            stock_record(0, price=90.0, timestamp="2026-11-19T18:00:00+00:00", change_percent=-10.0),
            stock_record(1, price=101.0, timestamp="2026-11-19T19:00:00+00:00", lake_object_id=7),
            stock_record(2, price=99.0, timestamp="2026-11-20T09:00:00+00:00", lake_object_id=9, change_percent=-1.0),
            stock_record(3, price=50.0, timestamp="2026-11-20T05:00:00+00:00", series="BE", change_percent=0.0),
        ]
    )
    gold_refresh(dates={date(2026, 11, 19), DAY})
    bars = {
        (b.series, b.date): (b.open, b.close, b.high, b.low, b.lake_object_id)
        for b in DailyBar.objects.filter(source="nse_api")
    }
    assert bars == {
        ("EQ", date(2026, 11, 19)): (Decimal("90"), Decimal("90"), Decimal("90"), Decimal("90"), None),
        ("EQ", DAY): (Decimal("101"), Decimal("99"), Decimal("101"), Decimal("99"), 9),
        ("BE", DAY): (Decimal("50"), Decimal("50"), Decimal("50"), Decimal("50"), None),
    }
    assert DailyBar.objects.get(series="EQ", date=DAY).prev_close == Decimal("90")
    assert DailyBar.objects.get(series="BE", date=DAY).prev_close == Decimal("50.00")  # 0% on the day


def test_the_previous_close_comes_from_the_previous_bar_when_there_is_one():
    warehouse.insert_stock_data(
        [stock_record(0, price=200.0, timestamp="2026-11-19T05:00:00+00:00"), stock_record(1, price=210.0)]
    )
    gold_refresh(dates={date(2026, 11, 19), DAY})
    assert DailyBar.objects.get(date=DAY).prev_close == Decimal("200")


def test_a_quote_bar_takes_the_days_figures_from_the_last_answer_not_the_quotes_we_happened_to_see():
    def answer(**figures):
        return {"shape": "getSymbolData", "symbol": "RELIANCE", "closePrice": 0, **figures}

    warehouse.insert_stock_data(
        [
            # Polling began at 10:00 IST: the day had opened at 2480 and dipped to 2470 before that.
            stock_record(0, price=2500.0, raw_data=answer(open=2480, dayHigh=2505, dayLow=2470, previousClose=2460)),
            # A trade above the answer's dayHigh (the answer lags the tick by a moment): the higher wins.
            stock_record(1, price=2512.0, raw_data=answer(open=2480, dayHigh=2508, dayLow=2470, previousClose=2460)),
            stock_record(
                2,
                price=2490.0,
                change_percent=1.5,
                raw_data=answer(open="2,480.00", dayHigh=2508, dayLow=2470, previousClose=2460.05),
            ),
        ]
    )
    gold_refresh(dates={DAY})
    bar = DailyBar.objects.get(date=DAY, source="nse_api")
    assert (bar.open, bar.high, bar.low, bar.close, bar.last, bar.prev_close) == (
        Decimal("2480"),
        Decimal("2512"),
        Decimal("2470"),
        Decimal("2490"),  # closePrice is 0 during the session: the last trade stands in
        Decimal("2490"),
        Decimal("2460.05"),  # the answer's, not 2490 / 1.015 = 2453.20 from the rounded change %
    )


def test_a_quote_seen_below_the_answers_low_is_the_low_and_an_absurd_figure_is_no_figure():
    figures = {"open": 101, "dayHigh": "1e30", "dayLow": 99.5, "previousClose": 12345678901, "closePrice": "NaN"}
    warehouse.insert_stock_data(
        [
            stock_record(0, price=99.0, raw_data=figures),
            stock_record(1, price=100.0, change_percent=0.0, raw_data=figures),
        ]
    )
    result = gold_refresh(dates={DAY})  # one bad answer must not fail the day's refresh
    assert result.daily_bars == 1
    bar = DailyBar.objects.get(date=DAY, source="nse_api")
    assert (bar.open, bar.high, bar.low, bar.close, bar.prev_close) == (
        Decimal("101"),
        Decimal("100"),  # "1e30" is no price: the quotes' high
        Decimal("99"),  # a trade below the answer's dayLow
        Decimal("100"),
        Decimal("100.00"),  # 12,345,678,901 does not fit a price: from the change % instead
    )


def test_figures_an_answer_does_not_have_yet_leave_the_observed_ones():
    pre_open = {"open": 0, "dayHigh": 0, "dayLow": 0, "previousClose": "-", "closePrice": None}
    warehouse.insert_stock_data([stock_record(0, price=100.0, change_percent=0.0, raw_data=pre_open)])
    gold_refresh(dates={DAY})
    bar = DailyBar.objects.get(date=DAY, source="nse_api")
    assert (bar.open, bar.high, bar.low, bar.close, bar.prev_close) == (
        Decimal("100"),
        Decimal("100"),
        Decimal("100"),
        Decimal("100"),
        Decimal("100.00"),
    )


def test_a_quote_bar_has_the_answers_isin_else_the_ticker_masters():
    Ticker.objects.update_or_create(symbol="RELIANCE", defaults={"series": "EQ", "isin": "INE002A01018"})
    # Not the series the quotes are of: its ISIN is not theirs.
    Ticker.objects.update_or_create(symbol="TCS", defaults={"series": "BE", "isin": "INE467B01029"})
    Ticker.objects.filter(symbol="INFY").update(isin="")
    # Known on another exchange only: that listing's ISIN is not the NSE bar's to take.
    Ticker.objects.filter(symbol="SBIN").update(isin="")
    Ticker.objects.update_or_create(symbol="SBIN", exchange="BSE", defaults={"series": "EQ", "isin": "INE062A01020"})
    warehouse.insert_stock_data(
        [
            stock_record(0, raw_data={"isin": "not an isin"}),
            stock_record(0, ticker="INFY", raw_data={"isin": "INE009A01021"}),
            stock_record(0, ticker="TCS"),
            stock_record(0, ticker="SBIN"),
        ]
    )
    gold_refresh(dates={DAY})
    isins = dict(DailyBar.objects.filter(date=DAY, source="nse_api").values_list("ticker", "isin"))
    assert isins == {"RELIANCE": "INE002A01018", "INFY": "INE009A01021", "TCS": "", "SBIN": ""}


def test_bhavcopy_bars_are_left_alone_by_the_quote_refresh():
    warehouse.insert_daily_bars([bar_record(ticker="RELIANCE", date=DAY.isoformat())])
    warehouse.insert_stock_data([stock_record(0)])
    gold_refresh(dates={DAY})
    assert sorted(DailyBar.objects.values_list("source", "close")) == [
        ("nse_api", Decimal("2500")),
        ("nse_bhavcopy", Decimal("4021.1")),
    ]


def test_no_dates_means_no_work():
    warehouse.insert_social_data([social_record(0)])
    assert gold_refresh(dates=set()).daily_social == 0
    assert DailySocial.objects.count() == 0
