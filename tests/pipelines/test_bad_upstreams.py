"""Bad upstream answers end a run with a clear error, the raw answer kept in the lake, no crash."""

import pytest
from django.core.management import CommandError, call_command

from lake.models import LakeObject
from lake.services import lake_object_read
from pipelines.models import PipelineRun
from pipelines.services import pipeline_run
from tests.pipelines.conftest import Reply
from warehouse.models import SocialMention, Ticker

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_ticker():
    Ticker.objects.update(active=False)
    Ticker.objects.update_or_create(
        symbol="RELIANCE", exchange="NSE", defaults={"active": True, "name": "Reliance Industries"}
    )


def test_an_html_error_page_fails_the_run_and_keeps_the_page_in_the_lake(upstream, one_ticker):
    upstream.script(
        "/2/tweets/search/recent", Reply(502, body="<html><h1>Bad gateway</h1></html>", content_type="text/html")
    )
    run = pipeline_run(pipeline="twitter")
    assert run.status == PipelineRun.Status.FAILED
    assert run.error
    assert "\n" not in run.error.splitlines()[0]
    kept = LakeObject.objects.filter(run_id=run.pk)
    assert kept.count() >= 1
    assert "Bad gateway" in str(lake_object_read(kept.first())["data"])
    assert SocialMention.objects.count() == 0
    # retried a bounded number of times, not a storm
    assert len(upstream.calls("/2/tweets/search/recent")) <= 3


def test_truncated_json_is_a_clear_error_and_is_kept(upstream, one_ticker):
    upstream.script(
        "/2/tweets/search/recent",
        Reply(200, body='{"data": [{"id": "1", "text": "$RELI', content_type="application/json"),
    )
    run = pipeline_run(pipeline="twitter")
    assert run.status == PipelineRun.Status.FAILED
    assert LakeObject.objects.filter(run_id=run.pk).exists()
    assert SocialMention.objects.count() == 0


def test_an_empty_body_is_a_clear_error(upstream, one_ticker):
    upstream.script("/2/tweets/search/recent", Reply(200, body="", content_type="application/json"))
    run = pipeline_run(pipeline="twitter")
    assert run.status == PipelineRun.Status.FAILED
    assert run.error


def test_a_timeout_fails_the_run_without_a_retry_storm(upstream, one_ticker):
    upstream.script("/2/tweets/search/recent", Reply(200, json={"data": []}, delay=1.5))
    run = pipeline_run(pipeline="twitter")
    assert run.status == PipelineRun.Status.FAILED
    assert len(upstream.calls("/2/tweets/search/recent")) <= 3


def test_a_ten_megabyte_answer_is_refused_with_its_head_kept(upstream, one_ticker):
    upstream.script(
        "/2/tweets/search/recent", Reply(200, body="x" * (10 * 1024 * 1024), content_type="application/json")
    )
    run = pipeline_run(pipeline="twitter")
    assert run.status == PipelineRun.Status.FAILED
    obj = LakeObject.objects.filter(run_id=run.pk).first()
    assert obj is not None
    assert obj.raw_bytes < 1024 * 1024


def test_run_pipeline_exits_non_zero_with_the_reason_on_one_line(upstream, one_ticker):
    upstream.script("/2/tweets/search/recent", Reply(500, body="oops"))
    with pytest.raises(CommandError) as excinfo:
        call_command("run_pipeline", "twitter")
    assert "failed" in str(excinfo.value)
    assert "Traceback" not in str(excinfo.value)
