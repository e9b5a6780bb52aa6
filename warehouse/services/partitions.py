"""Monthly partitions of the silver tables on PostgreSQL (declarative range partitioning).

``stock_data_warehouse`` and ``social_mentions_warehouse`` are partitioned by month of their
``timestamp`` (months in India time, so one IST trading day lives in one partition), each with a
DEFAULT partition that catches rows no month was made for. ``partitions_maintain`` (the daily beat
task and ``manage.py warehouse_partitions``) creates the coming months ahead, moves strays out of the
default partition into their own month, and, when ``WAREHOUSE_RETENTION_MONTHS`` is set, drops whole
partitions older than that. A load of rows of a past month (a historical file, a backfill) makes that
month first (``partitions_for_load``, called by the loader), so its rows never wait in the default
partition, where queries cannot prune, for the nightly pass to move them. The embedded SQLite keeps
plain tables: every function here is a no-op there.

Why the keys changed: PostgreSQL wants the partition key in every unique constraint of a partitioned
table, so the primary key is ``(id, timestamp)`` in the database (Django still sees ``id``) and the
social natural key holds the message's timestamp.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from core.errors import count_problem, whole_number
from warehouse.days import day_start, local_tz

logger = logging.getLogger(__name__)

# table -> its partition column
PARTITIONED = {"stock_data_warehouse": "timestamp", "social_mentions_warehouse": "timestamp"}
# Months created ahead of the current one, and the most a schedule or the command may ask for (ten years:
# 240 tables; a typo of 1000 would have made 2,000 of them).
DEFAULT_AHEAD = 3
MAX_AHEAD = 120
# The oldest month a load makes a partition for (validation refuses market data before 1990): a row
# of an older month, only a direct load can write one, waits in the default partition.
EARLIEST_MONTH = date(1990, 1, 1)
# How long a load's partition creation waits for its locks (PostgreSQL's lock_timeout). ATTACH takes an
# ACCESS EXCLUSIVE lock on the default partition: behind a long read of it, a waiting ATTACH would hold up
# every later read and load of the table, so a load gives up after this and writes to the default partition.
LOAD_LOCK_TIMEOUT = "2s"
# The same for the nightly pass (and the command), for each month it creates and each partition retention
# detaches (DETACH locks the whole table outright). A pass that cannot have its locks raises
# OperationalError (LockNotAvailable) rather than stall every reader while a long query runs: the beat task
# retries it later, and what it did before stays done (one transaction per partition).
MAINTAIN_LOCK_TIMEOUT = "10s"
_SUFFIX = re.compile(r"_p(\d{4})_(\d{2})$")


@dataclass
class PartitionResult:
    """What one maintenance pass did, per partition name."""

    created: list[str] = field(default_factory=list)
    moved: dict[str, int] = field(default_factory=dict)  # partition -> rows moved in from the default
    dropped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"created": self.created, "moved": self.moved, "dropped": self.dropped}


@dataclass
class Partition:
    table: str
    name: str
    month: date | None  # None for the default partition
    rows: int  # the planner's estimate (pg_class.reltuples), -1 before the first ANALYZE


def month_start(value: date | datetime) -> date:
    if isinstance(value, datetime):
        value = timezone.localtime(value, local_tz()).date() if timezone.is_aware(value) else value.date()
    return value.replace(day=1)


def month_add(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_range(first: date, last: date) -> list[date]:
    """The months from ``first`` to ``last`` (first days of months), both included; [] when ``last`` is before."""
    months, month = [], first
    while month <= last:
        months.append(month)
        month = month_add(month, 1)
    return months


def partition_name(table: str, month: date) -> str:
    return f"{table}_p{month:%Y_%m}"


def is_partitioned(table: str, *, cursor=None) -> bool:
    """Whether ``table`` is a partitioned table here (False on SQLite)."""
    if connection.vendor != "postgresql":
        return False
    with _cursor(cursor) as cur:
        cur.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [table])
        row = cur.fetchone()
    return bool(row) and row[0] == "p"


def partitions_list(table: str) -> list[Partition]:
    """The partitions of ``table``, oldest month first, the default partition last."""
    if not is_partitioned(table):
        return []
    with connection.cursor() as cur:
        cur.execute(
            "SELECT c.relname, c.reltuples::bigint, pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT' "
            "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)",
            [table],
        )
        rows = cur.fetchall()
    out = []
    for name, tuples, is_default in rows:
        match = _SUFFIX.search(name)
        month = None if is_default or not match else date(int(match[1]), int(match[2]), 1)
        out.append(Partition(table=table, name=name, month=month, rows=tuples))
    return sorted(out, key=lambda p: (p.month is None, p.month or date.min))


def partitions_ensure(
    *, months: list[date], tables: list[str] | None = None, cursor=None, lock_timeout: str | None = None
) -> PartitionResult:
    """Create the monthly partitions covering ``months`` (idempotent), adopting rows from the default.
    ``lock_timeout``: how long each creation may wait for its locks (PostgreSQL's syntax, "2s"; none: as long as
    it takes). Past it, PostgreSQL's LockNotAvailable (a Django OperationalError) is raised."""
    result = PartitionResult()
    if connection.vendor != "postgresql":
        return result
    for table in tables or list(PARTITIONED):
        if not is_partitioned(table, cursor=cursor):
            continue
        for month in sorted({month_start(m) for m in months}):
            _partition_create(table, month, result, cursor=cursor, lock_timeout=lock_timeout)
    return result


def partitions_for_load(table: str, days: Iterable[date], *, now: datetime | None = None) -> list[str]:
    """Create the monthly partitions of ``table`` for the (IST) ``days`` a load is about to write, those it
    lacks (one catalog query when it lacks none); returns the partitions created.

    Only months from ``EARLIEST_MONTH`` to those kept ahead of the current one: a row outside (a direct
    load's implausible time) goes to the default partition. Each month is created before the load, in a
    transaction of its own (a savepoint when the caller holds one), waiting at most ``LOAD_LOCK_TIMEOUT``
    for its locks. A failure (a lock, a permission) is logged, not raised: the rows then land in the default
    partition, and the nightly pass moves them. A month another load made meanwhile is no failure."""
    if connection.vendor != "postgresql" or table not in PARTITIONED:
        return []
    months = _plausible(
        {d.replace(day=1) for d in days}, latest=month_add(month_start(now or timezone.now()), DEFAULT_AHEAD)
    )
    if not months:
        return []
    missing = _missing([partition_name(table, month) for month in months])
    created, failed = [], []
    for month in months:
        if partition_name(table, month) not in missing:
            continue
        try:
            created += partitions_ensure(months=[month], tables=[table], lock_timeout=LOAD_LOCK_TIMEOUT).created
        except DatabaseError as exc:
            failed.append(exc)
    if created:
        logger.info("warehouse partitions: created %s for a load", ", ".join(created))
    # Another load may have made the same month at the same time (this one's CREATE then fails): its
    # rows go to that partition all the same. Only the months still missing are worth a warning.
    absent = _missing(missing) if failed else set()
    if absent:
        logger.warning(
            "could not create the partitions %s before a load; its rows go to %s_default until the nightly "
            "maintenance moves them",
            ", ".join(sorted(absent)),
            table,
            exc_info=failed[0],
        )
    return created


def lock_not_available(exc: BaseException) -> bool:
    """Whether ``exc`` is PostgreSQL giving up on a lock after ``lock_timeout`` (SQLSTATE 55P03)."""
    return getattr(exc.__cause__, "sqlstate", None) == "55P03" or getattr(exc, "sqlstate", None) == "55P03"


def _plausible(months: Iterable[date], *, latest: date) -> list[date]:
    """The ``months`` a partition is made for, in order: from ``EARLIEST_MONTH`` to ``latest``. A row of any
    other month (an implausible time: 1970 from a zero timestamp, a year mistyped) stays in the default
    partition rather than getting a partition of its own."""
    return sorted(m for m in months if EARLIEST_MONTH <= m <= latest)


def _missing(names) -> set[str]:
    """Which of the partitions ``names`` do not exist."""
    with connection.cursor() as cur:
        cur.execute("SELECT n FROM unnest(%s::text[]) AS n WHERE to_regclass(n) IS NULL", [sorted(names)])
        return {row[0] for row in cur.fetchall()}


def partitions_maintain(*, ahead: int = DEFAULT_AHEAD, now: datetime | None = None) -> PartitionResult:
    """The daily pass: months ahead, strays of plausible months (``_plausible``) out of the default partitions,
    optional retention. Each partition waits at most ``MAINTAIN_LOCK_TIMEOUT`` for its locks, else
    OperationalError is raised (the task retries later; the partitions done before it stay done)."""
    if problem := count_problem(ahead, unit="months", least=0, most=MAX_AHEAD):
        raise ValueError(f"ahead: {problem}")
    if connection.vendor != "postgresql":
        return PartitionResult()
    current = month_start(now or timezone.now())
    wanted = [month_add(current, k) for k in range(ahead + 1)]
    strays = _plausible({month for table in PARTITIONED for month in _default_months(table)}, latest=wanted[-1])
    result = partitions_ensure(months=wanted + strays, lock_timeout=MAINTAIN_LOCK_TIMEOUT)
    retention = getattr(settings, "WAREHOUSE_RETENTION_MONTHS", None)
    if retention:
        if not whole_number(retention, least=1):  # -1 would drop every partition before next month's
            raise ValueError(f"WAREHOUSE_RETENTION_MONTHS: a whole number of months, 1 or more; got {retention!r}")
        result.dropped = partitions_retire(before=month_add(current, -retention))
    return result


def partitions_retire(*, before: date) -> list[str]:
    """Drop every monthly partition wholly older than the month ``before`` (retention); returns names."""
    dropped = []
    for table in PARTITIONED:
        for part in partitions_list(table):
            if part.month is not None and part.month < before:
                with transaction.atomic(), connection.cursor() as cur, _lock_timeout(cur, MAINTAIN_LOCK_TIMEOUT):
                    cur.execute(f'ALTER TABLE "{table}" DETACH PARTITION "{part.name}"')
                    cur.execute(f'DROP TABLE "{part.name}"')
                logger.info("warehouse retention: dropped partition %s", part.name)
                dropped.append(part.name)
    return dropped


def _default_months(table: str) -> list[date]:
    """The months of the rows sitting in ``table``'s default partition."""
    if not is_partitioned(table):
        return []
    column = PARTITIONED[table]
    with connection.cursor() as cur:
        cur.execute(
            f'SELECT DISTINCT date_trunc(\'month\', "{column}" AT TIME ZONE %s)::date FROM "{table}_default"',
            [str(local_tz())],
        )
        return [row[0] for row in cur.fetchall()]


def _partition_create(
    table: str, month: date, result: PartitionResult, *, cursor=None, lock_timeout: str | None = None
) -> None:
    name = partition_name(table, month)
    column = PARTITIONED[table]
    lo, hi = day_start(month), day_start(month_add(month, 1))
    with transaction.atomic(), _cursor(cursor) as cur:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        if cur.fetchone()[0]:
            return
        with _lock_timeout(cur, lock_timeout):
            # A month whose rows already sit in the default partition cannot simply be created (PostgreSQL
            # refuses a partition whose range the default holds): build it apart, move those rows into it,
            # then attach it. ATTACH re-checks the default partition, which no longer holds that range.
            cur.execute(f'CREATE TABLE "{name}" (LIKE "{table}" INCLUDING DEFAULTS INCLUDING STORAGE)')
            cur.execute(
                f'WITH moved AS (DELETE FROM "{table}_default" WHERE "{column}" >= %s AND "{column}" < %s '
                f'RETURNING *) INSERT INTO "{name}" SELECT * FROM moved',
                [lo, hi],
            )
            moved = cur.rowcount
            cur.execute(f'ALTER TABLE "{table}" ATTACH PARTITION "{name}" FOR VALUES FROM (%s) TO (%s)', [lo, hi])
    result.created.append(name)
    if moved:
        result.moved[name] = moved
        logger.info("warehouse partitions: moved %d rows of %s out of %s_default", moved, name, table)


@contextmanager
def _lock_timeout(cur, value: str | None):
    """PostgreSQL's ``lock_timeout`` at ``value`` inside the block (none: left as it is). Set for the transaction
    only and put back after the block, since in a caller's transaction (a savepoint here) a success would leave
    it set for the rest of that transaction (a failure rolls it back)."""
    if value is None:
        yield
        return
    cur.execute("SELECT current_setting('lock_timeout')")
    previous = cur.fetchone()[0]
    cur.execute("SELECT set_config('lock_timeout', %s, true)", [value])
    yield
    cur.execute("SELECT set_config('lock_timeout', %s, true)", [previous])


class _cursor:
    """Use the caller's cursor (a migration's schema editor) or open one on Django's connection."""

    def __init__(self, cursor):
        self.given = cursor
        self.opened = None

    def __enter__(self):
        if self.given is not None:
            return self.given
        self.opened = connection.cursor()
        return self.opened.__enter__()

    def __exit__(self, *exc):
        if self.opened is not None:
            return self.opened.__exit__(*exc)
        return False


# The conversion of a plain (populated) table, called by migration 0003 ----------------------------


def table_partition(cursor, table: str, *, ahead: int = DEFAULT_AHEAD, now: datetime | None = None) -> int:
    """Turn the plain ``table`` into a monthly-partitioned one in place; returns the rows carried over.

    The rows are copied into the new partitioned table (one partition per month they cover, created
    first), in the migration's transaction, then the old table is dropped: readers see either the old
    table or the new one. The indexes and unique constraints keep their names; the primary key becomes
    ``(id, <column>)`` and the identity sequence continues after the highest id.
    """
    old = f"{table}_unpartitioned"
    indexes = _indexes_of(cursor, table)
    cursor.execute(f'ALTER TABLE "{table}" RENAME TO "{old}"')
    for index, _, constraint, _, _ in indexes:
        # Index names are unique per schema: free them for the new table.
        if constraint:
            cursor.execute(f'ALTER TABLE "{old}" RENAME CONSTRAINT "{constraint}" TO "{_aside(constraint)}"')
        else:
            cursor.execute(f'ALTER INDEX "{index}" RENAME TO "{_aside(index)}"')
    _partitioned_table_create(cursor, table, old, indexes)
    result = PartitionResult()
    for month in _months_held(cursor, table, old, ahead=ahead, now=now):
        _partition_create(table, month, result, cursor=cursor)
    cursor.execute(f'INSERT INTO "{table}" SELECT * FROM "{old}"')
    carried = cursor.rowcount
    cursor.execute(f'DROP TABLE "{old}"')
    _sequence_continue(cursor, table)
    cursor.execute(f'ANALYZE "{table}"')
    return carried


def _indexes_of(cursor, table: str) -> list[tuple]:
    """(index, its definition, constraint, constraint kind, constraint definition) of each index of
    ``table``; the constraint fields are None for an index that backs no constraint."""
    cursor.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid), c.conname, c.contype, pg_get_constraintdef(c.oid) "
        "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid "
        "WHERE x.indrelid = to_regclass(%s)",
        [table],
    )
    return cursor.fetchall()


def _partitioned_table_create(cursor, table: str, old: str, indexes: list[tuple]) -> None:
    """The empty partitioned ``table`` shaped like ``old``: primary key ``(id, <column>)``, the old
    indexes and constraints under their names, the BRIN, and the default partition."""
    column = PARTITIONED[table]
    cursor.execute(
        f'CREATE TABLE "{table}" (LIKE "{old}" INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING STORAGE) '
        f'PARTITION BY RANGE ("{column}")'
    )
    cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_pkey" PRIMARY KEY (id, "{column}")')
    for _index, definition, constraint, kind, constraint_def in indexes:
        if kind == "p":
            continue
        if constraint:
            cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{constraint}" {constraint_def}')
        else:
            cursor.execute(definition.replace(" CONCURRENTLY", ""))
    brin_create(cursor, table)
    cursor.execute(f'CREATE TABLE "{table}_default" PARTITION OF "{table}" DEFAULT')


def _months_held(cursor, table: str, old: str, *, ahead: int, now: datetime | None) -> list[date]:
    """The months to create for ``table``: every month from the oldest to the newest row of ``old``,
    and the current one with ``ahead`` more, in order."""
    column = PARTITIONED[table]
    cursor.execute(
        f"SELECT date_trunc('month', min(\"{column}\") AT TIME ZONE %s)::date, "
        f'date_trunc(\'month\', max("{column}") AT TIME ZONE %s)::date FROM "{old}"',
        [str(local_tz())] * 2,
    )
    first, last = cursor.fetchone()
    current = month_start(now or timezone.now())
    months = [month_add(current, k) for k in range(ahead + 1)]
    if first is not None:
        months += month_range(first, last)
    return sorted(set(months))


def _sequence_continue(cursor, table: str) -> None:
    """Set ``table``'s id sequence to continue after its highest id (the rows were copied in with theirs)."""
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence(%s, 'id'), COALESCE((SELECT max(id) FROM \"{table}\"), 0) + 1, false)",
        [table],
    )


def brin_create(cursor, table: str) -> None:
    """The BRIN on ``table``'s timestamp (idempotent; recreated when it lacks ``autosummarize``).

    Quotes arrive in time order, so a BRIN summarises each partition in a few pages and serves the
    all-ticker time-range reads (the gold refresh of a day, the quality pass): see bench/scale for it
    against a b-tree. ``autosummarize`` lets autovacuum summarise each block range as it fills: a range
    nobody summarised is read whole by every query.
    """
    name = f"idx_{table}_ts_brin"
    cursor.execute("SELECT reloptions FROM pg_class WHERE oid = to_regclass(%s)", [name])
    row = cursor.fetchone()
    if row is not None and "autosummarize=on" in (row[0] or []):
        return
    cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
    cursor.execute(f'CREATE INDEX "{name}" ON "{table}" USING brin ("{PARTITIONED[table]}") WITH (autosummarize = on)')


def table_unpartition(cursor, table: str) -> int:
    """The reverse of ``table_partition`` (for migrating backwards): one plain table again."""
    old = f"{table}_partitioned"
    cursor.execute(
        "SELECT c.conname, c.contype, pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "WHERE c.conrelid = to_regclass(%s) AND c.contype = 'u'",
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE x.indrelid = to_regclass(%s) AND NOT x.indisunique",
        [table],
    )
    indexes = [(n, d) for n, d in cursor.fetchall() if "USING brin" not in d]
    cursor.execute(f'ALTER TABLE "{table}" RENAME TO "{old}"')
    for name, _ in indexes:
        cursor.execute(f'ALTER INDEX "{name}" RENAME TO "{_aside(name)}"')
    for name, _, _ in constraints:
        cursor.execute(f'ALTER TABLE "{old}" RENAME CONSTRAINT "{name}" TO "{_aside(name)}"')
    cursor.execute(f'ALTER TABLE "{old}" RENAME CONSTRAINT "{table}_pkey" TO "{_aside(table + "_pkey")}"')
    cursor.execute(f'CREATE TABLE "{table}" (LIKE "{old}" INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING STORAGE)')
    cursor.execute(f'ALTER TABLE "{table}" ADD PRIMARY KEY (id)')
    for name, _, definition in constraints:
        cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
    for _, definition in indexes:
        cursor.execute(definition.replace(" ONLY ", " "))
    cursor.execute(f'INSERT INTO "{table}" SELECT * FROM "{old}"')
    carried = cursor.rowcount
    cursor.execute(f'DROP TABLE "{old}" CASCADE')
    _sequence_continue(cursor, table)
    return carried


def _aside(name: str) -> str:
    return f"{name[:50]}_old"
