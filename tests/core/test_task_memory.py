"""A worker process lives through many tasks: what one task held must not stay alive into the next."""

import gc
import weakref

import pytest
from celery.signals import task_postrun
from django.db import IntegrityError, connection, transaction

import config.celery  # noqa: F401  (connects the task signals, as the worker does)
from quality.models import PumpAlert


class _Held:
    """Stands for a run's batches: something only the task's frames refer to."""


def _task_body() -> weakref.ref:
    """A task's work that catches an IntegrityError; returns a weak reference to one of its locals."""
    held = _Held()  # alive in this frame, as a run's locals are
    PumpAlert.objects.create(ticker="IRFC", date="2026-05-19", pump_score=0.8, threshold=0.6, message="")
    try:
        with transaction.atomic():
            PumpAlert.objects.create(ticker="IRFC", date="2026-05-19", pump_score=0.8, threshold=0.6, message="")
    except IntegrityError:
        pass  # caught, as the code's race fallbacks do
    return weakref.ref(held)


@pytest.mark.django_db(transaction=True)
def test_a_finished_task_leaves_no_frames_alive_on_the_database_connection():
    held = _task_body()
    gc.collect()
    # Django keeps the rolled-back exception, and through its traceback the task's frames and locals.
    assert connection.rollback_exc is not None
    assert held() is not None

    task_postrun.send(sender=None, task_id="t-1", task=None, args=(), kwargs={}, retval=None, state="SUCCESS")
    gc.collect()

    assert connection.rollback_exc is None
    assert held() is None
