"""Issue 11, items 7, 8 and 12: hostile query input is a 400 naming the parameter, never a 500; only
InvalidInput is a 400 (any other error is a logged 500); validators match whole values."""

import base64
import logging

import pytest

from lake.services import raw_batch_store

pytestmark = pytest.mark.django_db


@pytest.fixture
def telegram_object():
    return raw_batch_store(source="telegram", data=[{"message": "hi"}], timestamp="2026-05-04T10:00:00+00:00")


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("/api/data/warehouse/historical/RELIANCE?end=9999-12-31", "from 1990 to 2100"),
        ("/api/data/warehouse/historical/RELIANCE?start=0001-01-01", "from 1990 to 2100"),
        ("/api/data/warehouse/historical/RELIANCE?start=1989-12-31", "from 1990 to 2100"),
        ("/api/data/warehouse/historical/RELIANCE?end=2101-01-01T00:00:00", "from 1990 to 2100"),
        ("/api/data/warehouse/social/RELIANCE?end=9999-12-31", "from 1990 to 2100"),
        ("/api/data/warehouse/daily/RELIANCE?start=0001-01-01", "outside 1990-01-01..2100-12-31"),
        ("/api/data/quality/rejects?date=9999-12-31", "from 1990 to 2100"),
        ("/api/data/warehouse/suspicious?date=9999-12-31", "outside 1990-01-01..2100-12-31"),
        ("/api/data/lake/sources/telegram/data?date=9999-12-31", "outside 1990-01-01..2100-12-31"),
    ],
)
def test_a_date_outside_1990_to_2100_is_a_400_naming_it(api_client, telegram_object, url, fragment):
    response = api_client.get(url)
    assert response.status_code == 400, response.content
    assert fragment in response.json()["detail"]


@pytest.mark.parametrize(
    "url",
    ["/api/data/warehouse/historical/RELIANCE?end=2100-12-31", "/api/data/warehouse/social/RELIANCE?start=1990-01-01"],
)
def test_the_edges_of_the_date_range_are_accepted(api_client, url):
    assert api_client.get(url).status_code == 200


def _cursor(query: str) -> str:
    return base64.b64encode(query.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "not-base64!!",
        _cursor("o=0&r=0&p=9999-99-99"),
        _cursor("o=0&r=0&p=0001-01-01 00:00:00+00:00"),
        _cursor("o=0&r=0&p=%27%3B drop table"),
        _cursor("o=-5&r=0"),
        "\u00e9t\u00e9",
        "AAAA",  # base64 of NUL bytes: no field at all (DRF read it as the first page)
        "%%%",  # nothing of it is base64
        _cursor("x=1"),  # fields a cursor does not have
    ],
)
@pytest.mark.parametrize("path", ["historical", "social", "daily"])
def test_a_crafted_cursor_is_a_400(api_client, path, cursor):
    response = api_client.get(f"/api/data/warehouse/{path}/RELIANCE", {"cursor": cursor})
    assert response.status_code == 400, response.content
    assert response.json() == {"detail": "cursor: not a cursor this endpoint made"}


def test_a_source_with_a_trailing_newline_is_a_400_not_a_404(api_client, telegram_object):
    response = api_client.get("/api/data/lake/sources/telegram%0a/dates")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("source: 'telegram\\n' is not a valid lake source name")


def test_a_400_echoes_at_most_100_characters_of_the_bad_value(api_client, telegram_object):
    bad = "x" * 5000
    for url in (f"/api/data/lake/sources/{bad}/dates", f"/api/data/lake/sources/telegram/data?date={bad}"):
        detail = api_client.get(url).json()["detail"]
        assert "x" * 100 in detail
        assert "x" * 101 not in detail
        assert len(detail) < 300


def test_invalid_input_from_a_selector_is_a_400(api_client):
    response = api_client.get("/api/data/warehouse/historical/TCS?days=0")
    assert response.status_code == 400


def test_any_other_error_is_a_logged_json_500_not_a_400(api_client, monkeypatch, caplog):
    from warehouse import selectors

    def broken(**kwargs):
        raise ValueError("a bug, not the caller's fault")

    monkeypatch.setattr(selectors, "warehouse_stats", broken)
    with caplog.at_level(logging.ERROR, logger="core.api"):
        response = api_client.get("/api/data/warehouse/stats")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal error; it has been logged."}
    [record] = [r for r in caplog.records if r.name == "core.api"]
    assert record.exc_info[1].args == ("a bug, not the caller's fault",)
    assert "StatsApi" in record.getMessage()


@pytest.mark.parametrize("size", ["0", "-5", "abc", "2.5"])
@pytest.mark.parametrize(
    ("url", "most"),
    [
        ("/api/data/warehouse/historical/RELIANCE", 1000),
        ("/api/data/warehouse/daily/RELIANCE", 1000),
        ("/api/data/warehouse/tickers", 1000),
        ("/api/data/lake/sources/telegram/data?date=2024-12-19", 100),
    ],
)
def test_a_page_size_that_is_no_whole_number_is_a_400_naming_it(api_client, telegram_object, url, most, size):
    response = api_client.get(f"{url}{'&' if '?' in url else '?'}page_size={size}")
    assert response.status_code == 400, response.content
    assert response.json()["detail"] == f"page_size: must be a whole number from 1 to {most}"


def test_a_page_size_above_the_most_is_cut_to_it(api_client, telegram_object):
    response = api_client.get("/api/data/lake/sources/telegram/data?date=2026-05-04&page_size=99999999999999999999")
    assert response.status_code == 200
    assert [item["id"] for item in response.json()["results"]] == [telegram_object.pk]
    assert api_client.get("/api/data/lake/sources/telegram/data?date=2026-05-04&page_size=").status_code == 200
