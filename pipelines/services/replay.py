"""Replay and backfill: transform and load lake objects again, from the lake (the source of truth).

``replay_unloaded`` (scheduled) loads what was stored but never loaded (database down, worker
killed); ``reprocess_plan`` + ``reprocess_execute`` (the ``reprocess`` command) replay a date range,
fanned out to the Celery workers in chunks when any answer, else in this process.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import OperationalError
from django.db.models import Q, Sum
from django.utils import timezone

from config.celery import app as celery_app
from lake.models import LakeObject
from lake.selectors import lake_objects_in_range as lake_objects_between
from lake.services.verify import lake_register_recent

from .. import registry
from ..models import PipelineRun
from .outcome import Outcome
from .process import lake_object_process
from .runs import pipeline_lock, run_create, run_finish, run_skip, runs_abandoned_close

logger = logging.getLogger(__name__)

# An object younger than this may still be in the hands of the run that stored it.
REPLAY_GRACE = timedelta(minutes=2)
UNLOADABLE = (LakeObject.Status.MISSING, LakeObject.Status.CORRUPT)


def lake_objects_reprocess(*, object_ids: list[int], run_id: int | None = None, progress=None) -> Outcome:
    """Transform and load the given lake objects (idempotent); ``progress`` is called once per object."""
    total = Outcome()
    objects = LakeObject.objects.filter(pk__in=object_ids, source__in=registry.PIPELINES).order_by("timestamp", "pk")
    for obj in objects:
        if obj.status in UNLOADABLE:
            total.errors.append(f"{obj.key}: {obj.status}")
        else:
            try:
                total.add(lake_object_process(obj=obj, run_id=run_id))
            except OperationalError:
                raise
            except Exception as exc:  # one bad object must not stop the replay of the others
                logger.exception("reprocessing %s failed", obj.key)
                total.errors.append(f"{obj.key}: {type(exc).__name__}: {exc}")
        if progress:
            progress(1)
    return total


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


def lake_objects_in_range(*, source: str, start: date, end: date):
    """The loadable lake objects of ``source`` whose partitions fall between ``start`` and ``end``."""
    return lake_objects_between(source=source, start=start, end=end).exclude(status__in=UNLOADABLE)


@dataclass(frozen=True)
class ReprocessPlan:
    """What a backfill of ``source`` between two dates would replay."""

    source: str
    start: date
    end: date
    object_ids: list[int]
    records: int


def reprocess_plan(*, source: str, start: date, end: date) -> ReprocessPlan:
    objects = lake_objects_in_range(source=source, start=start, end=end).order_by("timestamp", "pk")
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
    plan: ReprocessPlan, *, workers: bool, chunk: int = 20, progress: Callable[[int], object] | None = None
) -> PipelineRun:
    """Replay ``plan`` as one backfill run: fanned out to the workers in chunks of ``chunk`` objects
    (``workers=True``), else here; ``progress(n)`` says n more objects are done. Returns the closed run."""
    ids = plan.object_ids
    run = run_create(
        pipeline=plan.source,
        trigger=PipelineRun.Trigger.BACKFILL,
        status=PipelineRun.Status.RUNNING,
        params={"from": str(plan.start), "to": str(plan.end), "objects": len(ids)},
    )
    if workers:
        outcome = _fan_out(ids, run_id=run.pk, chunk=chunk, progress=progress)
    else:
        outcome = lake_objects_reprocess(object_ids=ids, run_id=run.pk, progress=progress)
    return run_finish(run, outcome)


def _fan_out(ids: list[int], *, run_id: int, chunk: int, progress) -> Outcome:
    """One ``pipelines.reprocess_objects`` task per chunk; polls their results until all are in."""
    chunks = [ids[i : i + chunk] for i in range(0, len(ids), chunk)]
    # By name: the task module imports these services (pipelines.tasks.reprocess_objects_task).
    pending = [(len(c), celery_app.send_task("pipelines.reprocess_objects", args=[c, run_id])) for c in chunks]
    outcome = Outcome()
    while pending:
        still = []
        for size, result in pending:
            if not result.ready():
                still.append((size, result))
                continue
            value = result.get(propagate=False)
            if isinstance(value, dict):
                outcome.add_counts(value)
                outcome.errors.extend(value.get("errors", []))
            else:
                outcome.errors.append(str(value))
            if progress:
                progress(size)
        pending = still
        if pending:
            time.sleep(0.5)
    return outcome
