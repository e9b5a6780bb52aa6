"""The bulk loader: records or a DataFrame in, idempotent rows in the silver and gold tables out.

PostgreSQL: the batch is cleaned and de-duplicated in pandas, then streamed with psycopg 3 ``COPY``
(``cursor.copy()`` + ``write_row``) in one transaction:

1. when no stored row can clash (a cheap probe on the batch's tickers and time range), ``COPY`` goes
   straight into the table inside a savepoint (the fastest path);
2. otherwise, or when that ``COPY`` hits a key that a concurrent load has just written, ``COPY`` goes
   into a TEMP staging table and ``INSERT … SELECT … ON CONFLICT DO NOTHING`` moves the new rows over;
3. when a batch fails on a bad row (a numeric overflow, a NUL byte, a too-long code), it is retried
   in chunks and a failing chunk row by row, each in a savepoint, so the good rows load and each bad
   row comes back in ``LoadResult.errors`` with the database's own message.

Before the load, a partitioned table gets the monthly partitions of the batch's days it lacks
(``partitions.partitions_for_load``), so rows of a past month land in their month, not the default.

Other databases (the embedded SQLite): ``bulk_create(ignore_conflicts=True)`` in batches, with the
same row-by-row fallback; inserted vs duplicate counts come from the connection's change counter.

Loading the same batch twice changes nothing (unique natural keys + ``DO NOTHING``).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd
from django.db import DatabaseError, connection, transaction
from django.db import InterfaceError as DjangoInterfaceError
from django.db import OperationalError as DjangoOperationalError

from core.overlap import meanwhile_run
from core.pgarray import pg_text_array
from warehouse.services import partitions
from warehouse.services.cleaning import (
    DAILY,
    SOCIAL,
    STOCK,
    Prepared,
    TableSpec,
    batch_prepare,
    dates_of,
    record_at,
    sql_rows,
)

__all__ = [
    "DAILY",
    "SOCIAL",
    "STOCK",
    "LoadResult",
    "PreparedRows",
    "RowError",
    "WarehouseUnavailable",
    "rows_load",
    "rows_prepare",
]

logger = logging.getLogger(__name__)

# Rows per savepoint when a batch has to be retried piecewise (then row by row inside a bad chunk).
FALLBACK_CHUNK = 1000
# Rows per INSERT on databases without COPY.
BULK_BATCH = 2000
# A deadlock between two concurrent loads costs the victim one retry of its statement.
DEADLOCK_RETRIES = 5


class WarehouseUnavailable(Exception):
    """The database went away (or refused us) mid-load: nothing of this batch was committed.

    The caller should retry later; pipelines replay the batch from the lake, and loads are idempotent.
    """


@dataclass
class RowError:
    """One record the warehouse refused, with the reason (the database's own error where it had one)."""

    record: dict
    error: str


@dataclass
class LoadResult:
    """What one load did. ``dates`` are the (IST) dates of every accepted row, new or duplicate."""

    inserted: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    dates: set[date] = field(default_factory=set)

    @property
    def total(self) -> int:
        return self.inserted + self.duplicates + self.rejected

    def as_dict(self) -> dict:
        return {
            "inserted": self.inserted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "errors": [{"record": e.record, "error": e.error} for e in self.errors],
            "dates": sorted(d.isoformat() for d in self.dates),
        }


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------


@dataclass
class PreparedRows:
    """A batch cleaned for ``spec``'s table and made SQL rows (``rows_prepare``): ``rows_load`` takes it as is."""

    spec: TableSpec
    prepared: Prepared
    original: Any
    rows: list[tuple]


def rows_prepare(*, spec: TableSpec, records: pd.DataFrame | Iterable[dict]) -> PreparedRows:
    """Clean a batch for ``spec``'s table (no database): work a caller can do while the server is busy
    with another load (``core.overlap``), handing the result to ``rows_load(prepared=…)``."""
    prepared, original = batch_prepare(spec, records)
    rows = sql_rows(spec, prepared.frame) if len(prepared.frame) else []
    return PreparedRows(spec=spec, prepared=prepared, original=original, rows=rows)


def rows_load(
    *, spec: TableSpec, records: pd.DataFrame | Iterable[dict] | None = None, prepared: PreparedRows | None = None
) -> LoadResult:
    """Load a batch (``records``, or ``prepared`` by ``rows_prepare``) into ``spec``'s table in one
    transaction; see the module docstring for the paths."""
    if prepared is None:
        prepared = rows_prepare(spec=spec, records=records)
    elif prepared.spec is not spec:
        raise ValueError(f"rows prepared for {prepared.spec.table}, not {spec.table}")
    rows, original, prepared = prepared.rows, prepared.original, prepared.prepared
    result = LoadResult(duplicates=prepared.in_batch_duplicates, dates=prepared.dates)
    for pos, reason in prepared.rejected:
        result.errors.append(RowError(record=record_at(original, pos), error=reason))
    frame = prepared.frame
    if len(frame):
        positions = frame["_pos"].tolist()
        is_pg = connection.vendor == "postgresql"
        try:
            if is_pg:
                partitions.partitions_for_load(spec.table, prepared.dates)
            with transaction.atomic():
                loaded = _pg_load(spec, frame, rows) if is_pg else _generic_load(spec, rows)
        except (DjangoOperationalError, DjangoInterfaceError) as exc:
            raise _unavailable(exc) from exc
        except Exception as exc:
            if _is_connection_error(exc):
                raise _unavailable(exc) from exc
            raise
        result.inserted += loaded.inserted
        result.duplicates += loaded.duplicates
        for index, error in loaded.failures:
            result.errors.append(RowError(record=record_at(original, positions[index]), error=error))
        # Rows that failed in the database cover no date unless another row of that date loaded.
        if loaded.failures:
            failed = {index for index, _ in loaded.failures}
            keep = [i for i in range(len(frame)) if i not in failed]
            result.dates = dates_of(spec, frame.iloc[keep])
    result.rejected = len(result.errors)
    logger.info(
        "loaded %s: %d inserted, %d duplicates, %d rejected",
        spec.table,
        result.inserted,
        result.duplicates,
        result.rejected,
    )
    return result


@dataclass
class _Loaded:
    inserted: int = 0
    duplicates: int = 0
    failures: list[tuple[int, str]] = field(default_factory=list)  # (row index in the batch, error)


def _unavailable(exc: BaseException) -> WarehouseUnavailable:
    # The connection is unusable: drop it so the next query in this thread reconnects cleanly.
    if not connection.in_atomic_block:
        try:
            connection.close()
        except Exception:
            pass  # closing a dead connection may fail too; it is gone either way
    return WarehouseUnavailable(f"the warehouse database is unavailable: {str(exc).strip() or type(exc).__name__}")


def _is_connection_error(exc: BaseException) -> bool:
    import psycopg

    if isinstance(exc, _retryable()):
        return False  # a deadlock or serialization failure is handled where it happens
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return True
    pg = connection.connection
    return pg is not None and getattr(pg, "closed", False)


def _retryable() -> tuple[type[Exception], ...]:
    """Errors that end one statement, not the connection: two loads deadlocked over the same keys."""
    from psycopg import errors as pg_errors

    return (pg_errors.DeadlockDetected, pg_errors.SerializationFailure, pg_errors.TransactionRollback)


def _db_error(exc: BaseException) -> str:
    """The database's message for a refused row, with its detail line when it has one."""
    diag = getattr(exc, "diag", None)
    if diag is not None and diag.message_primary:
        message = diag.message_primary
        if diag.message_detail:
            message += f" ({diag.message_detail})"
        return message
    cause = exc.__cause__
    if cause is not None and getattr(cause, "diag", None) is not None and cause.diag.message_primary:
        return _db_error(cause)
    return str(exc).strip() or type(exc).__name__


# PostgreSQL ---------------------------------------------------------------------------------------


@contextmanager
def _pg_cursor():
    """psycopg's own cursor on Django's connection: COPY, and errors unwrapped (psycopg's classes)."""
    with connection.cursor() as cursor:
        yield cursor.cursor


def _pg_load(spec: TableSpec, frame: pd.DataFrame, rows: list[tuple]) -> _Loaded:
    from psycopg import errors as pg_errors

    if not _pg_may_clash(spec, frame):
        try:
            with transaction.atomic():
                _pg_copy(spec.table, spec.columns, rows)
            return _Loaded(inserted=len(rows))
        except (pg_errors.UniqueViolation, *_retryable()):
            # A concurrent load wrote some of these keys after the probe: take the upsert path.
            pass
        except (pg_errors.DataError, pg_errors.IntegrityError) as exc:
            logger.info("COPY into %s refused a row (%s); loading piecewise", spec.table, _db_error(exc))
            return _pg_piecewise(spec, rows)
    try:
        with transaction.atomic():
            inserted = _pg_staged_insert(spec, rows)
        return _Loaded(inserted=inserted, duplicates=len(rows) - inserted)
    except (pg_errors.DataError, pg_errors.IntegrityError) as exc:
        logger.info("staged load into %s refused a row (%s); loading piecewise", spec.table, _db_error(exc))
        return _pg_piecewise(spec, rows)


def _pg_may_clash(spec: TableSpec, frame: pd.DataFrame) -> bool:
    """Whether any stored row shares a ticker and falls in the batch's time range (an index probe)."""
    times = frame[spec.probe_column]
    lo, hi = times.min(), times.max()
    if isinstance(times.dtype, pd.DatetimeTZDtype):
        lo, hi = lo.to_pydatetime(), hi.to_pydatetime()
    tickers = sorted(set(frame["ticker"].tolist()))
    column = spec.probe_column
    with _pg_cursor() as cursor:
        cursor.execute(
            f'SELECT EXISTS (SELECT 1 FROM "{spec.table}" WHERE ticker = ANY(%s::text[]) '
            f'AND "{column}" BETWEEN %s AND %s)',
            [pg_text_array(tickers), lo, hi],
        )
        return bool(cursor.fetchone()[0])


def _pg_copy(table: str, columns: list[str], rows: Iterable[tuple]) -> None:
    """``COPY`` the rows in; work offered to overlap with the load (``core.overlap``) runs once they are
    written, while the server takes them in, before waiting for the server to finish."""
    names = ", ".join(f'"{c}"' for c in columns)
    with _pg_cursor() as cursor, cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)
        meanwhile_run()


def _pg_staged_insert(spec: TableSpec, rows: list[tuple]) -> int:
    """COPY into a TEMP table, then move the rows whose key is new; returns how many were new."""

    stage = f"wh_stage_{uuid.uuid4().hex[:12]}"
    names = ", ".join(f'"{c}"' for c in spec.columns)
    with _pg_cursor() as cursor:
        cursor.execute(f'CREATE TEMP TABLE "{stage}" ON COMMIT DROP AS SELECT {names} FROM "{spec.table}" WITH NO DATA')
        _pg_copy(stage, spec.columns, rows)
        inserted = 0
        for attempt in range(DEADLOCK_RETRIES):
            try:
                with transaction.atomic():
                    cursor.execute(
                        f'INSERT INTO "{spec.table}" ({names}) SELECT {names} FROM "{stage}" ON CONFLICT DO NOTHING'
                    )
                    inserted = cursor.rowcount
                break
            except _retryable():
                # Two loads inserting overlapping keys in different orders can deadlock; the victim
                # retries once the other has committed, and then skips what the other wrote.
                if attempt == DEADLOCK_RETRIES - 1:
                    raise
        cursor.execute(f'DROP TABLE "{stage}"')
    return inserted


def _pg_piecewise(spec: TableSpec, rows: list[tuple]) -> _Loaded:
    """Retry a refused batch chunk by chunk; a chunk that fails goes row by row, each in a savepoint."""
    from psycopg import errors as pg_errors

    names = ", ".join(f'"{c}"' for c in spec.columns)
    marks = ", ".join(["%s"] * len(spec.columns))
    single = f'INSERT INTO "{spec.table}" ({names}) VALUES ({marks}) ON CONFLICT DO NOTHING'

    def load_row(row: tuple) -> int:
        with _pg_cursor() as cursor:
            cursor.execute(single, row)
            return 1 if cursor.rowcount else 0

    return _chunks_then_rows(
        rows,
        size=FALLBACK_CHUNK,
        load_chunk=lambda chunk: _pg_staged_insert(spec, chunk),
        load_row=load_row,
        refused=(pg_errors.DataError, pg_errors.IntegrityError, pg_errors.ProgrammingError),
        describe=_db_error,
    )


def _chunks_then_rows(rows, *, size: int, load_chunk, load_row, refused: tuple, describe, passthrough=()) -> _Loaded:
    """Load ``rows`` ``size`` at a time (``load_chunk(chunk) -> new rows``), each chunk in a savepoint; a
    refused chunk goes row by row (``load_row(row) -> 0 or 1``), so its good rows load and each bad row
    comes back as a failure. ``passthrough`` errors (the connection lost) are never taken for a bad row."""
    loaded = _Loaded()
    for start in range(0, len(rows), size):
        chunk = rows[start : start + size]
        try:
            with transaction.atomic():
                inserted = load_chunk(chunk)
        except passthrough:
            raise
        except refused:
            pass
        else:
            loaded.inserted += inserted
            loaded.duplicates += len(chunk) - inserted
            continue
        for offset, row in enumerate(chunk):
            try:
                with transaction.atomic():
                    inserted = load_row(row)
            except passthrough:
                raise
            except refused as exc:
                loaded.failures.append((start + offset, describe(exc)))
                continue
            loaded.inserted += inserted
            loaded.duplicates += 1 - inserted
    return loaded


# Other databases (SQLite) -------------------------------------------------------------------------


def _generic_load(spec: TableSpec, rows: list[tuple]) -> _Loaded:
    return _chunks_then_rows(
        rows,
        size=BULK_BATCH,
        load_chunk=lambda chunk: _bulk_insert(spec, chunk),
        load_row=lambda row: _bulk_insert(spec, [row]),
        refused=(DatabaseError, ValueError, TypeError, ArithmeticError),
        describe=lambda exc: str(exc).strip() or type(exc).__name__,
        passthrough=(DjangoOperationalError, DjangoInterfaceError),
    )


def _bulk_insert(spec: TableSpec, rows: list[tuple]) -> int:
    """``bulk_create(ignore_conflicts=True)``; returns how many rows were new."""
    objs = [spec.model(**_model_kwargs(spec, row)) for row in rows]
    before = _changes()
    if before is None:
        count_before = spec.model.objects.count()
    spec.model.objects.bulk_create(objs, ignore_conflicts=True, batch_size=500)
    after = _changes()
    if before is None or after is None:
        return spec.model.objects.count() - count_before
    return after - before


def _changes() -> int | None:
    """SQLite's count of rows written on this connection (ignored conflicts do not count)."""
    if connection.vendor != "sqlite":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT total_changes()")
        return cursor.fetchone()[0]


def _model_kwargs(spec: TableSpec, row: tuple) -> dict:
    kwargs = dict(zip(spec.columns, row, strict=True))
    for name in ("timestamp", "processed_at", "updated"):
        if isinstance(kwargs.get(name), str):
            kwargs[name] = datetime.fromisoformat(kwargs[name].replace("Z", "+00:00"))
    for name in ("raw_data", "metadata"):
        if isinstance(kwargs.get(name), str):
            kwargs[name] = json.loads(kwargs[name])
    return kwargs
