"""NSE's holiday master (``/api/holiday-master?type=trading``) → the capital market's holidays.

The answer is one list per market segment: ``{"CBM": […], "CD": […], "CM": […], "FO": […], …}``, each
item ``{"tradingDate": "26-Jan-2027", "weekDay": "Tuesday", "description": "Republic Day", "Sr_no": 1}``.
Only ``CM`` (the capital market, where equities trade) is NSE's equity calendar: the first key is the
corporate bond market's. Weekend dates are kept as listed (they change nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from warehouse.calendar import IST

SEGMENT = "CM"


@dataclass
class HolidayParse:
    holidays: dict[date, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def parse_holiday_master(payload, *, segment: str = SEGMENT) -> HolidayParse:
    """The ``segment`` holidays of a holiday-master answer; what cannot be read is in ``errors``."""
    result = HolidayParse()
    if not isinstance(payload, dict):
        result.errors.append(f"holiday master: a {type(payload).__name__}, not NSE's object of segments")
        return result
    rows = payload.get(segment)
    if not isinstance(rows, list):
        keys = ", ".join(sorted(map(str, payload))[:12]) or "none"
        result.errors.append(f"holiday master: no {segment} segment (segments: {keys})")
        return result
    for number, row in enumerate(rows, start=1):
        text = row.get("tradingDate") if isinstance(row, dict) else None
        try:
            day = datetime.strptime(str(text).strip(), "%d-%b-%Y").replace(tzinfo=IST).date()
        except ValueError:
            result.errors.append(
                f"holiday master: {segment} item {number}: tradingDate {text!r} is not like 26-Jan-2027"
            )
            continue
        description = " ".join(str(row.get("description") or "").split()) or "NSE holiday"
        result.holidays[day] = description
    if not result.holidays and not result.errors:
        result.errors.append(f"holiday master: the {segment} segment lists no holiday")
    return result
