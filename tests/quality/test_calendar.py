import datetime as dt

from quality import calendar as nse

IST = nse.IST


def test_weekends_and_exchange_holidays_are_not_trading_days():
    assert nse.is_trading_day(dt.date(2026, 5, 19)) is True  # the UDiFF sample's day
    assert nse.is_trading_day(dt.date(2026, 5, 16)) is False  # Saturday
    assert nse.is_trading_day(dt.date(2026, 1, 26)) is False  # Republic Day
    assert nse.is_trading_day(dt.date(2025, 10, 21)) is False  # Diwali Laxmi Pujan
    assert nse.is_trading_day(dt.date(2024, 1, 22)) is False  # special holiday


def test_the_shipped_lists_cover_2024_to_2026_on_weekdays_only():
    assert sorted(nse.NSE_HOLIDAYS) == [2024, 2025, 2026]
    assert all(day.weekday() < 5 for days in nse.NSE_HOLIDAYS.values() for day in days)
    assert len(nse.NSE_HOLIDAYS[2026]) == 16


def test_the_session_runs_from_9_15_to_15_30_ist():
    assert nse.is_market_open(dt.datetime(2026, 5, 19, 9, 15, tzinfo=IST)) is True
    assert nse.is_market_open(dt.datetime(2026, 5, 19, 15, 30, tzinfo=IST)) is False
    assert nse.is_market_open(dt.datetime(2026, 5, 19, 9, 14, tzinfo=IST)) is False


def test_trading_time_skips_the_night_the_weekend_and_a_holiday():
    friday_close = dt.datetime(2026, 3, 27, 15, 30, tzinfo=IST)
    # Monday 30 March trades; Tuesday 31 March is Mahavir Jayanti; Wednesday 09:20 is 5 minutes in.
    wednesday = dt.datetime(2026, 4, 1, 9, 20, tzinfo=IST)
    assert nse.trading_seconds_between(friday_close, wednesday) == (375 + 5) * 60


def test_trading_days_between_lists_the_sessions_after_a_date():
    assert nse.trading_days_between(dt.date(2026, 3, 27), dt.date(2026, 4, 1)) == [
        dt.date(2026, 3, 30),
        dt.date(2026, 4, 1),
    ]
    assert nse.previous_trading_day(dt.date(2026, 4, 1)) == dt.date(2026, 3, 30)
