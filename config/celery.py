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
