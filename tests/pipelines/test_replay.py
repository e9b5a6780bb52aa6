"""Replay and backfill from the lake: idempotent, and nothing stored in the lake is lost to the warehouse."""

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from lake.models import LakeObject
from lake.services import raw_batch_store
from lake.storage import lake_storage
from pipelines.models import PipelineRun
from pipelines.services import pipeline_run, replay_unloaded, runs_abandoned_close
from quality.models import QuarantinedRecord
from warehouse.models import DailyBar, DailySocial, SocialMention, StockData

pytestmark = pytest.mark.django_db


def _snapshot():
    return (
        sorted(StockData.objects.values_list("ticker", "series", "source", "timestamp", "price")),
        sorted(SocialMention.objects.values_list("platform", "external_id", "ticker", "pump_score")),
        sorted(DailyBar.objects.values_list("ticker", "series", "date", "source", "close")),
        sorted(DailySocial.objects.values_list("ticker", "platform", "date", "mentions", "pump_score")),
        QuarantinedRecord.objects.filter(status="quarantined").count(),
    )


def test_reprocessing_a_range_twice_leaves_the_warehouse_exactly_as_it_was(sim, samples, capsys):
    pipeline_run(pipeline="nse_api")
    pipeline_run(pipeline="twitter")
    pipeline_run(pipeline="nse_bhavcopy", files=[str(samples / "nse" / "cm06JAN2021bhav.csv")])
    before = _snapshot()
    # Something of every table to compare: an empty warehouse would be "unchanged" whatever reprocess did.
    stock, social, bars, daily_social, _ = before
    assert [len(stock) > 0, len(social) > 0, len(bars) > 0, len(daily_social) > 0] == [True] * 4
    assert any(score is not None for *_, score in daily_social)
    today = timezone.now().date()
    for source in ("nse_api", "twitter"):
        call_command(
            "reprocess",
            source,
            "--from",
            str(today - timedelta(days=1)),
            "--to",
            str(today + timedelta(days=1)),
            "--local",
        )
    capsys.readouterr()
    call_command("reprocess", "nse_bhavcopy", "--from", "2000-01-01", "--to", str(today + timedelta(days=1)), "--local")
    # A bhavcopy object is a file: the bar counts files (its lake records are pieces of the file, not rows).
    bhavcopy_bar = capsys.readouterr().err
    assert re.search(r"file/s|s/file", bhavcopy_bar), bhavcopy_bar
    assert _snapshot() == before
    call_command(
        "reprocess",
        "twitter",
        "--from",
        str(today - timedelta(days=1)),
        "--to",
        str(today + timedelta(days=1)),
        "--local",
    )
    assert _snapshot() == before
    backfills = PipelineRun.objects.filter(trigger="backfill")
    assert backfills.count() == 4
    assert all(run.inserted == 0 and run.duplicates == run.fetched - run.rejected for run in backfills)
    out = capsys.readouterr().out
    assert "lake objects" in out
    assert "duplicates" in out


def test_a_dry_run_says_what_would_be_replayed_and_changes_nothing(sim, capsys):
    pipeline_run(pipeline="nse_api")
    runs = PipelineRun.objects.count()
    today = timezone.now().date()
    call_command(
        "reprocess",
        "nse_api",
        "--from",
        str(today - timedelta(days=1)),
        "--to",
        str(today + timedelta(days=1)),
        "--dry-run",
    )
    out = capsys.readouterr().out
    assert "1 lake objects" in out
    assert "dry run: nothing changed" in out
    assert PipelineRun.objects.count() == runs


def test_reprocess_rejects_a_malformed_date_clearly():
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="--from must be a date as YYYY-MM-DD"):
        call_command("reprocess", "nse_api", "--from", "2024-13-40", "--to", "2024-12-31")


def test_an_object_that_never_reached_the_warehouse_is_loaded_by_the_replay_once(sim):
    from pipelines.connectors import get_connector

    batch = next(iter(get_connector("nse_api").fetch()))
    obj = raw_batch_store(source="nse_api", data=batch.payload, timestamp=batch.fetched_at, simulated=True)
    LakeObject.objects.filter(pk=obj.pk).update(created=timezone.now() - timedelta(minutes=5))
    assert StockData.objects.count() == 0
    run = replay_unloaded()
    assert run.trigger == "replay"
    assert run.status == "success"
    assert StockData.objects.count() == obj.records
    assert LakeObject.objects.get(pk=obj.pk).status == LakeObject.Status.LOADED
    assert replay_unloaded() is None  # nothing left to load
    assert StockData.objects.count() == obj.records


def test_a_batch_written_while_the_database_was_down_is_catalogued_and_loaded_by_the_replay(sim):
    from lake.services.store import envelope_encode, object_key, timestamp_utc
    from pipelines.connectors import get_connector

    batch = next(iter(get_connector("nse_api").fetch()))
    ts = timestamp_utc(timezone.now() - timedelta(minutes=5))
    payload, _, records = envelope_encode(
        source="nse_api", data=batch.payload, ts=ts, stored_at=ts, run_id=None, simulated=True
    )
    storage = lake_storage()
    key = object_key("nse_api", ts)
    storage.write_new(key, payload)  # exactly what raw_batch_store leaves when its catalog insert fails
    import os

    os.utime(storage.path(key), (ts.timestamp(), ts.timestamp()))
    assert not LakeObject.objects.filter(key=key).exists()
    replay_unloaded()
    assert LakeObject.objects.get(key=key).status == LakeObject.Status.LOADED
    assert StockData.objects.count() == records


def test_a_run_abandoned_by_a_killed_worker_is_closed_as_failed_with_the_reason():
    old = timezone.now() - timedelta(hours=2)
    run = PipelineRun.objects.create(pipeline="nse_api", source="nse_api", status="running", started_at=old)
    fresh = PipelineRun.objects.create(
        pipeline="twitter", source="twitter", status="running", started_at=timezone.now()
    )
    assert runs_abandoned_close() == 1
    run.refresh_from_db()
    fresh.refresh_from_db()
    assert run.status == "failed"
    assert "worker stopped mid-run" in run.error
    assert fresh.status == "running"


def test_reprocess_re_validates_an_objects_rejects_without_duplicating_them(tmp_path):
    page = tmp_path / "s.json"
    page.write_text('{"data": [{"id": "1", "text": "nothing about stocks here"}], "meta": {"result_count": 1}}')
    run = pipeline_run(pipeline="twitter", files=[str(page)])
    assert QuarantinedRecord.objects.filter(run_id=run.pk).count() == 1
    call_command("reprocess", "twitter", "--from", "2000-01-01", "--to", "2100-01-01", "--local")
    # re-validated, not duplicated: still exactly one quarantined record for that object
    assert QuarantinedRecord.objects.filter(status="quarantined").count() == 1
