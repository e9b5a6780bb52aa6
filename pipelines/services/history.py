"""The simulated world's recent past, filled through the real pipelines (what the first ``make run`` shows).

``simulate_history(days=30)`` takes the last ``days`` trading days of the simulated market whose
bhavcopy is out, and for each one not filled yet runs the real pipelines (connector → lake → validate →
enrich → load → quality) with the simulator's clock set to moments of that day: a round of quotes and
the hour of Twitter/X and Telegram chatter around the day's pump-and-dump campaign (hype, then the
price spike), then the day's bhavcopy in the evening. Everything it stores is marked simulated,
like all simulated data. The bhavcopy comes last, so a day counts as filled once its bhavcopy bars are
in: a second call (or an interrupted one, called again) fills only what is missing.

It never runs on real data: when the warehouse holds a row that did not come from the simulator it
refuses, and with ``SIMULATE_UPSTREAMS`` off it does nothing.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings

from ..models import PipelineRun

# Per day: one round of quotes and an hour of chatter at the day's pump campaign (far coarser than the
# live schedules, which fetch every minute and every 5 minutes), and the bhavcopy once NSE has published
# it (about 18:00 IST). A day without a campaign is sampled at QUIET_TIME.
LIVE_PIPELINES = ("nse_api", "twitter", "telegram")
SOCIAL_PIPELINES = ("twitter", "telegram")
QUIET_TIME = time(12, 30)
BHAVCOPY_TIME = time(19, 0)
SKIPPED_RETRIES = 5


class HistoryRefused(Exception):
    """The history cannot be simulated here (real data in the warehouse); the message says why."""


@dataclass
class HistoryResult:
    """What ``simulate_history`` did: the trading days asked for, those it filled, the runs it made."""

    days: list[date] = field(default_factory=list)
    filled: list[date] = field(default_factory=list)
    already: list[date] = field(default_factory=list)
    runs: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    off: bool = False  # SIMULATE_UPSTREAMS is off: nothing done


# About four years of trading days. The simulated market goes back to year 1 only in theory: a day takes its
# runs a second or more, and a million days ran past the calendar (OverflowError) before anything was filled.
MAX_DAYS = 1000


def history_days(*, days: int, now: datetime | None = None) -> list[date]:
    """The last ``days`` trading days of the simulated market whose bhavcopy is out at ``now``, oldest first."""
    from pipelines.simulator import sim_now
    from pipelines.simulator.adapter import published_until
    from pipelines.simulator.market import previous_trading_day

    day = published_until(now or sim_now())
    found = [day]
    while len(found) < days:
        day = previous_trading_day(day)
        found.append(day)
    return sorted(found[:days])


def real_data_reason() -> str | None:
    """Why the warehouse counts as holding real data (a row not stored by the simulator), else None."""
    from warehouse.models import DailyBar, SocialMention, StockData

    for model, what in ((StockData, "price rows"), (SocialMention, "social mentions"), (DailyBar, "daily bars")):
        # Every simulated row links to its lake object, which says "simulated"; anything else is real.
        if model.objects.exclude(lake_object__simulated=True).exists():
            return f"the warehouse holds real {what} (not from the simulator)"
    return None


def day_filled(day: date) -> bool:
    from warehouse.models import DailyBar

    return DailyBar.objects.filter(source="nse_bhavcopy", date=day).exists()


@contextmanager
def simulator_clock(moment: datetime) -> Iterator[None]:
    """The simulated upstream answers as at ``moment`` inside the block (this process only)."""
    previous = settings.SIMULATOR_NOW
    settings.SIMULATOR_NOW = moment.isoformat()
    try:
        yield
    finally:
        settings.SIMULATOR_NOW = previous


@contextmanager
def live_state_kept(source: str) -> Iterator[None]:
    """The live connector's saved state (Telegram's offset, X's since_id) as it was before the block:
    a run at a simulated moment of the past must not move where the live schedule resumes."""
    from pipelines.connectors import connector_state_get, connector_state_set

    before = connector_state_get(source)
    try:
        yield
    finally:
        if connector_state_get(source) != before:
            connector_state_set(source, before)


def day_moments(day: date) -> list[tuple[str, datetime, dict | None]]:
    """The pipeline runs that make up one simulated day: (pipeline, clock, since), in order.

    One moment per day, a quarter of an hour into the pump campaign's price spike (the hour before
    it holds the hype and the spike's start), then the bhavcopy in the evening.
    """
    from pipelines.simulator import world
    from pipelines.simulator.market import HYPE, IST

    market, _ = world()
    hot = [c.starts_at() + timedelta(minutes=HYPE + 15) for c in market.campaigns(day)]
    moment = hot[0] if hot else datetime.combine(day, QUIET_TIME, IST)
    # Chatter from a fresh start (no saved offset or since_id): the simulated APIs answer the last hour.
    runs: list[tuple[str, datetime, dict | None]] = [
        (pipeline, moment, {} if pipeline in SOCIAL_PIPELINES else None) for pipeline in LIVE_PIPELINES
    ]
    runs.append(("nse_bhavcopy", datetime.combine(day, BHAVCOPY_TIME, IST), {"date": day.isoformat()}))
    return runs


def simulate_history(*, days: int = 30, progress: Callable[[date, bool], None] | None = None) -> HistoryResult:
    """Fill the simulated market's last ``days`` trading days through the real pipelines (see the module).

    Raises ``HistoryRefused`` when the warehouse holds real data; returns ``HistoryResult(off=True)``
    without touching anything when ``SIMULATE_UPSTREAMS`` is off. ``progress(day, filled_now)`` is
    called after each day.
    """
    from .pipeline import pipeline_run

    if not settings.SIMULATE_UPSTREAMS:
        return HistoryResult(off=True)
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days: 1 to {MAX_DAYS:,}; got {days:,}")
    reason = real_data_reason()
    if reason:
        raise HistoryRefused(f"{reason}: simulated history is only for an empty or simulated warehouse")
    result = HistoryResult(days=history_days(days=days))
    for day in result.days:
        if day_filled(day):
            result.already.append(day)
            if progress:
                progress(day, False)
            continue
        for pipeline, moment, since in day_moments(day):
            for attempt in range(SKIPPED_RETRIES + 1):
                with simulator_clock(moment), live_state_kept(pipeline):
                    run = pipeline_run(pipeline=pipeline, trigger=PipelineRun.Trigger.BACKFILL, since=since)
                if run.status != PipelineRun.Status.SKIPPED or attempt == SKIPPED_RETRIES:
                    break
                # A live run of the same pipeline (beat's schedule) holds its lock: they take a second.
                _time.sleep(1.0)
            result.runs.append(run.pk)
            if run.status not in (PipelineRun.Status.SUCCESS, PipelineRun.Status.PARTIAL):
                result.problems.append(f"{day} {pipeline}: run {run.pk} {run.status}: {run.error[:200]}")
        result.filled.append(day)
        if progress:
            progress(day, True)
    return result
