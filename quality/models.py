"""Quality: rule sets, quarantine, stored metrics, checks, incidents and learned payload schemas."""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.errors import echo

from .rules import DATASETS, KINDS, SEVERITIES, Rule, rule_problems

DATASET_CHOICES = [(d, d.replace("_", " ")) for d in DATASETS]


# The metrics the quality passes measure (quality.metrics, and schema_drift from the drift check): what a
# QualityCheck can watch. A check of any other name would never be evaluated. A run's own counts are
# metrics too (a check can watch a run that fetched too little).
METRICS = (
    "valid_ratio",
    "duplicate_ratio",
    "completeness",
    "row_count",
    "freshness",
    "volume_zscore",
    "reconciliation_gap",
    "schema_drift",
    "fetched",
    "valid",
    "rejected",
    "inserted",
    "duplicates",
)

# What a dataset's freshness counts: NSE trading time for quotes, the clock for social chatter.
# What each dataset's freshness counts (``DataQualityMetrics.freshness``): session minutes for quotes
# (nights, weekends and holidays do not count), wall-clock minutes for social mentions, late trading
# days for the daily bars.
FRESHNESS_UNITS = {
    "stock_quotes": "trading minutes",
    "social_mentions": "minutes",
    "bhavcopy_rows": "trading days",
    "daily_bars": "trading days",
}


class ValidationRule(models.Model):
    """One declarative rule of a dataset's rule set; thresholds, severity and on/off editable in admin."""

    dataset = models.CharField(max_length=32, choices=DATASET_CHOICES)
    name = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, choices=[(k, k) for k in KINDS])
    columns = models.JSONField(default=list, help_text='column names, e.g. ["high", "open"]')
    params = models.JSONField(default=dict, blank=True, help_text='thresholds, e.g. {"min": 0, "max": 100}')
    severity = models.CharField(
        max_length=8,
        choices=[(s, s) for s in SEVERITIES],
        default="error",
        help_text="error: the record is rejected; warn: it is kept and flagged",
    )
    enabled = models.BooleanField(default=True)
    description = models.CharField(max_length=255, blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["dataset", "id"]
        constraints = [models.UniqueConstraint(fields=["dataset", "name"], name="quality_rule_dataset_name_uniq")]

    def __str__(self) -> str:
        return f"{self.dataset}: {self.name}"

    def clean(self) -> None:
        """A rule the validator cannot apply is refused where it is written (admin), naming what is wrong."""
        super().clean()
        problems = rule_problems(kind=self.kind, columns=self.columns, params=self.params, dataset=self.dataset)
        if problems:
            raise ValidationError(problems)

    def to_rule(self) -> Rule:
        return Rule(
            name=self.name,
            kind=self.kind,
            columns=tuple(self.columns or ()),
            params=dict(self.params or {}),
            severity=self.severity,
            description=self.description,
        )


class QuarantinedRecord(models.Model):
    """A rejected record with every rule it failed. Nothing is dropped silently; reprocess re-validates."""

    class Status(models.TextChoices):
        QUARANTINED = "quarantined", "quarantined"
        RECOVERED = "recovered", "recovered"

    dataset = models.CharField(max_length=32, choices=DATASET_CHOICES)
    # A plain id, not a foreign key: quality must not import pipelines (PipelineRun lives there).
    run_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    lake_object = models.ForeignKey(
        "lake.LakeObject", null=True, blank=True, on_delete=models.SET_NULL, db_constraint=False, related_name="+"
    )
    record = models.JSONField()
    reasons = models.JSONField(help_text="[{rule, column, value, message, severity}]")
    # "|rule_a|rule_b|": filtering by rule with a plain LIKE works the same on PostgreSQL and SQLite.
    rule_names = models.CharField(max_length=1024, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUARANTINED)
    recovered_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = "quarantined record"
        indexes = [
            models.Index(fields=["dataset", "status", "-created"], name="quality_quar_ds_status_idx"),
            models.Index(fields=["-created"], name="quality_quar_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.dataset} #{self.pk}: {self.rule_names.strip('|').replace('|', ', ')}"

    @property
    def rules(self) -> list[str]:
        return [r for r in self.rule_names.split("|") if r]


class QualityMetric(models.Model):
    """One evaluated metric value; every evaluation is stored, so trends can be queried."""

    class Scope(models.TextChoices):
        RUN = "run", "pipeline run"
        DAY = "day", "day"
        HOUR = "hour", "hour"

    dataset = models.CharField(max_length=32)
    metric = models.CharField(max_length=64)
    value = models.FloatField(null=True, blank=True)
    scope = models.CharField(max_length=8, choices=Scope.choices)
    run_id = models.BigIntegerField(null=True, blank=True)
    date = models.DateField(null=True, blank=True, help_text="IST date the value describes")
    window_start = models.DateTimeField(null=True, blank=True, help_text="hour window (volume anomaly)")
    details = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-computed_at", "-id"]
        indexes = [
            models.Index(fields=["dataset", "metric", "-computed_at"], name="quality_metric_series_idx"),
            models.Index(fields=["metric", "window_start"], name="quality_metric_window_idx"),
            models.Index(fields=["run_id"], name="quality_metric_run_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.dataset} {self.metric}={self.value}"


class QualityCheck(models.Model):
    """A threshold on a metric of a dataset, evaluated after each run and hourly."""

    class Direction(models.TextChoices):
        BELOW = "below", "fails when the value falls below the threshold"
        ABOVE = "above", "fails when the value rises above the threshold"
        ABS_ABOVE = "abs_above", "fails when the value's size (either sign) rises above the threshold"

    class Unit(models.TextChoices):
        PERCENT = "percent", "percent"
        COUNT = "count", "count"
        MINUTES = "minutes", "trading minutes"
        DAYS = "days", "trading days"
        SCORE = "score", "z-score"

    class Status(models.TextChoices):
        UNKNOWN = "unknown", "not evaluated yet"
        OK = "ok", "ok"
        WARN = "warn", "warning"
        FAIL = "fail", "failing"

    name = models.CharField(max_length=128, unique=True)
    dataset = models.CharField(max_length=32, choices=DATASET_CHOICES)
    metric = models.CharField(max_length=64, help_text="e.g. valid_ratio, completeness, freshness, volume_zscore")
    direction = models.CharField(max_length=16, choices=Direction.choices, default=Direction.BELOW)
    unit = models.CharField(max_length=16, choices=Unit.choices, default=Unit.PERCENT)
    warn_threshold = models.FloatField(null=True, blank=True)
    fail_threshold = models.FloatField()
    enabled = models.BooleanField(default=True)
    description = models.CharField(max_length=255, blank=True, help_text="what it means, in plain words")
    last_status = models.CharField(max_length=8, choices=Status.choices, default=Status.UNKNOWN)
    last_value = models.FloatField(null=True, blank=True)
    last_scope = models.CharField(
        max_length=8,
        blank=True,
        help_text='what the last value measured: "run" (the last run alone), "day" (today so far) or "hour"',
    )
    last_evaluated = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["dataset", "metric", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Refuse a check that would never evaluate (a metric no pass measures) or never warn (a warning
        level past the failing one), naming why on the admin form."""
        super().clean()
        errors: dict[str, str] = {}
        if self.metric not in METRICS:
            errors["metric"] = f"no metric is called {echo(self.metric)}; the measured ones: {', '.join(METRICS)}"
        warn, fail = self.warn_threshold, self.fail_threshold
        if self.direction == self.Direction.ABS_ABOVE:
            for name, value in (("warn_threshold", warn), ("fail_threshold", fail)):
                if value is not None and value < 0:
                    errors[name] = f"a size (either sign) is never below 0; got {value:g}"
        if warn is not None and fail is not None and "warn_threshold" not in errors:
            below = self.direction == self.Direction.BELOW
            if (warn < fail) if below else (warn > fail):
                errors["warn_threshold"] = (
                    f"a check that fails {self.breach_words}{fail:g} warns first, at {fail:g} or "
                    f"{'above' if below else 'below'}; got {warn:g}"
                )
        if errors:
            raise ValidationError(errors)

    @property
    def breach_words(self) -> str:
        """How the value breaches a threshold, before it: "below ", "above ", "beyond ±"."""
        return {"below": "below ", "above": "above ", "abs_above": "beyond ±"}[self.direction]

    def status_for(self, value: float | None) -> str:
        """ok / warn / fail for ``value`` (unknown when there is no value)."""
        if value is None:
            return self.Status.UNKNOWN
        measured = abs(value) if self.direction == self.Direction.ABS_ABOVE else value

        def breaches(threshold):
            if threshold is None:
                return False
            return measured < threshold if self.direction == self.Direction.BELOW else measured > threshold

        if breaches(self.fail_threshold):
            return self.Status.FAIL
        if breaches(self.warn_threshold):
            return self.Status.WARN
        return self.Status.OK

    @property
    def unit_label(self) -> str:
        """The unit as read in messages and pages: minutes are the dataset's freshness minutes (wall-clock
        for social mentions, trading minutes for quotes, the label of ``Unit.MINUTES``)."""
        if self.unit == self.Unit.MINUTES:
            return FRESHNESS_UNITS.get(self.dataset, self.get_unit_display())
        return self.get_unit_display()


class QualityIncident(models.Model):
    """A failing check, open until the check passes or someone resolves it in admin. One alert per incident."""

    class Status(models.TextChoices):
        OPEN = "open", "open"
        RESOLVED = "resolved", "resolved"

    check_ref = models.ForeignKey(QualityCheck, on_delete=models.CASCADE, related_name="incidents")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=150, blank=True, help_text='"check passed" or the admin user')
    first_value = models.FloatField(null=True, blank=True)
    last_value = models.FloatField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=1, help_text="evaluations that failed while open")
    run_id = models.BigIntegerField(null=True, blank=True)
    message = models.TextField(blank=True)
    alerted_channels = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            # At most one open incident per check: the database, not a race, decides who alerts.
            models.UniqueConstraint(fields=["check_ref"], condition=Q(status="open"), name="quality_one_open_incident")
        ]

    def __str__(self) -> str:
        return f"{self.check_ref} ({self.status})"


class LearnedSchema(models.Model):
    """The key paths and JSON types seen in the raw payloads of one source, learned object by object."""

    source = models.CharField(max_length=64, unique=True)
    # {"priceInfo.lastPrice": {"types": ["number"], "seen": 12, "absent": 0}, ...}
    keys = models.JSONField(default=dict)
    # How many objects were visited at each container path ("" the records, "data[]" a list's items):
    # a key's "absent" counts the visits it was missing from, 0 for a key every such object had.
    containers = models.JSONField(default=dict)
    objects_seen = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["source"]

    def __str__(self) -> str:
        return f"{self.source} ({len(self.keys)} keys)"


class PumpAlertSetting(models.Model):
    """The threshold of the daily pump score above which a ticker-day alerts (one row, edited in admin)."""

    threshold = models.FloatField(
        default=0.6,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],  # a score is 0 to 1: beyond, never or always
        help_text="a ticker-day whose pump score (0 to 1) reaches this alerts once (log, email, webhook)",
    )
    enabled = models.BooleanField(default=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "pump alert setting"

    def __str__(self) -> str:
        return f"pump alerts at {self.threshold:g}" + ("" if self.enabled else " (off)")

    @classmethod
    def current(cls) -> "PumpAlertSetting":
        setting = cls.objects.order_by("pk").first()
        return setting if setting is not None else cls.objects.create()


class PumpAlert(models.Model):
    """One alert for one ticker and day whose pump score crossed the threshold: the unique key de-duplicates."""

    ticker = models.CharField(max_length=32)
    date = models.DateField()
    pump_score = models.FloatField()
    threshold = models.FloatField()
    message = models.TextField(blank=True)
    alerted_channels = models.JSONField(default=list, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-date", "-pump_score"]
        constraints = [models.UniqueConstraint(fields=["ticker", "date"], name="quality_pump_alert_ticker_day")]

    def __str__(self) -> str:
        return f"{self.ticker} {self.date} ({self.pump_score:.2f})"


class LakeObjectAccount(models.Model):
    """How one processed lake object's records were accounted for, for the reconciliation.

    ``records`` are the records the pipeline read out of the object (quotes, bars, or social rows:
    one per message and ticker, plus messages naming no ticker and reposts; an unreadable payload
    counts one). ``duplicates`` are those that became neither a warehouse row of this object nor a
    quarantined record (repeats, reposts, keys another object's row holds), recorded when the object
    was processed. The reconciliation recounts rows and quarantine from the tables, so a row deleted
    since, or a record lost, shows as a gap.
    """

    lake_object = models.OneToOneField(
        "lake.LakeObject", on_delete=models.CASCADE, db_constraint=False, related_name="+", primary_key=True
    )
    dataset = models.CharField(max_length=32, choices=DATASET_CHOICES)
    records = models.IntegerField()
    duplicates = models.IntegerField(default=0)
    run_id = models.BigIntegerField(null=True, blank=True)
    updated = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "lake object account"
        indexes = [models.Index(fields=["-updated"], name="quality_account_updated_idx")]

    def __str__(self) -> str:
        return f"lake object {self.lake_object_id}: {self.records} records"
