"""What transforming and loading lake objects did: the counts a run, a replay and a fan-out add up.

Per run and per lake object: ``fetched`` records = ``valid`` (newly loaded) + ``rejected``
(quarantined with reasons) + ``duplicates`` (already in the warehouse, repeated in the batch, or a
repost of a message in the batch).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

COUNTS = ("fetched", "parsed", "valid", "rejected", "inserted", "duplicates", "skipped")


@dataclass
class Outcome:
    """What transforming and loading one or more lake objects did."""

    fetched: int = 0
    parsed: int = 0
    valid: int = 0
    rejected: int = 0
    inserted: int = 0
    duplicates: int = 0
    skipped: int = 0  # items that are no record (a photo without text, a service message): outside fetched
    drift: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dates: set[date] = field(default_factory=set)

    def add(self, other: Outcome) -> None:
        self.add_counts(other.counts())
        self.drift.extend(other.drift)
        self.errors.extend(other.errors)
        self.dates |= other.dates

    def add_counts(self, counts: dict) -> None:
        """Add the counts of ``counts`` (a worker's answer: names of ``COUNTS``, missing ones are 0)."""
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + int(counts.get(name, 0) or 0))

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTS}


@dataclass
class ParsedGroup:
    """Lake objects of one source, parsed, on their way to a kind's handler (which adds to ``outcome``)."""

    objects: list  # LakeObject
    parsed: list  # ParseResult, one per object
    run_id: int | None
    outcome: Outcome
    # Records read out of each object (object id -> count), for the reconciliation (quality).
    records: Counter = field(default_factory=Counter)

    @property
    def ids(self) -> list[int]:
        return [obj.pk for obj in self.objects]

    def read(self, rows: list[dict]) -> None:
        """Count ``rows`` (each naming its ``lake_object_id``) as records fetched from their objects."""
        self.outcome.fetched += len(rows)
        self.records.update(row["lake_object_id"] for row in rows)

    def tagged(self, name: str) -> list[dict]:
        """The records ``name`` ("stock_rows", "bars", …) of every object, each tagged with its object."""
        rows = []
        for obj, parsed in zip(self.objects, self.parsed, strict=True):
            items = getattr(parsed, name)
            for row in items:
                row["lake_object_id"] = obj.pk
            rows.extend(items)
        return rows
