"""PostgreSQL stopped in the middle of a run: the batch is in the lake, the run fails with the reason,
and once PostgreSQL is back the replay loads it; the warehouse then holds every record of the lake.

The database is a private PostgreSQL cluster started for the test (never the machine's shared one);
the run is ``manage.py run_pipeline nse_api`` in a child process against a local NSE upstream, which
stops that cluster (``pg_ctl stop -m immediate``, a crash) just before answering the last quote of the
run's second lake object.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.faults.conftest import EXTRA_TICKERS_SCRIPT, manage_json, upstream_env

pytestmark = [
    pytest.mark.slow,
    pytest.mark.worker,
    pytest.mark.skipif(
        not settings.IS_POSTGRES,
        reason="stops and restarts a PostgreSQL server mid-run: PostgreSQL only (this run uses SQLite; set DATABASE_URL)",
    ),
]

LAKE_STATE = """
import json
from lake.models import LakeObject
from pipelines.models import PipelineRun
from quality.models import QuarantinedRecord
from warehouse.models import StockData
runs = list(PipelineRun.objects.order_by("pk").values("pk", "pipeline", "trigger", "status", "error", "inserted"))
objects = list(LakeObject.objects.order_by("pk").values("pk", "key", "status", "records", "run_id"))
per_object = {str(o["pk"]): StockData.objects.filter(lake_object_id=o["pk"]).count() for o in objects}
keys = StockData.objects.values_list("ticker", "series", "source", "timestamp")
print(json.dumps({
    "runs": runs, "objects": objects, "per_object": per_object,
    "stock_rows": StockData.objects.count(), "distinct_keys": keys.distinct().count(),
    "rejects": QuarantinedRecord.objects.filter(status="quarantined").count(),
}, default=str))
"""

# "Later": the replay's grace periods are over (as they would be a few minutes on), then one replay.
REPLAY = """
import json, os
from datetime import timedelta
from django.utils import timezone
from lake.models import LakeObject
from lake.storage import lake_storage
from pipelines.models import PipelineRun
from pipelines.services import replay_unloaded
earlier = timezone.now() - timedelta(hours=1)
PipelineRun.objects.filter(status="running").update(started_at=earlier)
LakeObject.objects.update(created=earlier)
storage = lake_storage()
for item in storage.walk():
    os.utime(storage.path(item.key), (earlier.timestamp(), earlier.timestamp()))
run = replay_unloaded()
print(json.dumps({"run": run and {"pk": run.pk, "status": run.status, "inserted": run.inserted,
                                  "fetched": run.fetched, "error": run.error, "objects": run.params.get("objects")}}))
"""


def lake_files(lake: Path) -> list[str]:
    return sorted(str(p.relative_to(lake)) for p in lake.rglob("*.json.gz"))


def test_postgres_stopped_mid_run_keeps_the_batch_in_the_lake_and_the_replay_loads_it_once_it_is_back(
    private_postgres, nse_upstream, children, isolated_lake
):
    env = upstream_env(nse_upstream, DATABASE_URL=private_postgres.url)
    migrate = children.manage("migrate", "--noinput", env=env, name="migrate")
    assert migrate.wait(120) == 0, migrate.output()[-3000:]
    symbols = manage_json(EXTRA_TICKERS_SCRIPT, env=env)["symbols"]
    assert len(symbols) == 450
    nse_upstream.serve(symbols)

    # The database crashes just before the 400th quote is answered: the run's first object (quotes
    # 1-200) is stored and loaded; its second (201-400) reaches the lake while PostgreSQL is down.
    nse_upstream.before_quote(400, lambda: private_postgres.stop("immediate"))
    run = children.manage("run_pipeline", "nse_api", env=env, name="run_pipeline")
    code = run.wait(90)
    output = run.output()
    assert nse_upstream.errors == []
    assert not private_postgres.running
    assert code == 1, output[-3000:]
    said = re.search(r"CommandError: run (\d+) failed: database unavailable: connection failed", output)
    assert said, output[-3000:]
    assert "The batches it fetched are kept in the lake" in output
    assert "Traceback" not in output, output[-3000:]
    files = lake_files(isolated_lake)
    assert len(files) == 2, files
    assert nse_upstream.quotes == 400  # the run stopped there: quotes 401-450 were never fetched

    private_postgres.start()
    before = manage_json(LAKE_STATE, env=env)
    assert [o["key"] for o in before["objects"]] == files[:1]  # the second object has no catalog row yet
    assert [o["status"] for o in before["objects"]] == ["loaded"]
    assert before["stock_rows"] == 200
    killed = before["runs"][-1]
    assert (killed["pk"], killed["pipeline"], killed["status"]) == (int(said[1]), "nse_api", "running")

    replay = manage_json(REPLAY, env=env)["run"]
    after = manage_json(LAKE_STATE, env=env)

    assert replay["status"] == "success", replay
    assert replay["objects"] == 1
    assert replay["inserted"] == 200
    assert [o["key"] for o in after["objects"]] == files
    assert [o["status"] for o in after["objects"]] == ["loaded", "loaded"]
    records = sum(o["records"] for o in after["objects"])
    assert records == 400
    assert after["rejects"] == 0
    assert after["stock_rows"] == after["distinct_keys"] == records - after["rejects"]
    assert sorted(after["per_object"].values()) == [200, 200]
    failed = next(r for r in after["runs"] if r["pk"] == killed["pk"])
    assert failed["status"] == "failed", failed
    assert "the database went away" in failed["error"], failed

    # The failed run's lock went with it: the next run goes ahead and fetches what the crash cut off.
    rerun = children.manage("run_pipeline", "nse_api", env=env, name="rerun")
    assert rerun.wait(90) == 0, rerun.output()[-3000:]
    assert "SUCCESS" in rerun.output()
    final = manage_json(LAKE_STATE, env=env)
    assert final["runs"][-1]["status"] == "success"
    assert final["runs"][-1]["inserted"] == 50
    assert final["stock_rows"] == final["distinct_keys"] == 450
