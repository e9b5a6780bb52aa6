"""One run of a pipeline at a time: a lock row claimed with a conditional UPDATE, with an expiry.

A claim is ``UPDATE … WHERE pipeline = %s AND (holder IS NULL OR expires_at < now)``: exactly one of
several concurrent claimers sees one updated row (healthchecks' sendalerts pattern). The expiry frees
the lock of a worker that was killed mid-run; it is longer than the task's hard time limit.
"""

import logging
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from .models import PipelineLock

logger = logging.getLogger(__name__)


def _ttl() -> timedelta:
    return timedelta(seconds=getattr(settings, "PIPELINE_LOCK_TTL", settings.CELERY_TASK_TIME_LIMIT + 300))


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
        .update(holder_run_id=run_id, acquired_at=now, expires_at=now + _ttl())
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
