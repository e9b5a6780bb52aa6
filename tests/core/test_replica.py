"""Reads on a real streaming replica (DATABASE_REPLICA_URL), and the fallback to the primary when it is down.

The test starts a private primary and a replica made from it with ``pg_basebackup -R`` (the machine's
shared cluster allows no replication), migrates the primary, and drives child processes configured
with both URLs (tests/core/replica_probe.py). To tell the two servers apart it pauses WAL replay on the
replica: a row written afterwards exists only on the primary.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest

from tests.conftest import ROOT
from tests.faults.conftest import PrivatePostgres, _pg_bin, free_port, wait_for

pytestmark = [pytest.mark.slow]


class Replica(PrivatePostgres):
    """A hot standby of ``primary``: a base backup with ``-R`` (standby.signal + primary_conninfo)."""

    def __init__(self, primary: PrivatePostgres):
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="tl-replica-pg-"))
        self.data = self.root / "data"
        self.logfile = self.root / "server.log"
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/tickerlake"
        self.primary = primary

    def init(self) -> None:
        if os.getuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._as_postgres(
            _pg_bin("pg_basebackup"),
            *("-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres"),
            *("-D", str(self.data), "-R", "-X", "stream", "--checkpoint=fast", "--no-sync"),
        )

    def sql(self, query: str):
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=tickerlake") as db:
            return db.execute(query).fetchone()


@pytest.fixture
def primary_and_replica():
    primary = PrivatePostgres()
    replica = None
    try:
        primary.init()
        primary.start()
        primary.create_database()
        replica = Replica(primary)
        replica.init()
        replica.start()
        yield primary, replica
    finally:
        if replica is not None:
            replica.destroy()
        primary.destroy()


def _child_env(primary, replica) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "PYTEST_"))}
    return dict(env, DATABASE_URL=primary.url, DATABASE_REPLICA_URL=replica.url, DATABASE_REPLICA_RETRY="30")


def _probe(env: dict, *args: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "tests.core.replica_probe", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_reads_come_from_the_replica_and_from_the_primary_when_it_is_down(primary_and_replica):
    primary, replica = primary_and_replica
    env = _child_env(primary, replica)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0"], cwd=ROOT, env=env, check=True
    )
    assert _probe(env, "write", "1") == {"inserted": 1}
    assert replica.sql("SELECT pg_is_in_recovery()") == (True,)
    assert wait_for(lambda: replica.sql("SELECT count(*) FROM stock_data_warehouse") == (1,), timeout=30)

    # From now on the replica stays one row behind the primary.
    replica.sql("SELECT pg_wal_replay_pause()")
    assert _probe(env, "write", "2") == {"inserted": 1}

    # The read API and the selector answer from the replica (one row); a pipeline's pinned read from
    # the primary (two rows).
    seen = _probe(env, "read")
    assert {k: seen[k] for k in ("api", "selector", "pinned")} == {"api": 1, "selector": 1, "pinned": 2}
    assert seen["replica_queries"] >= 2

    # The replica goes away: the same reads are served by the primary, without an error.
    replica.stop("immediate")
    seen = _probe(env, "read")
    assert seen == {"api": 2, "selector": 2, "pinned": 2, "replica_queries": 0}
