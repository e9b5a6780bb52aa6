import copy
import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core import mail

from quality.models import (
    LakeObjectAccount,
    LearnedSchema,
    QualityCheck,
    QualityIncident,
    QualityMetric,
    QuarantinedRecord,
    ValidationRule,
)
from quality.services import (
    SCHEMA_WARMUP,
    quality_evaluate,
    rejects_quarantine,
    rejects_revalidate,
    schema_drift_check,
)
from quality.validation import DataValidator
from warehouse.calendar import IST
from warehouse.models import StockData

from .conftest import quote

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 5, 19, 12, 0, tzinfo=dt.UTC)


# --- quarantine --------------------------------------------------------------------------------------
def test_rejected_records_are_quarantined_with_their_reasons():
    result = DataValidator("stock_quotes", now=NOW).validate([quote(), quote(ticker="TCS", price=-1)])
    stored = rejects_quarantine(dataset="stock_quotes", run_id=12, lake_object_id=None, rejected=result.rejected)
    assert stored == 1
    row = QuarantinedRecord.objects.get()
    assert (row.dataset, row.run_id, row.rule_names, row.status) == ("stock_quotes", 12, "|price_range|", "quarantined")
    assert row.record["ticker"] == "TCS"
    assert row.reasons[0]["rule"] == "price_range"


def test_quarantining_nothing_stores_nothing():
    assert rejects_quarantine(dataset="stock_quotes", run_id=1, lake_object_id=None, rejected=[]) == 0
    assert QuarantinedRecord.objects.count() == 0


def test_a_rule_fixed_later_recovers_its_quarantined_records():
    bad = DataValidator("stock_quotes", now=NOW).validate([quote(ticker="MRF", price=131_000.0, change_percent=0.2)])
    assert bad.rejected == []  # the shipped range allows it; tighten the rule to reproduce a too-strict rule
    ValidationRule.objects.filter(dataset="stock_quotes", name="price_range").update(params={"min": 0, "max": 100_000})
    first = DataValidator("stock_quotes").validate([quote(ticker="MRF", price=131_000.0, change_percent=0.2)])
    rejects_quarantine(dataset="stock_quotes", run_id=3, lake_object_id=None, rejected=first.rejected)
    rejects_quarantine(
        dataset="stock_quotes", run_id=3, lake_object_id=None,
        rejected=DataValidator("stock_quotes").validate([quote(ticker="X", price=-2)]).rejected,
    )  # fmt: skip

    still = rejects_revalidate(dataset="stock_quotes")
    assert (still.checked, still.recovered_count, still.still_rejected) == (2, 0, 2)

    ValidationRule.objects.filter(dataset="stock_quotes", name="price_range").update(
        params={"min": 0, "max": 10_000_000}
    )
    result = rejects_revalidate(run_id=3)
    assert (result.checked, result.recovered_count, result.still_rejected) == (2, 1, 1)
    assert [r["ticker"] for r in result.recovered["stock_quotes"]] == ["MRF"]
    assert QuarantinedRecord.objects.get(record__ticker="MRF").status == "recovered"
    assert QuarantinedRecord.objects.get(record__ticker="X").status == "quarantined"
    # A second pass finds nothing more to recover.
    assert rejects_revalidate(run_id=3).recovered_count == 0


# --- schema drift -----------------------------------------------------------------------------------
def test_the_first_payloads_teach_the_schema_and_a_changed_nse_shape_is_drift(samples):
    payload = json.loads((samples / "nse" / "quote-equity_INFY_2023-10-16.json").read_text())
    first = schema_drift_check(source="nse_api", records=[payload] * (SCHEMA_WARMUP - 1))
    assert (first.is_drift, first.learned) == (False, True)
    assert schema_drift_check(source="nse_api", records=[payload]).is_drift is False

    changed = copy.deepcopy(payload)
    changed["priceInfo"]["last_price"] = changed["priceInfo"].pop("lastPrice")
    changed["priceInfo"]["open"] = "1432.1"
    changed["info"]["exchange"] = "NSE"
    drift = schema_drift_check(source="nse_api", records=[changed])
    assert drift.is_drift is True
    assert drift.new_keys == ["info.exchange", "priceInfo.last_price"]
    assert drift.missing_keys == ["priceInfo.lastPrice"]
    assert drift.changed_types == {"priceInfo.open": {"expected": ["number"], "found": ["string"]}}
    assert LearnedSchema.objects.get(source="nse_api").objects_seen == SCHEMA_WARMUP + 1
    incident = QualityIncident.objects.get(check_ref__name="stock_quotes schema drift")
    assert incident.last_value == 4.0


def test_nulls_and_integers_in_number_fields_are_not_drift(samples):
    payload = json.loads((samples / "nse" / "quote-equity_INFY_2023-10-16.json").read_text())
    schema_drift_check(source="nse_api", records=[payload] * SCHEMA_WARMUP)
    other = copy.deepcopy(payload)
    other["priceInfo"]["lastPrice"] = 1433  # an integer this time
    other["priceInfo"]["vwap"] = None
    assert schema_drift_check(source="nse_api", records=[other]).is_drift is False


def _page(*posts):
    """An X search page: the posts, and the includes every page has."""
    return {"data": list(posts), "includes": {"users": [{"id": "1", "username": "a"}]}, "meta": {"result_count": 2}}


def test_an_optional_field_of_list_items_missing_from_a_page_is_not_drift():
    plain = {"id": "1", "text": "$TCS", "author_id": "1"}
    retweet = {**plain, "id": "2", "referenced_tweets": [{"type": "retweeted", "id": "9"}]}
    # The warm-up sees the retweet field on every page (always beside a plain post).
    schema_drift_check(source="twitter", records=[_page(plain, retweet)] * SCHEMA_WARMUP)
    assert schema_drift_check(source="twitter", records=[_page(plain, plain)]).is_drift is False
    # A field every post had, gone from every post of a page, is drift; and so is a new one.
    bare = {"id": "3", "text": "$TCS"}
    drift = schema_drift_check(source="twitter", records=[_page(bare, {**bare, "lang": "en"})])
    assert (drift.missing_keys, drift.new_keys) == (["data[].author_id"], ["data[].lang"])
    # An object missing altogether is reported once, not with each of its keys.
    drift = schema_drift_check(source="twitter", records=[{"data": [plain], "meta": {"result_count": 1}}])
    assert drift.missing_keys == ["includes"]


def test_a_source_learns_from_its_first_payloads_before_it_reports_drift():
    plain = {"id": "1", "text": "$TCS", "author_id": "1"}
    retweet = {**plain, "referenced_tweets": [{"type": "retweeted", "id": "9"}]}
    assert schema_drift_check(source="twitter", records=[_page(plain)]).learned is True
    # The first retweet comes on the second page: still learning, no incident.
    second = schema_drift_check(source="twitter", records=[_page(retweet)])
    assert (second.is_drift, second.learned) == (False, True)
    assert not QualityIncident.objects.filter(check_ref__metric="schema_drift").exists()


def test_each_record_teaches_at_most_max_keys_paths_and_counts_every_path_it_has(monkeypatch):
    """A hostile record with thousands of keys cannot blow up the learned schema: each record's walk stops
    learning new paths at ``MAX_KEYS`` (per record: the next record brings its own), while the paths it
    has are counted in every record and object that holds them."""
    from quality import services as quality_services
    from quality.models import LearnedSchema

    monkeypatch.setattr(quality_services, "MAX_KEYS", 3)
    wide = {"a": 1, "b": "x", "c": None, "d": [1], "e": {"f": 1}}
    other = {"x": 1, "y": {"z": 2, "w": 3}, "a": "now text"}
    schema_drift_check(source="twitter", records=[wide, other, wide])
    keys = LearnedSchema.objects.get(source="twitter").keys
    # three per record, in the record's order: "other" reached three at y.z, so its "a" went unlearned
    assert sorted(keys) == ["a", "b", "c", "x", "y", "y.z"]
    assert (keys["a"]["types"], keys["a"]["seen"]) == (["number"], 2)
    assert (keys["y"]["types"], keys["y.z"]["seen"]) == (["object"], 1)


# --- evaluation, incidents, alerts ------------------------------------------------------------------
def test_a_run_with_many_rejects_opens_one_incident_and_alerts_once(settings, webhook):
    settings.ALERT_EMAILS = ["ops@example.com"]
    counts = {"fetched": 100, "valid": 80, "rejected": 20, "inserted": 80, "duplicates": 0}
    result = quality_evaluate(run_id=5, dataset="stock_quotes", counts=counts)
    assert result.value("stock_quotes", "valid_ratio", "run") == 80.0
    outcome = next(c for c in result.checks if c.check == "stock_quotes valid records")
    assert (outcome.status, outcome.opened) == ("fail", True)
    incident = QualityIncident.objects.get()
    assert incident.alerted_channels == ["log", "email", "webhook"]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ops@example.com"]
    assert "stock_quotes valid records" in mail.outbox[0].subject
    assert len(webhook) == 1
    content_type, body = webhook[0]
    assert content_type == "application/json"
    assert body["event"] == "incident_opened"
    assert (body["check"], body["value"], body["run_id"]) == ("stock_quotes valid records", 80.0, 5)

    # Still failing: the same incident, no second alert.
    quality_evaluate(run_id=6, dataset="stock_quotes", counts=counts)
    assert QualityIncident.objects.count() == 1
    assert QualityIncident.objects.get().failures == 2
    assert len(mail.outbox) == 1
    assert len(webhook) == 1

    # Passing again closes it.
    good = {"fetched": 100, "valid": 100, "rejected": 0, "inserted": 100, "duplicates": 0}
    result = quality_evaluate(run_id=7, dataset="stock_quotes", counts=good)
    assert result.incidents_closed == 1
    incident = QualityIncident.objects.get()
    assert (incident.status, incident.resolved_by) == ("resolved", "check passed")
    assert QualityCheck.objects.get(name="stock_quotes valid records").last_status == "ok"


def test_a_check_resolved_in_admin_opens_a_new_incident_when_it_fails_again(webhook):
    from quality.services import incidents_resolve

    counts = {"fetched": 10, "valid": 5, "rejected": 5, "inserted": 5, "duplicates": 0}
    quality_evaluate(run_id=1, dataset="stock_quotes", counts=counts)
    first = QualityIncident.objects.get()
    assert incidents_resolve(ids=[first.pk], user="ops") == 1
    quality_evaluate(run_id=2, dataset="stock_quotes", counts=counts)
    assert QualityIncident.objects.filter(status="open").count() == 1
    assert QualityIncident.objects.count() == 2
    assert len(webhook) == 2


def test_an_unreachable_webhook_is_logged_not_raised(settings, caplog):
    settings.ALERT_WEBHOOK_URL = "http://127.0.0.1:9/services/T000/B000/secret-path"
    counts = {"fetched": 10, "valid": 5, "rejected": 5, "inserted": 5, "duplicates": 0}
    quality_evaluate(run_id=1, dataset="stock_quotes", counts=counts)
    assert QualityIncident.objects.get().alerted_channels == ["log"]
    assert "alert webhook failed: ConnectionError reaching 127.0.0.1:9" in caplog.text
    assert "secret-path" not in caplog.text  # requests' own message carries the whole URL


def test_a_webhook_answering_an_error_is_logged_by_status_and_host_alone(settings, caplog, webhook):
    """A webhook's path is often its secret (Slack's is): "404 Client Error … for url: https://…/secret" was logged."""
    port = settings.ALERT_WEBHOOK_URL.split(":")[2].split("/")[0]
    settings.ALERT_WEBHOOK_URL = f"http://user:pw@127.0.0.1:{port}/missing/secret-path?token=secret-token"
    counts = {"fetched": 10, "valid": 5, "rejected": 5, "inserted": 5, "duplicates": 0}
    quality_evaluate(run_id=1, dataset="stock_quotes", counts=counts)
    assert QualityIncident.objects.get().alerted_channels == ["log"]
    assert f"alert webhook failed: HTTP 404 from 127.0.0.1:{port}" in caplog.text
    assert webhook == []
    for secret in ("secret-path", "secret-token", "pw@"):
        assert secret not in caplog.text


def test_without_email_or_webhook_alerts_go_to_the_log_only(settings, caplog):
    settings.ALERT_EMAILS = []
    settings.ALERT_WEBHOOK_URL = ""
    counts = {"fetched": 10, "valid": 5, "rejected": 5, "inserted": 5, "duplicates": 0}
    quality_evaluate(run_id=1, dataset="stock_quotes", counts=counts)
    assert mail.outbox == []
    assert "quality check failing: stock_quotes valid records" in caplog.text


def test_hourly_evaluation_stores_metrics_of_every_dataset_and_judges_freshness():
    friday = dt.datetime(2026, 5, 15, 15, 29, tzinfo=IST)
    StockData.objects.create(ticker="A", timestamp=friday, price=Decimal("10.00"), source="nse_api")
    sunday = dt.datetime(2026, 5, 17, 12, 0, tzinfo=IST)
    result = quality_evaluate(now=sunday)
    assert result.value("stock_quotes", "freshness") == 1.0
    assert QualityCheck.objects.get(name="stock_quotes freshness").last_status == "ok"
    assert set(QualityMetric.objects.values_list("dataset", flat=True)) == {
        "stock_quotes", "social_mentions", "bhavcopy_rows", "daily_bars",
    }  # fmt: skip
    assert QualityIncident.objects.count() == 0

    tuesday = dt.datetime(2026, 5, 19, 11, 0, tzinfo=IST)
    result = quality_evaluate(now=tuesday)
    # 1 minute on Friday, the 375 of Monday and 105 since 09:15 on Tuesday.
    assert result.value("stock_quotes", "freshness") == 481.0
    assert QualityIncident.objects.get().check_ref.name == "stock_quotes freshness"


def test_reconciliation_gap_fails_its_check():
    from lake.models import LakeObject

    obj = LakeObject.objects.create(
        source="nse_api", partition_date=dt.date(2026, 5, 19), key="k", timestamp=NOW, bytes=1, raw_bytes=1,
        records=10, sha256="0" * 64,
    )  # fmt: skip
    # 10 records read, 2 of them duplicates: 8 rows expected, 7 are in the warehouse.
    StockData.objects.bulk_create(
        StockData(ticker="TCS", price=Decimal("1"), timestamp=NOW - dt.timedelta(minutes=n), source="nse_api",
                  lake_object_id=obj.pk)
        for n in range(7)
    )  # fmt: skip
    LakeObjectAccount.objects.create(lake_object_id=obj.pk, dataset="stock_quotes", records=10, duplicates=2)
    counts = {"fetched": 10, "valid": 10, "rejected": 0, "inserted": 8, "duplicates": 2}
    result = quality_evaluate(run_id=9, dataset="stock_quotes", counts=counts, lake_object_ids=[obj.pk])
    outcome = next(c for c in result.checks if c.metric == "reconciliation_gap")
    assert (outcome.value, outcome.status) == (1.0, "fail")


def test_an_unknown_dataset_is_refused_and_nothing_is_stored():
    with pytest.raises(ValueError, match="dataset: unknown"):
        quality_evaluate(dataset="prices")
    assert QualityMetric.objects.count() == 0


def test_the_hourly_task_is_scheduled_and_runs():
    from django_celery_beat.models import PeriodicTask

    from quality.tasks import quality_checks_hourly

    task = PeriodicTask.objects.get(name="Quality checks (hourly)")
    assert (task.task, task.enabled, task.crontab.minute, task.crontab.hour) == (
        "quality.tasks.quality_checks_hourly", True, "5", "*",
    )  # fmt: skip
    summary = quality_checks_hourly.apply().get()
    assert summary["metrics"] >= 12


def test_a_stale_social_feed_is_reported_in_minutes_and_stale_quotes_in_trading_minutes():
    from warehouse.models import SocialMention

    # Tuesday 12:00 IST: the newest quote and the newest post are from Monday 12:00.
    monday, tuesday = dt.datetime(2026, 5, 18, 12, 0, tzinfo=IST), dt.datetime(2026, 5, 19, 12, 0, tzinfo=IST)
    StockData.objects.create(ticker="A", timestamp=monday, price=Decimal("10.00"), source="nse_api")
    SocialMention.objects.create(ticker="A", platform="twitter", external_id="1", text="$A", timestamp=monday)
    quality_evaluate(now=tuesday)
    messages = {i.check_ref.dataset: i.message for i in QualityIncident.objects.filter(check_ref__metric="freshness")}
    assert "freshness is 1440 minutes," in messages["social_mentions"]
    assert "freshness is 375 trading minutes," in messages["stock_quotes"]
