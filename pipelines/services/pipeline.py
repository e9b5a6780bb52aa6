"""One pipeline run: extract → lake → transform → validate → enrich → load (in groups) → gold → quality.

``pipeline_run`` takes the pipeline's lock, stores every fetched batch in the lake before anything
parses it, processes the stored objects in groups (``process.ObjectGroup``), refreshes gold once for
every date it loaded, closes the run row with its counts and hands the run to quality.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections

from core.collector import gc_held
from core.errors import whole_number
from core.overlap import meanwhile
from lake.models import LakeObject
from lake.services import lake_objects_catalog, lake_objects_mark, raw_batch_store, raw_batch_write
from warehouse.services import WarehouseUnavailable

from .. import registry
from ..connectors import ConnectorError, connector_state_set, get_connector
from ..connectors.base import raw_split
from ..models import PipelineRun
from ..parsers import parse, records_in
from . import process
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
# Threads storing the batches pulled ahead (see _Extraction._ahead_join).
STORE_THREADS = 4


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


class _Pulled:
    """One answer of the connector's iterator: a batch (with the seconds it took), its end, or what it raised.
    A batch pulled ahead is stored in the lake (``obj``) and parsed (``parsed``) while the group before it
    loads; ``store_error`` is what that store raised (raised again when the run reaches the batch)."""

    __slots__ = ("batch", "end", "error", "obj", "parsed", "seconds", "store_error")

    def __init__(self, batch=None, *, seconds: float = 0.0, end: bool = False, error: Exception | None = None):
        self.batch, self.seconds, self.end, self.error = batch, seconds, end, error
        self.obj: LakeObject | None = None
        self.parsed = None
        self.store_error: Exception | None = None


class _Extraction:
    """The extract loop of one run: every batch written to the lake as it arrives, then catalogued and
    processed in groups (one catalog transaction per group, see ``ObjectGroup``).

    Read-ahead: when a group is loaded because it is full (a fast upstream, saved files), the batches of
    the next group are pulled from the connector first, and stored in the lake and parsed while
    PostgreSQL takes in this group's rows (``core.overlap``), instead of waiting for it. Only for
    connectors whose pulls acknowledge nothing upstream (``Connector.pulls_acknowledge``): a pulled batch
    is in memory until that store, as every batch is between its fetch and its store, and a connector
    state is saved only once its batch is loaded, so a batch lost with the process is fetched again.
    """

    def __init__(self, run: PipelineRun, *, spec, stage: Stages, outcome: Outcome):
        self.run, self.spec, self.stage, self.outcome = run, spec, stage, outcome
        self.read_ahead = False  # set by the run from its connector
        self.objects: list[LakeObject] = []
        self.ahead: deque[_Pulled] = deque()
        self.store_failed = False  # a store of a batch pulled ahead failed
        self.stranded: list[LakeObject] = []  # batches stored after that one: the run stops before them
        self.stores: ThreadPoolExecutor | None = None  # the threads storing batches pulled ahead (run_batches)
        self.group = ObjectGroup(
            spec=spec, run_id=run.pk, outcome=outcome, after_flush=lambda state: connector_state_set(spec.source, state)
        )

    @property
    def object_ids(self) -> list[int]:
        """The run's catalogued objects (one written while the database was down has no id yet)."""
        return [obj.pk for obj in self.objects if obj.pk is not None]

    def run_batches(self, batches) -> None:
        self.iterator = iter(batches)
        # The store threads live as long as the run (started when first needed): a pool per group started
        # four threads twenty times per 100,000 quotes.
        with (
            gc_held() as collector,  # (core.collector: the batches pulled ahead would be walked at every group)
            ThreadPoolExecutor(max_workers=STORE_THREADS, thread_name_prefix="lake-store") as self.stores,
        ):
            self._run_batches(collector)

    def _run_batches(self, collector) -> None:
        try:
            while True:
                pulled = self.ahead.popleft() if self.ahead else self._pull()
                if pulled.end:
                    break
                if isinstance(pulled.error, ConnectorError):
                    # The upstream answered badly: keep what it said (if anything) in the lake, then stop.
                    exc = pulled.error
                    if getattr(exc, "payload", None) is not None:
                        self._store_unloadable(exc.payload, simulated=False)
                    if str(exc) not in self.outcome.errors:
                        self.outcome.errors.append(str(exc))
                    break
                if pulled.error is not None:
                    raise pulled.error
                self._batch(pulled)
                collector.check()
        except Exception:
            self._ahead_keep()
            self.flush()  # what was written before the connector (or a store) broke is catalogued and loads
            raise
        self.flush()

    def _pull(self) -> _Pulled:
        started = time.perf_counter()
        try:
            batch = next(self.iterator)
        except StopIteration:
            pulled = _Pulled(end=True)
        except Exception as exc:  # raised (or, a ConnectorError, reported) when the run reaches it
            pulled = _Pulled(error=exc)
        else:
            pulled = _Pulled(batch, seconds=time.perf_counter() - started)
        self.stage.seconds["extract"] += time.perf_counter() - started
        return pulled

    def _write(self, batch) -> LakeObject:
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
        return obj

    def _batch(self, pulled: _Pulled) -> None:
        if pulled.store_error is not None:
            raise pulled.store_error
        if pulled.obj is None:
            with self.stage("store"):
                pulled.obj = self._write(pulled.batch)
        if self._take(pulled) and self.group.due(extract_seconds=pulled.seconds):
            self.flush(ahead=self.read_ahead and self.group.full())

    def _take(self, pulled: _Pulled) -> bool:
        """A stored batch joins the run (and its group, unless it is a bad answer: False)."""
        batch, obj = pulled.batch, pulled.obj
        self.objects.append(obj)
        self.run.simulated = self.run.simulated or batch.simulated
        meta = batch.meta or {}
        if meta.get("error"):
            # A bad upstream answer: kept in the lake as it came, reported, nothing to load.
            self.outcome.errors.append(str(meta["error"]))
            lake_objects_catalog([obj])
            lake_objects_mark([obj.pk], LakeObject.Status.LOADED)
            return False
        self.group.add(obj, batch.payload, records=obj.records, state=meta.get("state"), parsed=pulled.parsed)
        return True

    def _pull_ahead(self) -> None:
        """Pull the next group's batches (up to a full group); stop early at the end, an error, or a slow
        answer (then the upstream sets the pace and the group is loaded without waiting for more)."""
        if any(pulled.batch is None for pulled in self.ahead):
            return  # the connector ended or raised: nothing more to pull
        objects, records = len(self.ahead), sum(_batch_records(pulled.batch) for pulled in self.ahead)
        while not process.group_full(self.spec, objects=objects, records=records):
            pulled = self._pull()
            self.ahead.append(pulled)
            if pulled.batch is None or pulled.seconds >= process.GROUP_WAIT_SECONDS:
                return
            objects += 1
            records += _batch_records(pulled.batch)

    def _ahead_join(self) -> None:
        """Store and parse the batches pulled ahead (the work offered to a load): never raises. The stores
        run on a few threads, so that their fsyncs (most of a store's time on a local disk) wait together
        rather than one after another; the run takes the batches up to the first store that failed (one
        stored after it is catalogued when the run stops, ``_ahead_keep``, and the replay loads it)."""
        if self.store_failed:
            return  # the run stops at that batch: nothing after it is stored (again)
        todo = []
        for pulled in self.ahead:
            if pulled.batch is None or pulled.store_error is not None:
                break
            if pulled.obj is None:
                todo.append(pulled)
        if not todo:
            return
        started = time.perf_counter()
        stored = list(self.stores.map(self._write_caught, [pulled.batch for pulled in todo]))
        for pulled, (obj, error) in zip(todo, stored, strict=True):
            if self.store_failed:  # stored by its thread after the one that failed: catalogued when the run stops
                if obj is not None:
                    self.stranded.append(obj)
            elif error is not None:
                pulled.store_error, self.store_failed = error, True
            else:
                pulled.obj = obj
        seconds = time.perf_counter() - started
        # Done inside the load's stage: its time is the store's.
        self.stage.seconds["store"] += seconds
        self.stage.seconds["transform_load"] -= seconds
        for pulled in todo:
            if pulled.obj is None:
                break
            if not (pulled.batch.meta or {}).get("error"):
                pulled.parsed = parse(self.spec.source, pulled.batch.payload, fetched_at=pulled.obj.timestamp)

    def _write_caught(self, batch) -> tuple[LakeObject | None, Exception | None]:
        try:
            return self._write(batch), None
        except Exception as exc:
            return None, exc

    def _ahead_keep(self) -> None:
        """The run stops: the batches pulled ahead and stored join the last group (as if the run had reached
        them), up to the first that was not stored."""
        with self.stage("transform_load"):  # _ahead_join moves its store time to the store's stage
            self._ahead_join()
        while self.ahead and self.ahead[0].obj is not None:
            self._take(self.ahead.popleft())
        if self.stranded:
            # Catalogued, not loaded: the run stops at the batch that failed (its connector state stays before
            # it), and the scheduled replay loads these as it does any stored batch that was never loaded.
            try:
                lake_objects_catalog(self.stranded)
            except DatabaseError:
                pass  # the catalog said so, naming them: they stay in the lake, where the replay's scan finds them
            except Exception:  # the catalog removed them again; the connector state stays before them
                logger.exception(
                    "%s batch(es) stored after a failed store could not be catalogued and were removed from the "
                    "lake: the next run fetches them again",
                    len(self.stranded),
                )

    def _store_unloadable(self, payload, *, simulated: bool) -> None:
        payload, raw = raw_split(payload)
        obj = raw_batch_store(source=self.spec.source, data=payload, run_id=self.run.pk, simulated=simulated, raw=raw)
        self.objects.append(obj)
        lake_objects_mark([obj.pk], LakeObject.Status.LOADED)

    def flush(self, *, ahead: bool = False) -> None:
        if ahead:
            self._pull_ahead()
        with self.stage("transform_load"):
            try:
                with meanwhile(self._ahead_join if ahead else None):
                    self.group.flush()
            finally:
                if ahead:
                    self._ahead_join()  # no load ran it (SQLite, an empty group), or the load failed first


def _batch_records(batch) -> int:
    """The records of a batch: what its connector counted, else what its payload holds (``records_in``)."""
    records = (batch.meta or {}).get("records")
    if whole_number(records, least=0):
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
        # Reading files acknowledges nothing; a connector says whether its pulls do (unknown ones: assume so).
        extraction.read_ahead = spec.grouped and (bool(files) or not getattr(connector, "pulls_acknowledge", True))
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
