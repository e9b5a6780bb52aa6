"""Celery tasks of the quality app (thin: one service call each)."""

from celery import shared_task
from django.db import OperationalError

from .services import quality_evaluate


@shared_task(
    name="quality.tasks.quality_checks_hourly",
    autoretry_for=(OperationalError,),
    retry_backoff=30,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=3,
)
def quality_checks_hourly() -> dict:
    """Compute every dataset's metrics and evaluate the checks (beat: hourly). Safe to run twice."""
    result = quality_evaluate()
    return {
        "metrics": len(result.metrics),
        "checks": len(result.checks),
        "incidents_opened": result.incidents_opened,
        "incidents_closed": result.incidents_closed,
    }
