import datetime as dt

import pytest

from quality.models import QualityMetric, QuarantinedRecord
from quality.services import quality_evaluate, rejects_quarantine
from quality.validation import DataValidator

from .conftest import quote

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 5, 19, 12, 0, tzinfo=dt.UTC)


def _quarantine(*records):
    result = DataValidator("stock_quotes", now=NOW).validate(list(records))
    rejects_quarantine(dataset="stock_quotes", run_id=4, lake_object_id=None, rejected=result.rejected)


@pytest.mark.parametrize("path", ["summary", "metrics", "checks", "rejects", "incidents"])
def test_every_quality_endpoint_requires_authentication(anon_client, path):
    response = anon_client.get(f"/api/data/quality/{path}")
    assert response.status_code == 401


def test_summary_gives_score_completeness_valid_ratio_freshness_and_incidents(api_client):
    quality_evaluate(run_id=1, dataset="stock_quotes", counts={"fetched": 10, "valid": 5, "rejected": 5})
    response = api_client.get("/api/data/quality/summary")
    assert response.status_code == 200
    stock = next(d for d in response.json()["datasets"] if d["dataset"] == "stock_quotes")
    assert stock["valid_ratio"] == 50.0
    assert stock["open_incidents"] == 1
    assert stock["failing_checks"] == 1
    assert stock["completeness"] is None
    assert stock["score"] == 35.0  # 50 % valid, less 15 for the failing check
    assert [d["dataset"] for d in response.json()["datasets"]] == [
        "stock_quotes", "social_mentions", "bhavcopy_rows", "daily_bars",
    ]  # fmt: skip


def test_metrics_is_a_time_series_filtered_by_dataset_metric_and_days(api_client, django_assert_max_num_queries):
    for value in (90.0, 95.0):
        QualityMetric.objects.create(dataset="stock_quotes", metric="completeness", value=value, scope="day")
    QualityMetric.objects.create(dataset="daily_bars", metric="completeness", value=10.0, scope="day")
    old = QualityMetric.objects.create(dataset="stock_quotes", metric="completeness", value=1.0, scope="day")
    QualityMetric.objects.filter(pk=old.pk).update(computed_at=NOW - dt.timedelta(days=400))
    with django_assert_max_num_queries(3):
        response = api_client.get("/api/data/quality/metrics?dataset=stock_quotes&metric=completeness&days=30")
    assert response.status_code == 200
    assert [p["value"] for p in response.json()["results"]] == [90.0, 95.0]


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("metrics?dataset=prices", "dataset: unknown 'prices'"),
        ("metrics?days=0", "days: must be between 1 and 365"),
        ("metrics?days=week", "days: expected a whole number"),
        ("metrics?metric=drop%20table", "metric: not a metric name"),
        ("rejects?date=19-05-2026", "date: expected YYYY-MM-DD"),
        ("rejects?rule=nonsense", "rule: unknown rule 'nonsense'"),
        ("rejects?dataset=x", "dataset: unknown 'x'"),
        ("incidents?status=maybe", "status: expected open or resolved"),
    ],
)
def test_bad_parameters_answer_400_naming_them(api_client, query, detail):
    response = api_client.get(f"/api/data/quality/{query}")
    assert response.status_code == 400
    assert response.json()["detail"].startswith(detail)


def test_checks_list_every_check_with_its_latest_status(api_client, django_assert_max_num_queries):
    quality_evaluate(run_id=1, dataset="stock_quotes", counts={"fetched": 10, "valid": 5, "rejected": 5})
    with django_assert_max_num_queries(3):
        response = api_client.get("/api/data/quality/checks")
    checks = {c["name"]: c for c in response.json()["results"]}
    assert len(checks) == 20
    failing = checks["stock_quotes valid records"]
    assert (failing["last_status"], failing["last_value"], failing["fail_threshold"]) == ("fail", 50.0, 95.0)
    assert failing["last_scope"] == "run"  # the run's own ratio, not the day's
    assert checks["daily_bars completeness"]["last_scope"] == ""  # not evaluated yet
    assert failing["open_incident"] is not None
    assert checks["daily_bars completeness"]["last_status"] == "unknown"


def test_rejects_are_paginated_with_reasons_and_filter_by_rule_and_date(api_client, django_assert_max_num_queries):
    _quarantine(quote(price=-1), quote(ticker="TCS", timestamp="2030-01-01T00:00:00Z"), quote(ticker="??"))
    with django_assert_max_num_queries(4):
        response = api_client.get("/api/data/quality/rejects?dataset=stock_quotes&rule=price_range")
    body = response.json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["rules"] == ["price_range"]
    assert row["reasons"][0]["column"] == "price"
    assert row["record"]["price"] == -1
    assert row["run_id"] == 4
    today = QuarantinedRecord.objects.first().created.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30)))
    assert api_client.get(f"/api/data/quality/rejects?date={today.date()}").json()["count"] == 3
    assert api_client.get("/api/data/quality/rejects?date=2001-01-01").json()["count"] == 0


def test_incidents_list_open_and_resolved(api_client, django_assert_max_num_queries):
    quality_evaluate(run_id=1, dataset="stock_quotes", counts={"fetched": 10, "valid": 5, "rejected": 5})
    with django_assert_max_num_queries(3):
        response = api_client.get("/api/data/quality/incidents?status=open")
    results = response.json()["results"]
    assert [(i["check_name"], i["status"], i["last_value"]) for i in results] == [
        ("stock_quotes valid records", "open", 50.0)
    ]
    assert api_client.get("/api/data/quality/incidents?status=resolved").json()["count"] == 0


def test_trailing_slashes_work_too(api_client):
    assert api_client.get("/api/data/quality/summary/").status_code == 200
