"""Issue 11, item 4: NUL characters never reach a text or JSON column (PostgreSQL refuses \\u0000), and
an object that keeps failing is counted, then ``failed``: out of replay until someone resets it."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from lake.models import LakeObject
from lake.services import raw_batch_store
from pipelines.services.replay import REPLAY_GRACE, replay_unloaded
from quality.models import QuarantinedRecord
from quality.services import rejects_quarantine
from warehouse.models import SocialMention
from warehouse.services import warehouse

pytestmark = pytest.mark.django_db


def test_a_nul_in_a_bhavcopy_header_and_rows_loads_without_nul(tmp_path, samples):
    content = (samples / "nse" / "cm06JAN2021bhav.csv").read_bytes()
    header, rest = content.split(b"\n", 1)
    path = tmp_path / "nul_header.csv"
    path.write_bytes(header.replace(b"SERIES", b"SER\x00IES") + b"\n" + rest.replace(b"EQ,", b"E\x00Q,", 5))
    call_command("run_pipeline", "nse_bhavcopy", "--file", str(path))
    [obj] = LakeObject.objects.all()
    assert obj.status == "loaded"
    assert obj.attempts == 0


def test_nul_characters_are_dropped_before_jsonb_and_text_columns():
    stored = rejects_quarantine(
        dataset="social_mentions",
        run_id=None,
        lake_object_id=None,
        rejected=[
            {"record": {"te\x00xt": "bad\x00value", "n": ["a\x00"]}, "reasons": [{"rule": "r\x00", "message": "m"}]}
        ],
    )
    assert stored == 1
    row = QuarantinedRecord.objects.get()
    assert row.record == {"text": "badvalue", "n": ["a"]}
    assert row.reasons[0]["rule"] == "r"
    result = warehouse.insert_social_data(
        [
            {
                "ticker": "TCS",
                "platform": "telegram",
                "external_id": "c1:1",
                "text": "TCS\x00 to the moon",
                "author": "a\x00b",
                "timestamp": "2026-05-04T10:00:00+05:30",
                "metadata": {"k\x00": "v\x00"},
            }
        ]
    )
    assert result.inserted == 1, result.errors
    mention = SocialMention.objects.get()
    assert (mention.text, mention.author, mention.metadata) == ("TCS to the moon", "ab", {"k": "v"})


def _poison(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("parser bug \x00 on this object")

    monkeypatch.setattr("pipelines.services.process.parse", broken)


def _stored_long_ago() -> LakeObject:
    obj = raw_batch_store(source="telegram", data={"ok": True, "result": []})
    LakeObject.objects.filter(pk=obj.pk).update(created=timezone.now() - REPLAY_GRACE - timedelta(minutes=1))
    return obj


def test_an_object_that_keeps_failing_is_failed_after_three_attempts_and_left_out_of_replay(monkeypatch, settings):
    settings.LAKE_MAX_ATTEMPTS = 3
    _poison(monkeypatch)
    obj = _stored_long_ago()
    for attempt in (1, 2, 3):
        run = replay_unloaded()
        obj.refresh_from_db()
        assert obj.attempts == attempt
        assert obj.last_error == "RuntimeError: parser bug   on this object"
        assert run.error.endswith("(now failed: left out of replay)") == (attempt == 3)
    assert obj.status == "failed"
    assert replay_unloaded() is None  # nothing left to replay: the poison object is out
    obj.refresh_from_db()
    assert obj.attempts == 3


def test_a_failed_object_shows_in_the_lake_api_and_stats(api_client, monkeypatch, settings):
    settings.LAKE_MAX_ATTEMPTS = 1
    _poison(monkeypatch)
    obj = _stored_long_ago()
    replay_unloaded()
    body = api_client.get(f"/api/data/lake/objects/{obj.pk}").json()
    assert (body["status"], body["attempts"]) == ("failed", 1)
    assert body["last_error"] == "RuntimeError: parser bug   on this object"
    assert api_client.get("/api/data/lake/stats").json()["failed_objects"] == 1


def test_reprocess_include_failed_resets_and_loads_them_again(monkeypatch, settings, capsys):
    settings.LAKE_MAX_ATTEMPTS = 1
    _poison(monkeypatch)
    obj = _stored_long_ago()
    replay_unloaded()
    monkeypatch.undo()
    day = str(obj.partition_date)
    call_command("reprocess", "telegram", "--from", day, "--to", day, "--local")
    assert "0 lake objects" in capsys.readouterr().out
    obj.refresh_from_db()
    assert obj.status == "failed"
    call_command("reprocess", "telegram", "--from", day, "--to", day, "--local", "--include-failed")
    assert "reset 1 failed lake object(s)" in capsys.readouterr().out
    obj.refresh_from_db()
    assert (obj.status, obj.attempts, obj.last_error) == ("loaded", 0, "")


def test_the_admin_action_resets_failed_objects(admin_client, monkeypatch, settings):
    settings.LAKE_MAX_ATTEMPTS = 1
    _poison(monkeypatch)
    obj = _stored_long_ago()
    replay_unloaded()
    page = admin_client.get("/admin/lake/lakeobject/?status__exact=failed")
    assert obj.key in page.content.decode()
    response = admin_client.post(
        "/admin/lake/lakeobject/", {"action": "reset_failed", "_selected_action": [obj.pk]}, follow=True
    )
    assert "1 failed object(s) reset" in response.content.decode()
    obj.refresh_from_db()
    assert (obj.status, obj.attempts) == ("stored", 0)
