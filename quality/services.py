"""Quality services: quarantine, re-validation, schema drift, evaluation of metrics and checks, alerts.

Contracts (docs/CONTRACTS.md): ``rejects_quarantine``, ``rejects_revalidate``, ``schema_drift_check``,
``quality_evaluate``. Pipelines call them; quality never imports pipelines (runs are plain ids). Checks,
incidents and alerts live in ``quality.incidents``; their public names are importable from here too.
"""

import datetime as dt
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from core.errors import InvalidInput, echo
from warehouse import calendar as nse

from .incidents import CheckOutcome, alert_send, checks_evaluate, incidents_resolve
from .metrics import DataQualityMetrics, MetricValue
from .models import LearnedSchema, QualityMetric, QuarantinedRecord
from .rules import DATASETS
from .validation import DataValidator, Rejected, json_value

__all__ = [
    "CheckOutcome",
    "DriftResult",
    "EvaluationResult",
    "RevalidationResult",
    "alert_send",
    "checks_evaluate",
    "incidents_resolve",
    "quality_evaluate",
    "rejects_quarantine",
    "rejects_revalidate",
    "schema_drift_check",
]

log = logging.getLogger(__name__)

SOURCE_DATASETS = {
    "nse_api": "stock_quotes",
    "nse_bhavcopy": "bhavcopy_rows",
    "twitter": "social_mentions",
    "telegram": "social_mentions",
}


# --- quarantine ------------------------------------------------------------------------------------
def rejects_quarantine(*, dataset: str, run_id: int | None, lake_object_id: int | None, rejected) -> int:
    """Store rejected records (``Rejected`` items or ``{"record", "reasons"}`` dicts) with their reasons; return the count."""
    if dataset not in DATASETS:
        raise InvalidInput(f"dataset: unknown {echo(dataset)}")
    now = timezone.now()
    rows = []
    for item in rejected:
        record, reasons = (
            (item.record, item.reasons) if isinstance(item, Rejected) else (item["record"], item["reasons"])
        )
        record = json_value(dict(record))
        reasons = json_value(list(reasons))
        names = sorted({r.get("rule", "") for r in reasons if r.get("rule")})
        rows.append(
            QuarantinedRecord(
                dataset=dataset,
                run_id=run_id,
                lake_object_id=lake_object_id or record.get("lake_object_id"),
                record=record,
                reasons=reasons,
                rule_names=("|" + "|".join(names) + "|")[:1024],
                created=now,
            )
        )
    QuarantinedRecord.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


@dataclass
class RevalidationResult:
    checked: int = 0
    still_rejected: int = 0
    # dataset -> records that pass the current rules, for the caller to load.
    recovered: dict[str, list[dict]] = field(default_factory=dict)

    @property
    def recovered_count(self) -> int:
        return sum(len(v) for v in self.recovered.values())


def rejects_revalidate(*, dataset: str | None = None, run_id: int | None = None) -> RevalidationResult:
    """Re-validate quarantined records with the current rules; mark those that pass recovered and return them.

    Records still failing keep their place, with their reasons updated to the current rules.
    """
    qs = QuarantinedRecord.objects.filter(status=QuarantinedRecord.Status.QUARANTINED)
    if dataset is not None:
        if dataset not in DATASETS:
            raise InvalidInput(f"dataset: unknown {echo(dataset)}")
        qs = qs.filter(dataset=dataset)
    if run_id is not None:
        qs = qs.filter(run_id=run_id)
    result = RevalidationResult()
    by_dataset: dict[str, list[QuarantinedRecord]] = defaultdict(list)
    for row in qs.order_by("id").iterator(chunk_size=2000):
        by_dataset[row.dataset].append(row)
    now = timezone.now()
    for name, rows in by_dataset.items():
        validator = DataValidator(name)
        records = [dict(r.record, _quarantine_id=r.pk) for r in rows]
        outcome = validator.validate(records)
        result.checked += len(rows)
        recovered_ids = [int(i) for i in outcome.valid["_quarantine_id"]]
        by_id = {r.pk: r for r in rows}
        recovered = []
        for pk in recovered_ids:
            record = dict(by_id[pk].record)
            record.setdefault("lake_object_id", by_id[pk].lake_object_id)
            recovered.append(record)
        with transaction.atomic():
            # Conditional update: a concurrent re-validation recovers each record only once.
            QuarantinedRecord.objects.filter(pk__in=recovered_ids, status="quarantined").update(
                status=QuarantinedRecord.Status.RECOVERED, recovered_at=now
            )
            for item in outcome.rejected:
                row = by_id[int(item.record["_quarantine_id"])]
                names = sorted({r["rule"] for r in item.reasons})
                row.reasons = item.reasons
                row.rule_names = ("|" + "|".join(names) + "|")[:1024]
            QuarantinedRecord.objects.bulk_update(
                [by_id[int(i.record["_quarantine_id"])] for i in outcome.rejected], ["reasons", "rule_names"]
            )
        result.still_rejected += len(outcome.rejected)
        if recovered:
            result.recovered[name] = recovered
    return result


# --- schema drift ----------------------------------------------------------------------------------
@dataclass
class DriftResult:
    new_keys: list[str]
    missing_keys: list[str]
    changed_types: dict[str, dict]  # key -> {"expected": [...], "found": [...]}
    is_drift: bool
    learned: bool = False  # True when this batch was the first one seen (nothing to compare with)


MAX_DEPTH = 5
MAX_KEYS = 2000
# The first payloads of a source only teach its schema: one page of posts does not show every optional
# field (the first retweet, the first forward), and a field seen for the first time is drift after that.
SCHEMA_WARMUP = 10


_JSON_TYPES = {type(None): "null", bool: "bool", int: "number", float: "number", str: "string", list: "array"}
_JSON_TYPES[dict] = "object"


def _json_type(value) -> str:
    name = _JSON_TYPES.get(type(value))  # the exact types of decoded JSON, at once; subclasses below
    if name is not None:
        return name
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"  # NSE writes 1430 and 1443.6 in the same field: one JSON type
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


@dataclass
class _Shape:
    types: dict[str, set] = field(default_factory=dict)
    occurs: Counter = field(default_factory=Counter)  # path -> objects (records, items) that had it
    visits: Counter = field(default_factory=Counter)  # container path -> objects visited there
    records: Counter = field(default_factory=Counter)  # path -> records that had it somewhere


def _walk(value, prefix: str, shape: _Shape, depth: int, seen: dict[str, None]) -> None:
    """Every key path under ``value`` with its JSON types, how often it occurs and how often each object
    holding keys (a container: the record, a nested object, an item of a list) was visited, added to
    ``shape``; ``seen``: the paths of the record walked (up to ``MAX_KEYS``; a path past them is skipped)."""
    if isinstance(value, dict):
        shape.visits[prefix] += 1
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if path not in seen:
                if len(seen) >= MAX_KEYS:
                    continue
                seen[path] = None
            types = shape.types.get(path)
            if types is None:
                types = shape.types[path] = set()
            types.add(_json_type(item))
            shape.occurs[path] += 1
            if depth < MAX_DEPTH and isinstance(item, dict | list):
                _walk(item, path, shape, depth + 1, seen)
    elif isinstance(value, list):
        for item in value[:50]:  # a sample of the list's items describes its shape
            if isinstance(item, dict):
                _walk(item, f"{prefix}[]", shape, depth + 1, seen)


def _shape_of(records) -> tuple[_Shape, int]:
    """The shape of the dict ``records`` (walked straight into one shape: merging a shape per record cost as
    much as the walk), and how many there were."""
    shape = _Shape()
    count = 0
    for record in records:
        if not isinstance(record, dict):
            continue
        count += 1
        seen: dict[str, None] = {}
        _walk(record, "", shape, 0, seen)
        shape.records.update(seen.keys())  # (an iterable, not a mapping: counted in C)
    return shape, count


def _container(path: str) -> str:
    """The path of the object that holds ``path``'s key: "data[].text" -> "data[]", "info" -> "" (the record)."""
    return path.rpartition(".")[0]


def schema_drift_check(*, source: str, records, run_id: int | None = None) -> DriftResult:
    """Compare the key paths and JSON types of ``records`` (raw payload dicts) with the schema learned for ``source``.

    New keys, keys that every object holding them had so far but this batch's such objects all lack, and
    keys whose (non-null) type changed are drift. Presence is counted per object that holds the key: per
    item of a list, not per record, so an optional field of a post or an update (a retweet's
    ``referenced_tweets``, a forward's ``forward_origin``) missing from one page is no drift, while a field
    every item had is. The batch is then learned, so one change alerts once. The first ``SCHEMA_WARMUP``
    records of a source only teach. A ``schema_drift`` metric is stored and its checks evaluated.
    """
    shape, count = _shape_of(records)
    with transaction.atomic():
        schema, _created = LearnedSchema.objects.select_for_update().get_or_create(source=source)
        learned = schema.keys or {}
        visited = schema.containers or {}
        new, missing, changed = [], [], {}
        if schema.objects_seen >= SCHEMA_WARMUP:
            new = sorted(k for k in shape.types if k not in learned)
            for key, entry in learned.items():
                where = _container(key)
                always = entry.get("absent") == 0 and visited.get(where, 0) > 0
                if always and shape.visits[where] and not shape.occurs[key]:
                    missing.append(key)
            missing.sort()
            for key, types in shape.types.items():
                if key in learned:
                    known = set(learned[key]["types"]) - {"null"}
                    found = types - {"null"}
                    if known and found and not found <= known:
                        changed[key] = {"expected": sorted(known), "found": sorted(found)}
        for key in set(learned) | set(shape.types):
            where = _container(key)
            entry = learned.get(key)
            if entry is None:  # absent from every object visited there before this batch
                entry = learned[key] = {"types": [], "seen": 0, "absent": visited.get(where, 0)}
            if key in shape.types:
                entry["types"] = sorted(set(entry["types"]) | shape.types[key])
            entry["seen"] = entry.get("seen", 0) + shape.records[key]
            # (a key learned before presence was counted per object starts its count now)
            entry["absent"] = entry.get("absent", 0) + shape.visits[where] - shape.occurs[key]
        for where, n in shape.visits.items():
            visited[where] = visited.get(where, 0) + n
        schema.keys = learned
        schema.containers = visited
        first = schema.objects_seen < SCHEMA_WARMUP
        schema.objects_seen += count
        schema.save()
    result = DriftResult(new, missing, changed, bool(new or missing or changed), learned=first)
    dataset = SOURCE_DATASETS.get(source, source)
    size = len(new) + len(missing) + len(changed)
    details = {"source": source, "new_keys": new[:50], "missing_keys": missing[:50], "changed_types": changed}
    metric = MetricValue(dataset, "schema_drift", float(size), "run", run_id, timezone.localdate(), None, details)
    _metrics_store([metric])
    if dataset in DATASETS:
        checks_evaluate(values={(dataset, "schema_drift"): (size, details)}, run_id=run_id)
    if result.is_drift:
        log.warning("schema drift in %s: new %s, missing %s, changed %s", source, new[:10], missing[:10], changed)
    return result


# --- evaluation ------------------------------------------------------------------------------------
@dataclass
class EvaluationResult:
    metrics: list[MetricValue]
    checks: list[CheckOutcome]

    @property
    def incidents_opened(self) -> int:
        return sum(c.opened for c in self.checks)

    @property
    def incidents_closed(self) -> int:
        return sum(c.closed for c in self.checks)

    def value(self, dataset: str, metric: str, scope: str | None = None):
        for m in self.metrics:
            if m.dataset == dataset and m.metric == metric and (scope is None or m.scope == scope):
                return m.value
        raise KeyError((dataset, metric, scope))


def _metrics_store(metrics: list[MetricValue]) -> None:
    now = timezone.now()
    QualityMetric.objects.bulk_create(
        [
            QualityMetric(
                dataset=m.dataset,
                metric=m.metric,
                value=m.value,
                scope=m.scope,
                run_id=m.run_id,
                date=m.date,
                window_start=m.window_start,
                details=json_value(m.details),
                computed_at=now,
            )
            for m in metrics
        ]
    )


def quality_evaluate(
    *,
    run_id: int | None = None,
    dataset: str | None = None,
    counts: dict | None = None,
    lake_object_ids: list[int] | None = None,
    now: dt.datetime | None = None,
) -> EvaluationResult:
    """Compute and store the metrics of one dataset (or all), evaluate the checks, open and close incidents.

    Pipelines call it after a run with the run's ``counts`` (fetched/valid/rejected/inserted/duplicates)
    and the lake objects it read; beat calls it hourly without arguments.
    """
    if dataset is not None and dataset not in DATASETS:
        raise InvalidInput(f"dataset: unknown {echo(dataset)}; expected one of {', '.join(DATASETS)}")
    now = now or timezone.now()
    today = now.astimezone(nse.IST).date()
    metrics: list[MetricValue] = []
    for name in [dataset] if dataset else DATASETS:
        dqm = DataQualityMetrics(name, now=now)
        if counts is not None and dataset is not None:
            run_metrics = dqm.run_metrics(run_id=run_id, counts=counts, lake_object_ids=lake_object_ids)
            _metrics_store(run_metrics)  # stored first: the day's ratios below include this run
            metrics.extend(run_metrics)
        day = dqm.day_metrics(today)
        day.append(dqm.freshness())
        volume = dqm.volume_anomaly()
        if volume is not None:
            day.append(volume)
        _metrics_store(day)
        metrics.extend(day)
    values: dict[tuple[str, str], tuple] = {}
    for m in sorted(metrics, key=lambda m: m.scope == "run"):  # a run's own value wins over the day's
        if m.value is not None:
            values[(m.dataset, m.metric)] = (m.value, m.details, m.scope)
    outcomes = checks_evaluate(values=values, run_id=run_id)
    return EvaluationResult(metrics=metrics, checks=outcomes)
