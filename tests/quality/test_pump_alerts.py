"""Pump alerts: once per ticker and day over the admin's threshold, through log, email and webhook."""

import datetime as dt

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from quality.models import PumpAlert, PumpAlertSetting
from quality.pump_alerts import _claim, pump_alerts_raise
from warehouse.models import DailySocial

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 5, 19)


@pytest.fixture
def scores():
    for ticker, platform, score in (
        ("IRFC", "telegram", 0.82),
        ("IRFC", "twitter", 0.64),
        ("SUZLON", "twitter", 0.61),
        ("TCS", "twitter", 0.59),
    ):
        DailySocial.objects.create(
            ticker=ticker, platform=platform, date=DAY, mentions=10, pump_signals=4, pump_score=score
        )


def test_each_ticker_day_over_the_threshold_alerts_once_on_every_channel(settings, webhook, scores, caplog):
    settings.ALERT_EMAILS = ["desk@example.com"]
    PumpAlertSetting.objects.create(threshold=0.6)
    raised = pump_alerts_raise(dates=[DAY])
    assert [(a.ticker, a.date, a.pump_score, a.threshold) for a in raised] == [
        ("IRFC", DAY, 0.82, 0.6),
        ("SUZLON", DAY, 0.61, 0.6),
    ]
    assert [a.alerted_channels for a in PumpAlert.objects.order_by("ticker")] == [["log", "email", "webhook"]] * 2
    assert [m.subject for m in mail.outbox] == [
        "[Tickerlake] suspicious ticker: IRFC on 2026-05-19 (pump score 0.82)",
        "[Tickerlake] suspicious ticker: SUZLON on 2026-05-19 (pump score 0.61)",
    ]
    assert [body["ticker"] for _, body in webhook] == ["IRFC", "SUZLON"]
    assert webhook[0][1]["event"] == "pump_alert"
    assert webhook[0][1]["pump_score"] == 0.82
    assert "IRFC looks pumped on 2026-05-19" in caplog.text

    # The pipeline recomputes the day after every run: no second alert.
    assert pump_alerts_raise(dates=[DAY, DAY]) == []
    assert PumpAlert.objects.count() == 2
    assert len(mail.outbox) == 2
    assert len(webhook) == 2


def test_a_recomputation_skips_the_tickers_already_alerted_without_trying_to_insert_them(webhook, scores):
    PumpAlertSetting.objects.create(threshold=0.6)
    assert len(pump_alerts_raise(dates=[DAY])) == 2
    DailySocial.objects.create(ticker="RVNL", platform="telegram", date=DAY, mentions=9, pump_signals=5, pump_score=0.7)
    with CaptureQueriesContext(connection) as queries:
        raised = pump_alerts_raise(dates=[DAY])
    # Only the ticker new over the threshold is claimed: no INSERT that fails on the unique key (an ERROR in
    # PostgreSQL's log for every alerted ticker at every run, before).
    assert [a.ticker for a in raised] == ["RVNL"]
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1
    assert "RVNL" in inserts[0]
    assert [body["ticker"] for _, body in webhook] == ["IRFC", "SUZLON", "RVNL"]


def test_an_alert_another_evaluation_claimed_a_moment_before_is_not_sent_again(webhook, scores):
    PumpAlertSetting.objects.create(threshold=0.6)
    pump_alerts_raise(dates=[DAY])
    # The race the unique key settles: this evaluation read the day before the other one claimed IRFC.
    assert _claim(DAY, {"ticker": "IRFC", "pump_score": 0.82, "mentions": 10, "pump_signals": 4}, 0.6) is None
    assert PumpAlert.objects.filter(ticker="IRFC").count() == 1
    assert [body["ticker"] for _, body in webhook] == ["IRFC", "SUZLON"]


def test_the_threshold_is_the_one_set_in_admin(admin_client, scores):
    PumpAlertSetting.objects.create(threshold=0.6)
    setting = PumpAlertSetting.current()
    page = admin_client.get("/admin/quality/pumpalertsetting/")
    assert page.status_code == 200
    answer = admin_client.post(
        f"/admin/quality/pumpalertsetting/{setting.pk}/change/", {"threshold": "0.8", "enabled": "on"}
    )
    assert answer.status_code == 302
    assert [a.ticker for a in pump_alerts_raise(dates=[DAY])] == ["IRFC"]


def test_nothing_alerts_below_the_threshold_or_when_switched_off(scores):
    PumpAlertSetting.objects.create(threshold=0.9)
    assert pump_alerts_raise(dates=[DAY]) == []
    PumpAlertSetting.objects.update(threshold=0.1, enabled=False)
    assert pump_alerts_raise(dates=[DAY]) == []
    assert PumpAlert.objects.count() == 0
    assert mail.outbox == []


def test_a_default_setting_is_made_when_none_exists(scores):
    assert PumpAlertSetting.objects.count() == 0
    assert [a.ticker for a in pump_alerts_raise(dates=[DAY])] == ["IRFC", "SUZLON"]  # default 0.6
    assert PumpAlertSetting.objects.get().threshold == 0.6
