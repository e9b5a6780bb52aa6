"""Monthly partitions of the silver tables on PostgreSQL: layout, strays, maintenance, retention, migration."""

import re
import threading
import time
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, OperationalError, connection, connections
from django.db.migrations.executor import MigrationExecutor
from django_celery_beat.models import PeriodicTask

from pipelines.services import pipeline_run
from tests.warehouse.conftest import (
    own_connection,
    requires_postgres,
    rows_per_partition,
    social_record,
    stock_record,
)
from warehouse.models import SocialMention, StockData
from warehouse.services import partitions, social_rows_load, stock_rows_load
from warehouse.services.partitions import partitions_list, partitions_maintain

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 10, 6, 0, tzinfo=UTC)
SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples" / "nse"


def _one(sql: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


@contextmanager
def long_read(table: str):
    """Another session in the middle of a long read of ``table``: it holds the read's locks until the block ends."""
    reader = own_connection(autocommit=False)
    try:
        reader.execute(f'SELECT count(*) FROM "{table}"')
        yield
    finally:
        reader.rollback()
        reader.close()


def lock_timeout_now() -> str:
    """This session's lock_timeout (the server's "0" unless something left its own set)."""
    return _one("SHOW lock_timeout")[0]


@requires_postgres
def test_both_silver_tables_are_range_partitioned_by_timestamp_with_a_default_partition():
    for table in ("stock_data_warehouse", "social_mentions_warehouse"):
        assert _one(
            "SELECT p.partstrat, a.attname FROM pg_partitioned_table p "
            "JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0] "
            "WHERE p.partrelid = to_regclass(%s)",
            [table],
        ) == ("r", "timestamp")
        names = [p.name for p in partitions_list(table)]
        assert names[-1] == f"{table}_default"
        assert len(names) >= 5  # this month, three ahead, the default
        # Every unique key holds the partition key, and a BRIN summarises the timestamp.
        assert _one("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s", [f"{table}_pkey"]) == (
            'PRIMARY KEY (id, "timestamp")',
        )
        brin = "SELECT indexdef FROM pg_indexes WHERE tablename = %s AND indexdef LIKE '%%USING brin%%'"
        assert _one(brin, [table]) == (
            f'CREATE INDEX idx_{table}_ts_brin ON ONLY public.{table} USING brin ("timestamp") '
            "WITH (autosummarize='on')",
        )


@requires_postgres
def test_a_row_lands_in_its_month_and_a_load_makes_the_month_it_lacks(settings):
    partitions_maintain(now=NOW)
    assert "stock_data_warehouse_p2025_03" not in {p.name for p in partitions_list("stock_data_warehouse")}
    result = stock_rows_load(
        records=[
            stock_record(0, timestamp="2026-12-15T10:00:00+05:30"),
            stock_record(1, timestamp="2026-12-31T23:30:00+05:30"),  # still December in India
            stock_record(2, timestamp="2025-03-03T10:00:00+05:30"),  # a backfill: its month is made first
            stock_record(3, timestamp="1989-06-01T10:00:00+05:30"),  # before any market data: no month made
        ]
    )
    assert result.inserted == 4
    assert rows_per_partition("stock_data_warehouse") == {
        "stock_data_warehouse_p2026_12": 2,
        "stock_data_warehouse_p2025_03": 1,
        "stock_data_warehouse_default": 1,
    }
    # Only the table loaded gets the month.
    assert "social_mentions_warehouse_p2025_03" not in {p.name for p in partitions_list("social_mentions_warehouse")}
    # The nightly pass leaves the implausible month where it is too: no partition of its own for 1989.
    assert partitions_maintain(now=NOW).as_dict() == {"created": [], "moved": {}, "dropped": []}
    assert rows_per_partition("stock_data_warehouse")["stock_data_warehouse_default"] == 1


@requires_postgres
def test_a_historical_bhavcopy_file_lands_in_its_months_partition():
    pipeline_run(pipeline="nse_bhavcopy", files=[str(SAMPLES / "cm06JAN2021bhav.csv")])

    rows = rows_per_partition("stock_data_warehouse")
    assert list(rows) == ["stock_data_warehouse_p2021_01"]
    assert rows["stock_data_warehouse_p2021_01"] == StockData.objects.count() > 1000


@requires_postgres
def test_when_its_month_cannot_be_made_a_load_goes_to_the_default_and_maintenance_moves_it(monkeypatch, caplog):
    def refused(*args, **kwargs):
        raise DatabaseError("permission denied for schema public")

    monkeypatch.setattr(partitions, "_partition_create", refused)
    assert stock_rows_load(records=[stock_record(0, timestamp="2025-03-03T10:00:00+05:30")]).inserted == 1
    assert social_rows_load(records=[social_record(0, timestamp="2025-03-04T10:00:00+05:30")]).inserted == 1
    assert "could not create the partitions stock_data_warehouse_p2025_03" in caplog.text
    assert rows_per_partition("stock_data_warehouse") == {"stock_data_warehouse_default": 1}
    stray_id = StockData.objects.get().pk
    monkeypatch.undo()

    result = partitions_maintain(now=NOW)

    assert result.moved == {"stock_data_warehouse_p2025_03": 1, "social_mentions_warehouse_p2025_03": 1}
    assert rows_per_partition("stock_data_warehouse") == {"stock_data_warehouse_p2025_03": 1}
    assert rows_per_partition("social_mentions_warehouse") == {"social_mentions_warehouse_p2025_03": 1}
    assert StockData.objects.get().pk == stray_id
    # Loading the same row again finds it in its new partition: still one row.
    assert stock_rows_load(records=[stock_record(0, timestamp="2025-03-03T10:00:00+05:30")]).duplicates == 1
    assert StockData.objects.count() == 1
    # A second pass has nothing left to do.
    assert partitions_maintain(now=NOW).as_dict() == {"created": [], "moved": {}, "dropped": []}


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_loads_making_the_same_month_at_once_both_land_in_it_without_a_warning(caplog):
    """Both find the month missing and create it; the second CREATE fails once the first commits, and
    its rows go to the partition the first made."""
    month = "stock_data_warehouse_p2003_02"
    barrier = threading.Barrier(2)
    loaded: dict[int, object] = {}

    def load(k: int) -> None:
        try:
            barrier.wait(timeout=10)
            record = stock_record(k, ticker=f"LOAD{k}", timestamp=f"2003-02-0{k + 1}T10:00:00+05:30")
            loaded[k] = stock_rows_load(records=[record]).inserted
        except Exception as exc:
            loaded[k] = repr(exc)
        finally:
            connections.close_all()

    try:
        threads = [threading.Thread(target=load, args=(k,)) for k in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert loaded == {0: 1, 1: 1}
        assert rows_per_partition("stock_data_warehouse") == {month: 2}
        assert "could not create" not in caplog.text
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP TABLE IF EXISTS "{month}"')


@requires_postgres
def test_a_load_does_not_queue_behind_a_long_read_of_the_default_partition(monkeypatch, caplog):
    """ATTACH needs an ACCESS EXCLUSIVE lock on the default partition: while another session reads it, a
    load gives up making its month after LOAD_LOCK_TIMEOUT and writes to the default partition instead of
    waiting (and holding up every later reader behind its lock request)."""
    monkeypatch.setattr(partitions, "LOAD_LOCK_TIMEOUT", "200ms")
    with long_read("stock_data_warehouse_default"):
        started = time.monotonic()
        result = stock_rows_load(records=[stock_record(0, timestamp="2024-07-01T10:00:00+05:30")])
        waited = time.monotonic() - started
    assert result.inserted == 1
    assert waited < 5
    assert rows_per_partition("stock_data_warehouse") == {"stock_data_warehouse_default": 1}
    assert "could not create the partitions stock_data_warehouse_p2024_07" in caplog.text
    assert lock_timeout_now() == "0"  # the load's own setting is back to the server's
    # Once the read is over, the next load of that month makes it (moving the stray in).
    stock_rows_load(records=[stock_record(1, timestamp="2024-07-02T10:00:00+05:30")])
    assert rows_per_partition("stock_data_warehouse") == {"stock_data_warehouse_p2024_07": 2}
    assert lock_timeout_now() == "0"  # (the test's transaction goes on: a success puts it back too)


@requires_postgres
def test_the_nightly_pass_gives_up_behind_a_long_read_instead_of_stalling_the_table(monkeypatch):
    """The pass's ATTACH waits at most MAINTAIN_LOCK_TIMEOUT behind a reader of the table, then raises
    OperationalError (the beat task retries it; the command says to run again) instead of queueing an ACCESS
    EXCLUSIVE request that every later reader would wait behind for as long as the long query runs."""
    monkeypatch.setattr(partitions, "MAINTAIN_LOCK_TIMEOUT", "200ms")
    later = datetime(2031, 6, 10, tzinfo=UTC)  # months nobody has made
    with long_read("stock_data_warehouse"):
        started = time.monotonic()
        with pytest.raises(OperationalError) as raised:
            partitions_maintain(now=later)
        assert time.monotonic() - started < 5
        with pytest.raises(CommandError, match="could not be changed within 200ms"):
            call_command("warehouse_partitions", "--from", "2031-01", "--to", "2031-02")
    assert partitions.lock_not_available(raised.value)
    assert lock_timeout_now() == "0"
    # With the read over, the next pass makes them.
    assert "stock_data_warehouse_p2031_06" in partitions_maintain(now=later).created


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_retention_gives_up_behind_a_long_read_instead_of_stalling_the_table(monkeypatch, settings):
    """DETACH locks the whole table outright: retention waits at most MAINTAIN_LOCK_TIMEOUT for it."""
    monkeypatch.setattr(partitions, "MAINTAIN_LOCK_TIMEOUT", "200ms")
    old = "stock_data_warehouse_p2004_03"
    try:
        stock_rows_load(records=[stock_record(0, timestamp="2004-03-03T10:00:00+05:30")])  # commits its month
        with long_read("stock_data_warehouse"):
            started = time.monotonic()
            with pytest.raises(OperationalError):
                partitions.partitions_retire(before=date(2005, 1, 1))
            assert time.monotonic() - started < 5
        assert old in {p.name for p in partitions_list("stock_data_warehouse")}
        assert partitions.partitions_retire(before=date(2005, 1, 1)) == [old]
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP TABLE IF EXISTS "{old}"')


@requires_postgres
def test_the_command_creates_a_backfills_months_ahead_of_the_load(capsys):
    call_command("warehouse_partitions", "--from", "2024-11", "--to", "2025-01", "--ahead", "0")
    names = {p.name for p in partitions_list("social_mentions_warehouse")}
    assert {
        "social_mentions_warehouse_p2024_11",
        "social_mentions_warehouse_p2024_12",
        "social_mentions_warehouse_p2025_01",
    } <= names
    assert "backfill months: created 6 partition(s)" in capsys.readouterr().out


@requires_postgres
def test_retention_drops_whole_partitions_older_than_the_setting_and_only_those(settings):
    stock_rows_load(
        records=[
            stock_record(0, timestamp="2026-08-20T10:00:00+05:30"),
            stock_record(1, timestamp="2026-09-01T10:00:00+05:30"),
            stock_record(2, timestamp="2026-12-01T10:00:00+05:30"),
        ]
    )
    social_rows_load(records=[social_record(0, timestamp="2026-08-21T10:00:00+05:30")])
    partitions_maintain(now=NOW)  # retention off: everything stays
    assert StockData.objects.count() == 3
    assert SocialMention.objects.count() == 1

    settings.WAREHOUSE_RETENTION_MONTHS = 3
    result = partitions_maintain(now=NOW)

    assert result.dropped == ["stock_data_warehouse_p2026_08", "social_mentions_warehouse_p2026_08"]
    assert sorted(StockData.objects.values_list("timestamp__month", flat=True)) == [9, 12]
    assert not SocialMention.objects.exists()
    assert "stock_data_warehouse_p2026_08" not in {p.name for p in partitions_list("stock_data_warehouse")}


@requires_postgres
def test_a_retention_that_is_no_count_of_months_drops_nothing(settings):
    stock_rows_load(records=[stock_record(0, timestamp="2026-12-01T10:00:00+05:30")])
    settings.WAREHOUSE_RETENTION_MONTHS = -1  # (refused at start-up; set past it, e.g. by a test or a shell)
    with pytest.raises(ValueError, match="WAREHOUSE_RETENTION_MONTHS: a whole number of months, 1 or more; got -1"):
        partitions_maintain(now=NOW)
    assert StockData.objects.count() == 1


@requires_postgres
def test_a_query_for_30_days_reads_only_the_partitions_in_its_range():
    partitions_maintain(now=NOW)
    call_command("warehouse_partitions", "--from", "2025-01", "--to", "2026-11", "--ahead", "0")
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN SELECT * FROM stock_data_warehouse WHERE ticker = 'TCS' "
            "AND timestamp >= '2026-11-20T00:00:00+05:30' AND timestamp < '2026-12-20T00:00:00+05:30'"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    scanned = sorted(set(re.findall(r" on (stock_data_warehouse_\w+?) ", plan)))
    assert scanned == ["stock_data_warehouse_p2026_11", "stock_data_warehouse_p2026_12"], plan


def test_the_daily_partition_task_is_scheduled():
    task = PeriodicTask.objects.get(name="Warehouse partitions (daily)")
    assert task.task == "warehouse.tasks.warehouse_partitions"
    assert task.enabled is True
    assert (task.crontab.hour, task.crontab.minute) == ("1", "45")


def test_sqlite_keeps_plain_tables(capsys):
    if connection.vendor == "postgresql":
        pytest.skip("SQLite only")
    call_command("warehouse_partitions")
    assert capsys.readouterr().out.strip() == "sqlite: the warehouse tables are not partitioned; nothing to do."
    assert partitions_maintain(now=NOW).as_dict() == {"created": [], "moved": {}, "dropped": []}


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_the_migration_converts_populated_tables_in_place():
    executor = MigrationExecutor(connection)
    executor.migrate([("warehouse", "0002_seed_nifty50_tickers")])
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO stock_data_warehouse (ticker, series, exchange, source, timestamp, price, processed_at) "
            "SELECT 'TCS', 'EQ', 'NSE', 'nse_api', t, 4000, now() FROM "
            "generate_series('2025-01-31T12:00:00Z'::timestamptz, '2025-03-02T12:00:00Z', interval '1 hour') t"
        )
        cursor.execute(
            "INSERT INTO social_mentions_warehouse (ticker, platform, external_id, text, sentiment, "
            "sentiment_score, is_pump_signal, pump_score, channel, author, timestamp, processed_at) "
            "VALUES ('INFY', 'twitter', '1', 'hi', 'neutral', 0, false, 0, '', '', '2025-02-10T05:00:00Z', now())"
        )
        cursor.execute("SELECT count(*), max(id), sum(id) FROM stock_data_warehouse")
        before = cursor.fetchone()
    assert before[0] == 721

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert _one("SELECT count(*), max(id), sum(id) FROM stock_data_warehouse") == before
    per_month = rows_per_partition("stock_data_warehouse")
    # Jan 31 12:00Z .. Mar 2 12:00Z hourly, split by India's months.
    assert per_month == {
        "stock_data_warehouse_p2025_01": 7,  # 12:00Z..18:00Z on Jan 31 (18:30Z is midnight in India)
        "stock_data_warehouse_p2025_02": 672,
        "stock_data_warehouse_p2025_03": 42,  # from 19:00Z on Feb 28
    }
    assert rows_per_partition("social_mentions_warehouse") == {"social_mentions_warehouse_p2025_02": 1}
    # New rows take ids after the carried ones, and the natural key still refuses a repeat.
    result = stock_rows_load(records=[stock_record(0, ticker="TCS", timestamp="2025-02-01T12:00:00+00:00")])
    assert (result.inserted, result.duplicates) == (0, 1)
    stock_rows_load(records=[stock_record(0, ticker="INFY", timestamp="2025-02-01T12:00:00+00:00")])
    assert StockData.objects.get(ticker="INFY").pk > before[1]  # (a refused insert may burn an id)
    assert SocialMention.objects.get().external_id == "1"
    assert date(2025, 3, 1) in {p.month for p in partitions_list("stock_data_warehouse")}
