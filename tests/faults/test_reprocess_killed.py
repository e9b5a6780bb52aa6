"""A `reprocess` SIGKILLed after its loads, before its gold refresh: closing its run refreshes the gold it owed.

A backfill refreshes gold once, at its end. The test holds the gold table (``daily_bars``) with a lock
from another connection, so the kill lands at an exact point: every quote of the day loaded, the gold
refresh waiting. Without the days the run noted as owed, the day's bars would stay missing until a
later run or replay touched that day.
"""

from datetime import date, datetime

import pytest
from django.db import connection

from lake.services import raw_batch_store
from pipelines.models import PipelineRun
from pipelines.services import runs_abandoned_close
from pipelines.simulator import quote_payloads
from tests.conftest import _database_url
from tests.faults.conftest import child_env, wait_for
from warehouse.days import local_tz
from warehouse.models import DailyBar, StockData

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DAY = date(2025, 3, 5)


def _gold_waiting() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = %s::regclass", [DailyBar._meta.db_table]
        )
        return cursor.fetchone()[0] > 0


def test_a_reprocess_killed_before_its_gold_refresh_leaves_no_day_without_its_bars(children):
    if connection.vendor != "postgresql":
        pytest.skip("the kill point is held with a table lock (PostgreSQL)")
    import psycopg

    start = datetime(2025, 3, 5, 9, 15, tzinfo=local_tz())
    for batch in quote_payloads(count=150, start=start, per_batch=50):
        raw_batch_store(source="nse_api", data=batch, timestamp=start, simulated=True)
    hold = psycopg.connect(_database_url())
    hold.execute(f'LOCK TABLE "{DailyBar._meta.db_table}" IN SHARE MODE')  # reads go on, writes wait
    try:
        child = children.manage(
            "reprocess", "nse_api", "--from", str(DAY), "--to", str(DAY), "--local", env=child_env(), name="reprocess"
        )
        assert wait_for(_gold_waiting, timeout=60), child.output()[-3000:]
        run = PipelineRun.objects.get(trigger="backfill")
        assert run.status == "running"
        assert run.params["gold_pending"] == {"nse_api": [str(DAY)]}  # noted before the refresh began
        child.kill()
    finally:
        hold.rollback()
        hold.close()

    assert StockData.objects.count() == 150
    assert not DailyBar.objects.exists()  # what the kill left: the loads, no gold

    assert runs_abandoned_close() == 1  # the replay's schedule calls it: the process is gone, the run closed

    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error.startswith("abandoned: its process ended mid-run")
    assert "gold_pending" not in run.params  # settled
    tickers = set(StockData.objects.values_list("ticker", flat=True))
    bars = DailyBar.objects.filter(source="nse_api", date=DAY)
    assert set(bars.values_list("ticker", flat=True)) == tickers
