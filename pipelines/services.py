"""Pipeline services that change state: queue a run (the API's "run now")."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from kombu.exceptions import KombuError

from .etl import pipeline_spec
from .locks import pipeline_lock_acquire, pipeline_lock_release
from .models import PipelineRun


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
    spec = pipeline_spec(pipeline)
    run = PipelineRun.objects.create(
        pipeline=spec.name,
        source=spec.source,
        trigger=trigger,
        status=PipelineRun.Status.QUEUED,
        params={"requested_by": user} if user else {},
    )
    if not pipeline_lock_acquire(spec.name, run_id=run.pk):
        run.status = PipelineRun.Status.SKIPPED
        run.error = "another run of this pipeline is queued or running"
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        return QueuedRun(run=run, queued=False)
    from .tasks import pipeline_run_task

    def send() -> None:
        try:
            pipeline_run_task.delay(spec.name, run_id=run.pk, trigger=trigger)
        except (KombuError, OSError) as exc:
            # The broker is down: no worker will ever see this run. Left "queued", it would hold the
            # pipeline's lock (every scheduled run skipped) until the lock expires; record why instead.
            run.status = PipelineRun.Status.FAILED
            run.error = f"could not queue the run: the task broker is unavailable ({exc})"
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "error", "finished_at"])
            pipeline_lock_release(spec.name, run_id=run.pk)
            raise BrokerUnavailable(run) from exc

    transaction.on_commit(send)
    return QueuedRun(run=run, queued=True)
