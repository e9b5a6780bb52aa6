"""Reads of the lake catalog. Stats, sources and dates come from the per-source/day summary table."""

import datetime as dt

from django.conf import settings
from django.db.models import Count, Max, Min, QuerySet, Sum

from lake.models import LakeObject, LakeSourceDay
from lake.storage import lake_storage


def lake_objects_in_range(*, source: str, start: dt.date, end: dt.date, statuses=None) -> QuerySet:
    """Catalog rows of ``source`` with start <= partition date <= end, oldest first."""
    qs = LakeObject.objects.filter(source=source, partition_date__gte=start, partition_date__lte=end)
    if statuses:
        qs = qs.filter(status__in=list(statuses))
    return qs.order_by("timestamp", "id")


def lake_objects_of_day(*, source: str, day: dt.date) -> QuerySet:
    """One source's catalog rows for one UTC date, oldest first (uses the source/date index)."""
    return LakeObject.objects.filter(source=source, partition_date=day).order_by("timestamp", "id")


def lake_source_exists(source: str) -> bool:
    return LakeSourceDay.objects.filter(source=source, object_count__gt=0).exists()


def _ratio(raw: int, stored: int) -> float | None:
    return round(raw / stored, 2) if stored else None


def lake_sources() -> list[dict]:
    """Each source with its object count, sizes, records and first/last dates, by name."""
    rows = (
        LakeSourceDay.objects.filter(object_count__gt=0)
        .values("source")
        .annotate(
            objects=Sum("object_count"),
            total_bytes=Sum("bytes"),
            total_raw=Sum("raw_bytes"),
            total_records=Sum("records"),
            simulated=Sum("simulated_objects"),
            days=Count("id"),
            first=Min("partition_date"),
            last=Max("partition_date"),
        )
        .order_by("source")
    )
    return [
        {
            "source": row["source"],
            "objects": row["objects"],
            "bytes": row["total_bytes"],
            "raw_bytes": row["total_raw"],
            "records": row["total_records"],
            "simulated_objects": row["simulated"],
            "compression_ratio": _ratio(row["total_raw"], row["total_bytes"]),
            "days": row["days"],
            "first_date": row["first"].isoformat(),
            "last_date": row["last"].isoformat(),
        }
        for row in rows
    ]


def lake_source_dates(*, source: str) -> list[dict]:
    """The UTC dates holding objects of ``source``, newest first, with that day's totals."""
    rows = LakeSourceDay.objects.filter(source=source, object_count__gt=0).order_by("-partition_date")
    return [
        {
            "date": row.partition_date.isoformat(),
            "objects": row.object_count,
            "bytes": row.bytes,
            "records": row.records,
            "simulated_objects": row.simulated_objects,
        }
        for row in rows
    ]


def lake_stats() -> dict:
    """Totals of the whole lake and per source, from the summary table (a few rows per source and day)."""
    sources = lake_sources()
    total = {key: sum(s[key] for s in sources) for key in ("objects", "bytes", "raw_bytes", "records")}
    simulated = sum(s["simulated_objects"] for s in sources)
    # Only unhealthy rows are counted: the (status, source) index keeps this cheap at any size.
    problems = dict(
        LakeObject.objects.filter(
            status__in=[LakeObject.Status.MISSING, LakeObject.Status.CORRUPT, LakeObject.Status.FAILED]
        )
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {
        **total,
        "compression_ratio": _ratio(total["raw_bytes"], total["bytes"]),
        "space_saved_pct": round(100 * (1 - total["bytes"] / total["raw_bytes"]), 1) if total["raw_bytes"] else None,
        "simulated_objects": simulated,
        "missing_objects": problems.get(LakeObject.Status.MISSING, 0),
        "corrupt_objects": problems.get(LakeObject.Status.CORRUPT, 0),
        "failed_objects": problems.get(LakeObject.Status.FAILED, 0),
        "first_date": min((s["first_date"] for s in sources), default=None),
        "last_date": max((s["last_date"] for s in sources), default=None),
        "storage": lake_storage().scheme,
        "retention_days": settings.LAKE_RETENTION_DAYS,
        # The seed's names, kept for scripts written against it.
        "total_files": total["objects"],
        "total_size_mb": round(total["bytes"] / 1_048_576, 3),
        "sources": sources,
    }
