"""Celery tasks of the lake: thin wrappers over the services."""

from celery import shared_task

from lake.services import lake_retention_apply


@shared_task(
    name="lake.tasks.lake_retention",
    # Storage hiccups (an S3 timeout, a busy disk) are worth a retry; retention is idempotent.
    autoretry_for=(OSError, ConnectionError),
    retry_backoff=30,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=3,
)
def lake_retention(days: int | None = None, source: str | None = None) -> dict:
    """Apply the retention policy (LAKE_RETENTION_DAYS and per-source overrides); returns what was freed."""
    result = lake_retention_apply(days=days, source=source)
    return {"objects": result.objects, "bytes": result.bytes, "per_source": result.per_source}
