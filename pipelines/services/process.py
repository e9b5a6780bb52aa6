"""Process lake objects: parse → (schema watch) → the kind's handler (validate → load → quarantine).

Every fetched batch is stored in the lake (and catalogued) before anything parses it; the same
``lake_objects_process`` then transforms and loads fresh batches (a run groups those that arrive
quickly, see ``ObjectGroup``) and replayed ones, with the verdicts of loading them one after another,
so replaying an object is exactly a second load of it (idempotent: natural keys plus ON CONFLICT DO
NOTHING). A group of lake objects of one source is processed in one call.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import msgspec
import orjson
from django.db import OperationalError

from core.collector import gc_paused
from core.commits import commits_unflushed
from lake.models import LakeObject
from lake.services import (
    envelope_json_data,
    envelope_json_decode,
    lake_object_failed,
    lake_object_json,
    lake_object_read,
    lake_objects_catalog,
    lake_objects_mark,
)
from quality.models import QuarantinedRecord
from quality.reconciliation import lake_objects_account
from warehouse.services import WarehouseUnavailable

from .. import registry
from ..parsers import JSON_PARSERS, parse, parse_json
from .hooks import gold_refresh_for
from .outcome import Outcome, ParsedGroup
from .schema_watch import schema_sample_size, schema_watch
from .validate import quarantine, refused


def lake_object_process(*, obj: LakeObject, payload=None, run_id: int | None = None) -> Outcome:
    """Transform and load one lake object; safe to run again on the same object (idempotent).

    Raises only for infrastructure failures (the database going away); bad data is quarantined.
    """
    return lake_objects_process(objects=[obj], payloads=[payload], run_id=run_id)


def lake_objects_read(objects: list[LakeObject]) -> list[tuple]:
    """Each object's payload read from the lake and parsed: ``(payload, ParseResult)`` per object.

    A source with a JSON parser (``parsers.JSON_PARSERS``: NSE quotes) has its records read straight from
    the JSON text, and the payload given is then only its first records, those the group's drift check
    samples (``schema_sample_size``): the rest is never decoded. Touches no database: a replay runs it
    for the next group while PostgreSQL takes in this group's load (``core.overlap``). What fails here
    (a missing or corrupt object) is raised again, and reported, by the group's own read when it is
    processed.
    """
    sample = schema_sample_size(len(objects))
    read = []
    for obj in objects:
        if obj.source in JSON_PARSERS:
            read.append(_json_read(obj, sample=sample))
            continue
        payload = lake_object_read(obj)["data"]
        read.append((payload, parse(obj.source, payload, fetched_at=obj.timestamp)))
    return read


_RAW_ITEMS = msgspec.json.Decoder(list[msgspec.Raw])


def _json_read(obj: LakeObject, *, sample: int) -> tuple:
    """``(first records, ParseResult)`` of an object its source's JSON parser reads; ``(payload,
    ParseResult)`` of ``parse`` when it does not (another shape, or something to report)."""
    text = lake_object_json(obj)
    data = envelope_json_data(text)
    parsed = parse_json(obj.source, data) if data is not None else None
    if parsed is None:
        payload = envelope_json_decode(text)["data"]
        return payload, parse(obj.source, payload, fetched_at=obj.timestamp)
    return [orjson.loads(memoryview(item)) for item in _RAW_ITEMS.decode(data)[:sample]], parsed


def lake_objects_process(
    *,
    objects: list[LakeObject],
    payloads: list | None = None,
    run_id: int | None = None,
    refresh_gold: bool = True,
    read: list[tuple] | None = None,
) -> Outcome:
    """Transform and load lake objects of one source together, as if one after another (idempotent).

    ``payloads`` (one per object, ``None`` to read it from the lake) spare the read of a batch just
    stored. Each object is parsed (and its reposts collapsed) on its own; the group is validated and
    loaded in one pass (see ``validate.validate_and_load``), so a load's fixed costs are paid once per
    group. ``refresh_gold=False`` leaves the gold refresh (and the daily pump scores) of
    ``outcome.dates`` to the caller, which does it once per run. ``read``: ``lake_objects_read`` of these
    objects, done already (used once: processing changes the parsed records); an entry's ParseResult may
    be None (a payload not parsed yet). Raises only for
    infrastructure failures.
    """
    if not objects:
        return Outcome()
    # A group builds ~10^5 small objects (collections would walk them over and over); its commits need not
    # wait for the disk, as every one of them can be replayed from the lake (``core.commits``).
    with gc_paused(), commits_unflushed():
        return _objects_process(objects, payloads=payloads, run_id=run_id, refresh_gold=refresh_gold, read=read)


def _objects_process(objects: list[LakeObject], *, payloads, run_id, refresh_gold: bool, read) -> Outcome:
    sources = {obj.source for obj in objects}
    if len(sources) != 1:
        raise ValueError(f"objects: expected lake objects of one source, got {', '.join(sorted(sources))}")
    spec = registry.PIPELINES[objects[0].source]
    if read is None:  # not read and parsed ahead: the payloads given (a batch just stored) or from the lake
        read = [
            (payload if payload is not None else lake_object_read(obj)["data"], None)
            for obj, payload in zip(objects, payloads or [None] * len(objects), strict=True)
        ]
    payloads = [payload for payload, _parsed in read]
    ids = [obj.pk for obj in objects]
    # Reprocessing re-validates: the objects' earlier rejects are replaced by this pass's verdicts (a
    # rule fixed since then recovers them; recovered ones are kept as history).
    QuarantinedRecord.objects.filter(lake_object_id__in=ids, status=QuarantinedRecord.Status.QUARANTINED).delete()
    group = ParsedGroup(
        objects=objects, parsed=[], run_id=run_id if run_id is not None else objects[0].run_id, outcome=Outcome()
    )
    group.records.update(dict.fromkeys(ids, 0))
    group.parsed = [
        _parse(obj, payload, spec=spec, run_id=run_id, group=group, parsed=done)
        for obj, (payload, done) in zip(objects, read, strict=True)
    ]
    if spec.schema_watch:
        schema_watch(objects=objects, payloads=payloads, run_id=group.run_id)
    spec.handler(group)
    outcome = group.outcome
    outcome.valid = outcome.inserted
    lake_objects_account(dataset=spec.dataset, records=dict(group.records), run_id=group.run_id)
    if refresh_gold:
        gold_refresh_for(spec, outcome.dates)
    lake_objects_mark(ids, LakeObject.Status.LOADED)
    return outcome


def _parse(obj: LakeObject, payload, *, spec, run_id, group: ParsedGroup, parsed=None):
    """Parse one object's payload (unless ``parsed`` holds it already). A payload of an unknown shape (NSE
    changed its JSON, a file of an unknown layout) is kept whole in the quarantine with the reason, and
    counted as one refused record."""
    if parsed is None:
        parsed = parse(obj.source, payload, fetched_at=obj.timestamp)
    group.outcome.skipped += parsed.skipped
    problems = [("schema_drift", msg) for msg in parsed.drift] + [("parse_error", msg) for msg in parsed.errors]
    if problems:
        outcome = group.outcome
        outcome.drift.extend(parsed.drift)
        outcome.errors.extend(parsed.errors)
        record = {"lake_key": obj.key, "payload_excerpt": str(payload)[:2000]}
        outcome.fetched += len(problems)
        group.records[obj.pk] += len(problems)
        outcome.rejected += quarantine(
            dataset=spec.dataset,
            run_id=run_id if run_id is not None else obj.run_id,
            lake_object_id=obj.pk,
            rejected=[refused(record, rule, msg) for rule, msg in problems],
        )
    return parsed


# Batches that arrive quickly (saved files, replays, the simulator, a local upstream) are catalogued,
# transformed and loaded in groups: each is written to the lake as it arrives (durable before anything
# parses it), and the group is catalogued in one transaction and loaded once it holds
# GROUP_OBJECTS objects or its pipeline's ``group_records`` records (5,000 quotes, 10,000 posts: the
# registry), so a load's fixed costs (transactions, the warehouse probe, COPY, the
# drift check, catalog updates: ~20 ms) are paid per few thousand records rather than per 200-quote
# batch. A batch that took GROUP_WAIT_SECONDS or more to fetch, or a group that old, is loaded at once:
# there the upstream, not the load, sets the pace (the real NSE gives 200 quotes a minute), and its
# batches reach the warehouse as soon as they did one by one.
GROUP_OBJECTS = 100
GROUP_WAIT_SECONDS = 0.1


def group_full(spec, *, objects: int, records: int) -> bool:
    """Whether ``objects`` lake objects holding ``records`` records make a full group of ``spec``'s pipeline."""
    return records >= spec.group_records or objects >= GROUP_OBJECTS


class ObjectGroup:
    """Objects of one pipeline written to the lake and waiting for their catalog rows, transform and
    load (the grouping policy).

    ``flush`` catalogs the objects not yet catalogued (one transaction), processes them in one
    ``lake_objects_process`` call, adds to ``outcome``, then calls ``after_flush(state)`` with the
    connector state of the newest batch (saved only once loaded).
    """

    def __init__(self, *, spec, run_id: int, outcome: Outcome, after_flush: Callable | None = None):
        self.spec, self.run_id, self.outcome, self.after_flush = spec, run_id, outcome, after_flush
        self.objects: list[LakeObject] = []
        self.payloads: list = []
        self.parsed: list = []  # each payload's ParseResult when parsed already (read ahead), else None
        self.records = 0
        self.since = 0.0
        self.state = None

    def add(self, obj: LakeObject, payload, *, records: int, state=None, parsed=None) -> None:
        if not self.objects:
            self.since = time.perf_counter()
        self.objects.append(obj)
        self.payloads.append(payload)
        self.parsed.append(parsed)
        self.records += records
        self.state = state or self.state

    def full(self) -> bool:
        """Whether the group holds its records or objects (not merely waited long enough)."""
        return group_full(self.spec, objects=len(self.objects), records=self.records)

    def due(self, *, extract_seconds: float) -> bool:
        return (
            not self.spec.grouped
            or self.full()
            or extract_seconds >= GROUP_WAIT_SECONDS
            or time.perf_counter() - self.since >= GROUP_WAIT_SECONDS
        )

    def flush(self) -> None:
        if not self.objects:
            return
        objects, read, state = self.objects, list(zip(self.payloads, self.parsed, strict=True)), self.state
        self.objects, self.payloads, self.parsed, self.records, self.state = [], [], [], 0, None
        lake_objects_catalog([obj for obj in objects if obj.pk is None])
        try:
            processed = lake_objects_process(objects=objects, read=read, run_id=self.run_id, refresh_gold=False)
        except (OperationalError, WarehouseUnavailable):
            raise  # the database, not the objects: the replay loads them later
        except Exception as exc:
            for obj in objects:  # each object counts its failed processings (poison objects)
                lake_object_failed(obj, error=f"{type(exc).__name__}: {exc}")
            raise
        self.outcome.add(processed)
        if state and self.after_flush:
            self.after_flush(state)
