"""The seed's lake, kept as the baseline of the lake and pipelines benches: one gzip JSON file per
record, written atomically (temp file, fsync, rename, fsync of the folder)."""

from __future__ import annotations

import gzip
import json
import os
from datetime import datetime
from pathlib import Path


def fsync_dir(path: Path | str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def naive_store(root: Path, source: str, record: dict, ts: datetime, i: int) -> None:
    """Store one record the seed's way, under ``{source}/{YYYY}/{MM}/{DD}/``."""
    folder = root / source / f"{ts:%Y/%m/%d}"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{ts:%Y-%m-%dT%H-%M-%S}_{i}.json.gz"
    body = {"source": source, "timestamp": ts.isoformat(), "data": record}
    payload = gzip.compress(json.dumps(body, default=str).encode())
    tmp = folder / f".{name}.tmp"
    with open(tmp, "wb") as fh:
        fh.write(payload)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, folder / name)
    fsync_dir(folder)
