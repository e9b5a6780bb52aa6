"""Time windows of the reads: ``days`` checked, explicit bounds turned into aware instants, and
instants shown as India's time in ISO form."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.utils import timezone

from core.errors import InvalidInput, date_in_range, echo
from warehouse.days import day_start, local_tz

MAX_DAYS = 3650


def _days(days: int) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"days must be a whole number from 1 to {MAX_DAYS}, got {echo(days)}")
    return days


def time_window(*, days: int = 30, start=None, end=None) -> tuple[datetime, datetime | None]:
    """[start, end) of a query: the last ``days`` days, or explicit bounds (a date means its whole day)."""
    if start is None and end is None:
        return timezone.now() - timedelta(days=_days(days)), None
    lo = _instant(start, end_of_day=False) if start is not None else None
    hi = _instant(end, end_of_day=True) if end is not None else None
    if lo is None:
        lo = (hi or timezone.now()) - timedelta(days=_days(days))
    if hi is not None and hi <= lo:
        raise InvalidInput("end must be after start")
    return lo, hi


def _instant(value, *, end_of_day: bool) -> datetime:
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        except ValueError as exc:
            raise InvalidInput(f"not an ISO date or date-time: {echo(value)}") from exc
    if isinstance(value, date):
        # Dates far outside the platform's years overflow on the way (9999-12-31 + 1 day): refused here.
        date_in_range(value, "end" if end_of_day else "start")
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value, local_tz())
    if isinstance(value, date):
        return day_start(value + timedelta(days=1) if end_of_day else value)
    raise InvalidInput(f"not a date or date-time: {echo(value)}")


def iso_local(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return timezone.localtime(value, local_tz()).isoformat()
    return value.isoformat()
