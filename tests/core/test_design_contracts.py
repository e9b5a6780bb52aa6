"""DESIGN.md's REST paths answer as written (with and without a trailing slash), for a logged-in user."""

import pytest

from lake.services import data_lake
from warehouse.services import warehouse

pytestmark = pytest.mark.django_db

PATHS = [
    "/api/data/warehouse/stats",
    "/api/data/warehouse/historical/RELIANCE?days=30",
    "/api/data/warehouse/social/RELIANCE?days=7",
    "/api/data/warehouse/daily/RELIANCE",
    "/api/data/warehouse/tickers",
    "/api/data/lake/stats",
    "/api/data/lake/sources",
    "/api/data/lake/sources/nse_api/dates",
    "/api/data/lake/sources/nse_api/data?date=2024-12-19",
    "/api/data/quality/summary",
    "/api/data/quality/metrics",
    "/api/data/quality/checks",
    "/api/data/quality/rejects",
    "/api/data/quality/incidents",
    "/api/pipelines/runs",
]


@pytest.fixture
def some_data():
    import datetime as dt

    ts = dt.datetime(2024, 12, 19, 10, 30, tzinfo=dt.UTC)
    data_lake.store_raw_data(source="nse_api", data=[{"symbol": "RELIANCE"}], timestamp=ts)
    warehouse.insert_stock_data(
        [{"ticker": "RELIANCE", "price": 1250.5, "volume": 10, "timestamp": ts, "source": "nse_api"}]
    )


@pytest.mark.parametrize("path", PATHS)
def test_every_design_path_answers_json(api_client, some_data, path):
    for url in (path, path.replace("?", "/?") if "?" in path else path + "/"):
        response = api_client.get(url)
        assert response.status_code == 200, (url, response.content[:300])
        assert response["Content-Type"].startswith("application/json")


def test_historical_prices_download_as_csv(api_client, some_data):
    response = api_client.get("/api/data/warehouse/historical/RELIANCE?days=3650&format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()
    assert "RELIANCE" in body
    assert "1250.5" in body


def test_a_lake_object_downloads_as_the_original_gzip(api_client, some_data):
    from lake.models import LakeObject
    from lake.storage import lake_storage

    obj = LakeObject.objects.get()
    response = api_client.get(f"/api/data/lake/objects/{obj.pk}/download")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == lake_storage().read(obj.key)
