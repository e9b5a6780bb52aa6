"""Poison objects: each lake object counts its failed processings; after LAKE_MAX_ATTEMPTS it is
``failed`` and left out of replay until someone resets it (admin action, ``reprocess --include-failed``)."""

from collections.abc import Iterable

from django.conf import settings
from django.db.models import F

from core.errors import one_line
from lake.models import LakeObject


def lake_object_failed(obj_or_id, *, error: str) -> str:
    """Count one failed processing of an object; returns its status (``failed`` at the limit)."""
    pk = obj_or_id.pk if isinstance(obj_or_id, LakeObject) else obj_or_id
    rows = LakeObject.objects.filter(pk=pk)
    rows.update(attempts=F("attempts") + 1, last_error=one_line(error, limit=2000))
    # Only an object still waiting to load turns failed (a missing or corrupt one keeps saying so).
    rows.filter(attempts__gte=settings.LAKE_MAX_ATTEMPTS, status=LakeObject.Status.STORED).update(
        status=LakeObject.Status.FAILED
    )
    return rows.values_list("status", flat=True).first() or ""


def lake_objects_reset(ids: Iterable[int]) -> int:
    """Give failed objects a fresh start (stored, no attempts counted); returns how many were reset."""
    return LakeObject.objects.filter(pk__in=list(ids), status=LakeObject.Status.FAILED).update(
        status=LakeObject.Status.STORED, attempts=0, last_error=""
    )
