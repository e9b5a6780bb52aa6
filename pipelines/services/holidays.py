"""The trading calendar's refresh: NSE's holiday master (or a saved answer) → ``MarketHoliday``.

Run monthly by beat ("NSE trading holidays (monthly)") and by ``manage.py holidays_refresh``. NSE
answers the current year; each year it answers replaces that year's rows (the built-in seed, earlier
answers), and years it has not answered keep theirs. Rows entered in admin are never touched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.connectors.base import ConnectorError, read_file_bytes
from pipelines.connectors.nse import NseHolidayConnector
from pipelines.parsers.holidays import parse_holiday_master
from warehouse.services.calendar import HolidaysSaved, market_holidays_replace


class HolidayRefreshError(Exception):
    """Nothing to refresh the calendar with, said in one line."""


@dataclass
class HolidayRefresh:
    holidays: int = 0
    saved: HolidaysSaved = field(default_factory=HolidaysSaved)
    errors: list[str] = field(default_factory=list)
    simulated: bool = False

    def summary(self) -> str:
        s = self.saved
        years = ", ".join(map(str, s.years)) or "none"
        line = (
            f"NSE trading holidays: {self.holidays} for {years} ({s.added} added, {s.updated} updated, "
            f"{s.removed} removed, {s.kept} kept as entered in admin)"
        )
        if self.simulated:
            line += " (from the simulated upstream)"
        return line + "".join(f"; {error}" for error in self.errors)


def holidays_refresh(*, files: list[str] | None = None, simulated: bool | None = None) -> HolidayRefresh:
    """Load NSE's CM-segment holidays into the calendar, from NSE (or the simulated upstream) or files."""
    connector = NseHolidayConnector(simulated=simulated)
    if files:
        payloads = [_read(Path(path)) for path in files]
        result = HolidayRefresh()
    else:
        try:
            payloads = [batch.payload for batch in connector.fetch()]
        except ConnectorError as exc:
            raise HolidayRefreshError(exc.message) from None
        result = HolidayRefresh(simulated=connector.simulated)
    holidays: dict = {}
    for payload in payloads:
        parsed = parse_holiday_master(payload)
        holidays.update(parsed.holidays)
        result.errors += parsed.errors
    if not holidays:
        raise HolidayRefreshError("; ".join(result.errors) or "holiday master: no holidays")
    result.holidays = len(holidays)
    result.saved = market_holidays_replace(holidays=holidays)
    return result


def _read(path: Path):
    try:
        return json.loads(read_file_bytes(path).decode("utf-8-sig"))
    except ConnectorError as exc:
        raise HolidayRefreshError(exc.message) from None
    except OSError as exc:
        raise HolidayRefreshError(f"{path}: {exc.strerror}") from None
    except ValueError as exc:
        raise HolidayRefreshError(f"{path.name}: not JSON: {exc}") from None
