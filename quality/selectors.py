"""Reads for the quality API and dashboard (a handful of queries each, whatever the table sizes)."""

import datetime as dt

from django.db.models import Count, Max, Q
from django.utils import timezone

from warehouse import calendar as nse

from .metrics import ist_day_bounds
from .models import FRESHNESS_UNITS, QualityCheck, QualityIncident, QualityMetric, QuarantinedRecord, ValidationRule
from .reconciliation import lake_objects_unaccounted as lake_objects_unaccounted  # the reconciliation read
from .rules import DATASETS, default_rules

SUMMARY_METRICS = ("completeness", "valid_ratio", "freshness", "row_count", "volume_zscore")


def metrics_latest(*, metrics=SUMMARY_METRICS) -> dict[tuple[str, str], QualityMetric]:
    """The newest day/hour value of each (dataset, metric): one grouped query and one fetch."""
    newest = (
        QualityMetric.objects.filter(metric__in=metrics, scope__in=("day", "hour"))
        .order_by()
        .values("dataset", "metric")
        .annotate(last=Max("id"))
        .values("last")
    )
    rows = QualityMetric.objects.filter(id__in=newest)
    return {(m.dataset, m.metric): m for m in rows}


def quality_summary() -> list[dict]:
    """Per dataset: a 0-100 score, completeness, valid ratio, freshness, today's rows and open incidents."""
    latest = metrics_latest()
    checks = QualityCheck.objects.filter(enabled=True).order_by().values("dataset", "last_status")
    status_counts: dict[str, dict[str, int]] = {}
    for row in checks.annotate(n=Count("id")):
        status_counts.setdefault(row["dataset"], {})[row["last_status"]] = row["n"]
    incidents = dict(
        QualityIncident.objects.filter(status="open")
        .order_by()
        .values("check_ref__dataset")
        .annotate(n=Count("id"))
        .values_list("check_ref__dataset", "n")
    )
    out = []
    for dataset in DATASETS:

        def value(metric, dataset=dataset):
            m = latest.get((dataset, metric))
            return None if m is None else m.value

        completeness, valid_ratio = value("completeness"), value("valid_ratio")
        parts = [v for v in (completeness, valid_ratio) if v is not None]
        statuses = status_counts.get(dataset, {})
        score = None
        if parts:
            # Mean of completeness and valid ratio, less 15 points per failing and 5 per warning check.
            # No measured rows, no score: passing checks on an empty dataset are not 100/100.
            base = sum(parts) / len(parts)
            score = round(max(0.0, base - 15 * statuses.get("fail", 0) - 5 * statuses.get("warn", 0)), 1)
        fresh = latest.get((dataset, "freshness"))
        evaluated = [m.computed_at for (d, _), m in latest.items() if d == dataset]
        out.append(
            {
                "dataset": dataset,
                "label": dataset.replace("_", " "),
                "score": score,
                "completeness": completeness,
                "valid_ratio": valid_ratio,
                "freshness": None if fresh is None else fresh.value,
                "freshness_unit": FRESHNESS_UNITS[dataset],
                "newest_record": None if fresh is None else fresh.details.get("newest"),
                "rows_today": value("row_count"),
                "volume_zscore": value("volume_zscore"),
                "open_incidents": incidents.get(dataset, 0),
                "failing_checks": statuses.get("fail", 0),
                "warning_checks": statuses.get("warn", 0),
                "last_evaluated": max(evaluated) if evaluated else None,
            }
        )
    return out


def metric_series(*, dataset: str | None, metric: str | None, days: int):
    """Stored metric values of the last ``days`` days, oldest first."""
    since = timezone.now() - dt.timedelta(days=days)
    qs = QualityMetric.objects.filter(computed_at__gte=since)
    if dataset:
        qs = qs.filter(dataset=dataset)
    if metric:
        qs = qs.filter(metric=metric)
    return qs.order_by("computed_at", "id")


def checks_status():
    return QualityCheck.objects.annotate(
        open_incident=Max("incidents__id", filter=Q(incidents__status="open"))
    ).order_by("dataset", "metric", "name")


def rejects_list(*, dataset: str | None = None, day: dt.date | None = None, rule: str | None = None, status=None):
    qs = QuarantinedRecord.objects.all()
    if dataset:
        qs = qs.filter(dataset=dataset)
    if day:
        start, end = ist_day_bounds(day)
        qs = qs.filter(created__gte=start, created__lt=end)
    if rule:
        qs = qs.filter(rule_names__contains=f"|{rule}|")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created", "-id")


def known_rules() -> set[str]:
    names = set(ValidationRule.objects.values_list("name", flat=True))
    for dataset in DATASETS:
        names.update(r.name for r in default_rules(dataset))
    return names


def rejects_by_rule(*, days: int = 7, examples: int = 3) -> list[dict]:
    """Quarantined records of the last ``days`` days grouped by rule: count and a few examples each."""
    since = timezone.now() - dt.timedelta(days=days)
    qs = QuarantinedRecord.objects.filter(created__gte=since, status="quarantined")
    pairs = sorted({(r.dataset, r.name) for r in ValidationRule.objects.all()})
    if not pairs:
        pairs = sorted({(d, r.name) for d in DATASETS for r in default_rules(d)})
    # One query: a filtered COUNT per (dataset, rule).
    counts = qs.aggregate(
        **{
            f"c{i}": Count("id", filter=Q(dataset=ds, rule_names__contains=f"|{name}|"))
            for i, (ds, name) in enumerate(pairs)
        }
    )
    groups = []
    for i, (ds, name) in enumerate(pairs):
        if counts[f"c{i}"]:
            sample = list(
                qs.filter(dataset=ds, rule_names__contains=f"|{name}|").order_by("-created", "-id")[:examples]
            )
            groups.append(
                {
                    "dataset": ds,
                    "rule": name,
                    "count": counts[f"c{i}"],
                    "examples": [
                        {
                            "id": r.pk,
                            "created": r.created,
                            "record": r.record,
                            "reason": next((x for x in r.reasons if x.get("rule") == name), {}),
                        }
                        for r in sample
                    ],
                }
            )
    groups.sort(key=lambda g: -g["count"])
    return groups


def incidents_list(*, status: str | None = None):
    qs = QualityIncident.objects.select_related("check_ref")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-opened_at", "-id")


def market_status(now: dt.datetime | None = None) -> str:
    now = now or timezone.now()
    local = now.astimezone(nse.IST)
    holiday = nse.holiday_name(local.date())
    if holiday:
        return f"NSE closed today ({holiday})"
    if nse.is_market_open(now):
        return "NSE market open (09:15-15:30 IST)"
    return "NSE market closed now (sessions 09:15-15:30 IST, Monday to Friday)"
