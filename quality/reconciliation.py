"""The reconciliation: every record of every processed lake object accounted for, recounted from the tables.

For each lake object the pipeline processed, ``LakeObjectAccount`` keeps the records it read out of
the object and the duplicates among them. The check recounts, from the tables, the warehouse rows
that name the object (``lake_object_id``) and its quarantined records:

    gap = records - (warehouse rows + quarantined + duplicates)

A gap other than 0 means records went missing (a row deleted, a quarantine entry removed) or
appeared from nowhere. ``lake_objects_account`` records an object when the pipeline has processed
it; ``lake_objects_unaccounted`` lists the objects whose gap is not 0 now.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count
from django.utils import timezone

from warehouse.models import DailyBar, SocialMention, StockData

from .models import LakeObjectAccount, QuarantinedRecord

# The warehouse table whose rows account for a dataset's records (a bhavcopy's closes also become
# stock rows naming the object, but they are copies of its bars, not more records).
ROWS_OF = {"stock_quotes": StockData, "bhavcopy_rows": DailyBar, "social_mentions": SocialMention}


def _counts(model, ids: list[int], **filters) -> Counter:
    rows = model.objects.filter(lake_object_id__in=ids, **filters).values("lake_object_id").annotate(n=Count("pk"))
    return Counter({row["lake_object_id"]: row["n"] for row in rows})


def _recount(dataset: str, ids: list[int]) -> tuple[Counter, Counter]:
    """(warehouse rows, quarantined records) naming each object, counted now."""
    # Only records still quarantined: a recovered one was loaded since, and is counted as its row.
    status = QuarantinedRecord.Status.QUARANTINED
    return _counts(ROWS_OF[dataset], ids), _counts(QuarantinedRecord, ids, dataset=dataset, status=status)


def lake_objects_account(*, dataset: str, records: dict[int, int], run_id: int | None = None) -> None:
    """Record how the records of freshly processed lake objects (object id -> records read) were
    accounted for: what became neither a row of the object nor a quarantined record is a duplicate."""
    if not records:
        return
    ids = list(records)
    rows, quarantined = _recount(dataset, ids)
    now = timezone.now()
    accounts = [
        LakeObjectAccount(
            lake_object_id=pk,
            dataset=dataset,
            records=count,
            duplicates=count - rows[pk] - quarantined[pk],
            run_id=run_id,
            updated=now,
        )
        for pk, count in records.items()
    ]
    LakeObjectAccount.objects.bulk_create(
        accounts,
        update_conflicts=True,
        unique_fields=["lake_object"],
        update_fields=["dataset", "records", "duplicates", "run_id", "updated"],
    )


@dataclass(frozen=True)
class Unaccounted:
    """A lake object whose records are not all accounted for now."""

    lake_object_id: int
    dataset: str
    records: int
    rows: int
    quarantined: int
    duplicates: int

    @property
    def gap(self) -> int:
        return self.records - self.rows - self.quarantined - self.duplicates

    def as_dict(self) -> dict:
        return {**self.__dict__, "gap": self.gap}


def _gaps(accounts: list[LakeObjectAccount]) -> list[Unaccounted]:
    found: list[Unaccounted] = []
    for dataset in sorted({a.dataset for a in accounts}):
        mine = [a for a in accounts if a.dataset == dataset]
        for start in range(0, len(mine), 5000):
            chunk = mine[start : start + 5000]
            rows, quarantined = _recount(dataset, [a.lake_object_id for a in chunk])
            for a in chunk:
                pk = a.lake_object_id
                item = Unaccounted(pk, dataset, a.records, rows[pk], quarantined[pk], a.duplicates)
                if item.gap:
                    found.append(item)
    return found


def lake_objects_unaccounted(*, days: int = 7, limit: int = 100) -> list[Unaccounted]:
    """Lake objects processed in the last ``days`` whose records no longer add up, newest first."""
    since = timezone.now() - timedelta(days=days)
    accounts = list(LakeObjectAccount.objects.filter(updated__gte=since).order_by("-updated"))
    order = {a.lake_object_id: n for n, a in enumerate(accounts)}
    return sorted(_gaps(accounts), key=lambda item: order[item.lake_object_id])[:limit]


def lake_objects_gaps(*, lake_object_ids: list[int]) -> tuple[int, list[Unaccounted]]:
    """(records, unaccounted objects) of these lake objects, as far as they were processed."""
    accounts = list(LakeObjectAccount.objects.filter(lake_object_id__in=list(lake_object_ids)))
    return sum(a.records for a in accounts), _gaps(accounts)
