"""Trading days are India's: a row's day is its date in IST (settings.TIME_ZONE)."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.conf import settings


def local_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def day_start(day: date) -> datetime:
    """Midnight of ``day`` in India's time."""
    return datetime.combine(day, time.min, local_tz())
