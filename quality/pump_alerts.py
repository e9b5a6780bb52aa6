"""Pump alerts: once per ticker and day whose daily pump score reaches the threshold set in admin.

Sent through the quality alert channels (``alert_send``: the log, ``ALERT_EMAILS``, ``ALERT_WEBHOOK_URL``)
and de-duplicated like incidents: the unique (ticker, date) row is claimed first, so two evaluations at
once alert once, and a later recomputation of the same day alerts nothing new.
"""

from datetime import date

from django.db import IntegrityError, transaction

from warehouse.selectors import pump_ticker_days

from .models import PumpAlert, PumpAlertSetting
from .services import alert_send


def pump_alerts_raise(*, dates) -> list[PumpAlert]:
    """Alert every ticker-day of ``dates`` at or above the threshold not alerted before; the new alerts."""
    setting = PumpAlertSetting.current()
    if not setting.enabled:
        return []
    raised = []
    for day in sorted(set(dates)):
        rows = pump_ticker_days(day=day, min_score=setting.threshold, limit=1000)
        # Most of a day's tickers were alerted by an earlier run: skip them here rather than let each INSERT
        # fail on the unique key (an ERROR line in PostgreSQL's log, and Django keeps the last rolled-back
        # exception on the connection, with the frames of the whole run it was raised in).
        alerted = set(
            PumpAlert.objects.filter(date=day, ticker__in=[row["ticker"] for row in rows]).values_list(
                "ticker", flat=True
            )
        )
        for row in rows:
            if row["ticker"] in alerted:
                continue
            alert = _claim(day, row, setting.threshold)
            if alert is not None:
                raised.append(alert)
    return raised


def _claim(day: date, row: dict, threshold: float) -> PumpAlert | None:
    ticker, score = row["ticker"], row["pump_score"]
    message = (
        f"{ticker} looks pumped on {day}: pump score {score:.2f} (alert threshold {threshold:g}); "
        f"{row['mentions']} mentions, {row['pump_signals']} flagged as pump signals. "
        f"Evidence: /suspicious/?date={day}"
    )
    try:
        with transaction.atomic():
            alert = PumpAlert.objects.create(
                ticker=ticker, date=day, pump_score=score, threshold=threshold, message=message
            )
    except IntegrityError:
        return None  # alerted already (by an earlier run, or a concurrent one a moment ago)
    alert.alerted_channels = alert_send(
        subject=f"[Tickerlake] suspicious ticker: {ticker} on {day} (pump score {score:.2f})",
        message=message,
        payload={
            "event": "pump_alert",
            "alert": alert.pk,
            "ticker": ticker,
            "date": day.isoformat(),
            "pump_score": score,
            "threshold": threshold,
            "mentions": row["mentions"],
            "pump_signals": row["pump_signals"],
        },
    )
    PumpAlert.objects.filter(pk=alert.pk).update(alerted_channels=alert.alerted_channels)
    return alert
