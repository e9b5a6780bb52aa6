"""DataQualityMetrics: quality figures of one dataset, computed in SQL over the warehouse tables.

Every figure is one aggregate query (COUNT/MAX with filters), so a table of millions of rows costs a
scan, not a transfer. Values are plain numbers (percentages 0-100, counts, trading minutes or days, a
z-score); ``quality.services.quality_evaluate`` stores them and checks them against thresholds.
"""

import datetime as dt
import functools
import math
import operator
from dataclasses import dataclass, field

from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from core.errors import InvalidInput, echo
from warehouse import calendar as nse
from warehouse.models import DailyBar, DailySocial, SocialMention, StockData

from .models import FRESHNESS_UNITS
from .reconciliation import lake_objects_gaps
from .rules import DATASETS

# A window whose |z| reaches this is an anomaly and is kept out of later baselines.
VOLUME_ANOMALY_Z = 3.0
VOLUME_BASELINE_WEEKS = 8
VOLUME_MIN_HISTORY = 4
FRESHNESS_RECENT_DAYS = 7  # freshness looks for the newest record in this many days first
# NSE publishes the day's bhavcopy in the evening; before this hour today's file is not late.
BHAVCOPY_DUE = dt.time(19, 0)


@dataclass
class MetricValue:
    dataset: str
    metric: str
    value: float | None
    scope: str  # run / day / hour
    run_id: int | None = None
    date: dt.date | None = None
    window_start: dt.datetime | None = None
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class _Spec:
    model: type
    time_field: str  # a DateTimeField, or "date" for the daily tables
    key_fields: tuple[str, ...]  # fields whose completeness makes the headline figure
    other_fields: tuple[str, ...]  # also reported per field
    text_fields: tuple[str, ...]  # counted complete when not blank
    filters: tuple = ()
    market_hours: bool = False


SPECS = {
    "stock_quotes": _Spec(
        StockData, "timestamp", ("price", "volume", "change_percent"), ("raw_data", "lake_object"), (), (), True
    ),
    "social_mentions": _Spec(
        SocialMention,
        "timestamp",
        ("text", "sentiment"),
        ("views", "metadata", "lake_object"),
        ("text", "sentiment", "channel", "author"),
    ),
    "daily_bars": _Spec(
        DailyBar,
        "date",
        ("open", "high", "low", "close", "volume"),
        ("last", "prev_close", "value", "trades", "delivery_qty", "delivery_pct", "lake_object"),
        ("isin",),
    ),
    "bhavcopy_rows": _Spec(
        DailyBar,
        "date",
        ("open", "high", "low", "close", "volume"),
        ("last", "prev_close", "value", "trades", "delivery_qty", "delivery_pct", "lake_object"),
        ("isin",),
        (("source__startswith", "nse_bhavcopy"),),
    ),
}


def ist_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(0), nse.IST)
    return start, start + dt.timedelta(days=1)


def _pct(part: float, whole: float) -> float | None:
    return None if not whole else round(100.0 * part / whole, 4)


class DataQualityMetrics:
    """Quality figures of one dataset (``stock_quotes``, ``social_mentions``, ``bhavcopy_rows``, ``daily_bars``)."""

    def __init__(self, dataset: str, *, now: dt.datetime | None = None):
        if dataset not in DATASETS:
            raise InvalidInput(f"dataset: unknown {echo(dataset)}; expected one of {', '.join(DATASETS)}")
        self.dataset = dataset
        self.spec = SPECS[dataset]
        self.now = now or timezone.now()

    def queryset(self):
        return self.spec.model.objects.filter(**dict(self.spec.filters))

    def _in_day(self, day: dt.date):
        if self.spec.time_field == "date":
            return self.queryset().filter(date=day)
        start, end = ist_day_bounds(day)
        return self.queryset().filter(**{f"{self.spec.time_field}__gte": start, f"{self.spec.time_field}__lt": end})

    # --- row count and completeness -----------------------------------------------------------------
    def completeness(self, queryset=None) -> dict:
        """Row count and the share of rows holding a value, per field, in one aggregate query."""
        qs = self.queryset() if queryset is None else queryset
        spec = self.spec
        fields = spec.key_fields + spec.other_fields
        aggregates = {"rows": Count("pk")}
        for name in fields:
            if name in spec.text_fields:
                aggregates[f"f_{name}"] = Count("pk", filter=~Q(**{name: ""}) & Q(**{f"{name}__isnull": False}))
            else:
                aggregates[f"f_{name}"] = Count(name)
        agg = qs.aggregate(**aggregates)
        rows = agg["rows"] or 0
        per_field = {name: _pct(agg[f"f_{name}"], rows) for name in fields}
        keys = [per_field[k] for k in spec.key_fields if per_field[k] is not None]
        overall = round(sum(keys) / len(keys), 4) if keys else None
        return {"rows": rows, "fields": per_field, "overall": overall}

    def day_metrics(self, day: dt.date) -> list[MetricValue]:
        """Row count, completeness, valid and duplicate ratios of one IST day."""
        from .models import QualityMetric, QuarantinedRecord

        comp = self.completeness(self._in_day(day))
        out = [
            MetricValue(self.dataset, "row_count", comp["rows"], "day", date=day),
            MetricValue(self.dataset, "completeness", comp["overall"], "day", date=day, details=comp["fields"]),
        ]
        # Valid and duplicate ratios of the day come from the counts its runs reported (stored per run).
        runs = QualityMetric.objects.filter(dataset=self.dataset, scope="run", date=day).order_by().values("metric")
        sums = {r["metric"]: r["total"] for r in runs.annotate(total=Sum("value"))}
        fetched = sums.get("fetched") or 0
        if fetched:
            valid, dups = sums.get("valid") or 0, sums.get("duplicates") or 0
            details = {"fetched": fetched, "valid": valid, "duplicates": dups, "from": "runs"}
            out.append(MetricValue(self.dataset, "valid_ratio", _pct(valid, fetched), "day", date=day, details=details))
            out.append(MetricValue(self.dataset, "duplicate_ratio", _pct(dups, fetched), "day", date=day))
        else:
            start, end = ist_day_bounds(day)
            rejected = QuarantinedRecord.objects.filter(dataset=self.dataset, created__gte=start, created__lt=end)
            rejected = rejected.count()
            total = comp["rows"] + rejected
            details = {"rows": comp["rows"], "rejected": rejected, "from": "warehouse and quarantine"}
            out.append(
                MetricValue(self.dataset, "valid_ratio", _pct(comp["rows"], total), "day", date=day, details=details)
            )
        if self.dataset == "social_mentions":
            gold = DailySocial.objects.filter(date=day).aggregate(n=Sum("mentions"))["n"] or 0
            out[0].details = {"daily_social_mentions": gold}
        return out

    # --- freshness ---------------------------------------------------------------------------------
    def freshness(self) -> MetricValue:
        """Age of the newest record: trading minutes (quotes), minutes (social) or late trading days (bars)."""
        newest = self._newest()
        today = self.now.astimezone(nse.IST).date()
        if newest is None:
            return MetricValue(self.dataset, "freshness", None, "hour", date=today, details={"newest": None})
        details = {"newest": newest.isoformat(), "market_open": nse.is_market_open(self.now)}
        if self.spec.time_field == "date":
            due_until = today if self.now.astimezone(nse.IST).time() >= BHAVCOPY_DUE else today - dt.timedelta(days=1)
            missing = nse.trading_days_between(newest, due_until)
            details.update(unit=FRESHNESS_UNITS[self.dataset], missing_days=[d.isoformat() for d in missing[:30]])
            return MetricValue(self.dataset, "freshness", float(len(missing)), "hour", date=today, details=details)
        wall = max(0.0, (self.now - newest).total_seconds() / 60)
        details["wall_clock_minutes"] = round(wall, 2)
        # With market hours, nights, weekends and exchange holidays do not count: only session minutes.
        value = nse.trading_seconds_between(newest, self.now) / 60 if self.spec.market_hours else wall
        details["unit"] = FRESHNESS_UNITS[self.dataset]
        return MetricValue(self.dataset, "freshness", round(value, 2), "hour", date=today, details=details)

    def _newest(self):
        """The newest record's time. A timestamped table is asked about its last week first: partition
        pruning and the BRIN index then read only that week (the plain MAX read all 50M quote rows); the
        whole table only when nothing is that recent."""
        tf, rows = self.spec.time_field, self.queryset()
        if tf != "date":
            since = self.now - dt.timedelta(days=FRESHNESS_RECENT_DAYS)
            recent = rows.filter(**{f"{tf}__gte": since}).aggregate(newest=Max(tf))["newest"]
            if recent is not None:
                return recent
        return rows.aggregate(newest=Max(tf))["newest"]

    # --- volume anomaly ----------------------------------------------------------------------------
    def volume_anomaly(self, window_start: dt.datetime | None = None) -> MetricValue | None:
        """Records in the last complete hour as a z-score against the same weekday and hour of earlier weeks.

        Earlier windows flagged as anomalies, exchange holidays and the current window stay out of the
        baseline; with fewer than ``VOLUME_MIN_HISTORY`` baseline windows the value is None (no judgement).
        Daily tables have no hourly volume: None.
        """
        if self.spec.time_field == "date":
            return None
        if window_start is None:
            local = self.now.astimezone(nse.IST).replace(minute=0, second=0, microsecond=0)
            window_start = local - dt.timedelta(hours=1)
        window_start = window_start.astimezone(nse.IST)
        window_end = window_start + dt.timedelta(hours=1)
        if self.spec.market_hours and not self._in_session(window_start, window_end):
            return None  # outside the session no quotes are expected: nothing to judge
        earlier, flagged = self._volume_baseline_windows(window_start)
        current, history = self._volume_counts(window_start, window_end, earlier)
        details = {
            "window_start": window_start.isoformat(),
            "current": current,
            "baseline": history,
            "excluded_anomalies": len(flagged),
        }
        if len(history) < VOLUME_MIN_HISTORY or not any(history):
            details.update(anomaly=False, reason=f"fewer than {VOLUME_MIN_HISTORY} earlier weeks with data")
            return MetricValue(
                self.dataset, "volume_zscore", None, "hour", date=window_start.date(), window_start=window_start,
                details=details,
            )  # fmt: skip
        mean = sum(history) / len(history)
        std = math.sqrt(sum((h - mean) ** 2 for h in history) / (len(history) - 1)) if len(history) > 1 else 0.0
        # Counts are Poisson-like: a perfectly steady baseline (std 0) must not turn one extra row into z=∞.
        std = max(std, math.sqrt(mean), 1.0)
        z = round((current - mean) / std, 3)
        details.update(mean=round(mean, 3), std=round(std, 3), anomaly=abs(z) >= VOLUME_ANOMALY_Z)
        return MetricValue(
            self.dataset, "volume_zscore", z, "hour", date=window_start.date(), window_start=window_start,
            details=details,
        )  # fmt: skip

    def _volume_baseline_windows(self, window_start: dt.datetime) -> tuple[list[dt.datetime], set]:
        """The same hour of the earlier weeks (trading days only for market data), less those flagged
        as anomalies before; and the flagged ones."""
        from .models import QualityMetric

        earlier = [window_start - dt.timedelta(weeks=w) for w in range(1, VOLUME_BASELINE_WEEKS + 1)]
        if self.spec.market_hours:
            earlier = [w for w in earlier if nse.is_trading_day(w.date())]
        flagged = set(
            QualityMetric.objects.filter(
                dataset=self.dataset, metric="volume_zscore", window_start__in=earlier, details__anomaly=True
            ).values_list("window_start", flat=True)
        )
        return [w for w in earlier if w not in flagged], flagged

    def _volume_counts(
        self, window_start: dt.datetime, window_end: dt.datetime, earlier: list[dt.datetime]
    ) -> tuple[int, list[int]]:
        """Records in the window, and in each earlier window (one query) less the oldest empty ones."""
        tf = self.spec.time_field
        windows = [window_start, *earlier]
        # Only rows inside some window are read (an OR of the windows: PostgreSQL reads each hour's block
        # ranges through the BRIN index, not the eight weeks between them).
        inside = [Q(**{f"{tf}__gte": w, f"{tf}__lt": w + dt.timedelta(hours=1)}) for w in windows]
        span = self.queryset().filter(functools.reduce(operator.or_, inside))
        counts = span.aggregate(**{f"w{i}": Count("pk", filter=window) for i, window in enumerate(inside)})
        history = [counts[f"w{i}"] for i in range(1, len(windows))]
        # Empty windows older than the oldest data are before collection began, not quiet hours.
        while history and history[-1] == 0:
            history.pop()
        return counts["w0"], history

    @staticmethod
    def _in_session(start: dt.datetime, end: dt.datetime) -> bool:
        day = start.date()
        if not nse.is_trading_day(day):
            return False
        open_, close = nse.session_bounds(day)
        return start < close and end > open_

    # --- per run -----------------------------------------------------------------------------------
    def run_metrics(
        self, *, run_id: int | None, counts: dict, lake_object_ids: list[int] | None = None
    ) -> list[MetricValue]:
        """The run's own counts and ratios, and the lake-against-warehouse reconciliation."""
        today = self.now.astimezone(nse.IST).date()
        c = {k: int(counts.get(k) or 0) for k in ("fetched", "valid", "rejected", "inserted", "duplicates")}
        out = [MetricValue(self.dataset, k, float(v), "run", run_id=run_id, date=today) for k, v in c.items()]
        if c["fetched"]:
            out.append(MetricValue(self.dataset, "valid_ratio", _pct(c["valid"], c["fetched"]), "run", run_id, today))
            out.append(
                MetricValue(self.dataset, "duplicate_ratio", _pct(c["duplicates"], c["fetched"]), "run", run_id, today)
            )
        if lake_object_ids:
            # Recounted from the tables, object by object (quality.reconciliation): a warehouse row
            # deleted since the load, or a record lost on the way, shows as a gap.
            lake_records, unaccounted = lake_objects_gaps(lake_object_ids=lake_object_ids)
            gap = sum(abs(item.gap) for item in unaccounted)
            details = {
                "lake_records": lake_records,
                "inserted": c["inserted"],
                "rejected": c["rejected"],
                "duplicates": c["duplicates"],
                "gap": gap,
                "lake_objects": list(lake_object_ids)[:100],
                "unaccounted": [item.as_dict() for item in unaccounted[:20]],
            }
            out.append(MetricValue(self.dataset, "reconciliation_gap", float(gap), "run", run_id, today, None, details))
        return out
