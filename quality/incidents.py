"""Checks and incidents: evaluate the enabled checks against metric values, open and close incidents, alert.

A failing check opens one incident and alerts once (the log, ``ALERT_EMAILS``, ``ALERT_WEBHOOK_URL``);
while it keeps failing the open incident only counts the failures; a passing evaluation resolves it.
``quality.services`` calls ``checks_evaluate`` after storing metrics; pump alerts reuse ``alert_send``.
"""

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import QualityCheck, QualityIncident
from .validation import json_value

logger = logging.getLogger("quality.alerts")
# Failures of the alert channels keep the logger name they had before this module was split out.
log = logging.getLogger("quality.services")

WEBHOOK_TIMEOUT = 5  # seconds: an alert must never hold up a pipeline run


@dataclass
class CheckOutcome:
    check: str
    dataset: str
    metric: str
    value: float | None
    status: str
    incident_id: int | None = None
    opened: bool = False
    closed: bool = False


def checks_evaluate(*, values: dict, run_id: int | None = None) -> list[CheckOutcome]:
    """Evaluate the enabled checks whose (dataset, metric) is in ``values``; open or close their incidents.

    ``values``: (dataset, metric) -> (value, details) or (value, details, scope), the scope ("run", "day",
    "hour") saying what the value measured: a check of the valid ratio fails on one bad run at once,
    while the page's scorecard shows the day's; the check keeps its value's scope to say so.
    """
    now = timezone.now()
    datasets = {d for d, _ in values}
    outcomes = []
    for check in QualityCheck.objects.filter(enabled=True, dataset__in=datasets):
        if (check.dataset, check.metric) not in values:
            continue
        value, details, *scope = values[(check.dataset, check.metric)]
        status = check.status_for(value)
        QualityCheck.objects.filter(pk=check.pk).update(
            last_status=status, last_value=value, last_scope=scope[0] if scope else "", last_evaluated=now
        )
        outcome = CheckOutcome(check.name, check.dataset, check.metric, value, status)
        if status == QualityCheck.Status.FAIL:
            _incident_open(check, value, details, run_id, outcome)
        else:
            closed = QualityIncident.objects.filter(check_ref=check, status=QualityIncident.Status.OPEN).update(
                status=QualityIncident.Status.RESOLVED, resolved_at=now, resolved_by="check passed", last_value=value
            )
            if closed:
                outcome.closed = True
                logger.info("quality check passes again: %s (%s = %s)", check.name, check.metric, value)
        outcomes.append(outcome)
    return outcomes


def _describe(check: QualityCheck, value: float, details) -> str:
    return (
        f"{check.name}: {check.dataset} {check.metric} is {value:g} {check.unit_label}, "
        f"{check.breach_words}{check.fail_threshold:g} (the failing threshold). {check.description}".strip()
    )


def _incident_open(check: QualityCheck, value, details, run_id, outcome: CheckOutcome) -> None:
    now = timezone.now()
    updated = QualityIncident.objects.filter(check_ref=check, status=QualityIncident.Status.OPEN)
    existing = updated.first()
    if existing is not None:
        # Still failing: the open incident records it; no repeat alert.
        updated.update(last_seen=now, last_value=value, failures=existing.failures + 1)
        outcome.incident_id = existing.pk
        return
    message = _describe(check, value, details)
    try:
        with transaction.atomic():
            incident = QualityIncident.objects.create(
                check_ref=check, first_value=value, last_value=value, run_id=run_id, message=message, opened_at=now
            )
    except IntegrityError:
        return  # another evaluation opened it a moment ago (and alerted)
    outcome.incident_id, outcome.opened = incident.pk, True
    channels = alert_send(
        subject=f"[Tickerlake] quality check failing: {check.name}",
        message=message,
        payload={
            "event": "incident_opened",
            "incident": incident.pk,
            "check": check.name,
            "dataset": check.dataset,
            "metric": check.metric,
            "value": value,
            "fail_threshold": check.fail_threshold,
            "direction": check.direction,
            "run_id": run_id,
            "opened_at": now.isoformat(),
            "details": json_value(details or {}),
        },
    )
    QualityIncident.objects.filter(pk=incident.pk).update(alerted_channels=channels)


def alert_send(*, subject: str, message: str, payload: dict) -> list[str]:
    """Send one alert: always to the log, and to email / the webhook when configured. Never raises."""
    channels = ["log"]
    logger.warning("%s: %s", subject, message)
    if settings.ALERT_EMAILS:
        try:
            send_mail(subject, message, settings.DEFAULT_FROM_EMAIL, list(settings.ALERT_EMAILS))
            channels.append("email")
        except Exception:  # any mail failure must not break the run
            log.exception("alert email failed")
    if settings.ALERT_WEBHOOK_URL:
        try:
            response = requests.post(settings.ALERT_WEBHOOK_URL, json=payload, timeout=WEBHOOK_TIMEOUT)
            response.raise_for_status()
            channels.append("webhook")
        except requests.RequestException as exc:
            log.warning("alert webhook failed: %s", webhook_failure(exc, settings.ALERT_WEBHOOK_URL))
    return channels


def webhook_failure(exc: requests.RequestException, url: str) -> str:
    """Why a webhook post failed, naming its host only: requests' own messages carry the whole URL, and a
    webhook's path is often its secret (``https://hooks.slack.com/services/T…/B…/<secret>``)."""
    where = urlsplit(url).netloc.rpartition("@")[2]  # (never a user:password@ either)
    response = getattr(exc, "response", None)
    if response is not None:
        return f"HTTP {response.status_code} from {where}"
    return f"{type(exc).__name__} reaching {where}"


def incidents_resolve(*, ids, user: str) -> int:
    """Resolve open incidents by hand (admin); the check's next failure opens a new one."""
    return QualityIncident.objects.filter(pk__in=list(ids), status=QualityIncident.Status.OPEN).update(
        status=QualityIncident.Status.RESOLVED, resolved_at=timezone.now(), resolved_by=user[:150]
    )
