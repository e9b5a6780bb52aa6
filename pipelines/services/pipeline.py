"""One pipeline run: extract → lake → transform → validate → enrich → load (in groups) → gold → quality.

``pipeline_run`` takes the pipeline's lock, stores every fetched batch in the lake before anything
parses it, processes the stored objects in groups (``process.ObjectGroup``), refreshes gold once for
every date it loaded, closes the run row with its counts and hands the run to quality.
"""

from __future__ import annotations

import logging
import traceback

from django.db import InterfaceError, OperationalError, close_old_connections

from lake.models import LakeObject
from lake.services import lake_objects_catalog, lake_objects_mark, raw_batch_store, raw_batch_write
from warehouse.services import WarehouseUnavailable

from .. import registry
from ..connectors import ConnectorError, connector_state_set, get_connector
from ..connectors.base import raw_split
from ..models import PipelineRun
from ..parsers import records_in
from .hooks import gold_refresh_for, quality_after_run
from .outcome import Outcome
from .process import ObjectGroup
from .runs import (
    RunNotRecorded,
    Stages,
    pipeline_lock,
    process_identity,
    run_create,
    run_finish,
    run_skip,
    run_start,
    runs_dead_close,
)

logger = logging.getLogger(__name__)


def pipeline_run(
    *,
    pipeline: str,
    files: list[str] | None = None,
    tickers: list[str] | None = None,
    trigger: str = PipelineRun.Trigger.MANUAL,
    run: PipelineRun | None = None,
    task_id: str = "",
    since: dict | None = None,
) -> PipelineRun:
    """Run one pipeline synchronously (fetch, or read ``files``) and return its finished run row.

    ``since`` goes to the connector's ``fetch`` (``{"date": "YYYY-MM-DD"}``: the bhavcopy of that day).

    ``run``: a run row made beforehand (queued by the API and claimed by its task). Raises
    ``RunNotRecorded`` only when the database went away and the outcome could not be saved.
    """
    spec = registry.pipeline_spec(pipeline)
    if run is None:
        params = {"files": [str(f) for f in files or []], "tickers": tickers or [], **process_identity()}
        if since:
            params["since"] = since
        run = run_create(pipeline=spec.name, trigger=trigger, params=params)
    runs_dead_close()  # a run of this host whose process died (killed, crashed) must not hold the lock
    with pipeline_lock(spec.name, run_id=run.pk) as acquired:
        if not acquired:
            return run_skip(run, reason="another run of this pipeline holds the lock")
        return _run_locked(run, spec=spec, files=files, tickers=tickers, task_id=task_id, since=since)


class _Extraction:
    """The extract loop of one run: every batch written to the lake as it arrives, then catalogued and
    processed in groups (one catalog transaction per group, see ``ObjectGroup``)."""

    def __init__(self, run: PipelineRun, *, spec, stage: Stages, outcome: Outcome):
        self.run, self.spec, self.stage, self.outcome = run, spec, stage, outcome
        self.objects: list[LakeObject] = []
        self.group = ObjectGroup(
            spec=spec, run_id=run.pk, outcome=outcome, after_flush=lambda state: connector_state_set(spec.source, state)
        )

    @property
    def object_ids(self) -> list[int]:
        """The run's catalogued objects (one written while the database was down has no id yet)."""
        return [obj.pk for obj in self.objects if obj.pk is not None]

    def run_batches(self, batches) -> None:
        iterator = iter(batches)
        try:
            while True:
                try:
                    with self.stage("extract"):
                        batch = next(iterator)
                except StopIteration:
                    break
                except ConnectorError as exc:
                    # The upstream answered badly: keep what it said (if anything) in the lake, then stop.
                    if getattr(exc, "payload", None) is not None:
                        self._store_unloadable(exc.payload, simulated=False)
                    if str(exc) not in self.outcome.errors:
                        self.outcome.errors.append(str(exc))
                    break
                self._batch(batch, extract_seconds=self.stage.last)
        except Exception:
            self.flush()  # what was written before the connector (or a store) broke is catalogued and loads
            raise
        self.flush()

    def _batch(self, batch, *, extract_seconds: float) -> None:
        with self.stage("store"):
            payload, raw = raw_split(batch.payload)
            obj = raw_batch_write(
                source=self.spec.source,
                data=payload,
                timestamp=batch.fetched_at,
                run_id=self.run.pk,
                simulated=batch.simulated,
                raw=batch.raw if batch.raw is not None else raw,
                raw_name=batch.raw_name,
                records=_batch_records(batch),
            )
            batch.raw = None  # kept in the lake now: free the bytes before the transform
            self.objects.append(obj)
            self.run.simulated = self.run.simulated or batch.simulated
        meta = batch.meta or {}
        if meta.get("error"):
            # A bad upstream answer: kept in the lake as it came, reported, nothing to load.
            self.outcome.errors.append(str(meta["error"]))
            lake_objects_catalog([obj])
            lake_objects_mark([obj.pk], LakeObject.Status.LOADED)
            return
        self.group.add(obj, batch.payload, records=obj.records, state=meta.get("state"))
        if self.group.due(extract_seconds=extract_seconds):
            self.flush()

    def _store_unloadable(self, payload, *, simulated: bool) -> None:
        payload, raw = raw_split(payload)
        obj = raw_batch_store(source=self.spec.source, data=payload, run_id=self.run.pk, simulated=simulated, raw=raw)
        self.objects.append(obj)
        lake_objects_mark([obj.pk], LakeObject.Status.LOADED)

    def flush(self) -> None:
        with self.stage("transform_load"):
            self.group.flush()


def _batch_records(batch) -> int:
    """The records of a batch: what its connector counted, else what its payload holds (``records_in``)."""
    records = (batch.meta or {}).get("records")
    if isinstance(records, int) and not isinstance(records, bool) and records >= 0:
        return records
    return records_in(batch.payload)


def _run_locked(run: PipelineRun, *, spec, files, tickers, task_id: str, since: dict | None = None) -> PipelineRun:
    run_start(run, task_id=task_id)
    outcome, stage = Outcome(), Stages()
    extraction = _Extraction(run, spec=spec, stage=stage, outcome=outcome)
    error = tb = ""
    database_down = False
    try:
        connector = get_connector(spec.source)
        batches = (
            connector.read_files([str(f) for f in files]) if files else connector.fetch(tickers=tickers, since=since)
        )
        extraction.run_batches(batches)
    except (OperationalError, WarehouseUnavailable) as exc:
        error, tb, database_down = f"database unavailable: {exc}".strip(), traceback.format_exc(), True
        close_old_connections()
    except Exception as exc:  # a run records any failure as its outcome instead of crashing the worker
        error, tb = f"{type(exc).__name__}: {exc}", traceback.format_exc()
        logger.exception("pipeline %s run %s failed", spec.name, run.pk)
    if outcome.dates and not database_down:
        with stage("gold"):
            error, tb = _gold(run, spec=spec, outcome=outcome, error=error, tb=tb)
    run.stored = len(extraction.object_ids)
    run.stage_seconds = stage.rounded()
    try:
        run_finish(run, outcome, error=error, tb=tb)
    except (OperationalError, InterfaceError) as exc:
        # The database is gone, so the outcome cannot be saved: say why in one line. The row stays
        # "running" until the replay closes it as abandoned; what the run stored is in the lake and
        # the replay loads it once the database is back.
        raise RunNotRecorded(run_id=run.pk, error=error, cause=exc) from exc
    with stage("quality"):
        quality_after_run(run, dataset=spec.dataset, lake_object_ids=extraction.object_ids)
    run.stage_seconds = stage.rounded()
    run.save(update_fields=["stage_seconds"])
    return run


def _gold(run: PipelineRun, *, spec, outcome: Outcome, error: str, tb: str) -> tuple[str, str]:
    """Gold (and the daily pump scores) once per run, for every date the run loaded; the run's error."""
    try:
        gold_refresh_for(spec, outcome.dates)
    except (OperationalError, WarehouseUnavailable) as exc:
        close_old_connections()
        return error or f"database unavailable: {exc}".strip(), tb or traceback.format_exc()
    except Exception as exc:
        logger.exception("gold refresh after pipeline %s run %s failed", spec.name, run.pk)
        return error or f"gold refresh failed: {type(exc).__name__}: {exc}", tb or traceback.format_exc()
    return error, tb
