"""lake_verify: reconcile the catalog with storage (checksums, orphans, lost objects, crash leftovers)."""

import datetime as dt
import hashlib
import logging
import re
import time
from dataclasses import dataclass, field

from django.db import transaction
from isal import igzip
from tqdm import tqdm

from lake.models import LakeObject
from lake.services.store import LakeObjectCorrupt, envelope_decode, summary_add, timestamp_utc
from lake.services.summary import summary_rebuild
from lake.storage import is_tmp_name, key_is_valid, lake_storage, raw_key_is_valid

logger = logging.getLogger(__name__)
NAME_TS_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})(?:\.(\d{6}))?")


@dataclass
class VerifyResult:
    checked: int = 0
    ok: int = 0
    bytes_checked: int = 0
    corrupt: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    registered: list[str] = field(default_factory=list)
    tmp_swept: list[str] = field(default_factory=list)
    tmp_kept: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.corrupt or self.missing or self.registered or self.tmp_swept or self.foreign)

    def lines(self) -> list[str]:
        out = [
            f"Checked {self.checked} catalogued object(s), {self.bytes_checked / 1_048_576:.2f} MB: {self.ok} intact.",
            f"Registered {len(self.registered)} object(s) found in storage but not in the catalog.",
            f"Marked {len(self.missing)} catalog row(s) missing (object gone from storage).",
            f"Marked {len(self.corrupt)} object(s) corrupt (does not decode or checksum differs).",
            f"Restored {len(self.restored)} row(s) to stored (object back and intact).",
            f"Swept {len(self.tmp_swept)} temporary file(s) left by interrupted writes.",
        ]
        if self.tmp_kept:
            out.append(f"Kept {len(self.tmp_kept)} recent temporary file(s): a write may still be in progress.")
        if self.foreign:
            out.append(
                f"Left alone {len(self.foreign)} file(s) that are not lake objects: {', '.join(self.foreign[:5])}"
            )
        return out


def _registration(key: str, payload: bytes) -> LakeObject:
    """A catalog row for an object found in storage (decoded when possible, else marked corrupt)."""
    source, yyyy, mm, dd, name = key.split("/")
    day = dt.date(int(yyyy), int(mm), int(dd))
    common = {"source": source, "key": key, "bytes": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}
    try:
        envelope = envelope_decode(payload)
        ts = timestamp_utc(envelope.get("timestamp"))
        data = envelope["data"]
        return LakeObject(
            **common,
            partition_date=day,
            timestamp=ts,
            raw_bytes=len(igzip.decompress(payload)),
            records=int(envelope.get("records", len(data) if isinstance(data, list) else 1)),
            run_id=envelope.get("run_id"),
            simulated=bool(envelope.get("simulated", False)),
            schema_version=int(envelope.get("schema_version", 1)),
        )
    except (LakeObjectCorrupt, ValueError, TypeError):
        match = NAME_TS_RE.match(name)
        ts = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        if match:
            ts = dt.datetime.fromisoformat(f"{match[1]}T{match[2]}:{match[3]}:{match[4]}.{match[5] or '000000'}+00:00")
        return LakeObject(
            **common, partition_date=day, timestamp=ts, raw_bytes=0, records=0, status=LakeObject.Status.CORRUPT
        )


def lake_verify(*, tmp_grace_seconds: float = 600, progress: bool = False) -> VerifyResult:
    """Recompute every checksum, register uncatalogued objects, mark missing/corrupt rows, sweep leftovers.

    Temporary files younger than ``tmp_grace_seconds`` are kept: a writer may be about to rename them.
    """
    result = VerifyResult()
    storage = lake_storage()
    in_storage = _storage_list(storage, result, tmp_grace_seconds=tmp_grace_seconds, progress=progress)
    last_id = 0
    total = LakeObject.objects.count()
    with tqdm(total=total, desc="verifying", unit="obj", disable=not progress) as bar:
        while True:
            chunk = list(LakeObject.objects.filter(pk__gt=last_id).order_by("pk")[:500])
            if not chunk:
                break
            last_id = chunk[-1].pk
            for obj in chunk:
                bar.update(1)
                result.checked += 1
                new_status = _object_check(storage, obj, in_storage, result)
                if new_status != obj.status:
                    LakeObject.objects.filter(pk=obj.pk).update(status=new_status)

    # What is left in storage has no catalog row: a writer died between its write and its insert.
    for key in tqdm(sorted(in_storage), desc="registering", unit="obj", disable=not progress):
        row = _orphan_register(storage, key)
        if row is None:
            continue
        result.registered.append(key)
        if row.status == LakeObject.Status.CORRUPT:
            result.corrupt.append(key)
    # Totals are rebuilt from the catalog so they match it exactly after the repairs.
    summary_rebuild()
    logger.info("lake verify: %s", " ".join(result.lines()))
    return result


def _storage_list(storage, result: VerifyResult, *, tmp_grace_seconds: float, progress: bool) -> dict[str, int]:
    """Every lake object in storage (key -> size); temporary leftovers older than the grace period are
    swept on the way, and files that are not lake objects noted."""
    now = time.time()
    in_storage: dict[str, int] = {}
    for item in tqdm(storage.walk(), desc="listing lake", unit="file", disable=not progress):
        name = item.key.rsplit("/", 1)[-1]
        if is_tmp_name(name):
            if item.mtime is not None and now - item.mtime < tmp_grace_seconds:
                result.tmp_kept.append(item.key)
            else:
                storage.delete_tmp(item.key)
                result.tmp_swept.append(item.key)
        elif key_is_valid(item.key):
            in_storage[item.key] = item.size
        elif raw_key_is_valid(item.key):
            continue  # an envelope's original bytes: catalogued with it (raw_key)
        else:
            result.foreign.append(item.key)
    return in_storage


def _object_check(storage, obj: LakeObject, in_storage: dict[str, int], result: VerifyResult) -> str:
    """The status one catalog row should have, judged by its object in storage (taken off ``in_storage``)."""
    present = in_storage.pop(obj.key, None) is not None
    status = obj.status
    payload = None
    if present:
        try:
            payload = storage.read(obj.key)
        except FileNotFoundError:
            payload = None
    if payload is None:
        result.missing.append(obj.key)
        return LakeObject.Status.MISSING
    result.bytes_checked += len(payload)
    intact = hashlib.sha256(payload).hexdigest() == obj.sha256
    if intact:
        try:
            envelope_decode(payload)
        except LakeObjectCorrupt:
            intact = False
    if not intact:
        result.corrupt.append(obj.key)
        return LakeObject.Status.CORRUPT
    result.ok += 1
    if status in (LakeObject.Status.MISSING, LakeObject.Status.CORRUPT):
        result.restored.append(obj.key)
        return LakeObject.Status.STORED
    return status


def _orphan_register(storage, key: str, *, summarize: bool = False) -> LakeObject | None:
    """Catalog an object that storage holds and the catalog lacks; None when it vanished meanwhile or a
    writer catalogued it first. ``summarize`` adds it to the per-day totals too."""
    try:
        payload = storage.read(key)
    except FileNotFoundError:
        return None
    row = _registration(key, payload)
    with transaction.atomic():
        if LakeObject.objects.filter(key=key).exists():
            return None  # a writer catalogued it meanwhile
        row.save()
        if summarize:
            summary_add(row)
    return row


def lake_register_recent(*, days: int = 2, min_age_seconds: float = 60) -> list[str]:
    """Catalog objects of the last ``days`` UTC partitions that storage holds but the catalog lacks.

    A run whose database went away after its object was written leaves exactly that (the lake is the
    outbox); the scheduled replay calls this first, so those batches get loaded. Cheap: it lists only
    the recent day folders, never the whole lake. Objects younger than ``min_age_seconds`` are left to
    the writer that may be about to catalog them.
    """
    storage = lake_storage()
    today = dt.datetime.now(dt.UTC).date()
    registered: list[str] = []
    try:
        sources = [p.rstrip("/").rsplit("/", 1)[-1] for p in storage.fs.ls(storage.root, detail=False)]
    except FileNotFoundError:
        return registered
    for source in sources:
        for back in range(days):
            day = today - dt.timedelta(days=back)
            folder = f"{source}/{day:%Y/%m/%d}"
            try:
                entries = storage.fs.ls(storage.path(folder), detail=True)
            except (FileNotFoundError, NotADirectoryError):
                continue
            keys = {}
            for entry in entries:
                name = entry["name"].rstrip("/").rsplit("/", 1)[-1]
                key = f"{folder}/{name}"
                if entry.get("type") == "file" and not is_tmp_name(name) and key_is_valid(key):
                    mtime = entry.get("mtime") or (
                        entry.get("LastModified").timestamp() if entry.get("LastModified") else 0
                    )
                    keys[key] = mtime
            known = set(LakeObject.objects.filter(key__in=list(keys)).values_list("key", flat=True))
            for key, mtime in keys.items():
                if key in known or (mtime and time.time() - mtime < min_age_seconds):
                    continue
                row = _orphan_register(storage, key, summarize=True)
                if row is not None:
                    registered.append(key)
    if registered:
        logger.info("lake: registered %d uncatalogued recent object(s)", len(registered))
    return registered
