"""REST API: stats, historical (cursor pages, CSV), social filters, daily bars, tickers; bad input is 400."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.warehouse.conftest import bar_record, social_record, stock_record
from warehouse.services import warehouse

pytestmark = pytest.mark.django_db
API = "/api/data/warehouse"


def _recent_quotes(n: int, ticker: str = "RELIANCE") -> list[dict]:
    now = timezone.now().replace(microsecond=0)
    return [
        stock_record(0, ticker=ticker, timestamp=(now - timedelta(minutes=i)).isoformat(), price=1000.0 + i)
        for i in range(n)
    ]


def test_stats_answer_counts_and_the_storage_type(api_client):
    warehouse.insert_stock_data(_recent_quotes(3))
    body = api_client.get(f"{API}/stats").json()
    assert body["storage_type"] in {"postgresql", "sqlite"}
    assert body["stock_data"]["records"] == 3
    assert api_client.get(f"{API}/stats/").status_code == 200


def test_historical_rows_come_newest_first_in_cursor_pages(api_client, django_assert_max_num_queries):
    warehouse.insert_stock_data(_recent_quotes(5))
    with django_assert_max_num_queries(3):
        first = api_client.get(f"{API}/historical/reliance", {"days": 30, "page_size": 2})
    assert first.status_code == 200
    body = first.json()
    assert [r["price"] for r in body["results"]] == [1000.0, 1001.0]
    assert body["results"][0]["ticker"] == "RELIANCE"
    second = api_client.get(body["next"]).json()
    assert [r["price"] for r in second["results"]] == [1002.0, 1003.0]


def test_historical_rows_between_start_and_end_dates(api_client):
    warehouse.insert_stock_data([stock_record(i) for i in range(3)])  # 2026-11-20, 10:00 IST
    body = api_client.get(f"{API}/historical/RELIANCE", {"start": "2026-11-20", "end": "2026-11-20"}).json()
    assert len(body["results"]) == 3
    body = api_client.get(f"{API}/historical/RELIANCE", {"start": "2026-11-21"}).json()
    assert body["results"] == []
    assert body["results"] == []


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"days": 0}, "days"),
        ({"days": 3651}, "days"),
        ({"days": "ten"}, "days"),
        ({"start": "2026-13-01"}, "start"),
        ({"end": "not-a-date"}, "end"),
        ({"start": "2026-11-20", "end": "2026-11-01"}, "end"),
        ({"format": "xml"}, "format"),
    ],
)
def test_a_bad_parameter_answers_400_naming_it(api_client, params, name):
    response = api_client.get(f"{API}/historical/RELIANCE", params)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["detail"].startswith(f"{name}:")


def test_an_invalid_ticker_answers_400_naming_it(api_client):
    for path in ("historical", "social", "daily"):
        response = api_client.get(f"{API}/{path}/BAD;TICKER")
        assert response.status_code == 400
        assert response.json()["detail"].startswith("ticker: invalid ticker")


def test_historical_csv_streams_every_row_newest_first(api_client):
    warehouse.insert_stock_data(_recent_quotes(3))
    response = api_client.get(f"{API}/historical/RELIANCE", {"format": "csv", "days": 1})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="RELIANCE-prices.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["timestamp", "ticker", "series", "exchange", "source", "price", "volume", "change_percent"]
    assert [r[5] for r in rows[1:]] == ["1000.00", "1001.00", "1002.00"]
    assert rows[1][0].endswith("+05:30")


def test_a_bad_parameter_with_csv_still_answers_json(api_client):
    response = api_client.get(f"{API}/historical/RELIANCE", {"format": "csv", "days": 0})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("days:")


def test_social_mentions_filter_by_platform_sentiment_and_pump_signal(api_client, django_assert_max_num_queries):
    now = timezone.now().isoformat()
    warehouse.insert_social_data(
        [
            social_record(0, timestamp=now),
            social_record(1, timestamp=now, platform="telegram", is_pump_signal=True, sentiment="negative"),
            social_record(2, timestamp=now, sentiment="negative"),
        ]
    )
    with django_assert_max_num_queries(3):
        body = api_client.get(f"{API}/social/INFY").json()
    assert len(body["results"]) == 3
    ids = lambda params: [r["external_id"] for r in api_client.get(f"{API}/social/INFY", params).json()["results"]]  # noqa: E731
    assert ids({"platform": "telegram"}) == ["tw-1"]
    assert sorted(ids({"sentiment": "negative"})) == ["tw-1", "tw-2"]
    assert ids({"is_pump_signal": "true"}) == ["tw-1"]
    assert sorted(ids({"is_pump_signal": "false"})) == ["tw-0", "tw-2"]
    bad = api_client.get(f"{API}/social/INFY", {"sentiment": "ecstatic"})
    assert bad.status_code == 400
    assert bad.json()["detail"].startswith("sentiment:")
    assert (
        api_client.get(f"{API}/social/INFY", {"is_pump_signal": "maybe"}).json()["detail"].startswith("is_pump_signal:")
    )


def test_daily_bars_answer_newest_day_first(api_client, django_assert_max_num_queries):
    warehouse.insert_daily_bars([bar_record(date=f"2026-11-{d}") for d in (17, 18, 19)])
    with django_assert_max_num_queries(3):
        body = api_client.get(f"{API}/daily/TCS", {"start": "2026-11-18"}).json()
    assert [r["date"] for r in body["results"]] == ["2026-11-19", "2026-11-18"]
    assert body["results"][0]["close"] == "4021.1000"
    assert api_client.get(f"{API}/daily/TCS", {"start": "2026-11-19", "end": "2026-11-18"}).status_code == 400


def test_tickers_list_the_latest_price_and_todays_mentions_in_few_queries(api_client, django_assert_max_num_queries):
    warehouse.insert_stock_data(_recent_quotes(2, ticker="RELIANCE"))
    now = timezone.now().isoformat()
    warehouse.insert_social_data([social_record(i, ticker="RELIANCE", timestamp=now) for i in range(3)])
    with django_assert_max_num_queries(3):
        response = api_client.get(f"{API}/tickers", {"page_size": 100})
    body = response.json()
    assert body["count"] == 50
    by_symbol = {r["symbol"]: r for r in body["results"]}
    assert by_symbol["RELIANCE"]["latest_price"] == 1000.0
    assert by_symbol["RELIANCE"]["mentions_today"] == 3
    assert by_symbol["RELIANCE"]["name"] == "Reliance Industries Ltd."
    assert (by_symbol["TCS"]["latest_price"], by_symbol["TCS"]["mentions_today"]) == (None, 0)
    only = api_client.get(f"{API}/tickers", {"search": "infosys"}).json()
    assert [r["symbol"] for r in only["results"]] == ["INFY"]


def test_the_warehouse_api_refuses_anonymous_callers(anon_client):
    for path in ("stats", "historical/TCS", "social/TCS", "daily/TCS", "tickers"):
        assert anon_client.get(f"{API}/{path}").status_code == 401
