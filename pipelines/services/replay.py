"""Replay and backfill: transform and load lake objects again, from the lake (the source of truth).

``replay_unloaded`` (scheduled) loads what was stored but never loaded (database down, worker
killed); ``reprocess_plan`` + ``reprocess_execute`` (the ``reprocess`` command) replay a date range,
fanned out to the Celery workers in chunks when any answer, else in this process.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import DatabaseError, OperationalError
from django.db.models import Q, Sum
from django.utils import timezone

from config.celery import app as celery_app
from core.collector import gc_held, gc_paused
from core.overlap import meanwhile
from lake.models import LakeObject
from lake.selectors import lake_objects_in_range as lake_objects_between
from lake.services import lake_object_failed
from lake.services.verify import lake_register_recent
from warehouse.services import WarehouseUnavailable
from warehouse.services.partitions import LOAD_LOCK_TIMEOUT, partitions_ensure

from .. import registry
from ..models import PipelineRun
from .hooks import gold_refresh_for
from .outcome import Outcome
from .process import GROUP_OBJECTS, lake_objects_process, lake_objects_read
from .runs import (
    pipeline_lock,
    process_identity,
    run_create,
    run_finish,
    run_gold_pending,
    run_gold_settled,
    run_skip,
    runs_abandoned_close,
)

logger = logging.getLogger(__name__)

# An object younger than this may still be in the hands of the run that stored it.
REPLAY_GRACE = timedelta(minutes=2)
UNLOADABLE = (LakeObject.Status.MISSING, LakeObject.Status.CORRUPT, LakeObject.Status.FAILED)
# Catalog rows read per keyset step of a replay.
REPLAY_BATCH = 1000
# Days per gold refresh at the end of a replay.
GOLD_DAYS = 7
# The partitioned silver table a dataset's rows land in (a bhavcopy's closes are stock rows).
SILVER_TABLES = {
    "stock_quotes": "stock_data_warehouse",
    "bhavcopy_rows": "stock_data_warehouse",
    "social_mentions": "social_mentions_warehouse",
}


def lake_objects_reprocess(*, object_ids: list[int], run_id: int | None = None, progress=None) -> Outcome:
    """Transform and load the given lake objects again (idempotent), in groups: see ``objects_replay``."""
    objects = LakeObject.objects.filter(pk__in=object_ids, source__in=registry.PIPELINES)
    return objects_replay(objects, run_id=run_id, progress=progress)


def lake_objects_reprocess_range(
    *,
    source: str,
    first: int,
    last: int,
    start: date | None = None,
    end: date | None = None,
    run_id: int | None = None,
    progress=None,
    refresh_gold: bool = True,
) -> Outcome:
    """Replay the lake objects of ``source`` with ``first <= pk <= last`` (and partitions in
    ``start..end``): one chunk of a fanned-out reprocess, named by its range so its message stays small.
    ``refresh_gold=False`` leaves gold to the caller (a fan-out refreshes it once for all its chunks)."""
    objects = LakeObject.objects.filter(source=source, pk__gte=first, pk__lte=last)
    if start is not None and end is not None:
        objects = objects.filter(partition_date__gte=start, partition_date__lte=end)
    return objects_replay(objects, run_id=run_id, progress=progress, refresh_gold=refresh_gold)


def objects_replay(objects, *, run_id: int | None = None, progress=None, refresh_gold: bool = True) -> Outcome:
    """Replay a queryset of lake objects through the grouped path of a pipeline run.

    Objects are read in keyset batches (``pk__gt`` the last one seen, never OFFSET) and processed in
    groups of up to ``GROUP_OBJECTS`` objects or the pipeline's ``group_records`` (a group may span two
    batches): one validation, one load, one catalog update and one schema-drift check per group, and
    one gold refresh for every date the whole replay touched, at its end (unless ``refresh_gold`` is
    False: the outcome's ``dates`` say which dates the caller must refresh). A group that fails for a
    reason other than the database is replayed object by object, so one bad object does not stop the
    others. ``progress(objects, records)`` is called after each group. The next group's objects are
    read from the lake and parsed while PostgreSQL takes in this group's load (``_read_ahead``).
    """
    total = Outcome()
    dates_by_source: dict[str, set] = {}
    with gc_held() as collector:  # (core.collector: the groups read ahead would be walked at every group)
        for group, read, read_next in _read_ahead(_groups(objects)):
            with meanwhile(read_next):  # the next group is read while the server takes in this one's rows
                outcome = _group_replay(group, run_id=run_id, read=read.result())
            total.add(outcome)
            known = dates_by_source.setdefault(group[0].source, set())
            if refresh_gold and not outcome.dates <= known:
                run_gold_pending(run_id, group[0].source, outcome.dates - known)  # owed should this process die
            known.update(outcome.dates)
            if progress:
                progress(len(group), sum(obj.records or 0 for obj in group))
            collector.check()
    if refresh_gold:
        for source, dates in dates_by_source.items():
            replay_gold_refresh(source, dates, total)
        run_gold_settled(run_id)
    return total


def replay_gold_refresh(source: str, dates, outcome: Outcome) -> None:
    """Gold (and the daily pump scores) for the ``dates`` a replay loaded, ``GOLD_DAYS`` days per refresh
    (each one transaction and one query over those days' rows, so a backfill of months never holds them
    all at once). A refresh that fails is an error of the replay (``outcome.errors``): its loads stand,
    and any later run or replay of those days refreshes them again."""
    days = sorted(dates)
    for start in range(0, len(days), GOLD_DAYS):
        part = days[start : start + GOLD_DAYS]
        try:
            gold_refresh_for(registry.PIPELINES[source], part)
        except Exception as exc:
            logger.exception("gold refresh of %s for %s..%s failed", source, part[0], part[-1])
            outcome.errors.append(f"gold refresh of {part[0]}..{part[-1]} failed: {type(exc).__name__}: {exc}")


class _Read:
    """One group's ``lake_objects_read``, done by whoever comes first: the load of the group before it (as
    the work it overlaps with, ``core.overlap``) or the group's own processing (``result``). A read that
    failed gives None: the group then reads for itself, and that read raises where it is reported."""

    def __init__(self, objects: list[LakeObject]):
        self.objects, self.done, self.value = objects, False, None

    def __call__(self) -> None:
        if self.done:
            return
        self.done = True
        try:
            self.value = lake_objects_read(self.objects)
        except Exception:  # raised again by the group's own read
            self.value = None

    def result(self) -> list | None:
        with gc_paused():  # as in lake_objects_process: parsing builds ~10^5 objects
            self()
        return self.value


def _read_ahead(groups) -> Iterator[tuple[list[LakeObject], _Read, _Read | None]]:
    """Each group with its read and the next group's (None for the last): the caller offers the next read to
    this group's load (``core.overlap.meanwhile``), so the server takes in this group's rows while we read
    and parse the next. The next group is looked up in the catalog first, while the connection is free."""
    groups = iter(groups)
    current = next(groups, None)
    current_read = _Read(_loadable(current)) if current is not None else None
    while current is not None:
        following = next(groups, None)
        following_read = _Read(_loadable(following)) if following is not None else None
        yield current, current_read, following_read
        current, current_read = following, following_read


def _loadable(group: list[LakeObject]) -> list[LakeObject]:
    return [obj for obj in group if obj.status not in UNLOADABLE]


def _groups(objects):
    """Consecutive objects of one source, up to GROUP_OBJECTS objects or the spec's group_records each,
    read from the catalog in keyset batches of REPLAY_BATCH."""
    group: list[LakeObject] = []
    records = 0
    last = 0
    while batch := list(objects.filter(pk__gt=last).order_by("pk")[:REPLAY_BATCH]):
        last = batch[-1].pk
        for obj in batch:
            spec = registry.PIPELINES[obj.source]
            if group and (
                obj.source != group[0].source
                or not spec.grouped
                or len(group) >= GROUP_OBJECTS
                or records + (obj.records or 0) > spec.group_records
            ):
                yield group
                group, records = [], 0
            group.append(obj)
            records += obj.records or 0
    if group:
        yield group


def _group_replay(group: list[LakeObject], *, run_id: int | None, read: list | None = None) -> Outcome:
    """``read``: ``lake_objects_read`` of the group's loadable objects, or None to read them here."""
    outcome = Outcome()
    outcome.errors.extend(f"{obj.key}: {obj.status}" for obj in group if obj.status in UNLOADABLE)
    loadable = _loadable(group)
    if not loadable:
        return outcome
    try:
        outcome.add(lake_objects_process(objects=loadable, run_id=run_id, refresh_gold=False, read=read))
        return outcome
    except (OperationalError, WarehouseUnavailable):
        raise
    except Exception:
        if len(loadable) == 1:
            logger.exception("reprocessing %s failed", loadable[0].key)
            error = traceback.format_exc(limit=0).strip()
            # A poison object: counted, and out of replay once it failed LAKE_MAX_ATTEMPTS times.
            status = lake_object_failed(loadable[0], error=error)
            failed = " (now failed: left out of replay)" if status == LakeObject.Status.FAILED else ""
            outcome.errors.append(f"{loadable[0].key}: {error}{failed}")
            return outcome
    # One object of the group is bad (an unreadable file, a payload the handler cannot take): find it.
    for obj in loadable:
        outcome.add(_group_replay([obj], run_id=run_id))
    return outcome


def _replay_finish(run: PipelineRun, outcome: Outcome, objects: int, error: str = "", tb: str = "") -> PipelineRun:
    run.stored = 0
    run.params = {**run.params, "objects": objects}
    return run_finish(run, outcome, error=error, tb=tb)


def replay_unloaded(*, limit: int = 500, task_id: str = "") -> PipelineRun | None:
    """Find catalogued objects that were stored but never loaded, and load them (one replay run)."""
    # Batches written while the database was down have no catalog row yet: catalog them first.
    registered = lake_register_recent(days=2, min_age_seconds=REPLAY_GRACE.total_seconds())
    runs_abandoned_close()
    cutoff = timezone.now() - REPLAY_GRACE
    unloaded = LakeObject.objects.filter(status=LakeObject.Status.STORED, source__in=registry.PIPELINES)
    ids = list(
        unloaded.filter(Q(created__lt=cutoff) | Q(key__in=registered))
        .order_by("created", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    if not ids:
        return None
    run = run_create(
        pipeline="replay",
        source="lake",
        trigger=PipelineRun.Trigger.REPLAY,
        status=PipelineRun.Status.RUNNING,
        celery_task_id=task_id,
        params={"object_ids": ids[:50]},
    )
    with pipeline_lock("replay", run_id=run.pk) as acquired:
        if not acquired:
            return run_skip(run, reason="a replay is running")
        try:
            outcome = lake_objects_reprocess(object_ids=ids, run_id=run.pk)
        except OperationalError as exc:
            error = f"database unavailable: {exc}"
            return _replay_finish(run, Outcome(), len(ids), error=error, tb=traceback.format_exc())
        return _replay_finish(run, outcome, len(ids))


def lake_objects_in_range(*, source: str, start: date, end: date, include_failed: bool = False):
    """The loadable lake objects of ``source`` whose partitions fall between ``start`` and ``end``
    (and those that failed LAKE_MAX_ATTEMPTS times, with ``include_failed``)."""
    skip = [s for s in UNLOADABLE if not (include_failed and s == LakeObject.Status.FAILED)]
    return lake_objects_between(source=source, start=start, end=end).exclude(status__in=skip)


@dataclass(frozen=True)
class ReprocessPlan:
    """What a backfill of ``source`` between two dates would replay."""

    source: str
    start: date
    end: date
    object_ids: list[int]
    records: int


def reprocess_plan(*, source: str, start: date, end: date, include_failed: bool = False) -> ReprocessPlan:
    objects = lake_objects_in_range(source=source, start=start, end=end, include_failed=include_failed)
    objects = objects.order_by("pk")
    ids = list(objects.values_list("pk", flat=True))
    records = objects.aggregate(n=Sum("records"))["n"] or 0
    return ReprocessPlan(source=source, start=start, end=end, object_ids=ids, records=records)


def workers_available() -> bool:
    """Whether any Celery worker answers a ping (within a second)."""
    try:
        return bool(celery_app.control.ping(timeout=1.0))
    except Exception:  # no broker answer means no workers to fan out to
        return False


def reprocess_execute(
    plan: ReprocessPlan, *, workers: bool, chunk: int = 200, progress: Callable[[int, int], object] | None = None
) -> PipelineRun:
    """Replay ``plan`` as one backfill run: fanned out to the workers in ranges of ``chunk`` objects
    (``workers=True``), else here; ``progress(objects, records)`` says how much more is done."""
    ids = plan.object_ids
    partitions = _partitions_ready(plan)
    run = run_create(
        pipeline=plan.source,
        trigger=PipelineRun.Trigger.BACKFILL,
        status=PipelineRun.Status.RUNNING,
        # Where it runs: should this process be killed, its run is closed at once (``runs_dead_close``),
        # and the gold it owed refreshed.
        params={
            "from": str(plan.start),
            "to": str(plan.end),
            "objects": len(ids),
            **({"partitions_created": partitions} if partitions else {}),
            **process_identity(),
        },
    )
    if workers:
        outcome = _fan_out(plan, run_id=run.pk, chunk=chunk, progress=progress)
    else:
        outcome = (
            lake_objects_reprocess_range(
                source=plan.source,
                first=ids[0],
                last=ids[-1],
                start=plan.start,
                end=plan.end,
                run_id=run.pk,
                progress=progress,
            )
            if ids
            else Outcome()
        )
    return run_finish(run, outcome)


def _partitions_ready(plan: ReprocessPlan) -> list[str]:
    """Create the monthly partitions (PostgreSQL) of the days the plan's objects were stored on, and of the
    day either side (a row's India day, or an older post's, can be the storage day's neighbour), before
    anything loads: a backfill of past months then writes each row into its month, where queries prune,
    instead of into the default partition for the nightly maintenance to move. Returns the partitions
    created. A failure is logged, not raised (behind a long read of the table, after ``LOAD_LOCK_TIMEOUT``): the
    loads then try each month again themselves, and its rows land in the default partition when they cannot."""
    spec = registry.PIPELINES.get(plan.source)
    table = SILVER_TABLES.get(spec.dataset) if spec is not None else None
    if table is None or not plan.object_ids:
        return []
    days = _range_days(plan, plan.object_ids[0], plan.object_ids[-1])
    try:
        created = partitions_ensure(months=sorted(days), tables=[table], lock_timeout=LOAD_LOCK_TIMEOUT).created
    except DatabaseError:
        logger.warning(
            "backfill of %s: could not create the partitions of its months; their rows go to the default "
            "partition until the nightly maintenance moves them",
            plan.source,
            exc_info=True,
        )
        return []
    if created:
        logger.info("backfill of %s: created partitions %s", plan.source, ", ".join(created))
    return created


def reprocess_ranges(ids: list[int], chunk: int) -> list[tuple[int, int, int]]:
    """(first pk, last pk, objects) of each chunk of ``chunk`` consecutive objects (ids sorted)."""
    if chunk < 1:
        raise ValueError(f"chunk: at least 1 object per range, got {chunk}")
    return [(ids[i], ids[min(i + chunk, len(ids)) - 1], min(chunk, len(ids) - i)) for i in range(0, len(ids), chunk)]


def _fan_out(plan: ReprocessPlan, *, run_id: int, chunk: int, progress) -> Outcome:
    """One ``pipelines.reprocess_range`` task per range of objects; polls their results until all are in,
    then refreshes gold once for every date the ranges touched.

    Each task replays its range idempotently (a redelivered or retried task loads nothing twice). Tasks
    are sent with ``refresh_gold=False``: one refresh of a day's gold here, not one per range that holds
    a part of it (each refresh re-reads the whole day). Results are polled in the order the tasks were
    sent, stopping at the first that is not ready (the workers take them in that order), so waiting costs
    one result query per poll, not one per pending task. A range that failed names no dates: its
    objects' partition days (and the day either side) are refreshed instead. Gold is refreshed for what
    came in even when the wait is cut short (Ctrl-C, an error); the days owed are noted on the run as they
    come in (``run_gold_pending``), so that if this process is killed outright, closing its abandoned run
    refreshes them.
    """
    # By name: the task module imports these services (pipelines.tasks.reprocess_range_task).
    pending = [
        (
            (first, last, size),
            celery_app.send_task(
                "pipelines.reprocess_range",
                args=[plan.source, first, last, run_id],
                kwargs={"start": str(plan.start), "end": str(plan.end), "refresh_gold": False},
            ),
        )
        for first, last, size in reprocess_ranges(plan.object_ids, chunk)
    ]
    outcome = Outcome()
    try:
        while pending:
            done = 0
            for (first, last, size), result in pending:
                if not result.ready():
                    break
                done += 1
                value = result.get(propagate=False)
                before = set(outcome.dates)
                if isinstance(value, dict):
                    outcome.add_counts(value)
                    outcome.errors.extend(value.get("errors", []))
                    outcome.drift.extend(value.get("drift", []))
                    outcome.dates.update(date.fromisoformat(d) for d in value.get("dates", []))
                else:
                    outcome.errors.append(str(value))
                    outcome.dates.update(_range_days(plan, first, last))
                run_gold_pending(run_id, plan.source, outcome.dates - before)  # owed should this process die
                if progress:
                    progress(size, value.get("fetched", 0) if isinstance(value, dict) else 0)
            pending = pending[done:]
            if pending:
                time.sleep(0.1)
    finally:
        replay_gold_refresh(plan.source, outcome.dates, outcome)
        run_gold_settled(run_id)
    return outcome


def _range_days(plan: ReprocessPlan, first: int, last: int) -> set[date]:
    """The partition days of a range's objects in the plan's dates and the day either side (a row's India
    day can be the storage day's neighbour): the days a range that failed may have loaded rows of."""
    objects = LakeObject.objects.filter(source=plan.source, pk__gte=first, pk__lte=last)
    if plan.start is not None and plan.end is not None:  # the range's task replays those only
        objects = objects.filter(partition_date__gte=plan.start, partition_date__lte=plan.end)
    days = set(objects.values_list("partition_date", flat=True).distinct())
    return {d + timedelta(days=k) for d in days if d for k in (-1, 0, 1)}
