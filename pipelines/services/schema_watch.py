"""The schema watch: learn the raw payloads' keys and flag drift (new, missing or retyped keys) to quality."""

from __future__ import annotations

import logging

from lake.models import LakeObject
from quality.services import schema_drift_check

logger = logging.getLogger(__name__)

# Raw records the drift watch looks at: up to 200 of one object; in a group, 2 of each object (a
# change of NSE's or X's shape shows in every record of a batch, and flattening a 2 KB quote body
# costs a quarter of a millisecond).
SCHEMA_SAMPLE = 200
SCHEMA_SAMPLE_IN_GROUP = 2


def schema_sample_size(objects: int) -> int:
    """The records of each payload that the drift check of a group of ``objects`` objects looks at."""
    return SCHEMA_SAMPLE if objects == 1 else SCHEMA_SAMPLE_IN_GROUP


def schema_watch(*, objects: list[LakeObject], payloads: list, run_id) -> None:
    """One drift check per group of objects, on a sample that every object contributes to: the first
    ``schema_sample_size`` records of each payload (a payload may be given as those records alone).

    Never raises: drift watching must never stop a load.
    """
    per_object = schema_sample_size(len(objects))
    records = []
    for payload in payloads:
        items = payload if isinstance(payload, list) else [payload]
        records.extend([r for r in items if isinstance(r, dict) and r.get("format") != "text"][:per_object])
    if records:
        try:
            schema_drift_check(source=objects[0].source, records=records, run_id=run_id)
        except Exception:  # drift watching must never stop a load
            logger.exception("schema drift check failed for %s", objects[0].key)
