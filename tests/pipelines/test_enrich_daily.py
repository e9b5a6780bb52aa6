"""daily_pump_scores: chatter spike + hype + market move, written to DailySocial.pump_score."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from pipelines.enrich.daily import pump_components, pump_score_combine
from pipelines.services import daily_pump_scores
from warehouse.models import DailyBar, DailySocial, StockData

DAY = date(2026, 5, 19)
IST = ZoneInfo("Asia/Kolkata")


def _chatter(ticker, day, mentions, *, platform="telegram", sentiment=0.0, pump_signals=0):
    return DailySocial.objects.create(
        ticker=ticker,
        platform=platform,
        date=day,
        mentions=mentions,
        mean_sentiment=sentiment,
        pump_signals=pump_signals,
    )


def _bars(ticker, closes_and_volumes, *, end=DAY, source="nse_bhavcopy"):
    """Daily bars ending on ``end``, one per calendar day backwards; prev_close from the day before."""
    n = len(closes_and_volumes)
    for k, (close, volume) in enumerate(closes_and_volumes):
        prev = closes_and_volumes[k - 1][0] if k else None
        DailyBar.objects.create(
            ticker=ticker,
            date=end - timedelta(days=n - 1 - k),
            source=source,
            close=Decimal(str(close)),
            prev_close=Decimal(str(prev)) if prev else None,
            volume=volume,
        )


def test_the_components_follow_the_documented_formula():
    components = pump_components(
        mentions=63, baseline_mean=7, mean_sentiment=0.25, pump_signals=21, day_return=-0.05, volume_ratio=2
    )
    assert components == {
        "spike": 1.0,
        "pump_share": pytest.approx(1 / 3),
        "sentiment": 0.5,
        "price": 0.5,
        "volume": 0.5,
    }
    assert pump_score_combine(components) == round(0.35 + 0.25 / 3 + 0.05 + 0.075 + 0.075, 4)
    quiet = pump_components(
        mentions=3, baseline_mean=3, mean_sentiment=-0.4, pump_signals=0, day_return=None, volume_ratio=None
    )
    assert quiet == {"spike": 0.0, "pump_share": 0.0, "sentiment": 0.0, "price": 0.0, "volume": 0.0}


@pytest.mark.django_db
def test_a_hyped_spike_with_a_price_and_volume_jump_scores_high_and_a_quiet_day_low():
    for k in range(1, 15):
        _chatter("SUZLON", DAY - timedelta(days=k), 2)
        _chatter("TCS", DAY - timedelta(days=k), 20)
    pumped = _chatter("SUZLON", DAY, 50, sentiment=0.6, pump_signals=30)
    quiet = _chatter("TCS", DAY, 21, sentiment=0.1, pump_signals=0)
    _bars("SUZLON", [(50, 1_000_000)] * 20 + [(55, 6_000_000)])  # +10 % on 6 times the volume
    _bars("TCS", [(4000, 2_000_000)] * 20 + [(4004, 2_000_000)])

    assert daily_pump_scores(dates=[DAY]) == 2

    pumped.refresh_from_db()
    quiet.refresh_from_db()
    assert pumped.pump_score == 0.9  # all saturate but the pump share: 0.35 + 0.25 * 30/50 + 0.10 + 0.15 + 0.15
    spike = pump_components(
        mentions=21, baseline_mean=20, mean_sentiment=0.1, pump_signals=0, day_return=0.001, volume_ratio=1.0
    )
    assert quiet.pump_score == pump_score_combine(spike)
    assert quiet.pump_score < 0.1


@pytest.mark.django_db
def test_days_without_chatter_count_as_zero_in_the_baseline_and_quotes_stand_in_for_bars():
    _chatter("IRFC", DAY - timedelta(days=3), 14)  # one busy day in 14: baseline 1 a day
    row = _chatter("IRFC", DAY, 15, sentiment=0.0, pump_signals=0)
    # No daily bar: the day's quotes give the move (+5 %) and the volume; no earlier volume, so 0.
    for hour, price, volume in ((10, "101.00", 1000), (15, "105.00", 9000)):
        StockData.objects.create(
            ticker="IRFC",
            price=Decimal(price),
            change_percent=Decimal("5.00") if hour == 15 else Decimal("1.00"),
            volume=volume,
            timestamp=datetime(2026, 5, 19, hour, 0, tzinfo=IST),
            source="nse_api",
        )
    assert daily_pump_scores(dates=[DAY], tickers=["IRFC"]) == 1
    row.refresh_from_db()
    expected = pump_components(
        mentions=15, baseline_mean=1.0, mean_sentiment=0.0, pump_signals=0, day_return=0.05, volume_ratio=None
    )
    assert expected["spike"] == 1.0
    assert row.pump_score == pytest.approx(pump_score_combine(expected), abs=1e-4)


@pytest.mark.django_db
def test_it_only_touches_the_dates_and_tickers_asked_and_is_idempotent():
    other_day = _chatter("TCS", DAY - timedelta(days=1), 5)
    other_ticker = _chatter("INFY", DAY, 5)
    target = _chatter("TCS", DAY, 5, pump_signals=5)
    assert daily_pump_scores(dates=[DAY], tickers=["TCS"]) == 1
    target.refresh_from_db()
    first = target.pump_score
    assert first == pump_score_combine(
        pump_components(
            mentions=5, baseline_mean=5 / 14, mean_sentiment=0, pump_signals=5, day_return=None, volume_ratio=None
        )
    )
    assert daily_pump_scores(dates=[DAY], tickers=["TCS"]) == 1
    target.refresh_from_db()
    assert target.pump_score == first
    other_day.refresh_from_db()
    other_ticker.refresh_from_db()
    assert (other_day.pump_score, other_ticker.pump_score) == (None, None)


@pytest.mark.django_db
def test_nothing_to_score_writes_nothing():
    assert daily_pump_scores(dates=[]) == 0
    assert daily_pump_scores(dates=[DAY]) == 0
    assert DailySocial.objects.count() == 0


@pytest.mark.django_db
def test_a_bhavcopy_bar_wins_over_a_quote_derived_one(django_assert_max_num_queries):
    row = _chatter("TCS", DAY, 1)
    _bars("TCS", [(100, 1000), (110, 1000)], source="nse_bhavcopy")  # +10 %
    _bars("TCS", [(100, 1000), (100, 1000)], source="nse_api")  # flat
    with django_assert_max_num_queries(6):
        daily_pump_scores(dates=[DAY])
    row.refresh_from_db()
    expected = pump_components(
        mentions=1, baseline_mean=0, mean_sentiment=0, pump_signals=0, day_return=0.1, volume_ratio=1.0
    )
    assert expected["price"] == pytest.approx(1.0)
    assert row.pump_score == pump_score_combine(expected)
