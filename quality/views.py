"""The /quality/ page: scorecards, trends, checks, incidents and rejected records, in plain words."""

import datetime as dt
import json

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from . import selectors
from .models import QualityMetric
from .rules import DATASETS

TREND_METRICS = {
    "completeness": "Completeness of key fields (%)",
    "valid_ratio": "Records passing validation (%)",
    "row_count": "Rows today",
    "freshness": "Freshness (minutes or trading days behind)",
}
TREND_DAYS = 14
TREND_POINTS = 500


def _trends() -> dict:
    since = timezone.now() - dt.timedelta(days=TREND_DAYS)
    rows = (
        QualityMetric.objects.filter(computed_at__gte=since, metric__in=TREND_METRICS, scope__in=("day", "hour"))
        .order_by("-computed_at", "-id")
        .values_list("dataset", "metric", "computed_at", "value")[: TREND_POINTS * len(TREND_METRICS) * len(DATASETS)]
    )
    series: dict = {m: {"title": title, "datasets": {}} for m, title in TREND_METRICS.items()}
    for dataset, metric, at, value in reversed(list(rows)):
        if value is not None:
            series[metric]["datasets"].setdefault(dataset, []).append([int(at.timestamp() * 1000), value])
    return series


@login_required
def dashboard(request):
    """The data quality dashboard."""
    checks = list(selectors.checks_status())
    order = {"fail": 0, "warn": 1, "unknown": 2, "ok": 3}
    checks.sort(key=lambda c: (order.get(c.last_status, 4), c.dataset, c.name))
    groups = selectors.rejects_by_rule(days=7, examples=3)
    for group in groups:
        for example in group["examples"]:
            # Shown as text (auto-escaped), never as markup: records hold whatever the upstream sent.
            example["record_text"] = json.dumps(example["record"], ensure_ascii=False, indent=1, default=str)
    context = {
        "summary": selectors.quality_summary(),
        "market": selectors.market_status(),
        "checks": checks,
        "problem_checks": [c for c in checks if c.last_status in ("fail", "warn")],
        "incidents": list(selectors.incidents_list()[:20]),
        "reject_groups": groups,
        "trends": _trends(),
        "unaccounted": selectors.lake_objects_unaccounted(days=7),
    }
    return render(request, "quality/dashboard.html", context)
