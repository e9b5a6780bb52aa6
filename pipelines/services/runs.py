"""The one run lifecycle: create, claim, skip, start, fail, finish a ``PipelineRun``; the pipeline lock;
stage timing (``with stage("extract"):``); queueing a run for a worker; closing abandoned runs.

Every change of a run's status goes through this module, so admin, API and pages read one truth.

The lock: a claim is ``UPDATE … WHERE pipeline = %s AND (holder IS NULL OR expires_at < now)``, so
exactly one of several concurrent claimers sees one updated row (healthchecks' sendalerts pattern).
The expiry frees the lock of a worker that was killed mid-run; it is longer than the task's hard time
limit.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import KombuError

from config.celery import app as celery_app
from core.errors import one_line

from .. import registry
from ..models import PipelineLock, PipelineRun
from .outcome import Outcome

logger = logging.getLogger(__name__)

STAGES = ("extract", "store", "transform_load", "gold", "quality")


# --- the lock ---------------------------------------------------------------------------------------


def pipeline_lock_acquire(name: str, *, run_id: int) -> bool:
    """Claim the lock of pipeline ``name`` for ``run_id``; False when another live run holds it.

    Re-entrant for the same run: the API claims it when it queues a run, the task claims it again.
    """
    if not PipelineLock.objects.filter(pipeline=name).exists():
        try:
            with transaction.atomic():
                PipelineLock.objects.create(pipeline=name)
        except IntegrityError:
            pass  # created concurrently by another claimer: fine, claim below
    now = timezone.now()
    claimed = (
        PipelineLock.objects.filter(pipeline=name)
        .filter(Q(holder_run_id__isnull=True) | Q(expires_at__lt=now) | Q(holder_run_id=run_id))
        .update(holder_run_id=run_id, acquired_at=now, expires_at=now + timedelta(seconds=settings.PIPELINE_LOCK_TTL))
    )
    return claimed == 1


def pipeline_lock_release(name: str, *, run_id: int) -> None:
    PipelineLock.objects.filter(pipeline=name, holder_run_id=run_id).update(holder_run_id=None, expires_at=None)


@contextmanager
def pipeline_lock(name: str, *, run_id: int):
    """``with pipeline_lock("nse_api", run_id=run.pk) as acquired:`` — released on exit when acquired."""
    acquired = pipeline_lock_acquire(name, run_id=run_id)
    try:
        yield acquired
    finally:
        if acquired:
            try:
                pipeline_lock_release(name, run_id=run_id)
            except (OperationalError, InterfaceError):
                # The database went away (the run is failing for that very reason): raising here would
                # hide why. The lock is freed when the replay closes the run as abandoned, or expires.
                logger.warning("could not release the %s lock of run %s: the database is unavailable", name, run_id)


# --- stage timing -----------------------------------------------------------------------------------


class Stages:
    """Seconds spent per stage of a run: ``with stage("extract"):`` adds the block's time to "extract"."""

    def __init__(self):
        self.seconds = dict.fromkeys(STAGES, 0.0)
        self.last = 0.0  # the duration of the last timed block

    @contextmanager
    def __call__(self, name: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.last = time.perf_counter() - started
            self.seconds[name] = self.seconds.get(name, 0.0) + self.last

    def rounded(self) -> dict[str, float]:
        return {name: round(value, 4) for name, value in self.seconds.items()}


# --- transitions ------------------------------------------------------------------------------------


class RunNotRecorded(OperationalError):
    """A run stopped because the database went away, and its outcome could not be saved either.

    Transient (an ``OperationalError``): a scheduled task retries it. Its message is the one line a
    person needs: the run, the reason, and where the batches it fetched are (the lake).
    """

    def __init__(self, *, run_id: int, error: str, cause: BaseException):
        reason = (error or f"database unavailable: {cause}").strip().splitlines()[0]
        super().__init__(
            f"run {run_id} failed: {reason}; its outcome could not be saved either. The batches it "
            "fetched are kept in the lake, and the replay loads them once the database is back."
        )
        self.run_id = run_id


def run_create(
    *, pipeline: str, source: str | None = None, trigger: str, status: str = PipelineRun.Status.QUEUED, **fields
) -> PipelineRun:
    """A new run row of ``pipeline`` (a registered pipeline, or "replay" with its ``source``)."""
    if source is None:
        source = registry.pipeline_spec(pipeline).source
    if status == PipelineRun.Status.RUNNING:
        fields.setdefault("started_at", timezone.now())
    return PipelineRun.objects.create(pipeline=pipeline, source=source, trigger=trigger, status=status, **fields)


def run_skip(run: PipelineRun, *, reason: str) -> PipelineRun:
    """Close ``run`` as skipped (another run holds the lock, or its schedule does not apply), saying why."""
    run.status, run.error, run.finished_at = PipelineRun.Status.SKIPPED, reason, timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])
    return run


def run_fail(run: PipelineRun, *, error: str) -> PipelineRun:
    """Close ``run`` as failed before it did anything (the broker is down), saying why."""
    run.status, run.error, run.finished_at = PipelineRun.Status.FAILED, error, timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])
    return run


def run_claim(run_id: int, *, task_id: str = "") -> PipelineRun | None:
    """Claim a queued run for the task that got it; None when another delivery already claimed it."""
    claimed = PipelineRun.objects.filter(pk=run_id, status=PipelineRun.Status.QUEUED).update(
        status=PipelineRun.Status.RUNNING, celery_task_id=task_id, started_at=timezone.now()
    )
    return PipelineRun.objects.get(pk=run_id) if claimed == 1 else None


def run_start(run: PipelineRun, *, task_id: str = "") -> PipelineRun:
    """Mark ``run`` running (it holds its pipeline's lock)."""
    run.status = PipelineRun.Status.RUNNING
    run.started_at = timezone.now()
    run.celery_task_id = task_id or run.celery_task_id
    run.save(update_fields=["status", "started_at", "celery_task_id"])
    return run


def run_finish(run: PipelineRun, outcome: Outcome, *, error: str = "", tb: str = "") -> PipelineRun:
    """Save ``outcome``'s counts on ``run`` and close it: success, partial (something loaded) or failed."""
    for name, value in outcome.counts().items():
        setattr(run, name, value)
    run.finished_at = timezone.now()
    problems = outcome.errors + outcome.drift
    loaded_any = bool(outcome.inserted or outcome.duplicates)
    if error or problems:
        run.status = PipelineRun.Status.PARTIAL if loaded_any else PipelineRun.Status.FAILED
        run.error = one_line("; ".join([error, *problems] if error else problems), limit=4000)
        if error:
            run.traceback = tb
    else:
        run.status = PipelineRun.Status.SUCCESS
    run.save()
    return run


def process_identity() -> dict:
    """Where a synchronous run executes (host and pid), so a dead process's run can be closed at once."""
    return {"host": socket.gethostname(), "pid": os.getpid()}


def _alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, TypeError, ValueError, OverflowError):
        return True  # not ours to probe, or not a pid: leave it to the time limit
    return True


def runs_dead_close() -> int:
    """Close as failed the "running" runs of this host whose process is gone (``run_pipeline`` killed,
    or crashed in native code), releasing their locks: the next run need not wait for the time limit."""
    running = PipelineRun.objects.filter(status=PipelineRun.Status.RUNNING, params__host=socket.gethostname())
    dead = [pk for pk, pid in running.values_list("pk", "params__pid") if pid and not _alive(pid)]
    if not dead:
        return 0
    return _runs_abandon(
        dead,
        error=(
            "abandoned: its process ended mid-run (killed, crashed, or the database went away before its "
            "outcome was saved); the replay loads what it stored"
        ),
    )


def runs_abandoned_close() -> int:
    """Mark runs still "running" long after any task could (a killed worker) as failed, saying why.

    Their pipeline locks are released with them: a run closed as abandoned must not keep its pipeline
    locked (every run of it skipped) until the lock expires.
    """
    dead = runs_dead_close()
    limit = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
    # A run claimed by its task but killed before it started has no start time: its creation counts.
    abandoned = PipelineRun.objects.filter(status=PipelineRun.Status.RUNNING).filter(
        Q(started_at__lt=limit) | Q(started_at__isnull=True, created__lt=limit)
    )
    ids = list(abandoned.values_list("pk", flat=True))
    if not ids:
        return dead
    closed = _runs_abandon(
        ids,
        error=(
            "abandoned: its worker stopped mid-run (killed or lost), or the database went away before its "
            "outcome was saved; the replay loads what it stored"
        ),
    )
    return closed + dead


def _runs_abandon(ids: list[int], *, error: str) -> int:
    """Close the given runs that are still "running" as failed with ``error`` and release their locks;
    then refresh the gold a closed backfill still owed (``run_gold_pending``)."""
    running = PipelineRun.objects.filter(pk__in=ids, status=PipelineRun.Status.RUNNING)
    owed = [
        (pk, params["gold_pending"])
        for pk, params in running.values_list("pk", "params")
        if isinstance(params, dict) and isinstance(params.get("gold_pending"), dict)
    ]
    closed = running.update(status=PipelineRun.Status.FAILED, finished_at=timezone.now(), error=error)
    PipelineLock.objects.filter(holder_run_id__in=ids).update(holder_run_id=None, expires_at=None)
    for pk, pending in owed:
        _gold_owed_refresh(pk, pending)
    return closed


# --- gold a backfill owes -----------------------------------------------------------------------------


def run_gold_pending(run_id: int | None, source: str, dates) -> None:
    """Note on a backfill's (or a replay's) run the days of ``source`` it loaded whose gold is not refreshed
    yet (``params.gold_pending``: source -> days).

    A backfill refreshes gold once, at its end; should its process be killed before (SIGKILL, the
    machine lost), closing the abandoned run refreshes these days (``_runs_abandon``).
    """
    if run_id is None or not dates:
        return

    def noted(params: dict) -> dict:
        pending = params.get("gold_pending") if isinstance(params.get("gold_pending"), dict) else {}
        days = set(pending.get(source) or []) | {d.isoformat() for d in dates}
        return {**params, "gold_pending": {**pending, source: sorted(days)}}

    _run_params_change(run_id, noted)


def run_gold_settled(run_id: int | None) -> None:
    """The backfill refreshed the gold it noted (``run_gold_pending``): nothing is owed any more."""
    if run_id is not None:
        _run_params_change(run_id, lambda params: {k: v for k, v in params.items() if k != "gold_pending"})


def _run_params_change(run_id: int, change) -> None:
    """Save ``change(params)`` as the run's params (row locked), unless it changes nothing."""
    with transaction.atomic():
        run = PipelineRun.objects.select_for_update().only("params").get(pk=run_id)
        params = run.params if isinstance(run.params, dict) else {}
        changed = change(params)
        if changed != params:
            run.params = changed
            run.save(update_fields=["params"])


def _gold_owed_refresh(run_id: int, pending: dict) -> None:
    """The gold an abandoned run owed, refreshed as its replay would have (``replay_gold_refresh``: a few
    days per transaction); settled unless a refresh failed (the next run or replay of those days does it)."""
    from .replay import replay_gold_refresh  # replay imports this module

    outcome = Outcome()
    for source, days in pending.items():
        if source in registry.PIPELINES and isinstance(days, list):
            replay_gold_refresh(source, {date.fromisoformat(d) for d in days}, outcome)
    if outcome.errors:
        logger.error("the gold abandoned run %s owed is not all refreshed: %s", run_id, "; ".join(outcome.errors))
        return
    run_gold_settled(run_id)
    logger.info("refreshed the gold that abandoned run %s owed (%s)", run_id, ", ".join(pending))


# --- queueing ---------------------------------------------------------------------------------------


class BrokerUnavailable(Exception):
    """The run could not be handed to the workers (the broker is down); it is recorded as failed."""

    def __init__(self, run: PipelineRun):
        super().__init__(run.error)
        self.run = run


@dataclass(frozen=True)
class QueuedRun:
    run: PipelineRun
    queued: bool


def pipeline_run_queue(*, pipeline: str, trigger: str = PipelineRun.Trigger.MANUAL, user: str = "") -> QueuedRun:
    """Queue a run of ``pipeline`` for a worker, unless one is queued or running (then it is skipped).

    The run claims the pipeline lock here, so two clicks at once make one run and one skipped run;
    the task re-claims the same lock (re-entrant for its run) and releases it when done.
    """
    spec = registry.pipeline_spec(pipeline)
    run = run_create(pipeline=spec.name, trigger=trigger, params={"requested_by": user} if user else {})
    if not pipeline_lock_acquire(spec.name, run_id=run.pk):
        return QueuedRun(run=run_skip(run, reason="another run of this pipeline is queued or running"), queued=False)

    def send() -> None:
        try:
            # By name: the task module imports these services (pipelines.tasks.pipeline_run_task).
            celery_app.send_task("pipelines.run", args=[spec.name], kwargs={"run_id": run.pk, "trigger": trigger})
        except (KombuError, OSError) as exc:
            # The broker is down: no worker will ever see this run. Left "queued", it would hold the
            # pipeline's lock (every scheduled run skipped) until the lock expires; record why instead.
            run_fail(run, error=f"could not queue the run: the task broker is unavailable ({exc})")
            pipeline_lock_release(spec.name, run_id=run.pk)
            raise BrokerUnavailable(run) from exc

    transaction.on_commit(send)
    return QueuedRun(run=run, queued=True)
