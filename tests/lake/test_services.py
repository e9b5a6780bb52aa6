"""The store: layout, envelope, catalog, seed API, on a local folder and on S3 (moto on loopback)."""

import datetime as dt
import gzip
import hashlib
import json
import subprocess
import sys
from zoneinfo import ZoneInfo

import pytest

from lake import selectors
from lake.models import LakeObject, LakeSourceDay
from lake.services import (
    LakeObjectCorrupt,
    LakeObjectMissing,
    data_lake,
    lake_object_read,
    lake_objects_mark,
    raw_batch_store,
)
from lake.storage import lake_storage

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2024, 12, 19, 10, 30, 0, 123456, tzinfo=dt.UTC)


def stored_files() -> list[str]:
    return sorted(f.key for f in lake_storage().walk())


def test_it_stores_a_batch_as_one_gzip_envelope_under_the_seed_layout(lake_backend):
    records = [{"symbol": "INFY", "lastPrice": 1450.5}, {"symbol": "TCS", "lastPrice": 3500}]
    key = data_lake.store_raw_data("nse_api", records, T0)

    assert key.startswith("nse_api/2024/12/19/2024-12-19T10-30-00.123456-")
    assert key.endswith(".json.gz")
    assert stored_files() == [key]
    payload = lake_storage().read(key)
    envelope = json.loads(gzip.decompress(payload))
    assert envelope["source"] == "nse_api"
    assert envelope["timestamp"] == "2024-12-19T10:30:00.123456+00:00"
    assert envelope["records"] == 2
    assert envelope["simulated"] is False
    assert envelope["run_id"] is None
    assert envelope["schema_version"] == 1
    assert envelope["data"] == records
    assert dt.datetime.fromisoformat(envelope["stored_at"]).tzinfo is not None

    obj = LakeObject.objects.get()
    assert obj.key == key
    assert obj.source == "nse_api"
    assert obj.partition_date == dt.date(2024, 12, 19)
    assert obj.timestamp == T0
    assert obj.bytes == len(payload)
    assert obj.raw_bytes == len(gzip.decompress(payload))
    assert obj.records == 2
    assert obj.sha256 == hashlib.sha256(payload).hexdigest()
    assert obj.status == "stored"


def test_an_object_reads_with_gzip_and_json_tool(isolated_lake):
    key = data_lake.store_raw_data("telegram", {"message": "नमस्ते $INFY 🚀"}, T0)
    gz = subprocess.run(["gzip", "-dc", str(isolated_lake / key)], capture_output=True, check=True)
    tool = subprocess.run([sys.executable, "-m", "json.tool"], input=gz.stdout, capture_output=True, check=True)
    assert json.loads(tool.stdout)["data"] == {"message": "नमस्ते $INFY 🚀"}


def test_a_naive_timestamp_is_read_in_india_time_and_filed_under_its_utc_date(lake_backend):
    # 02:00 IST on 20 December is 20:30 UTC on 19 December.
    key = data_lake.store_raw_data("twitter", {"id": "1"}, dt.datetime(2024, 12, 20, 2, 0, 0))
    assert key.startswith("twitter/2024/12/19/2024-12-19T20-30-00.000000-")
    assert LakeObject.objects.get().timestamp == dt.datetime(2024, 12, 20, 2, 0, tzinfo=ZoneInfo("Asia/Kolkata"))


def test_two_stores_in_the_same_microsecond_make_two_objects(lake_backend):
    first = data_lake.store_raw_data("nse_api", {"n": 1}, T0)
    second = data_lake.store_raw_data("nse_api", {"n": 2}, T0)
    assert first != second
    assert stored_files() == sorted([first, second])
    assert [r["data"] for r in data_lake.retrieve_raw_data("nse_api", "2024-12-19")] == [{"n": 1}, {"n": 2}]


@pytest.mark.parametrize("source", ["NSE", "nse-api", "nse api", "../etc", "a" * 65, "", "nse/api", "ñse", None, 7])
def test_a_bad_source_name_is_refused_before_storage_is_touched(lake_backend, source):
    with pytest.raises(ValueError, match="not a valid lake source name"):
        data_lake.store_raw_data(source, {"x": 1}, T0)
    assert stored_files() == []
    assert LakeObject.objects.count() == 0


def test_a_source_of_64_characters_is_accepted(isolated_lake):
    assert data_lake.store_raw_data("a" * 64, {"x": 1}, T0).startswith("a" * 64 + "/")


@pytest.mark.parametrize("data", [None, "text", 42])
def test_data_that_is_not_a_dict_or_a_list_is_refused(isolated_lake, data):
    with pytest.raises(ValueError, match="data:"):
        data_lake.store_raw_data("nse_api", data, T0)
    assert stored_files() == []


def test_data_that_is_not_json_is_refused_with_nothing_stored(isolated_lake):
    with pytest.raises(ValueError, match="cannot be stored as JSON"):
        data_lake.store_raw_data("nse_api", {"price": object()}, T0)
    assert stored_files() == []
    assert LakeObject.objects.count() == 0


def test_nan_which_json_cannot_hold_is_stored_as_null(isolated_lake):
    data_lake.store_raw_data("nse_api", {"price": float("nan"), "change": float("inf")}, T0)
    [stored] = data_lake.retrieve_raw_data("nse_api", T0.date().isoformat())
    assert stored["data"] == {"price": None, "change": None}


def test_keys_that_are_no_strings_are_stored_as_text(isolated_lake):
    # JSON parsed from an upstream has string keys only; a payload built in Python may not (core.jsontext).
    data = {"prices": {1: 10.5, dt.date(2025, 3, 5): 11.0}, "rows": [{"x": {2: "b"}}]}
    data_lake.store_raw_data("nse_api", data, T0)
    [stored] = data_lake.retrieve_raw_data("nse_api", T0.date().isoformat())
    assert stored["data"] == {"prices": {"1": 10.5, "2025-03-05": 11.0}, "rows": [{"x": {"2": "b"}}]}


def test_retrieve_returns_the_days_objects_oldest_first_with_the_exact_data(lake_backend):
    later = data_lake.store_raw_data("nse_api", [{"p": 2.5}], T0 + dt.timedelta(hours=1))
    earlier = data_lake.store_raw_data("nse_api", {"nested": {"list": [1, None, True, "x"]}}, T0)
    data_lake.store_raw_data("nse_api", {"other": "day"}, T0 + dt.timedelta(days=1))
    data_lake.store_raw_data("twitter", {"other": "source"}, T0)

    rows = data_lake.retrieve_raw_data("nse_api", "2024-12-19")

    assert [r["key"] for r in rows] == [earlier, later]
    assert rows[0]["data"] == {"nested": {"list": [1, None, True, "x"]}}
    assert rows[0]["timestamp"] == "2024-12-19T10:30:00.123456+00:00"
    assert rows[1]["data"] == [{"p": 2.5}]
    assert data_lake.retrieve_raw_data("nse_api", dt.date(2024, 12, 18)) == []


def test_retrieve_refuses_a_date_that_is_not_real():
    with pytest.raises(ValueError, match="date: '2024-02-30' is not a real date"):
        data_lake.retrieve_raw_data("nse_api", "2024-02-30")


def test_sources_dates_and_stats_come_from_the_catalog(lake_backend, django_assert_max_num_queries):
    data_lake.store_raw_data("nse_api", [{"a": 1}] * 10, T0)
    data_lake.store_raw_data("nse_api", [{"a": 1}] * 5, T0 + dt.timedelta(days=2))
    raw_batch_store(source="twitter", data={"t": "x"}, timestamp=T0, simulated=True)

    with django_assert_max_num_queries(1):
        assert data_lake.list_sources() == ["nse_api", "twitter"]
    with django_assert_max_num_queries(1):
        assert data_lake.list_dates("nse_api") == ["2024-12-21", "2024-12-19"]
    with django_assert_max_num_queries(2):
        stats = data_lake.get_stats()
    objects = list(LakeObject.objects.all())
    assert stats["objects"] == 3
    assert stats["records"] == 16
    assert stats["bytes"] == sum(o.bytes for o in objects)
    assert stats["raw_bytes"] == sum(o.raw_bytes for o in objects)
    assert stats["compression_ratio"] == round(stats["raw_bytes"] / stats["bytes"], 2)
    assert stats["simulated_objects"] == 1
    assert stats["storage"] == ("file" if lake_backend == "local" else "s3")
    assert stats["first_date"] == "2024-12-19"
    assert stats["last_date"] == "2024-12-21"
    assert [(s["source"], s["objects"], s["records"]) for s in stats["sources"]] == [
        ("nse_api", 2, 15),
        ("twitter", 1, 1),
    ]


def test_stats_do_not_walk_storage(isolated_lake):
    data_lake.store_raw_data("nse_api", {"a": 1}, T0)
    # Files dropped into the lake behind the catalog's back are not counted until lake_verify registers them.
    (isolated_lake / "nse_api" / "2024" / "12" / "19" / "stray.json.gz").write_bytes(b"x")
    assert data_lake.get_stats()["objects"] == 1


def test_an_empty_lake_has_zero_stats():
    stats = data_lake.get_stats()
    assert (stats["objects"], stats["bytes"], stats["records"], stats["sources"]) == (0, 0, 0, [])
    assert stats["compression_ratio"] is None


def test_raw_batch_store_returns_the_catalog_row_and_reads_back(lake_backend):
    obj = raw_batch_store(source="nse_bhavcopy", data=[{"SYMBOL": "J&KBANK"}], run_id=42, simulated=True)
    envelope = lake_object_read(obj.pk)
    assert envelope["data"] == [{"SYMBOL": "J&KBANK"}]
    assert envelope["run_id"] == 42
    assert envelope["simulated"] is True
    assert set(envelope) == {
        "source",
        "timestamp",
        "stored_at",
        "records",
        "simulated",
        "run_id",
        "schema_version",
        "data",
    }
    assert (obj.run_id, obj.simulated) == (42, True)
    assert LakeSourceDay.objects.get().simulated_objects == 1


def test_reading_an_object_that_storage_lost_says_so(lake_backend):
    obj = raw_batch_store(source="nse_api", data={"a": 1}, timestamp=T0)
    lake_storage().delete(obj.key)
    with pytest.raises(LakeObjectMissing, match="missing from storage"):
        lake_object_read(obj)
    assert data_lake.retrieve_raw_data("nse_api", "2024-12-19") == []


def test_reading_an_object_whose_bytes_changed_says_it_is_corrupt(isolated_lake):
    obj = raw_batch_store(source="nse_api", data={"a": 1}, timestamp=T0)
    (isolated_lake / obj.key).write_bytes(gzip.compress(b'{"source":"nse_api","data":{"a":2}}'))
    with pytest.raises(LakeObjectCorrupt, match="checksum"):
        lake_object_read(obj)


def test_objects_are_marked_loaded_and_found_by_date_range(lake_backend):
    a = raw_batch_store(source="nse_api", data={"a": 1}, timestamp=T0)
    b = raw_batch_store(source="nse_api", data={"a": 2}, timestamp=T0 + dt.timedelta(days=3))
    assert lake_objects_mark([a.pk], "loaded") == 1
    with pytest.raises(ValueError, match="status: 'done' is not one of"):
        lake_objects_mark([b.pk], "done")
    in_range = selectors.lake_objects_in_range(source="nse_api", start=dt.date(2024, 12, 19), end=dt.date(2024, 12, 22))
    assert list(in_range) == [a, b]
    stored = selectors.lake_objects_in_range(
        source="nse_api", start=dt.date(2024, 12, 1), end=dt.date(2024, 12, 31), statuses=["stored"]
    )
    assert list(stored) == [b]


def test_batches_written_together_are_catalogued_in_one_go_with_their_day_totals(lake_backend):
    from lake.services import lake_objects_catalog, raw_batch_write

    written = [
        raw_batch_write(source="nse_api", data=[{"n": i}] * (i + 1), timestamp=T0 + dt.timedelta(seconds=i))
        for i in range(5)
    ]
    written.append(
        raw_batch_write(source="nse_api", data=[{"n": 9}], timestamp=T0 + dt.timedelta(days=1), simulated=True)
    )
    # Durable before any catalog row: the files are there, the catalog knows nothing yet.
    assert len(stored_files()) == 6
    assert not LakeObject.objects.exists()
    assert all(obj.pk is None for obj in written)
    lake_objects_catalog(written)
    assert all(obj.pk for obj in written)
    assert lake_object_read(written[3].pk)["data"] == [{"n": 3}] * 4
    days = {day.partition_date: day for day in LakeSourceDay.objects.all()}
    assert (days[T0.date()].object_count, days[T0.date()].records) == (5, 1 + 2 + 3 + 4 + 5)
    assert days[T0.date()].bytes == sum(obj.bytes for obj in written[:5])
    second = days[(T0 + dt.timedelta(days=1)).date()]
    assert (second.object_count, second.records, second.simulated_objects) == (1, 1, 1)
    # Further batches of a day add to its totals.
    lake_objects_catalog([raw_batch_write(source="nse_api", data=[{"n": 10}], timestamp=T0)])
    assert LakeSourceDay.objects.get(partition_date=T0.date()).object_count == 6


def test_a_catalog_that_fails_for_a_reason_other_than_the_database_removes_the_objects(isolated_lake, monkeypatch):
    from lake.services import lake_objects_catalog, raw_batch_write, store

    written = [raw_batch_write(source="nse_api", data={"a": i}, timestamp=T0, raw=b"raw %d" % i) for i in range(3)]
    assert len(stored_files()) == 6  # each envelope and its raw bytes

    def broken(objects):
        raise ValueError("a bug in the totals")

    monkeypatch.setattr(store, "summaries_add", broken)
    with pytest.raises(ValueError):
        lake_objects_catalog(written)
    # No row points at nothing, and nothing is left that no row explains.
    assert not LakeObject.objects.exists()
    assert stored_files() == []


def test_objects_the_replay_registered_meanwhile_are_adopted_not_refused(isolated_lake):
    from lake.services import lake_objects_catalog, raw_batch_write
    from lake.services.verify import lake_register_recent

    now = dt.datetime.now(dt.UTC)
    written = [raw_batch_write(source="nse_api", data=[{"n": i}] * 3, timestamp=now) for i in range(3)]
    # A run waited long on its upstream between batches: the scheduled replay found its objects without
    # rows and registered them (all three here; the third is then taken as written after it looked).
    registered = lake_register_recent(days=1, min_age_seconds=0)
    assert len(registered) == 3
    LakeObject.objects.filter(key=written[2].key).delete()
    LakeSourceDay.objects.update(object_count=2, records=6)
    lake_objects_catalog(written)
    rows = {obj.key: obj.pk for obj in LakeObject.objects.all()}
    assert [rows[obj.key] for obj in written] == [obj.pk for obj in written]
    assert LakeObject.objects.count() == 3
    day = LakeSourceDay.objects.get()
    assert (day.object_count, day.records) == (3, 9)  # each object counted once
