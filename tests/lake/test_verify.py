"""lake_verify: checksums, orphans, lost and corrupt objects, crash leftovers (both backends)."""

import datetime as dt
import gzip
from io import StringIO

import pytest
from django.core.management import call_command

from lake.models import LakeObject, LakeSourceDay
from lake.services import data_lake, lake_verify, raw_batch_store
from lake.storage import lake_storage

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2024, 12, 19, 10, 30, tzinfo=dt.UTC)


def put(key: str, data: bytes) -> None:
    storage = lake_storage()
    storage.fs.pipe_file(storage.path(key), data) if not storage.is_local else None
    if storage.is_local:
        import os

        path = storage.path(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data)


def test_a_healthy_lake_verifies_clean(lake_backend):
    raw_batch_store(source="nse_api", data=[{"a": 1}], timestamp=T0)
    result = lake_verify()
    assert (result.checked, result.ok, result.clean) == (1, 1, True)


def test_verify_registers_an_object_that_storage_holds_but_the_catalog_does_not(lake_backend):
    obj = raw_batch_store(source="nse_api", data=[{"a": 1}, {"a": 2}], timestamp=T0, run_id=9, simulated=True)
    expected = {f: getattr(obj, f) for f in ("key", "bytes", "raw_bytes", "records", "sha256", "run_id", "simulated")}
    LakeObject.objects.all().delete()
    LakeSourceDay.objects.all().delete()

    result = lake_verify()

    assert result.registered == [obj.key]
    row = LakeObject.objects.get()
    assert {f: getattr(row, f) for f in expected} == expected
    assert (row.partition_date, row.timestamp, row.status) == (dt.date(2024, 12, 19), T0, "stored")
    assert data_lake.get_stats()["objects"] == 1


def test_verify_marks_a_lost_object_missing_and_restores_it_when_it_returns(lake_backend):
    obj = raw_batch_store(source="nse_api", data={"a": 1}, timestamp=T0)
    payload = lake_storage().read(obj.key)
    lake_storage().delete(obj.key)

    assert lake_verify().missing == [obj.key]
    assert LakeObject.objects.get().status == "missing"
    assert data_lake.get_stats()["missing_objects"] == 1

    put(obj.key, payload)
    assert lake_verify().restored == [obj.key]
    assert LakeObject.objects.get().status == "stored"


def test_verify_marks_an_object_corrupt_when_its_bytes_change(lake_backend):
    obj = raw_batch_store(source="nse_api", data={"a": 1}, timestamp=T0)
    put(obj.key, b"\x1f\x8b not really gzip")
    result = lake_verify()
    assert result.corrupt == [obj.key]
    assert LakeObject.objects.get().status == "corrupt"


def test_verify_registers_an_undecodable_uncatalogued_object_as_corrupt(lake_backend):
    key = "twitter/2024/12/19/2024-12-19T10-30-00.000001-deadbeef.json.gz"
    put(key, gzip.compress(b"{truncated"))
    result = lake_verify()
    assert result.registered == [key]
    row = LakeObject.objects.get()
    assert (row.status, row.timestamp) == ("corrupt", dt.datetime(2024, 12, 19, 10, 30, 0, 1, tzinfo=dt.UTC))


def test_verify_sweeps_crash_leftovers_and_leaves_strangers_alone(lake_backend):
    obj = raw_batch_store(source="nse_api", data={"a": 1}, timestamp=T0)
    folder = obj.key.rsplit("/", 1)[0]
    leftover = f"{folder}/.{obj.key.rsplit('/', 1)[1]}.0badf00d.tmp"
    put(leftover, b"\x1f\x8b half")
    put("README.txt", b"not a lake object")

    kept = lake_verify(tmp_grace_seconds=3600)
    assert kept.tmp_kept == [leftover]
    assert kept.tmp_swept == []

    swept = lake_verify(tmp_grace_seconds=0)
    assert swept.tmp_swept == [leftover]
    assert swept.foreign == ["README.txt"]
    assert sorted(f.key for f in lake_storage().walk()) == sorted(["README.txt", obj.key])
    assert LakeObject.objects.count() == 1


def test_the_command_prints_what_it_found_and_did(isolated_lake):
    obj = raw_batch_store(source="nse_api", data={"a": 1}, timestamp=T0)
    (isolated_lake / obj.key).unlink()
    out = StringIO()
    call_command("lake_verify", "--tmp-grace", "0", "-v", "2", stdout=out, stderr=StringIO())
    text = out.getvalue()
    assert "Checked 1 catalogued object(s)" in text
    assert "Marked 1 catalog row(s) missing (object gone from storage)." in text
    assert f"missing: {obj.key}" in text
    assert "The catalog has been repaired" in text
