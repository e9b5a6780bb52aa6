"""Issue 11, items 5, 10, 11: big objects are not inlined by the API (metadata + download_url, streamed
downloads), secrets on disk are owner-only, and non-staff API users see no server internals."""

import gzip
import os
import stat
import subprocess
import sys

import pytest
from django.core.management import call_command

from lake.services import raw_batch_store
from pipelines.models import PipelineRun
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db


@pytest.fixture
def big_and_small(settings):
    settings.LAKE_INLINE_MAX_BYTES = 50_000
    ts = "2026-05-04T10:00:00+00:00"
    big = raw_batch_store(source="telegram", data=[{"text": "x" * 1000}] * 100, timestamp=ts, raw=b"original")
    small = raw_batch_store(source="telegram", data=[{"text": "tiny"}], timestamp=ts)
    return big, small


def test_an_object_over_the_inline_limit_answers_metadata_and_a_download_url(api_client, big_and_small):
    big, small = big_and_small
    body = api_client.get(f"/api/data/lake/objects/{big.pk}").json()
    assert body["envelope"] is None
    assert body["inline"] is False
    assert body["download_url"] == f"/api/data/lake/objects/{big.pk}/download"
    assert body["detail"].startswith(f"{big.raw_bytes:,} bytes decoded is over the 50,000 bytes shown inline")
    assert api_client.get(f"/api/data/lake/objects/{small.pk}").json()["envelope"]["data"] == [{"text": "tiny"}]


def test_downloads_stream_the_envelope_and_the_original_bytes(api_client, big_and_small):
    big, small = big_and_small
    response = api_client.get(f"/api/data/lake/objects/{big.pk}/download")
    assert response.streaming
    assert b"".join(response.streaming_content)[:2] == b"\x1f\x8b"
    original = api_client.get(f"/api/data/lake/objects/{big.pk}/download?original=1")
    assert original.streaming
    assert gzip.decompress(b"".join(original.streaming_content)) == b"original"
    assert api_client.get(f"/api/data/lake/objects/{small.pk}/download?original=1").status_code == 404
    # Any spelling of true asks for the original; one that is no yes or no is a 400, not the envelope.
    yes = api_client.get(f"/api/data/lake/objects/{big.pk}/download?original=yes")
    assert gzip.decompress(b"".join(yes.streaming_content)) == b"original"
    maybe = api_client.get(f"/api/data/lake/objects/{big.pk}/download?original=maybe")
    assert maybe.status_code == 400
    assert maybe.json()["detail"].startswith("original:")


def test_a_days_data_pages_by_decoded_size(api_client, big_and_small):
    big, small = big_and_small
    body = api_client.get("/api/data/lake/sources/telegram/data?date=2026-05-04").json()
    by_id = {item["id"]: item for item in body["results"]}
    assert by_id[big.pk]["data"] is None
    assert by_id[big.pk]["inline"] is False
    assert by_id[small.pk]["data"] == [{"text": "tiny"}]


def test_the_admin_token_file_is_owner_only(tmp_path, django_user_model):
    token_file = tmp_path / "admin_token"
    token_file.write_text("old")
    token_file.chmod(0o644)
    call_command("ensure_admin", "--token-file", str(token_file))
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert len(token_file.read_text()) == 40


def test_the_sqlite_database_file_is_owner_only(tmp_path):
    database = tmp_path / "tickerlake.sqlite3"
    code = "import django; django.setup(); from django.db import connection; connection.ensure_connection()"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "DJANGO_SETTINGS_MODULE": "config.settings"}
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=60)
    assert stat.S_IMODE(database.stat().st_mode) == 0o600


@pytest.fixture
def failed_run():
    return PipelineRun.objects.create(
        pipeline="nse_bhavcopy",
        source="nse_bhavcopy",
        status="failed",
        params={"files": ["/srv/secret/path/bhav.csv"]},
        traceback="Traceback (most recent call last): ...",
        celery_task_id="3f1c-task",
        error="boom",
    )


def test_non_staff_api_users_see_no_params_tracebacks_or_task_ids(api_client, failed_run):
    for body in (
        api_client.get(f"/api/pipelines/runs/{failed_run.pk}").json(),
        api_client.get("/api/pipelines/runs").json()["results"][0],
        api_client.get("/api/pipelines/overview").json()["recent_runs"][0],
    ):
        assert body["error"] == "boom"
        assert not {"params", "traceback", "celery_task_id"} & set(body)
        assert "/srv/secret" not in str(body)


def test_staff_see_params_tracebacks_and_task_ids(staff_client, failed_run):
    body = staff_client.get(f"/api/pipelines/runs/{failed_run.pk}").json()
    assert body["params"] == {"files": ["/srv/secret/path/bhav.csv"]}
    assert body["traceback"].startswith("Traceback")
    assert body["celery_task_id"] == "3f1c-task"
