"""The ETL of one pipeline run: extract → lake → transform → validate → enrich → load → quality.

Every fetched batch is stored in the lake (and catalogued) before anything parses it; the same
``lake_object_process`` then transforms and loads a fresh batch and a replayed one, so replaying an
object is exactly a second load of it (idempotent: natural keys plus ON CONFLICT DO NOTHING).

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

import pandas as pd
from django.db import OperationalError, close_old_connections
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


def _validate_and_load(*, dataset: str, rows: list[dict], loader, obj: LakeObject, run_id, outcome: Outcome):
    """Validate rows of one dataset, quarantine the refused ones, load the rest; returns the valid frame."""
    from quality.validation import DataValidator

    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows)
    frame["lake_object_id"] = obj.pk
    result = DataValidator(dataset).validate(frame)
    outcome.rejected += _quarantine(dataset=dataset, run_id=run_id, lake_object_id=obj.pk, rejected=result.rejected)
    if len(result.valid):
        load = loader(result.valid)
        outcome.inserted += load.inserted
        outcome.duplicates += load.duplicates
        outcome.dates |= set(load.dates or ())
        if load.errors:
            refused = [_rejected(err.record, [_reason("load_error", err.error)]) for err in load.errors]
            outcome.rejected += _quarantine(dataset=dataset, run_id=run_id, lake_object_id=obj.pk, rejected=refused)
    return result.valid


def lake_object_process(*, obj: LakeObject, payload=None, run_id: int | None = None) -> Outcome:
    """Transform and load one lake object; safe to run again on the same object (idempotent).

    Raises only for infrastructure failures (the database going away); bad data is quarantined.
    """
    from warehouse.services import gold_refresh, warehouse

    from .parsers import parse

    spec = PIPELINES[obj.source]
    # Reprocessing re-validates: the object's earlier rejects are replaced by this pass's verdicts (a
    # rule fixed since then recovers them; recovered ones are kept as history).
    from quality.models import QuarantinedRecord

    QuarantinedRecord.objects.filter(lake_object_id=obj.pk, status=QuarantinedRecord.Status.QUARANTINED).delete()
    if payload is None:
        payload = lake_object_read(obj)["data"]
    outcome = Outcome()
    parsed = parse(obj.source, payload, fetched_at=obj.timestamp)
    run_id = run_id if run_id is not None else obj.run_id

    if spec.kind != "bhavcopy":
        _schema_watch(obj, payload, run_id)

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
            run_id=run_id,
            lake_object_id=obj.pk,
            rejected=[_rejected(record, [_reason(rule, msg)]) for rule, msg in problems],
        )

    if spec.kind == "quotes":
        outcome.fetched += len(parsed.stock_rows)
        outcome.parsed += len(parsed.stock_rows)
        _validate_and_load(
            dataset="stock_quotes",
            rows=parsed.stock_rows,
            loader=warehouse.insert_stock_data,
            obj=obj,
            run_id=run_id,
            outcome=outcome,
        )
    elif spec.kind == "bhavcopy":
        from .parsers import ticker_master_learn

        outcome.fetched += len(parsed.bars)
        outcome.parsed += len(parsed.bars)
        valid_bars = _validate_and_load(
            dataset="bhavcopy_rows",
            rows=parsed.bars,
            loader=warehouse.insert_daily_bars,
            obj=obj,
            run_id=run_id,
            outcome=outcome,
        )
        if len(valid_bars):
            ticker_master_learn(valid_bars.to_dict("records"))
            # The day's closes also become stock rows (price = close); counted once, with the bars.
            keys = set(zip(valid_bars["ticker"], valid_bars["series"], strict=True))
            closes = [row for row in parsed.stock_rows if (row["ticker"], row.get("series", "EQ")) in keys]
            if closes:
                frame = pd.DataFrame(closes)
                frame["lake_object_id"] = obj.pk
                warehouse.insert_stock_data(frame)
    else:
        _social_process(parsed.messages, obj=obj, run_id=run_id, outcome=outcome)

    outcome.valid = outcome.inserted
    if outcome.dates:
        gold_refresh(dates=sorted(outcome.dates))
        if spec.kind == "social":
            from .enrich import daily_pump_scores

            daily_pump_scores(dates=sorted(outcome.dates))
    lake_objects_mark([obj.pk], LakeObject.Status.LOADED)
    return outcome


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


def _social_process(messages: list[dict], *, obj: LakeObject, run_id, outcome: Outcome) -> None:
    from warehouse.services import warehouse

    from .enrich import dedupe_reposts, enrich_messages

    outcome.parsed += len(messages)
    originals = dedupe_reposts(messages)
    reposts = len(messages) - len(originals)
    matcher, scorer, detector = enrichers()
    enriched = enrich_messages(originals, matcher, scorer, detector)
    rows, unmatched = list(enriched), list(enriched.unmatched)
    outcome.fetched += len(rows) + len(unmatched) + reposts
    outcome.duplicates += reposts
    if unmatched:
        # Chatter that names no ticker we know: kept, with the reason, rather than dropped.
        refused = [
            _rejected(message, [_reason("ticker_required", "the message names no ticker of the ticker master")])
            for message in unmatched
        ]
        outcome.rejected += _quarantine(
            dataset="social_mentions", run_id=run_id, lake_object_id=obj.pk, rejected=refused
        )
    _validate_and_load(
        dataset="social_mentions",
        rows=rows,
        loader=warehouse.insert_social_data,
        obj=obj,
        run_id=run_id,
        outcome=outcome,
    )


def _schema_watch(obj: LakeObject, payload, run_id) -> None:
    """Learn the raw payload's keys and flag drift (new, missing or retyped keys) to quality."""
    from quality.services import schema_drift_check

    records = payload if isinstance(payload, list) else [payload]
    records = [r for r in records if isinstance(r, dict) and r.get("format") != "text"][:200]
    if records:
        try:
            schema_drift_check(source=obj.source, records=records, run_id=run_id)
        except Exception:  # drift watching must never stop a load
            logger.exception("schema drift check failed for %s", obj.key)


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


def _run_locked(run, *, spec, files, tickers, task_id, connector_error, state_set, connector) -> PipelineRun:
    run.status = PipelineRun.Status.RUNNING
    run.started_at = timezone.now()
    run.celery_task_id = task_id or run.celery_task_id
    run.save(update_fields=["status", "started_at", "celery_task_id"])
    outcome = Outcome()
    stage = {"extract": 0.0, "store": 0.0, "transform_load": 0.0, "quality": 0.0}
    object_ids: list[int] = []
    error = tb = ""
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
            stage["extract"] += time.perf_counter() - started

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

            started = time.perf_counter()
            outcome.add(lake_object_process(obj=obj, payload=batch.payload, run_id=run.pk))
            stage["transform_load"] += time.perf_counter() - started
            state = meta.get("state")
            if state:
                state_set(spec.source, state)
    except (OperationalError, WarehouseUnavailable) as exc:
        error = f"database unavailable: {exc}".strip()
        tb = traceback.format_exc()
        close_old_connections()
    except Exception as exc:  # a run records any failure as its outcome instead of crashing the worker
        error = f"{type(exc).__name__}: {exc}"
        tb = traceback.format_exc()
        logger.exception("pipeline %s run %s failed", spec.name, run.pk)
    run.stored = len(object_ids)
    run.stage_seconds = {name: round(value, 4) for name, value in stage.items()}
    _finish(run, outcome, error=error, tb=tb)
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
