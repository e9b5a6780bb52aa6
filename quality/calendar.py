"""The NSE trading calendar: sessions 09:15-15:30 IST, Monday to Friday, minus exchange holidays.

Freshness uses it so nights, weekends and exchange holidays do not raise alarms. The holiday lists are
NSE's capital-market circulars for 2024-2026 (weekday holidays only; those on a weekend change nothing).
Years outside the list fall back to weekends only.
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

IST = ZoneInfo("Asia/Kolkata")
SESSION_OPEN = time(9, 15)
SESSION_CLOSE = time(15, 30)

NSE_HOLIDAYS: dict[int, dict[date, str]] = {
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


def holiday_name(day: date) -> str | None:
    return NSE_HOLIDAYS.get(day.year, {}).get(day)


def is_trading_day(day: date) -> bool:
    """Monday to Friday and not an NSE holiday."""
    return day.weekday() < 5 and holiday_name(day) is None


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
