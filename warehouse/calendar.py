"""The NSE trading calendar: sessions 09:15-15:30 IST, Monday to Friday, minus exchange holidays.

One calendar for everything that asks whether NSE trades on a day: quality's freshness (nights,
weekends and holidays raise no alarm), the simulated market (it does not trade on NSE holidays) and
the bhavcopy connector (a holiday is not a missing file). The holidays are the rows of
``MarketHoliday`` (admin → Warehouse → NSE trading holidays), refreshed from NSE's holiday master;
``BUILTIN_HOLIDAYS`` (NSE's capital-market circulars for 2024-2026, weekday holidays only) seeds
that table, and stands in when there is no database to ask.

The table is read once and kept for ``CACHE_SECONDS`` per process: the calendar is asked for every
quote the simulator makes and every day of a freshness window, and holidays change a few times a year.
"""

from __future__ import annotations

import time as clock
from datetime import date, datetime, time, timedelta

from core.time import IST  # re-exported: the calendar's users read the zone here too

SESSION_OPEN = time(9, 15)
SESSION_CLOSE = time(15, 30)
CACHE_SECONDS = 60.0
# Without a database (a bench, a process that may not query), retry soon rather than keep the seed.
FALLBACK_CACHE_SECONDS = 1.0

BUILTIN_HOLIDAYS: dict[int, dict[date, str]] = {
    2024: {
        date(2024, 1, 22): "Special holiday (Ram Mandir)",
        date(2024, 1, 26): "Republic Day",
        date(2024, 3, 8): "Mahashivratri",
        date(2024, 3, 25): "Holi",
        date(2024, 3, 29): "Good Friday",
        date(2024, 4, 11): "Id-Ul-Fitr",
        date(2024, 4, 17): "Shri Ram Navami",
        date(2024, 5, 1): "Maharashtra Day",
        date(2024, 5, 20): "General elections (Mumbai)",
        date(2024, 6, 17): "Bakri Id",
        date(2024, 7, 17): "Moharram",
        date(2024, 8, 15): "Independence Day",
        date(2024, 10, 2): "Mahatma Gandhi Jayanti",
        date(2024, 11, 1): "Diwali Laxmi Pujan",
        date(2024, 11, 15): "Gurunanak Jayanti",
        date(2024, 11, 20): "Maharashtra assembly elections",
        date(2024, 12, 25): "Christmas",
    },
    2025: {
        date(2025, 2, 26): "Mahashivratri",
        date(2025, 3, 14): "Holi",
        date(2025, 3, 31): "Id-Ul-Fitr",
        date(2025, 4, 10): "Shri Mahavir Jayanti",
        date(2025, 4, 14): "Dr. Baba Saheb Ambedkar Jayanti",
        date(2025, 4, 18): "Good Friday",
        date(2025, 5, 1): "Maharashtra Day",
        date(2025, 8, 15): "Independence Day",
        date(2025, 8, 27): "Ganesh Chaturthi",
        date(2025, 10, 2): "Mahatma Gandhi Jayanti / Dussehra",
        date(2025, 10, 21): "Diwali Laxmi Pujan",
        date(2025, 10, 22): "Diwali Balipratipada",
        date(2025, 11, 5): "Prakash Gurpurb Sri Guru Nanak Dev",
        date(2025, 12, 25): "Christmas",
    },
    2026: {
        date(2026, 1, 15): "Municipal corporation elections (Maharashtra)",
        date(2026, 1, 26): "Republic Day",
        date(2026, 3, 3): "Holi",
        date(2026, 3, 26): "Shri Ram Navami",
        date(2026, 3, 31): "Shri Mahavir Jayanti",
        date(2026, 4, 3): "Good Friday",
        date(2026, 4, 14): "Dr. Baba Saheb Ambedkar Jayanti",
        date(2026, 5, 1): "Maharashtra Day",
        date(2026, 5, 28): "Bakri Id",
        date(2026, 6, 26): "Muharram",
        date(2026, 9, 14): "Ganesh Chaturthi",
        date(2026, 10, 2): "Mahatma Gandhi Jayanti",
        date(2026, 10, 20): "Dussehra",
        date(2026, 11, 10): "Diwali Balipratipada",
        date(2026, 11, 24): "Prakash Gurpurb Sri Guru Nanak Dev",
        date(2026, 12, 25): "Christmas",
    },
}


_cache: dict = {"holidays": None, "until": 0.0}


def builtin_holidays() -> dict[date, str]:
    """The built-in list, flat: the seed of the holiday table."""
    return {day: name for year in BUILTIN_HOLIDAYS.values() for day, name in year.items()}


def holidays() -> dict[date, str]:
    """Every known NSE holiday (date → description), from the holiday table (cached per process)."""
    now = clock.monotonic()
    cached = _cache["holidays"]
    if cached is not None and now < _cache["until"]:
        return cached
    try:
        from warehouse.models import MarketHoliday

        loaded = dict(MarketHoliday.objects.values_list("date", "description"))
        lifetime = CACHE_SECONDS
    except Exception:  # no database here (or not allowed to query it): the built-in list
        loaded, lifetime = {}, FALLBACK_CACHE_SECONDS
    if not loaded:
        loaded, lifetime = builtin_holidays(), min(lifetime, FALLBACK_CACHE_SECONDS)
    _cache.update(holidays=loaded, until=now + lifetime)
    return loaded


def calendar_cache_clear() -> None:
    """Forget the cached holidays: the next question reads the table again (after every write to it)."""
    _cache.update(holidays=None, until=0.0)


def holiday_name(day: date) -> str | None:
    return holidays().get(day)


def is_trading_day(day: date) -> bool:
    """Monday to Friday and not an NSE holiday."""
    return day.weekday() < 5 and day not in holidays()


def session_bounds(day: date) -> tuple[datetime, datetime]:
    """The regular session of ``day`` as aware datetimes (IST)."""
    return datetime.combine(day, SESSION_OPEN, IST), datetime.combine(day, SESSION_CLOSE, IST)


def is_market_open(moment: datetime) -> bool:
    local = moment.astimezone(IST)
    if not is_trading_day(local.date()):
        return False
    start, end = session_bounds(local.date())
    return start <= local < end


def trading_seconds_between(start: datetime, end: datetime) -> float:
    """Seconds of regular trading session between two aware moments (0 when ``end`` ≤ ``start``).

    This is how stale a quote feed really is: a quote from Friday's close read on Monday at 09:20 is
    five trading minutes old, not three days.
    """
    if end <= start:
        return 0.0
    first, last = start.astimezone(IST).date(), end.astimezone(IST).date()
    if (last - first).days > 400:
        # Bounded work: beyond a year, the exact figure no longer matters for an alarm.
        first = last - timedelta(days=400)
        start = datetime.combine(first, time(0), IST)
    total = 0.0
    day = first
    while day <= last:
        if is_trading_day(day):
            open_, close = session_bounds(day)
            lo, hi = max(open_, start), min(close, end)
            if hi > lo:
                total += (hi - lo).total_seconds()
        day += timedelta(days=1)
    return total


def trading_days_between(after: date, until: date) -> list[date]:
    """Trading days strictly after ``after`` up to and including ``until``."""
    days, day = [], after + timedelta(days=1)
    while day <= until:
        if is_trading_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def previous_trading_day(day: date) -> date:
    day -= timedelta(days=1)
    while not is_trading_day(day):
        day -= timedelta(days=1)
    return day
