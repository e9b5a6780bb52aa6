"""The Celery app. Settings come from Django settings (CELERY_* names)."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("tickerlake")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Tasks (pipelines, quality, maintenance) read the primary: they write what they read next.
_pins: dict[str, object] = {}


@task_prerun.connect
def _pin_primary(task_id=None, **_):
    from core.db import primary_pinned

    pin = primary_pinned()
    pin.__enter__()
    _pins[task_id] = pin


@task_postrun.connect
def _unpin_primary(task_id=None, **_):
    pin = _pins.pop(task_id, None)
    if pin is not None:
        pin.__exit__(None, None, None)


@task_postrun.connect
def _forget_rolled_back_errors(**_):
    """Django keeps the last exception that an ORM write inside an atomic block rolled back on the connection
    (``rollback_exc``: read only while that block still has to roll back, and never cleared), and with its
    traceback every frame it passed through: whatever the task held (a run's batches) stayed alive in the worker
    until the next such error. A finished task's is dropped."""
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.rollback_exc = None
