import pytest

from lake.models import LakeObject
from pipelines.models import PipelineLock, PipelineRun
from pipelines.tasks import pipeline_run_task
from warehouse.models import StockData

pytestmark = pytest.mark.django_db


def test_a_redelivered_task_for_a_claimed_run_does_nothing(sim):
    run = PipelineRun.objects.create(pipeline="nse_api", source="nse_api", status="success")
    result = pipeline_run_task.apply(args=["nse_api"], kwargs={"run_id": run.pk}).get()
    assert result == {"run": run.pk, "status": "already-claimed"}
    # Nothing happened: no other run, the run untouched, nothing fetched, stored or loaded.
    assert list(PipelineRun.objects.values_list("pk", "status", "celery_task_id")) == [(run.pk, "success", "")]
    assert LakeObject.objects.count() == 0
    assert StockData.objects.count() == 0
    assert PipelineLock.objects.filter(holder_run_id__isnull=False).count() == 0


def test_a_simulated_schedule_is_skipped_with_the_reason_when_simulation_is_off(settings):
    settings.SIMULATE_UPSTREAMS = False
    result = pipeline_run_task.apply(args=["nse_api"], kwargs={"mode": "simulated"}).get()
    run = PipelineRun.objects.get()
    assert (run.status, run.trigger) == ("skipped", "schedule")
    assert "SIMULATE_UPSTREAMS is off" in run.error
    assert result["status"] == "skipped"


def test_a_live_twitter_schedule_is_skipped_without_its_token(settings):
    settings.SIMULATE_UPSTREAMS = False
    settings.TWITTER_BEARER_TOKEN = ""
    pipeline_run_task.apply(args=["twitter"], kwargs={"mode": "live"}).get()
    assert PipelineRun.objects.get().error == "live schedule, but TWITTER_BEARER_TOKEN is not set"


def test_a_scheduled_simulated_run_loads_quotes(sim):
    result = pipeline_run_task.apply(args=["nse_api"], kwargs={"mode": "simulated"}).get()
    run = PipelineRun.objects.get(pk=result["run"])
    assert (run.status, run.trigger, run.simulated) == ("success", "schedule", True)
    assert run.inserted == run.fetched > 0


def test_the_beat_schedules_exist_with_live_ones_disabled_and_explained():
    from django_celery_beat.models import PeriodicTask

    tasks = {t.name: t for t in PeriodicTask.objects.all()}
    assert tasks["Simulated NSE quotes (every minute)"].enabled is True
    assert tasks["Simulated NSE quotes (every minute)"].interval.every == 1
    assert tasks["Simulated Twitter/X chatter (every 5 minutes)"].interval.every == 5
    assert tasks["Replay unloaded lake objects (every 10 minutes)"].interval.every == 10
    live = tasks["Twitter/X search, live (every 15 minutes)"]
    assert live.enabled is False
    assert "TWITTER_BEARER_TOKEN" in live.description
    assert tasks["Lake retention (daily)"].enabled is True
    assert tasks["Quality checks (hourly)"].enabled is True


def test_every_retry_countdown_stays_below_the_visibility_timeout(settings):
    from pipelines import tasks

    for task in (
        tasks.pipeline_run_task,
        tasks.replay_unloaded_task,
        tasks.reprocess_objects_task,
        tasks.reprocess_range_task,
    ):
        assert task.retry_backoff_max < settings.CELERY_VISIBILITY_TIMEOUT
        assert task.acks_late is True
        assert task.max_retries == 5
