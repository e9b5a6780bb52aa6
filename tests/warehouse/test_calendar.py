"""The one trading calendar: the holiday table (seeded with the built-in list), cached per process."""

import datetime as dt

import pytest

from warehouse import calendar as nse
from warehouse.models import MarketHoliday
from warehouse.services.calendar import market_holidays_replace

IST = nse.IST


def test_weekends_and_exchange_holidays_are_not_trading_days():
    assert nse.is_trading_day(dt.date(2026, 5, 19)) is True  # the UDiFF sample's day
    assert nse.is_trading_day(dt.date(2026, 5, 16)) is False  # Saturday
    assert nse.is_trading_day(dt.date(2026, 1, 26)) is False  # Republic Day
    assert nse.is_trading_day(dt.date(2025, 10, 21)) is False  # Diwali Laxmi Pujan
    assert nse.is_trading_day(dt.date(2024, 1, 22)) is False  # special holiday


def test_the_shipped_lists_cover_2024_to_2026_on_weekdays_only():
    assert sorted(nse.BUILTIN_HOLIDAYS) == [2024, 2025, 2026]
    assert all(day.weekday() < 5 for days in nse.BUILTIN_HOLIDAYS.values() for day in days)
    assert len(nse.BUILTIN_HOLIDAYS[2026]) == 16


@pytest.mark.django_db
def test_the_holiday_table_is_seeded_with_the_built_in_list():
    rows = dict(MarketHoliday.objects.values_list("date", "description"))
    assert rows == nse.builtin_holidays()
    assert len(rows) == 17 + 14 + 16
    assert set(MarketHoliday.objects.values_list("source", flat=True)) == {"builtin"}


@pytest.mark.django_db
def test_the_calendar_reads_the_table_so_a_year_nse_announced_has_its_holidays():
    republic_day_2027 = dt.date(2027, 1, 26)  # a Tuesday
    assert nse.is_trading_day(republic_day_2027) is True  # nothing known about 2027 yet
    market_holidays_replace(holidays={republic_day_2027: "Republic Day"})
    assert nse.is_trading_day(republic_day_2027) is False
    assert nse.holiday_name(republic_day_2027) == "Republic Day"
    monday = dt.datetime(2027, 1, 25, 15, 30, tzinfo=IST)
    wednesday = dt.datetime(2027, 1, 27, 9, 25, tzinfo=IST)
    assert nse.trading_seconds_between(monday, wednesday) == 10 * 60


@pytest.mark.django_db
def test_replacing_a_year_follows_the_exchange_keeps_admins_rows_and_other_years():
    admin_day = MarketHoliday.objects.create(date=dt.date(2026, 7, 1), description="Local closure", source="admin")
    dropped = dt.date(2026, 1, 15)  # in the built-in 2026 list, not in the new one
    new_2026 = {dt.date(2026, 1, 26): "Republic Day", dt.date(2026, 8, 28): "Ganesh Chaturthi (moved)"}
    saved = market_holidays_replace(holidays=new_2026)
    assert (saved.years, saved.added, saved.updated, saved.kept) == ([2026], 1, 1, 1)
    assert saved.removed == 15  # the rest of the built-in 2026 list
    assert nse.holiday_name(dropped) is None
    assert nse.is_trading_day(dropped) is True
    assert sorted(MarketHoliday.objects.filter(date__year=2026).values_list("date", "source")) == [
        (dt.date(2026, 1, 26), "nse"),
        (admin_day.date, "admin"),
        (dt.date(2026, 8, 28), "nse"),
    ]
    assert MarketHoliday.objects.filter(date__year=2025, source="builtin").count() == 14  # untouched


def test_without_a_database_the_calendar_falls_back_to_the_built_in_list():
    # No django_db mark: the query is refused, and the built-in list answers.
    assert nse.holidays() == nse.builtin_holidays()
    assert nse.is_trading_day(dt.date(2025, 10, 21)) is False


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


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "root-pass-123"))
    return client


@pytest.mark.django_db
def test_a_holiday_added_in_admin_counts_at_once_and_survives_a_refresh(admin_client):
    day = dt.date(2027, 2, 17)  # a Wednesday
    assert nse.is_trading_day(day) is True
    page = admin_client.post(
        "/admin/warehouse/marketholiday/add/", {"date": "2027-02-17", "description": "Special closure"}
    )
    assert page.status_code == 302
    assert MarketHoliday.objects.get(date=day).source == "admin"
    assert nse.is_trading_day(day) is False
    market_holidays_replace(holidays={dt.date(2027, 1, 26): "Republic Day"})  # NSE's 2027 list lacks it
    assert nse.holiday_name(day) == "Special closure"
    listing = admin_client.get("/admin/warehouse/marketholiday/", {"date__year": "2027"}).content.decode()
    assert "Special closure" in listing
    assert "Republic Day" in listing
