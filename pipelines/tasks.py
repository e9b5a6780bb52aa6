"""Celery tasks: thin wrappers over the pipeline  Every task may run twice: it is idempotent."""

import logging

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from .models import PipelineRun
from .schedules import limit_problem, mode_problem, trigger_problem
from .services import (
    lake_objects_reprocess,
    lake_objects_reprocess_range,
    pipeline_run,
    replay_unloaded,
    run_claim,
    run_create,
)
from .services.holidays import HolidayRefreshError, holidays_refresh

logger = logging.getLogger(__name__)

# Transient infrastructure errors only; bad data and 4xx answers are handled inside a run, never retried.
TRANSIENT = (OperationalError, ConnectionError, TimeoutError)
RETRY = {
    "autoretry_for": TRANSIENT,
    "retry_backoff": 10,
    # Every countdown stays below the broker's visibility timeout (GOTCHAS.md).
    "retry_backoff_max": settings.CELERY_MAX_RETRY_COUNTDOWN,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(bind=True, name="pipelines.run", acks_late=True, **RETRY)
def pipeline_run_task(
    self, pipeline: str, run_id: int | None = None, trigger: str = "schedule", mode: str | None = None
) -> dict:
    """Run ``pipeline``; with ``run_id``, the queued run row made by the API (claimed exactly once).

    ``mode`` comes from beat: a "simulated" schedule only runs on the simulated upstream and a "live"
    one only on the real upstreams with their credentials; otherwise the run is recorded as skipped.
    """
    task_id = self.request.id or ""
    blocked = _mode_blocked(pipeline, mode)
    if problem := trigger_problem(trigger):  # a schedule stored past admin's check (pipelines.schedules)
        blocked, trigger = f"this schedule's trigger must be {problem}", PipelineRun.Trigger.SCHEDULE
    if blocked:
        run = run_create(
            pipeline=pipeline, trigger=trigger, status=PipelineRun.Status.SKIPPED, error=blocked, celery_task_id=task_id
        )
        return {"run": run.pk, "status": run.status, "reason": blocked}
    run = None
    if run_id is not None:
        # Claim the queued run: a redelivered or duplicated message finds it claimed and does nothing.
        run = run_claim(run_id, task_id=task_id)
        if run is None:
            logger.info("run %s already claimed; nothing to do", run_id)
            return {"run": run_id, "status": "already-claimed"}
    run = pipeline_run(pipeline=pipeline, run=run, trigger=trigger, task_id=task_id)
    return {"run": run.pk, "status": run.status, "inserted": run.inserted}


def _mode_blocked(pipeline: str, mode: str | None) -> str:
    """Why a scheduled run must not go ahead ("" when it may)."""
    if problem := mode_problem(mode):
        return f"this schedule's mode must be {problem}"
    simulate = settings.SIMULATE_UPSTREAMS
    if mode == "simulated" and not simulate:
        return "simulated schedule, but SIMULATE_UPSTREAMS is off"
    if mode == "live":
        if simulate:
            return "live schedule, but SIMULATE_UPSTREAMS is on (the simulated upstream is in use)"
        needs = {"twitter": "TWITTER_BEARER_TOKEN", "telegram": "TELEGRAM_BOT_TOKEN"}.get(pipeline)
        if needs and not getattr(settings, needs):
            return f"live schedule, but {needs} is not set"
    return ""


@shared_task(bind=True, name="pipelines.replay_unloaded", acks_late=True, **RETRY)
def replay_unloaded_task(self, limit: int = 500) -> dict:
    """Load lake objects that never reached the warehouse (database down, worker killed)."""
    if problem := limit_problem(limit):
        raise ValueError(f"limit: {problem}")
    run = replay_unloaded(limit=limit, task_id=self.request.id or "")
    return {"run": run.pk if run else None}


@shared_task(bind=True, name="pipelines.reprocess_objects", acks_late=True, **RETRY)
def reprocess_objects_task(self, object_ids: list[int], run_id: int | None = None) -> dict:
    """Transform and load these lake objects again (one chunk of a fanned-out reprocess)."""
    outcome = lake_objects_reprocess(object_ids=object_ids, run_id=run_id)
    return {"objects": len(object_ids), **outcome.counts(), "errors": outcome.errors[:20]}


@shared_task(bind=True, name="pipelines.holidays_refresh", acks_late=True, **RETRY)
def holidays_refresh_task(self) -> dict:
    """Refresh the trading calendar from NSE's holiday master (monthly); a refused answer is logged."""
    try:
        result = holidays_refresh()
    except HolidayRefreshError as exc:
        logger.warning("trading calendar not refreshed: %s", exc)
        return {"error": str(exc)}
    return {"holidays": result.holidays, "years": result.saved.years, "summary": result.summary()}


@shared_task(bind=True, name="pipelines.reprocess_range", acks_late=True, **RETRY)
def reprocess_range_task(
    self,
    source: str,
    first: int,
    last: int,
    run_id: int | None = None,
    start: str | None = None,
    end: str | None = None,
    refresh_gold: bool = True,
) -> dict:
    """Transform and load again the lake objects of ``source`` with ``first <= pk <= last`` (one chunk
    of a fanned-out reprocess; idempotent, so a redelivery or a retry loads nothing twice). The answer
    names the dates loaded: a fan-out sends ``refresh_gold=False`` and refreshes them once at its end."""
    from datetime import date

    outcome = lake_objects_reprocess_range(
        source=source,
        first=first,
        last=last,
        start=date.fromisoformat(start) if start else None,
        end=date.fromisoformat(end) if end else None,
        run_id=run_id,
        refresh_gold=refresh_gold,
    )
    return {
        **outcome.counts(),
        "errors": outcome.errors[:20],
        "drift": outcome.drift[:20],
        "dates": sorted(d.isoformat() for d in outcome.dates),
    }
