"""Retention: cleanup_old_data, lake_cleanup, overrides, the Celery task and its daily beat schedule."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from lake.models import LakeObject, LakeRetentionOverride, LakeSourceDay
from lake.services import data_lake, lake_retention_apply
from lake.storage import lake_storage
from lake.tasks import lake_retention

pytestmark = pytest.mark.django_db


def days_ago(n: int) -> dt.datetime:
    return timezone.now().astimezone(dt.UTC).replace(hour=12, minute=0, second=0, microsecond=0) - dt.timedelta(days=n)


def stored_keys() -> list[str]:
    return sorted(f.key for f in lake_storage().walk())


def test_cleanup_removes_objects_older_than_the_days_and_keeps_the_rest(lake_backend):
    old = data_lake.store_raw_data("nse_api", {"a": 1}, days_ago(91))
    older = data_lake.store_raw_data("twitter", {"a": 2}, days_ago(400))
    edge = data_lake.store_raw_data("nse_api", {"a": 3}, days_ago(90))
    fresh = data_lake.store_raw_data("nse_api", {"a": 4}, days_ago(0))

    assert data_lake.cleanup_old_data(days=90) == 2

    assert stored_keys() == sorted([edge, fresh])
    assert sorted(LakeObject.objects.values_list("key", flat=True)) == sorted([edge, fresh])
    assert old not in stored_keys()
    assert older not in stored_keys()
    assert data_lake.list_sources() == ["nse_api"]
    assert data_lake.get_stats()["objects"] == 2


def test_cleanup_uses_lake_retention_days_and_per_source_overrides(lake_backend, settings):
    settings.LAKE_RETENTION_DAYS = 30
    LakeRetentionOverride.objects.create(source="twitter", days=7)
    keep_nse = data_lake.store_raw_data("nse_api", {"a": 1}, days_ago(20))
    data_lake.store_raw_data("nse_api", {"a": 2}, days_ago(31))
    data_lake.store_raw_data("twitter", {"a": 3}, days_ago(8))
    keep_tw = data_lake.store_raw_data("twitter", {"a": 4}, days_ago(6))

    assert data_lake.cleanup_old_data() == 2
    assert stored_keys() == sorted([keep_nse, keep_tw])


def test_a_dry_run_counts_but_deletes_nothing(isolated_lake):
    key = data_lake.store_raw_data("nse_api", {"a": 1}, days_ago(100))
    result = lake_retention_apply(days=90, dry_run=True)
    assert (result.objects, result.bytes) == (1, LakeObject.objects.get().bytes)
    assert stored_keys() == [key]
    assert LakeSourceDay.objects.get().object_count == 1


def test_the_command_prints_objects_and_bytes_freed_and_removes_empty_folders(isolated_lake):
    old = data_lake.store_raw_data("nse_api", [{"a": 1}] * 50, days_ago(100))
    keep = data_lake.store_raw_data("twitter", {"a": 1}, days_ago(100))
    size = LakeObject.objects.get(key=old).bytes
    out = StringIO()

    call_command("lake_cleanup", "--days", "30", "--source", "nse_api", stdout=out, stderr=StringIO())

    text = out.getvalue()
    assert "nse_api: keep 30 days" in text
    assert f"Removed 1 object(s), 0.00 MB ({size} bytes) freed." in text
    assert stored_keys() == [keep]
    assert not (isolated_lake / "nse_api").exists()  # day, month, year and source folders went with it
    assert (isolated_lake / keep).exists()


def test_the_command_dry_run_says_so(isolated_lake):
    key = data_lake.store_raw_data("nse_api", {"a": 1}, days_ago(100))
    out = StringIO()
    call_command("lake_cleanup", "--dry-run", stdout=out, stderr=StringIO())
    assert "Would remove 1 object(s)" in out.getvalue()
    assert "dry run: nothing deleted" in out.getvalue()
    assert stored_keys() == [key]


def test_the_command_refuses_a_bad_source_and_negative_days():
    with pytest.raises(CommandError, match="not a valid lake source name"):
        call_command("lake_cleanup", "--source", "../etc", stdout=StringIO())
    with pytest.raises(CommandError, match="days: expected a whole number"):
        call_command("lake_cleanup", "--days", "-1", stdout=StringIO())


def test_cleanup_never_touches_files_outside_the_lake_root(isolated_lake, tmp_path):
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me")
    data_lake.store_raw_data("nse_api", {"a": 1}, days_ago(100))
    # A tampered catalog row pointing outside the root is refused, not followed.
    LakeObject.objects.create(
        source="nse_api",
        partition_date=days_ago(100).date(),
        key="nse_api/../../precious.txt",
        timestamp=days_ago(100),
        bytes=7,
        raw_bytes=7,
        records=1,
        sha256="0" * 64,
    )
    with pytest.raises(ValueError, match="not a lake object key"):
        data_lake.cleanup_old_data(days=30)
    assert outside.read_text() == "keep me"


def test_a_catalogued_object_already_gone_is_dropped_from_the_catalog(lake_backend):
    key = data_lake.store_raw_data("nse_api", {"a": 1}, days_ago(100))
    lake_storage().delete(key)
    result = lake_retention_apply(days=90)
    assert (result.objects, result.already_missing) == (1, 1)
    assert LakeObject.objects.count() == 0
    assert LakeSourceDay.objects.count() == 0


def test_the_celery_task_applies_the_policy(isolated_lake):
    data_lake.store_raw_data("nse_api", {"a": 1}, days_ago(100))
    outcome = lake_retention.apply().get()
    assert outcome["objects"] == 1
    assert outcome["per_source"] == {"nse_api": 1}
    assert LakeObject.objects.count() == 0


def test_beat_runs_retention_daily_at_half_past_two_india_time():
    task = PeriodicTask.objects.get(name="Lake retention (daily)")
    assert task.task == "lake.tasks.lake_retention"
    assert task.enabled is True
    cron = task.crontab
    assert (cron.minute, cron.hour, cron.day_of_week, cron.day_of_month, cron.month_of_year) == (
        "30",
        "2",
        "*",
        "*",
        "*",
    )
    assert str(cron.timezone) == "Asia/Kolkata"
