"""The lake's services. ``data_lake`` keeps the seed's API; the functions below are the app's seams.

See docs/CONTRACTS.md: ``raw_batch_store``, ``lake_object_read``, ``lake_objects_mark`` for pipelines.
"""

import datetime as dt
import logging

from lake import selectors
from lake.services.attempts import lake_object_failed, lake_objects_reset
from lake.services.retention import RetentionResult, lake_retention_apply, retention_policy
from lake.services.store import (
    LakeObjectCorrupt,
    LakeObjectMissing,
    LakeReadError,
    date_parse,
    envelope_json_data,
    envelope_json_decode,
    lake_object_json,
    lake_object_raw_read,
    lake_object_read,
    lake_objects_catalog,
    lake_objects_mark,
    raw_batch_store,
    raw_batch_write,
    source_validate,
    timestamp_utc,
)
from lake.services.summary import summary_rebuild
from lake.services.verify import VerifyResult, lake_verify
from lake.storage import LakeWriteError

logger = logging.getLogger(__name__)

__all__ = [
    "DataLake",
    "LakeObjectCorrupt",
    "LakeObjectMissing",
    "LakeReadError",
    "LakeWriteError",
    "RetentionResult",
    "VerifyResult",
    "data_lake",
    "date_parse",
    "envelope_json_data",
    "envelope_json_decode",
    "lake_object_failed",
    "lake_object_json",
    "lake_object_raw_read",
    "lake_object_read",
    "lake_objects_catalog",
    "lake_objects_mark",
    "lake_objects_reset",
    "lake_retention_apply",
    "lake_verify",
    "raw_batch_store",
    "raw_batch_write",
    "retention_policy",
    "source_validate",
    "summary_rebuild",
    "timestamp_utc",
]


class DataLake:
    """The seed's data lake API, over the catalogued store."""

    def store_raw_data(
        self, source: str, data, timestamp=None, *, run_id: int | None = None, simulated: bool = False
    ) -> str:
        """Store ``data`` (a dict or a list of records) as one new object; returns its key."""
        return raw_batch_store(source=source, data=data, timestamp=timestamp, run_id=run_id, simulated=simulated).key

    def retrieve_raw_data(self, source: str, date) -> list[dict]:
        """Every object of ``source`` on that UTC date, oldest first: key, timestamp, data and envelope fields.

        Objects that storage lost or that do not decode are skipped (and logged); lake_verify marks them.
        """
        source_validate(source)
        day = date_parse(date)
        out = []
        for obj in selectors.lake_objects_of_day(source=source, day=day):
            try:
                envelope = lake_object_read(obj)
            except LakeReadError as exc:
                logger.warning("skipping unreadable lake object %s: %s", obj.key, exc)
                continue
            out.append(
                {
                    "id": obj.pk,
                    "key": obj.key,
                    "timestamp": envelope["timestamp"],
                    "stored_at": envelope.get("stored_at"),
                    "records": envelope.get("records"),
                    "simulated": envelope.get("simulated", False),
                    "run_id": envelope.get("run_id"),
                    "schema_version": envelope.get("schema_version"),
                    "data": envelope["data"],
                }
            )
        return out

    def list_sources(self) -> list[str]:
        return [row["source"] for row in selectors.lake_sources()]

    def list_dates(self, source: str) -> list[str]:
        """``YYYY-MM-DD`` dates holding objects of ``source``, newest first."""
        source_validate(source)
        return [row["date"] for row in selectors.lake_source_dates(source=source)]

    def get_stats(self) -> dict:
        return selectors.lake_stats()

    def cleanup_old_data(self, days: int | None = None) -> int:
        """Delete objects older than ``days`` (default: LAKE_RETENTION_DAYS and per-source overrides).

        Returns the number of objects removed.
        """
        return lake_retention_apply(days=days).objects

    @staticmethod
    def partition_of(timestamp) -> dt.date:
        """The UTC date a timestamp is filed under."""
        return timestamp_utc(timestamp).date()


data_lake = DataLake()
