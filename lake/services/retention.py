"""Retention: delete objects whose UTC partition date is older than the source's retention days."""

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone
from tqdm import tqdm

from core.errors import InvalidInput, echo
from lake.models import LakeObject, LakeRetentionOverride, LakeSourceDay
from lake.services.store import source_validate
from lake.services.summary import summary_rebuild
from lake.storage import lake_storage

logger = logging.getLogger(__name__)
CHUNK = 500


@dataclass
class RetentionResult:
    dry_run: bool
    objects: int = 0
    bytes: int = 0
    already_missing: int = 0
    folders_removed: int = 0
    # source -> (days kept, first date kept)
    policy: dict[str, tuple[int, dt.date]] = field(default_factory=dict)
    per_source: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        verb = "Would remove" if self.dry_run else "Removed"
        mb = self.bytes / 1_048_576
        text = f"{verb} {self.objects} object(s), {mb:.2f} MB ({self.bytes} bytes) freed"
        if self.already_missing:
            text += f"; {self.already_missing} catalogued object(s) were already gone from storage"
        return text


def retention_policy(*, days: int | None = None, source: str | None = None, today: dt.date | None = None):
    """source -> (days, cutoff): objects dated before the cutoff are due. Explicit ``days`` beats overrides."""
    if days is not None and (not isinstance(days, int) or isinstance(days, bool) or days < 0):
        raise InvalidInput(f"days: expected a whole number of days >= 0, got {echo(days)}")
    today = today or timezone.now().astimezone(dt.UTC).date()
    if source is not None:
        sources = [source_validate(source)]
    else:
        sources = list(LakeSourceDay.objects.order_by().values_list("source", flat=True).distinct())
    overrides = dict(LakeRetentionOverride.objects.values_list("source", "days"))
    policy = {}
    for name in sorted(sources):
        keep = days if days is not None else overrides.get(name, settings.LAKE_RETENTION_DAYS)
        policy[name] = (keep, today - dt.timedelta(days=keep))
    return policy


def lake_retention_apply(
    *,
    days: int | None = None,
    source: str | None = None,
    dry_run: bool = False,
    today: dt.date | None = None,
    progress: bool = False,
) -> RetentionResult:
    """Delete (or with ``dry_run`` only count) objects older than the retention policy.

    Works from the catalog only, so nothing outside the lake root is ever touched; storage first,
    then the catalog rows, then the day totals, then empty day/month/year folders.
    """
    result = RetentionResult(dry_run=dry_run)
    storage = lake_storage()
    result.policy = retention_policy(days=days, source=source, today=today)
    for name, (_keep, cutoff) in result.policy.items():
        due = LakeObject.objects.filter(source=name, partition_date__lt=cutoff)
        total = due.count()
        if not total:
            continue
        touched: set[tuple[str, dt.date]] = set()
        folders: set[str] = set()
        last_id = 0
        with tqdm(total=total, desc=f"retention {name}", unit="obj", disable=not progress) as bar:
            while True:
                # Keyset pages on the primary key: bounded memory, and deleting does not shift pages.
                chunk = list(
                    due.filter(pk__gt=last_id)
                    .order_by("pk")
                    .values_list("pk", "key", "bytes", "partition_date", "raw_key")[:CHUNK]
                )
                if not chunk:
                    break
                last_id = chunk[-1][0]
                done = []
                for pk, key, size, day, raw_key in chunk:
                    result.objects += 1
                    result.bytes += size
                    result.per_source[name] = result.per_source.get(name, 0) + 1
                    if not dry_run:
                        if not storage.delete(key):
                            result.already_missing += 1
                        if raw_key:
                            storage.delete(raw_key)
                        done.append(pk)
                        touched.add((name, day))
                        folders.add(key.rsplit("/", 1)[0])
                    bar.update(1)
                if done:
                    LakeObject.objects.filter(pk__in=done).delete()
        if not dry_run:
            summary_rebuild(touched)
            result.folders_removed += storage.prune_empty_folders(folders)
    logger.info("lake retention: %s", result.summary())
    return result
