"""Celery tasks of the warehouse: thin wrappers over the services."""

from celery import shared_task
from django.db import OperationalError

from warehouse.services.partitions import partitions_maintain


@shared_task(
    name="warehouse.tasks.warehouse_partitions",
    # The database being briefly away is worth a retry; the pass is idempotent.
    autoretry_for=(OperationalError,),
    retry_backoff=30,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=3,
)
def warehouse_partitions(ahead: int = 3) -> dict:
    """Create partitions ahead, adopt strays from the default partitions, apply WAREHOUSE_RETENTION_MONTHS."""
    return partitions_maintain(ahead=ahead).as_dict()
