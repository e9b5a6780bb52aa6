"""What a killed run leaves behind is cleaned up by the replay: the run closed as failed, its lock freed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from pipelines.models import PipelineLock, PipelineRun
from pipelines.services import pipeline_lock_acquire, runs_abandoned_close

pytestmark = pytest.mark.django_db

LONG_AGO = timedelta(hours=2)


def test_closing_an_abandoned_run_frees_its_pipeline_lock_and_no_other():
    killed = PipelineRun.objects.create(
        pipeline="nse_api", source="nse_api", status="running", started_at=timezone.now() - LONG_AGO
    )
    live = PipelineRun.objects.create(pipeline="twitter", source="twitter", status="running", started_at=timezone.now())
    assert pipeline_lock_acquire("nse_api", run_id=killed.pk)
    assert pipeline_lock_acquire("twitter", run_id=live.pk)
    next_run = PipelineRun.objects.create(pipeline="nse_api", source="nse_api")
    assert not pipeline_lock_acquire("nse_api", run_id=next_run.pk)

    assert runs_abandoned_close() == 1

    killed.refresh_from_db()
    assert killed.status == "failed"
    assert killed.error.startswith("abandoned: its worker stopped mid-run")
    assert PipelineLock.objects.get(pipeline="nse_api").holder_run_id is None
    assert PipelineLock.objects.get(pipeline="twitter").holder_run_id == live.pk
    assert pipeline_lock_acquire("nse_api", run_id=next_run.pk)


def test_a_run_claimed_but_killed_before_it_started_is_closed_as_abandoned_too():
    claimed = PipelineRun.objects.create(
        pipeline="nse_api", source="nse_api", status="running", created=timezone.now() - LONG_AGO
    )
    fresh = PipelineRun.objects.create(pipeline="twitter", source="twitter", status="running")
    assert runs_abandoned_close() == 1
    assert PipelineRun.objects.get(pk=claimed.pk).status == "failed"
    assert PipelineRun.objects.get(pk=fresh.pk).status == "running"


def test_nothing_is_closed_when_no_run_is_abandoned():
    PipelineRun.objects.create(pipeline="nse_api", source="nse_api", status="running", started_at=timezone.now())
    PipelineRun.objects.create(
        pipeline="twitter", source="twitter", status="success", started_at=timezone.now() - LONG_AGO
    )
    assert runs_abandoned_close() == 0
    assert sorted(PipelineRun.objects.values_list("status", flat=True)) == ["running", "success"]
