"""The end-to-end path through the real broker and a real Celery worker."""

import time

import pytest

from lake.models import LakeObject
from pipelines.models import PipelineRun
from quality.models import QuarantinedRecord
from warehouse.models import StockData

pytestmark = [pytest.mark.worker, pytest.mark.slow]


def _wait_for(predicate, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return False


def test_run_now_queues_a_run_that_a_real_worker_executes_end_to_end(celery_worker_process, staff_user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(staff_user)
    response = client.post("/api/pipelines/nse_api/run")
    assert response.status_code == 202
    run_id = response.json()["id"]
    assert _wait_for(lambda: PipelineRun.objects.get(pk=run_id).status in ("success", "partial", "failed")), (
        celery_worker_process.log.read_text()[-3000:]
    )
    run = PipelineRun.objects.get(pk=run_id)
    assert run.status == "success", run.error
    assert run.celery_task_id
    assert run.simulated is True
    refused = list(QuarantinedRecord.objects.filter(run_id=run_id).values_list("reasons", flat=True)[:3])
    assert run.inserted == run.fetched > 0, f"rejected {run.rejected}, duplicates {run.duplicates}: {refused}"
    assert StockData.objects.count() == run.inserted
    assert set(LakeObject.objects.filter(run_id=run_id).values_list("status", flat=True)) == {"loaded"}
    detail = client.get(f"/api/pipelines/runs/{run_id}").json()
    assert detail["status"] == "success"
