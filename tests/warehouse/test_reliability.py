"""Reliability on PostgreSQL: a killed load leaves nothing, concurrent loads never duplicate, and a
database that goes away mid-load gives the caller WarehouseUnavailable (the pipelines replay the lake)."""

import os
import signal
import subprocess
import sys
import threading
import time

import psycopg
import pytest
from django.db import connection

from tests.conftest import ROOT, worker_env
from tests.warehouse.conftest import own_connection, requires_postgres, stock_record
from warehouse.models import StockData
from warehouse.services import WarehouseUnavailable, warehouse

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True), pytest.mark.slow]

BIG = 300_000  # rows: a COPY that lasts long enough (seconds) to be caught in the middle

# A child process that loads one big DataFrame, built the way the pipelines hand batches over.
CHILD = f"""
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
import numpy as np, pandas as pd
from warehouse.services import warehouse
n = {BIG}
frame = pd.DataFrame({{
    "ticker": np.array(["RELIANCE", "TCS", "INFY", "SBIN"])[np.arange(n) % 4],
    "source": "nse_api",
    "timestamp": pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(np.arange(n), unit="s"),
    "price": 100.0 + (np.arange(n) % 1000) / 10,
    "volume": np.arange(n),
}})
print("loading", flush=True)
warehouse.insert_stock_data(frame)
print("loaded", flush=True)
"""


def _wait_for_copy(admin: psycopg.Connection, timeout: float = 60.0, exclude: int | None = None) -> int:
    """The pid of a backend of this database running a COPY into the stock table."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' "
            "AND query LIKE 'COPY \"stock_data_warehouse\"%%' AND pid <> pg_backend_pid() AND pid <> %s",
            [exclude or 0],
        ).fetchone()
        if row:
            return row[0]
        time.sleep(0.005)
    raise AssertionError("no COPY seen in time")


def _wait_gone(admin: psycopg.Connection, pid: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
            return
        time.sleep(0.05)
    raise AssertionError(f"backend {pid} still there")


def test_a_load_killed_mid_transaction_leaves_no_row(tmp_path):
    log = tmp_path / "child.log"
    with own_connection() as admin, log.open("wb") as out:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD], cwd=ROOT, env=worker_env(), stdout=out, stderr=subprocess.STDOUT
        )
        try:
            pid = _wait_for_copy(admin)
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=30)
            _wait_gone(admin, pid)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        assert child.returncode == -signal.SIGKILL
        assert "loaded" not in log.read_text().replace("loading", "")
        assert admin.execute("SELECT count(*) FROM stock_data_warehouse").fetchone()[0] == 0
    assert StockData.objects.count() == 0


def test_two_overlapping_loads_at_once_leave_no_duplicate_and_neither_fails():
    n = 20_000
    first = [stock_record(i, ticker=("TCS", "INFY")[i % 2]) for i in range(n)]
    # The second batch overlaps the first by half, in the opposite order (the worst case for locks).
    second = [stock_record(i, ticker=("TCS", "INFY")[i % 2]) for i in reversed(range(n // 2, n + n // 2))]
    barrier = threading.Barrier(2)
    results, errors = {}, []

    def load(name, batch):
        try:
            barrier.wait()
            results[name] = warehouse.insert_stock_data(batch)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=load, args=(name, batch)) for name, batch in (("a", first), ("b", second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert errors == []
    assert sum(r.inserted for r in results.values()) == n + n // 2
    assert sum(r.duplicates for r in results.values()) == n // 2
    assert sum(r.rejected for r in results.values()) == 0
    assert StockData.objects.count() == n + n // 2
    assert StockData.objects.values("ticker", "timestamp").distinct().count() == n + n // 2


def test_the_database_going_away_mid_load_raises_warehouse_unavailable():
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame(
        {
            "ticker": "RELIANCE",
            "source": "nse_api",
            "timestamp": pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(np.arange(BIG), unit="s"),
            "price": 100.0,
        }
    )
    connection.ensure_connection()
    own_pid = connection.connection.info.backend_pid
    killed = []

    def terminate():
        with own_connection() as admin:
            pid = _wait_for_copy(admin)
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
            killed.append(pid)

    killer = threading.Thread(target=terminate)
    killer.start()
    with pytest.raises(WarehouseUnavailable, match="the warehouse database is unavailable"):
        warehouse.insert_stock_data(frame)
    killer.join(timeout=60)
    assert killed == [own_pid]
    # Django reconnects on the next query; nothing of the batch was committed.
    assert StockData.objects.count() == 0
