"""Rebuilding the per-source/day totals from the catalog (after deletes, repairs, registrations)."""

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count, Q, Sum

from lake.models import LakeObject, LakeSourceDay


def _aggregate(qs):
    return qs.values("source", "partition_date").annotate(
        n=Count("id"),
        b=Sum("bytes"),
        r=Sum("raw_bytes"),
        rec=Sum("records"),
        sim=Count("id", filter=Q(simulated=True)),
    )


def summary_rebuild(pairs: Iterable[tuple[str, dt.date]] | None = None) -> None:
    """Recompute the totals of these (source, date) pairs, or of the whole lake when ``pairs`` is None."""
    with transaction.atomic():
        if pairs is None:
            LakeSourceDay.objects.all().delete()
            LakeSourceDay.objects.bulk_create(
                LakeSourceDay(
                    source=row["source"],
                    partition_date=row["partition_date"],
                    object_count=row["n"],
                    bytes=row["b"],
                    raw_bytes=row["r"],
                    records=row["rec"],
                    simulated_objects=row["sim"],
                )
                for row in _aggregate(LakeObject.objects.order_by())
            )
            return
        for source, day in set(pairs):
            rows = list(_aggregate(LakeObject.objects.filter(source=source, partition_date=day).order_by()))
            row = rows[0] if rows else None
            if row is None:
                LakeSourceDay.objects.filter(source=source, partition_date=day).delete()
                continue
            LakeSourceDay.objects.update_or_create(
                source=source,
                partition_date=day,
                defaults={
                    "object_count": row["n"],
                    "bytes": row["b"],
                    "raw_bytes": row["r"],
                    "records": row["rec"],
                    "simulated_objects": row["sim"],
                },
            )
