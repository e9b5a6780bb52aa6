"""Writes to the trading calendar (``MarketHoliday``); reads go through ``warehouse.calendar``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db import transaction

from warehouse.calendar import calendar_cache_clear
from warehouse.models import MarketHoliday


@dataclass
class HolidaysSaved:
    """What replacing some years of holidays changed."""

    years: list[int] = field(default_factory=list)
    added: int = 0
    updated: int = 0
    removed: int = 0
    kept: int = 0  # rows entered in admin, left as they are


def market_holidays_replace(*, holidays: dict[date, str], source: str = MarketHoliday.Source.NSE) -> HolidaysSaved:
    """Make the table hold exactly ``holidays`` for every year they cover: the exchange's list is the
    truth for the years it answers (a holiday it dropped goes); years it does not cover keep their
    rows (the built-in seed), and rows entered in admin are never touched."""
    result = HolidaysSaved(years=sorted({day.year for day in holidays}))
    if not holidays:
        return result
    with transaction.atomic():
        rows = {row.date: row for row in MarketHoliday.objects.select_for_update().filter(date__year__in=result.years)}
        for day, description in sorted(holidays.items()):
            row = rows.get(day)
            if row is None:
                MarketHoliday.objects.create(date=day, description=description, source=source)
                result.added += 1
            elif row.source == MarketHoliday.Source.ADMIN:
                result.kept += 1
            elif (row.description, row.source) != (description, source):
                row.description, row.source = description, source
                row.save(update_fields=["description", "source", "updated"])
                result.updated += 1
        gone = [row.pk for day, row in rows.items() if day not in holidays and row.source != MarketHoliday.Source.ADMIN]
        result.removed = MarketHoliday.objects.filter(pk__in=gone).delete()[0]
        result.kept += sum(1 for day, row in rows.items() if day not in holidays and row.source == "admin")
    transaction.on_commit(calendar_cache_clear)
    calendar_cache_clear()
    return result
