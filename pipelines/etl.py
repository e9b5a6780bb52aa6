"""The ETL of one pipeline run: extract → lake → transform → validate → enrich → load → quality.

Every fetched batch is stored in the lake (and catalogued) before anything parses it; the same
``lake_objects_process`` then transforms and loads fresh batches (a run groups those that arrive
quickly, see ``GROUP_RECORDS``) and replayed ones, with the verdicts of loading them one after
another, so replaying an object is exactly a second load of it (idempotent: natural keys plus
ON CONFLICT DO NOTHING). A run refreshes gold once, for every date it loaded.

Counting, per run and per lake object: ``fetched`` records = ``valid`` (newly loaded) + ``rejected``
(quarantined with reasons) + ``duplicates`` (already in the warehouse, repeated in the batch, or a
repost of a message in the batch). Nothing fetched is unaccounted for.
"""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
from django.db import InterfaceError, OperationalError, close_old_connections
from django.utils import timezone

from lake.models import LakeObject
from lake.services import lake_object_read, lake_objects_mark, raw_batch_store
from warehouse.services import WarehouseUnavailable

from .models import PipelineRun

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PipelineSpec:
    name: str
    source: str
    dataset: str
    kind: str  # "quotes", "bhavcopy" or "social"
    title: str


PIPELINES: dict[str, PipelineSpec] = {
    "nse_api": PipelineSpec("nse_api", "nse_api", "stock_quotes", "quotes", "NSE quotes"),
    "nse_bhavcopy": PipelineSpec("nse_bhavcopy", "nse_bhavcopy", "bhavcopy_rows", "bhavcopy", "NSE bhavcopy"),
    "twitter": PipelineSpec("twitter", "twitter", "social_mentions", "social", "Twitter / X"),
    "telegram": PipelineSpec("telegram", "telegram", "social_mentions", "social", "Telegram"),
}


def pipeline_spec(name: str) -> PipelineSpec:
    try:
        return PIPELINES[name]
    except KeyError:
        raise ValueError(f"unknown pipeline {name!r}; expected one of: {', '.join(PIPELINES)}") from None


class RunNotRecorded(OperationalError):
    """A run stopped because the database went away, and its outcome could not be saved either.

    Transient (an ``OperationalError``): a scheduled task retries it. Its message is the one line a
    person needs: the run, the reason, and where the batches it fetched are (the lake).
    """

    def __init__(self, *, run_id: int, error: str, cause: BaseException):
        reason = (error or f"database unavailable: {cause}").strip().splitlines()[0]
        super().__init__(
            f"run {run_id} failed: {reason}; its outcome could not be saved either. The batches it "
            "fetched are kept in the lake, and the replay loads them once the database is back."
        )
        self.run_id = run_id


@dataclass
class Outcome:
    """What transforming and loading one or more lake objects did."""

    fetched: int = 0
    parsed: int = 0
    valid: int = 0
    rejected: int = 0
    inserted: int = 0
    duplicates: int = 0
    drift: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dates: set[date] = field(default_factory=set)

    def add(self, other: Outcome) -> None:
        for name in ("fetched", "parsed", "valid", "rejected", "inserted", "duplicates"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.drift.extend(other.drift)
        self.errors.extend(other.errors)
        self.dates |= other.dates


def _quarantine(*, dataset: str, run_id, lake_object_id, rejected: list) -> int:
    if not rejected:
        return 0
    from quality.services import rejects_quarantine

    return rejects_quarantine(dataset=dataset, run_id=run_id, lake_object_id=lake_object_id, rejected=rejected)


def _reason(rule: str, message: str, *, column: str = "", value=None) -> dict:
    return {"rule": rule, "column": column, "value": value, "message": message, "severity": "error"}


def _rejected(record: dict, reasons: list[dict]):
    from quality.validation import Rejected

    return Rejected(record=record, reasons=reasons)


def _unique_codes(frame: pd.DataFrame, validator) -> list[np.ndarray]:
    """For each ``unique`` rule of the validator, one code per row: rows with equal codes share that key."""
    codes = []
    for rule in validator.rules:
        columns = [c for c in rule.columns if c in frame.columns] if rule.kind == "unique" else []
        if columns:
            codes.append(frame.groupby(columns, dropna=False, sort=False).ngroup().to_numpy())
    return codes


def _validate_and_load(
    *, dataset: str, rows: list[dict], loader, object_ids: list[int], run_id, outcome: Outcome
) -> pd.DataFrame:
    """Validate the rows of one or more lake objects (each row carries its ``lake_object_id``), quarantine
    the refused ones, load the rest in one load; returns the valid frame.

    The verdicts are those of validating and loading the objects one after another: a key that an
    earlier object of the group already brought is not a duplicate *in a batch* (the ``unique`` rules'
    error) but, once that earlier row is loaded, a duplicate in the warehouse. So rows are validated
    in rounds: first every key's rows from the first object that has it, then a later object's rows
    are duplicates when an earlier round accepted their key (validated again when it did not).
    """
    from quality.validation import DataValidator

    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows)
    validator = DataValidator(dataset)
    quarantine_id = object_ids[0] if len(object_ids) == 1 else None  # else each record names its object
    rank = np.zeros(len(frame), dtype=np.int64)  # the round of each row
    codes: list[np.ndarray] = []
    if len(object_ids) > 1:
        codes = _unique_codes(frame, validator)
        position = {pk: n for n, pk in enumerate(object_ids)}
        order = pd.Series(frame["lake_object_id"].map(position).to_numpy())
        for code in codes:
            # 0 for the rows of the first object bringing the key, 1 for the next object's, …
            rank = np.maximum(rank, order.groupby(code).rank(method="dense").to_numpy(dtype=np.int64) - 1)
    accepted = [set() for _ in codes]  # per unique rule, the key codes of rows that passed validation
    valid_parts = []
    for number in range(int(rank.max()) + 1):
        chosen = rank == number
        if number:
            seen = np.zeros(len(frame), dtype=bool)
            for code, keys in zip(codes, accepted, strict=True):
                if keys:
                    seen |= np.isin(code, np.fromiter(keys, dtype=np.int64))
            outcome.duplicates += int((chosen & seen).sum())
            chosen &= ~seen
        if not chosen.any():
            continue
        part = frame if chosen.all() else frame.iloc[np.flatnonzero(chosen)]
        result = validator.validate(part)
        outcome.rejected += _quarantine(
            dataset=dataset, run_id=run_id, lake_object_id=quarantine_id, rejected=result.rejected
        )
        if len(result.valid):
            if codes:
                positions = frame.index.get_indexer(result.valid.index)
                for code, keys in zip(codes, accepted, strict=True):
                    keys.update(code[positions].tolist())
            valid_parts.append(result.valid)
    if not valid_parts:
        return pd.DataFrame()
    valid = valid_parts[0] if len(valid_parts) == 1 else pd.concat(valid_parts)
    load = loader(valid)
    outcome.inserted += load.inserted
    outcome.duplicates += load.duplicates
    outcome.dates |= set(load.dates or ())
    if load.errors:
        refused = [_rejected(err.record, [_reason("load_error", err.error)]) for err in load.errors]
        outcome.rejected += _quarantine(dataset=dataset, run_id=run_id, lake_object_id=quarantine_id, rejected=refused)
    return valid


def lake_object_process(*, obj: LakeObject, payload=None, run_id: int | None = None) -> Outcome:
    """Transform and load one lake object; safe to run again on the same object (idempotent).

    Raises only for infrastructure failures (the database going away); bad data is quarantined.
    """
    return lake_objects_process(objects=[obj], payloads=[payload], run_id=run_id)


def lake_objects_process(
    *,
    objects: list[LakeObject],
    payloads: list | None = None,
    run_id: int | None = None,
    refresh_gold: bool = True,
) -> Outcome:
    """Transform and load lake objects of one source together, as if one after another (idempotent).

    ``payloads`` (one per object, ``None`` to read it from the lake) spare the read of a batch just
    stored. Each object is parsed (and its reposts collapsed) on its own; the group is validated and
    loaded in one pass (see ``_validate_and_load``), so a load's fixed costs are paid once per group.
    ``refresh_gold=False`` leaves the gold refresh (and the daily pump scores) of ``outcome.dates`` to
    the caller, which does it once per run. Raises only for infrastructure failures.
    """
    from quality.models import QuarantinedRecord

    from .parsers import parse

    if not objects:
        return Outcome()
    sources = {obj.source for obj in objects}
    if len(sources) != 1:
        raise ValueError(f"objects: expected lake objects of one source, got {', '.join(sorted(sources))}")
    spec = PIPELINES[objects[0].source]
    payloads = list(payloads) if payloads is not None else [None] * len(objects)
    ids = [obj.pk for obj in objects]
    # Reprocessing re-validates: the objects' earlier rejects are replaced by this pass's verdicts (a
    # rule fixed since then recovers them; recovered ones are kept as history).
    QuarantinedRecord.objects.filter(lake_object_id__in=ids, status=QuarantinedRecord.Status.QUARANTINED).delete()
    outcome = Outcome()
    parsed_all = []
    for n, obj in enumerate(objects):
        if payloads[n] is None:
            payloads[n] = lake_object_read(obj)["data"]
        payload = payloads[n]
        parsed = parse(obj.source, payload, fetched_at=obj.timestamp)
        parsed_all.append(parsed)
        # A payload of an unknown shape (NSE changed its JSON, a file of an unknown layout) is kept whole
        # in the quarantine with the reason, and counted as one refused record.
        problems = [("schema_drift", msg) for msg in parsed.drift] + [("parse_error", msg) for msg in parsed.errors]
        if problems:
            outcome.drift.extend(parsed.drift)
            outcome.errors.extend(parsed.errors)
            record = {"lake_key": obj.key, "payload_excerpt": str(payload)[:2000]}
            outcome.fetched += len(problems)
            outcome.rejected += _quarantine(
                dataset=spec.dataset,
                run_id=run_id if run_id is not None else obj.run_id,
                lake_object_id=obj.pk,
                rejected=[_rejected(record, [_reason(rule, msg)]) for rule, msg in problems],
            )
    run_id = run_id if run_id is not None else objects[0].run_id
    if spec.kind != "bhavcopy":
        _schema_watch(objects, payloads, run_id)

    def tagged(lists: list[list[dict]]) -> list[dict]:
        rows = []
        for obj, items in zip(objects, lists, strict=True):
            for row in items:
                row["lake_object_id"] = obj.pk
            rows.extend(items)
        return rows

    from warehouse.services import warehouse

    if spec.kind == "quotes":
        rows = tagged([p.stock_rows for p in parsed_all])
        outcome.fetched += len(rows)
        outcome.parsed += len(rows)
        _validate_and_load(
            dataset="stock_quotes",
            rows=rows,
            loader=warehouse.insert_stock_data,
            object_ids=ids,
            run_id=run_id,
            outcome=outcome,
        )
    elif spec.kind == "bhavcopy":
        from .parsers import ticker_master_learn

        bars = tagged([p.bars for p in parsed_all])
        stock_rows = tagged([p.stock_rows for p in parsed_all])
        outcome.fetched += len(bars)
        outcome.parsed += len(bars)
        valid_bars = _validate_and_load(
            dataset="bhavcopy_rows",
            rows=bars,
            loader=warehouse.insert_daily_bars,
            object_ids=ids,
            run_id=run_id,
            outcome=outcome,
        )
        if len(valid_bars):
            ticker_master_learn(valid_bars.to_dict("records"))
            # The day's closes also become stock rows (price = close); counted once, with the bars.
            keys = set(zip(valid_bars["lake_object_id"], valid_bars["ticker"], valid_bars["series"], strict=True))
            closes = [
                row for row in stock_rows if (row["lake_object_id"], row["ticker"], row.get("series", "EQ")) in keys
            ]
            if closes:
                warehouse.insert_stock_data(pd.DataFrame(closes))
    else:
        messages = []
        for obj, parsed in zip(objects, parsed_all, strict=True):
            messages.extend(_social_messages(parsed.messages, obj=obj, outcome=outcome))
        _social_process(messages, object_ids=ids, run_id=run_id, outcome=outcome)

    outcome.valid = outcome.inserted
    if refresh_gold:
        gold_refresh_for(spec, outcome.dates)
    lake_objects_mark(ids, LakeObject.Status.LOADED)
    return outcome


def gold_refresh_for(spec: PipelineSpec, dates) -> None:
    """Refresh gold for the dates a load touched (and, for social pipelines, the daily pump scores)."""
    from warehouse.services import gold_refresh

    if not dates:
        return
    gold_refresh(dates=sorted(dates))
    if spec.kind == "social":
        from .enrich import daily_pump_scores

        daily_pump_scores(dates=sorted(dates))


_ENRICHERS: dict = {}
# The ticker matcher is rebuilt at most this often, so names added in admin are picked up.
MATCHER_TTL_SECONDS = 60


def enrichers():
    """(TickerMatcher, SentimentScorer, PumpDetector), built once per process and refreshed lazily."""
    from .enrich import PumpDetector, SentimentScorer, TickerMatcher
    from .models import TelegramChannel

    now = time.monotonic()
    if "scorer" not in _ENRICHERS:
        _ENRICHERS["scorer"] = SentimentScorer()
    if now - _ENRICHERS.get("built", -1e9) > MATCHER_TTL_SECONDS:
        channels = [
            str(value)
            for row in TelegramChannel.objects.filter(active=True).values_list("chat_id", "username")
            for value in row
            if value
        ]
        _ENRICHERS.update(
            matcher=TickerMatcher.from_master(), detector=PumpDetector(known_channels=channels), built=now
        )
    return _ENRICHERS["matcher"], _ENRICHERS["scorer"], _ENRICHERS["detector"]


def enrichers_reset() -> None:
    """Forget the cached enrichers (tests that change the ticker master call this)."""
    _ENRICHERS.clear()


def _social_messages(messages: list[dict], *, obj: LakeObject, outcome: Outcome) -> list[dict]:
    """One object's messages with its reposts collapsed (counted as duplicates), tagged with the object."""
    from .enrich import dedupe_reposts

    outcome.parsed += len(messages)
    originals = dedupe_reposts(messages)
    reposts = len(messages) - len(originals)
    outcome.fetched += reposts
    outcome.duplicates += reposts
    return [{**message, "lake_object_id": obj.pk} for message in originals]


def _social_process(messages: list[dict], *, object_ids: list[int], run_id, outcome: Outcome) -> None:
    from warehouse.services import warehouse

    from .enrich import enrich_messages

    matcher, scorer, detector = enrichers()
    enriched = enrich_messages(messages, matcher, scorer, detector)
    rows, unmatched = list(enriched), list(enriched.unmatched)
    outcome.fetched += len(rows) + len(unmatched)
    if unmatched:
        # Chatter that names no ticker we know: kept, with the reason, rather than dropped.
        single = len(object_ids) == 1
        refused = [
            _rejected(
                {k: v for k, v in message.items() if k != "lake_object_id"} if single else message,
                [_reason("ticker_required", "the message names no ticker of the ticker master")],
            )
            for message in unmatched
        ]
        outcome.rejected += _quarantine(
            dataset="social_mentions",
            run_id=run_id,
            lake_object_id=object_ids[0] if single else None,
            rejected=refused,
        )
    _validate_and_load(
        dataset="social_mentions",
        rows=rows,
        loader=warehouse.insert_social_data,
        object_ids=object_ids,
        run_id=run_id,
        outcome=outcome,
    )


# Raw records the drift watch looks at: up to 200 of one object; in a group, 2 of each object (a
# change of NSE's or X's shape shows in every record of a batch, and flattening a 2 KB quote body
# costs a quarter of a millisecond).
SCHEMA_SAMPLE = 200
SCHEMA_SAMPLE_IN_GROUP = 2


def _schema_watch(objects: list[LakeObject], payloads: list, run_id) -> None:
    """Learn the raw payloads' keys and flag drift (new, missing or retyped keys) to quality.

    One check per group of objects, on a sample that every object contributes to.
    """
    from quality.services import schema_drift_check

    per_object = SCHEMA_SAMPLE if len(objects) == 1 else SCHEMA_SAMPLE_IN_GROUP
    records = []
    for payload in payloads:
        items = payload if isinstance(payload, list) else [payload]
        records.extend([r for r in items if isinstance(r, dict) and r.get("format") != "text"][:per_object])
    if records:
        try:
            schema_drift_check(source=objects[0].source, records=records, run_id=run_id)
        except Exception:  # drift watching must never stop a load
            logger.exception("schema drift check failed for %s", objects[0].key)


def _finish(run: PipelineRun, outcome: Outcome, *, error: str = "", tb: str = "") -> PipelineRun:
    run.fetched, run.parsed, run.valid = outcome.fetched, outcome.parsed, outcome.valid
    run.rejected, run.inserted, run.duplicates = outcome.rejected, outcome.inserted, outcome.duplicates
    run.finished_at = timezone.now()
    problems = outcome.errors + outcome.drift
    loaded_any = bool(outcome.inserted or outcome.duplicates)
    if error:
        run.status = PipelineRun.Status.PARTIAL if loaded_any else PipelineRun.Status.FAILED
        run.error = "; ".join([error, *problems])[:4000]
        run.traceback = tb
    elif problems:
        run.status = PipelineRun.Status.PARTIAL if loaded_any else PipelineRun.Status.FAILED
        run.error = "; ".join(problems)[:4000]
    else:
        run.status = PipelineRun.Status.SUCCESS
    run.save()
    return run


def pipeline_run(
    *,
    pipeline: str,
    files: list[str] | None = None,
    tickers: list[str] | None = None,
    trigger: str = PipelineRun.Trigger.MANUAL,
    run: PipelineRun | None = None,
    task_id: str = "",
) -> PipelineRun:
    """Run one pipeline synchronously (fetch, or read ``files``) and return its finished run row."""
    from .connectors import ConnectorError, connector_state_set, get_connector

    spec = pipeline_spec(pipeline)
    if run is None:
        run = PipelineRun.objects.create(
            pipeline=spec.name,
            source=spec.source,
            trigger=trigger,
            params={"files": [str(f) for f in files or []], "tickers": tickers or []},
        )
    from .locks import pipeline_lock

    with pipeline_lock(spec.name, run_id=run.pk) as acquired:
        if not acquired:
            run.status = PipelineRun.Status.SKIPPED
            run.error = "another run of this pipeline holds the lock"
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "error", "finished_at"])
            return run
        return _run_locked(
            run,
            spec=spec,
            files=files,
            tickers=tickers,
            task_id=task_id,
            connector_error=ConnectorError,
            state_set=connector_state_set,
            connector=get_connector(spec.source),
        )


# Batches that arrive quickly (saved files, replays, the simulator, a local upstream) are transformed
# and loaded in groups: each is stored in the lake as it arrives, and the group is loaded once it holds
# this many records or objects, so a load's fixed costs (transactions, the warehouse probe, COPY, the
# drift check, catalog updates: ~20 ms) are paid per few thousand records rather than per 200-quote
# batch. A batch that took GROUP_WAIT_SECONDS or more to fetch, or a group that old, is loaded at once:
# there the upstream, not the load, sets the pace (the real NSE gives 200 quotes a minute), and its
# batches reach the warehouse as soon as they did one by one.
GROUP_RECORDS = 5000
GROUP_OBJECTS = 100
GROUP_WAIT_SECONDS = 0.1


def _batch_records(batch) -> int:
    records = (batch.meta or {}).get("records")
    if isinstance(records, int) and records >= 0:
        return records
    return len(batch.payload) if isinstance(batch.payload, list) else 1


class _Group:
    """Stored objects waiting for their transform and load, with the connector state to save after."""

    def __init__(self, *, spec: PipelineSpec, run: PipelineRun, outcome: Outcome, stage: dict, state_set):
        self.spec, self.run, self.outcome, self.stage, self.state_set = spec, run, outcome, stage, state_set
        self.objects: list[LakeObject] = []
        self.payloads: list = []
        self.records = 0
        self.since = 0.0
        self.state = None

    def add(self, obj: LakeObject, payload, *, records: int, state) -> None:
        if not self.objects:
            self.since = time.perf_counter()
        self.objects.append(obj)
        self.payloads.append(payload)
        self.records += records
        self.state = state or self.state

    def due(self, *, extract_seconds: float) -> bool:
        return (
            self.spec.kind == "bhavcopy"  # a bhavcopy file is a big batch already
            or self.records >= GROUP_RECORDS
            or len(self.objects) >= GROUP_OBJECTS
            or extract_seconds >= GROUP_WAIT_SECONDS
            or time.perf_counter() - self.since >= GROUP_WAIT_SECONDS
        )

    def flush(self) -> None:
        if not self.objects:
            return
        started = time.perf_counter()
        objects, payloads, state = self.objects, self.payloads, self.state
        self.objects, self.payloads, self.records, self.state = [], [], 0, None
        self.outcome.add(
            lake_objects_process(objects=objects, payloads=payloads, run_id=self.run.pk, refresh_gold=False)
        )
        self.stage["transform_load"] += time.perf_counter() - started
        if state:
            self.state_set(self.spec.source, state)


def _run_locked(run, *, spec, files, tickers, task_id, connector_error, state_set, connector) -> PipelineRun:
    run.status = PipelineRun.Status.RUNNING
    run.started_at = timezone.now()
    run.celery_task_id = task_id or run.celery_task_id
    run.save(update_fields=["status", "started_at", "celery_task_id"])
    outcome = Outcome()
    stage = {"extract": 0.0, "store": 0.0, "transform_load": 0.0, "gold": 0.0, "quality": 0.0}
    object_ids: list[int] = []
    group = _Group(spec=spec, run=run, outcome=outcome, stage=stage, state_set=state_set)
    error = tb = ""
    database_down = False
    try:
        batches = connector.read_files([str(f) for f in files]) if files else connector.fetch(tickers=tickers)
        iterator = iter(batches)
        while True:
            started = time.perf_counter()
            try:
                batch = next(iterator)
            except StopIteration:
                break
            except connector_error as exc:
                # The upstream answered badly: keep what it said (if anything) in the lake, then stop.
                stage["extract"] += time.perf_counter() - started
                if getattr(exc, "payload", None) is not None:
                    obj = raw_batch_store(source=spec.source, data=exc.payload, run_id=run.pk, simulated=False)
                    object_ids.append(obj.pk)
                    lake_objects_mark([obj.pk], LakeObject.Status.LOADED)
                if str(exc) not in outcome.errors:
                    outcome.errors.append(str(exc))
                break
            except Exception:
                group.flush()  # what was stored before the connector broke still loads
                raise
            extract_seconds = time.perf_counter() - started
            stage["extract"] += extract_seconds

            started = time.perf_counter()
            obj = raw_batch_store(
                source=spec.source,
                data=batch.payload,
                timestamp=batch.fetched_at,
                run_id=run.pk,
                simulated=batch.simulated,
            )
            object_ids.append(obj.pk)
            if batch.simulated and not run.simulated:
                run.simulated = True
            stage["store"] += time.perf_counter() - started
            meta = batch.meta or {}
            if meta.get("error"):
                # A bad upstream answer: kept in the lake as it came, reported, nothing to load.
                outcome.errors.append(str(meta["error"]))
                lake_objects_mark([obj.pk], LakeObject.Status.LOADED)
                continue
            group.add(obj, batch.payload, records=_batch_records(batch), state=meta.get("state"))
            if group.due(extract_seconds=extract_seconds):
                group.flush()
        group.flush()
    except (OperationalError, WarehouseUnavailable) as exc:
        error = f"database unavailable: {exc}".strip()
        tb = traceback.format_exc()
        database_down = True
        close_old_connections()
    except Exception as exc:  # a run records any failure as its outcome instead of crashing the worker
        error = f"{type(exc).__name__}: {exc}"
        tb = traceback.format_exc()
        logger.exception("pipeline %s run %s failed", spec.name, run.pk)
    if outcome.dates and not database_down:
        # Gold (and the daily pump scores) once per run, for every date the run loaded.
        started = time.perf_counter()
        try:
            gold_refresh_for(spec, outcome.dates)
        except (OperationalError, WarehouseUnavailable) as exc:
            error = error or f"database unavailable: {exc}".strip()
            tb = tb or traceback.format_exc()
            close_old_connections()
        except Exception as exc:
            error = error or f"gold refresh failed: {type(exc).__name__}: {exc}"
            tb = tb or traceback.format_exc()
            logger.exception("gold refresh after pipeline %s run %s failed", spec.name, run.pk)
        stage["gold"] = time.perf_counter() - started
    run.stored = len(object_ids)
    run.stage_seconds = {name: round(value, 4) for name, value in stage.items()}
    try:
        _finish(run, outcome, error=error, tb=tb)
    except (OperationalError, InterfaceError) as exc:
        # The database is gone, so the outcome cannot be saved: say why in one line. The row stays
        # "running" until the replay closes it as abandoned; what the run stored is in the lake and
        # the replay loads it once the database is back.
        raise RunNotRecorded(run_id=run.pk, error=error, cause=exc) from exc
    started = time.perf_counter()
    try:
        from quality.services import quality_evaluate

        quality_evaluate(
            run_id=run.pk,
            dataset=spec.dataset,
            lake_object_ids=object_ids,
            counts={
                **{k: getattr(run, k) for k in ("fetched", "valid", "rejected", "inserted", "duplicates")},
                # Quality's valid ratio is the validation pass rate: duplicates passed validation too.
                "valid": run.fetched - run.rejected,
                "lake_records": run.fetched,
            },
        )
    except Exception:  # quality must never turn a finished load into a failed one
        logger.exception("quality evaluation after run %s failed", run.pk)
    run.stage_seconds["quality"] = round(time.perf_counter() - started, 4)
    run.save(update_fields=["stage_seconds"])
    return run
