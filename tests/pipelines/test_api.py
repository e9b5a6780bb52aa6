import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pipelines.models import PipelineRun
from pipelines.services import pipeline_lock_acquire

pytestmark = pytest.mark.django_db


def _runs(n, **extra):
    return [
        PipelineRun.objects.create(pipeline="nse_api", source="nse_api", status="success", inserted=i, **extra)
        for i in range(n)
    ]


def test_the_run_history_is_newest_first_with_counts(api_client, django_assert_max_num_queries):
    runs = _runs(3)
    with django_assert_max_num_queries(4):
        body = api_client.get("/api/pipelines/runs").json()
    assert [r["id"] for r in body["results"]] == [r.pk for r in reversed(runs)]
    assert body["results"][0]["inserted"] == 2
    assert {"fetched", "valid", "rejected", "duplicates", "stage_seconds", "status", "trigger"} <= set(
        body["results"][0]
    )


def test_runs_filter_by_pipeline_and_status(api_client):
    _runs(2)
    PipelineRun.objects.create(pipeline="twitter", source="twitter", status="failed")
    assert api_client.get("/api/pipelines/runs?pipeline=twitter").json()["count"] == 1
    assert api_client.get("/api/pipelines/runs/?status=failed").json()["count"] == 1


def test_a_bad_status_filter_answers_400_naming_it(api_client):
    response = api_client.get("/api/pipelines/runs?status=exploded")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("status:")


@pytest.mark.parametrize("value", ["exploded", "%00", "nse_api%00"])
def test_a_bad_pipeline_filter_answers_400_naming_it(api_client, value):
    # A NUL byte reached PostgreSQL, which refuses it in text: a 500 before the filter was checked.
    response = api_client.get(f"/api/pipelines/runs?pipeline={value}")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("pipeline: expected one of nse_api, nse_bhavcopy")


def test_replay_runs_can_be_listed(api_client):
    PipelineRun.objects.create(pipeline="replay", source="nse_api", status="success")
    assert api_client.get("/api/pipelines/runs?pipeline=replay").json()["count"] == 1


def test_one_run_in_detail_and_404_for_an_unknown_one(api_client):
    run = _runs(1)[0]
    assert api_client.get(f"/api/pipelines/runs/{run.pk}").json()["id"] == run.pk
    missing = api_client.get("/api/pipelines/runs/999999")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "No PipelineRun matches the given query."}


def test_run_now_is_for_staff_only(api_client):
    response = api_client.post("/api/pipelines/nse_api/run")
    assert response.status_code == 403
    assert PipelineRun.objects.count() == 0


def test_run_now_queues_a_run_and_answers_its_id(staff_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = staff_client.post("/api/pipelines/nse_api/run")
    assert response.status_code == 202
    run = PipelineRun.objects.get(pk=response.json()["id"])
    assert (run.status, run.trigger, run.pipeline) == ("queued", "manual", "nse_api")
    assert len(callbacks) == 1  # the task is sent only after the transaction commits


def test_a_second_click_while_a_run_is_queued_is_recorded_as_skipped(staff_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        first = staff_client.post("/api/pipelines/twitter/run")
        second = staff_client.post("/api/pipelines/twitter/run")
    assert first.status_code == 202
    assert second.status_code == 409
    assert second.json()["status"] == "skipped"
    assert "queued or running" in second.json()["detail"]
    assert sorted(PipelineRun.objects.values_list("status", flat=True)) == ["queued", "skipped"]


def test_run_now_for_an_unknown_pipeline_answers_404(staff_client):
    response = staff_client.post("/api/pipelines/bogus/run")
    assert response.status_code == 404
    assert "unknown pipeline" in response.json()["detail"]
    assert PipelineRun.objects.count() == 0


def test_the_overview_gives_every_pipeline_with_its_schedule(api_client):
    _runs(1)
    with CaptureQueriesContext(connection) as queries:
        body = api_client.get("/api/pipelines/overview").json()
    assert len(queries) < 40
    names = [p["name"] for p in body["pipelines"]]
    assert names == ["nse_api", "nse_bhavcopy", "twitter", "telegram"]
    quotes = body["pipelines"][0]
    assert quotes["last_run"]["inserted"] == 0
    assert quotes["schedule_enabled"] is True
    assert quotes["next_run"] is not None
    assert body["can_run"] is False
    assert {"warehouse", "lake", "recent_runs", "loaded_per_run", "simulated"} <= set(body)


def test_the_timeline_rejects_a_malformed_ticker_with_400(api_client):
    response = api_client.get("/api/pipelines/timeline/<script>")
    assert response.status_code == 400
    assert "ticker" in response.json()["detail"]


def test_the_lock_taken_by_the_api_is_released_when_the_task_finishes(
    sim, staff_client, django_capture_on_commit_callbacks
):
    from pipelines.tasks import pipeline_run_task

    with django_capture_on_commit_callbacks(execute=False):
        run_id = staff_client.post("/api/pipelines/nse_api/run").json()["id"]
    result = pipeline_run_task.apply(args=["nse_api"], kwargs={"run_id": run_id, "trigger": "manual"}).get()
    assert result["status"] == "success"
    assert PipelineRun.objects.get(pk=run_id).inserted > 0
    assert pipeline_lock_acquire("nse_api", run_id=run_id + 1000) is True


@pytest.mark.parametrize(
    ("query", "named"), [("hours=x", "hours"), ("hours=x&days=5", "hours"), ("hours=5&days=x", "days")]
)
def test_the_timeline_names_the_parameter_that_is_not_a_number(api_client, query, named):
    response = api_client.get(f"/api/pipelines/timeline/TCS?{query}")
    assert response.status_code == 400
    assert response.json()["detail"] == f"{named}: expected a whole number, got 'x'"


def test_the_hourly_timeline_puts_prices_and_mentions_of_one_india_hour_together(api_client):
    import datetime as dt
    from decimal import Decimal

    from django.utils import timezone

    from warehouse.models import SocialMention, StockData

    # Minutes 5 and 40 of an India hour fall in two UTC hours (IST is UTC+5:30), neither of them the
    # India hour the mention is counted in: truncated in UTC, no point had both.
    hour = timezone.localtime().replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=2)
    for minute in (5, 40):
        StockData.objects.create(
            ticker="TCS",
            series="EQ",
            price=Decimal("3500.50") + minute,
            timestamp=hour + dt.timedelta(minutes=minute),
            exchange="NSE",
            source="nse_api",
        )
    SocialMention.objects.create(
        ticker="TCS",
        platform="twitter",
        external_id="tw-1",
        text="$TCS",
        pump_score=0.25,
        timestamp=hour + dt.timedelta(minutes=50),
    )
    points = api_client.get("/api/pipelines/timeline/TCS?hours=6").json()["points"]
    assert points == [
        {"hour": hour.isoformat(), "price": 3540.5, "mentions": 1, "pump_score": 0.25},
    ]
