"""Replay and backfill: transform and load lake objects again, from the lake (the source of truth)."""

import logging
import traceback
from datetime import date, timedelta

from django.conf import settings
from django.db import OperationalError
from django.db.models import Q
from django.utils import timezone

from lake.models import LakeObject

from .etl import PIPELINES, Outcome, lake_object_process
from .locks import pipeline_lock
from .models import PipelineLock, PipelineRun

logger = logging.getLogger(__name__)

# An object younger than this may still be in the hands of the run that stored it.
REPLAY_GRACE = timedelta(minutes=2)


def lake_objects_reprocess(*, object_ids: list[int], run_id: int | None = None, progress=None) -> Outcome:
    """Transform and load the given lake objects (idempotent); ``progress`` is called once per object."""
    total = Outcome()
    for obj in LakeObject.objects.filter(pk__in=object_ids, source__in=PIPELINES).order_by("timestamp", "pk"):
        if obj.status in (LakeObject.Status.MISSING, LakeObject.Status.CORRUPT):
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


def _record(run: PipelineRun, outcome: Outcome, objects: int, error: str = "", tb: str = "") -> PipelineRun:
    from .etl import _finish

    run.stored = 0
    run.params = {**run.params, "objects": objects}
    return _finish(run, outcome, error=error, tb=tb)


def runs_abandoned_close() -> int:
    """Mark runs still "running" long after any task could (a killed worker) as failed, saying why.

    Their pipeline locks are released with them: a run closed as abandoned must not keep its pipeline
    locked (every run of it skipped) until the lock expires.
    """
    limit = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
    # A run claimed by its task but killed before it started has no start time: its creation counts.
    abandoned = PipelineRun.objects.filter(status=PipelineRun.Status.RUNNING).filter(
        Q(started_at__lt=limit) | Q(started_at__isnull=True, created__lt=limit)
    )
    ids = list(abandoned.values_list("pk", flat=True))
    if not ids:
        return 0
    closed = PipelineRun.objects.filter(pk__in=ids, status=PipelineRun.Status.RUNNING).update(
        status=PipelineRun.Status.FAILED,
        finished_at=timezone.now(),
        error=(
            "abandoned: its worker stopped mid-run (killed or lost), or the database went away before its "
            "outcome was saved; the replay loads what it stored"
        ),
    )
    PipelineLock.objects.filter(holder_run_id__in=ids).update(holder_run_id=None, expires_at=None)
    return closed


def replay_unloaded(*, limit: int = 500, task_id: str = "") -> PipelineRun | None:
    """Find catalogued objects that were stored but never loaded, and load them (one replay run)."""
    from lake.services.verify import lake_register_recent

    # Batches written while the database was down have no catalog row yet: catalog them first.
    registered = lake_register_recent(days=2, min_age_seconds=REPLAY_GRACE.total_seconds())
    runs_abandoned_close()
    cutoff = timezone.now() - REPLAY_GRACE
    unloaded = LakeObject.objects.filter(status=LakeObject.Status.STORED, source__in=PIPELINES)
    ids = list(
        unloaded.filter(Q(created__lt=cutoff) | Q(key__in=registered))
        .order_by("created", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    if not ids:
        return None
    run = PipelineRun.objects.create(
        pipeline="replay",
        source="lake",
        trigger=PipelineRun.Trigger.REPLAY,
        celery_task_id=task_id,
        started_at=timezone.now(),
        status=PipelineRun.Status.RUNNING,
        params={"object_ids": ids[:50]},
    )
    with pipeline_lock("replay", run_id=run.pk) as acquired:
        if not acquired:
            run.status, run.error, run.finished_at = PipelineRun.Status.SKIPPED, "a replay is running", timezone.now()
            run.save()
            return run
        try:
            outcome = lake_objects_reprocess(object_ids=ids, run_id=run.pk)
        except OperationalError as exc:
            return _record(run, Outcome(), len(ids), error=f"database unavailable: {exc}", tb=traceback.format_exc())
        return _record(run, outcome, len(ids))


def lake_objects_in_range(*, source: str, start: date, end: date):
    from lake.selectors import lake_objects_in_range as select

    return select(source=source, start=start, end=end).exclude(
        status__in=[LakeObject.Status.MISSING, LakeObject.Status.CORRUPT]
    )
