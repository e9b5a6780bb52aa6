"""The lake REST API: stats, sources, dates, a day's objects, one object, downloads; errors as JSON."""

import datetime as dt
import gzip
import json

import pytest

from lake.models import LakeObject
from lake.services import raw_batch_store
from lake.storage import lake_storage

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2024, 12, 19, 10, 30, tzinfo=dt.UTC)


@pytest.fixture
def lake_objects(lake_backend):
    a = raw_batch_store(source="nse_api", data=[{"symbol": "INFY"}, {"symbol": "TCS"}], timestamp=T0)
    b = raw_batch_store(source="nse_api", data={"symbol": "SBIN"}, timestamp=T0 + dt.timedelta(hours=2), simulated=True)
    c = raw_batch_store(source="nse_api", data={"symbol": "ITC"}, timestamp=T0 - dt.timedelta(days=1))
    d = raw_batch_store(source="twitter", data={"text": "$INFY"}, timestamp=T0)
    return a, b, c, d


def test_stats_answer_totals_and_per_source(api_client, lake_objects, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        response = api_client.get("/api/data/lake/stats")
    assert response.status_code == 200
    body = response.json()
    assert (body["objects"], body["records"], body["simulated_objects"]) == (4, 5, 1)
    assert body["bytes"] == sum(o.bytes for o in lake_objects)
    assert [s["source"] for s in body["sources"]] == ["nse_api", "twitter"]
    assert api_client.get("/api/data/lake/stats/").status_code == 200


def test_sources_list_counts_sizes_and_first_and_last_dates(api_client, lake_objects, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        body = api_client.get("/api/data/lake/sources").json()
    assert body["count"] == 2
    nse = body["results"][0]
    assert (nse["source"], nse["objects"], nse["records"]) == ("nse_api", 3, 4)
    assert (nse["first_date"], nse["last_date"]) == ("2024-12-18", "2024-12-19")


def test_dates_are_newest_first(api_client, lake_objects, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        body = api_client.get("/api/data/lake/sources/nse_api/dates").json()
    assert body["dates"] == ["2024-12-19", "2024-12-18"]
    assert body["days"][0] == {
        "date": "2024-12-19",
        "objects": 2,
        "bytes": lake_objects[0].bytes + lake_objects[1].bytes,
        "records": 3,
        "simulated_objects": 1,
    }


def test_a_days_data_lists_its_objects_oldest_first_with_their_data(
    api_client, lake_objects, django_assert_max_num_queries
):
    a, b, _, _ = lake_objects
    with django_assert_max_num_queries(4):
        response = api_client.get("/api/data/lake/sources/nse_api/data", {"date": "2024-12-19"})
    assert response.status_code == 200
    body = response.json()
    assert (body["source"], body["date"], body["count"], body["next"]) == ("nse_api", "2024-12-19", 2, None)
    first, second = body["results"]
    assert first["key"] == a.key
    assert first["data"] == [{"symbol": "INFY"}, {"symbol": "TCS"}]
    assert (first["records"], first["bytes"], first["simulated"]) == (2, a.bytes, False)
    assert first["timestamp"] == "2024-12-19T10:30:00+00:00"
    assert first["download_url"] == f"/api/data/lake/objects/{a.pk}/download"
    assert (second["key"], second["simulated"], second["data"]) == (b.key, True, {"symbol": "SBIN"})


def test_a_days_data_is_paginated_and_can_leave_the_data_out(api_client, lake_objects):
    body = api_client.get(
        "/api/data/lake/sources/nse_api/data", {"date": "2024-12-19", "page_size": 1, "include_data": "false"}
    ).json()
    assert body["count"] == 2
    assert len(body["results"]) == 1
    assert "data" not in body["results"][0]
    assert "page=2" in body["next"]


def test_one_object_answers_its_envelope(api_client, lake_objects):
    a = lake_objects[0]
    body = api_client.get(f"/api/data/lake/objects/{a.pk}").json()
    assert body["envelope"]["data"] == [{"symbol": "INFY"}, {"symbol": "TCS"}]
    assert body["envelope"]["records"] == 2
    assert body["error"] is None


def test_download_streams_the_original_gzip(api_client, lake_objects):
    a = lake_objects[0]
    response = api_client.get(f"/api/data/lake/objects/{a.pk}/download")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/gzip"
    assert a.key.rsplit("/", 1)[1] in response["Content-Disposition"]
    payload = b"".join(response.streaming_content)
    assert payload == lake_storage().read(a.key)
    assert json.loads(gzip.decompress(payload))["data"][0] == {"symbol": "INFY"}


def test_download_of_an_object_gone_from_storage_is_a_404(api_client, lake_objects):
    a = lake_objects[0]
    lake_storage().delete(a.key)
    response = api_client.get(f"/api/data/lake/objects/{a.pk}/download")
    assert response.status_code == 404
    assert "missing from storage" in response.json()["detail"]
    body = api_client.get("/api/data/lake/sources/nse_api/data", {"date": "2024-12-19"}).json()
    assert body["results"][0]["data"] is None
    assert "missing from storage" in body["results"][0]["error"]


@pytest.mark.parametrize(
    ("url", "status", "fragment"),
    [
        ("/api/data/lake/sources/unknown_src/dates", 404, "source: the lake holds no objects"),
        ("/api/data/lake/sources/NSE-API/dates", 400, "source:"),
        ("/api/data/lake/sources/unknown_src/data?date=2024-12-19", 404, "source:"),
        ("/api/data/lake/sources/%2e%2e/data?date=2024-12-19", 400, "source:"),
        ("/api/data/lake/sources/nse_api/data", 400, "date:"),
        ("/api/data/lake/sources/nse_api/data?date=2024-02-30", 400, "date: '2024-02-30' is not a real date"),
        ("/api/data/lake/sources/nse_api/data?date=19-12-2024", 400, "date:"),
        ("/api/data/lake/sources/nse_api/data?date=2024-12-19T00:00", 400, "date:"),
        ("/api/data/lake/sources/nse_api/data?date=2024-12-19&page=99", 404, "Invalid page"),
        ("/api/data/lake/sources/nse_api/data?date=2024-12-19&include_data=maybe", 400, "include_data"),
        ("/api/data/lake/objects/999999", 404, "id: no lake object"),
        ("/api/data/lake/objects/999999/download", 404, "id: no lake object"),
        ("/api/data/lake/objects/abc/download", 404, "Not found"),
    ],
)
def test_bad_input_answers_a_json_4xx_naming_the_parameter(api_client, lake_objects, url, status, fragment):
    response = api_client.get(url)
    assert response.status_code == status, response.content
    assert fragment in response.json()["detail"]


def test_a_tampered_catalog_key_is_never_followed(api_client, lake_objects):
    a = lake_objects[0]
    LakeObject.objects.filter(pk=a.pk).update(key="nse_api/../../../etc/passwd")
    response = api_client.get(f"/api/data/lake/objects/{a.pk}/download")
    assert response.status_code == 400
    assert "not a lake object key" in response.json()["detail"]
    # Reading it (the object's page, a day's data) reports the bad key as the object's error, not a 500.
    shown = api_client.get(f"/api/data/lake/objects/{a.pk}")
    assert shown.status_code == 200
    assert shown.json()["envelope"] is None
    assert "not a lake object key" in shown.json()["error"]
    day = api_client.get(f"/api/data/lake/sources/{a.source}/data?date={a.partition_date}&include_data=true")
    assert day.status_code == 200
    (item,) = [i for i in day.json()["results"] if i["id"] == a.pk]
    assert item["data"] is None
    assert "not a lake object key" in item["error"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/data/lake/stats",
        "/api/data/lake/sources",
        "/api/data/lake/sources/nse_api/dates",
        "/api/data/lake/sources/nse_api/data?date=2024-12-19",
        "/api/data/lake/objects/1",
        "/api/data/lake/objects/1/download",
    ],
)
def test_every_lake_api_needs_a_logged_in_user(anon_client, url):
    response = anon_client.get(url)
    assert response.status_code == 401
    assert "detail" in response.json()
