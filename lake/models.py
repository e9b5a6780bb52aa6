from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone


class LakeObject(models.Model):
    """Catalog row of one immutable lake object (one fetched batch, gzip JSON)."""

    class Status(models.TextChoices):
        STORED = "stored", "stored"
        LOADED = "loaded", "loaded"
        MISSING = "missing", "missing"
        CORRUPT = "corrupt", "corrupt"
        # Processing failed LAKE_MAX_ATTEMPTS times: left out of replay until someone resets it.
        FAILED = "failed", "failed"

    source = models.CharField(max_length=64)
    partition_date = models.DateField(help_text="UTC date of the payload's timestamp")
    key = models.CharField(max_length=512, unique=True, help_text="path relative to the lake root")
    timestamp = models.DateTimeField(help_text="when the payload was fetched")
    created = models.DateTimeField(default=timezone.now, help_text="when it was stored")
    bytes = models.BigIntegerField(help_text="compressed size")
    raw_bytes = models.BigIntegerField(help_text="size of the JSON before compression")
    records = models.IntegerField()
    sha256 = models.CharField(max_length=64)
    # A plain id, not a foreign key: the lake knows no other app (pipelines owns PipelineRun).
    run_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    simulated = models.BooleanField(default=False)
    schema_version = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.STORED)
    # The original bytes as received (a file, an upstream answer), before any decoding: a gzip object
    # beside the envelope. Empty when the batch was built in memory (the simulator, the seed API).
    raw_key = models.CharField(max_length=512, blank=True, default="")
    raw_sha256 = models.CharField(max_length=64, blank=True, default="", help_text="sha256 of the original bytes")
    raw_size = models.BigIntegerField(null=True, blank=True, help_text="length of the original bytes")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="failed processings so far")
    last_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-timestamp"]
        indexes = [
            models.Index(fields=["source", "partition_date"], name="lake_source_date_idx"),
            models.Index(fields=["status", "source"], name="lake_status_source_idx"),
        ]

    def __str__(self) -> str:
        return self.key


class LakeSourceDay(models.Model):
    """Running totals of the catalog per source and UTC day.

    Maintained in the same transaction as every catalog insert (F() increments) and rebuilt from the
    catalog after retention and lake_verify, so stats, sources and dates read a few hundred rows instead
    of aggregating every catalog row on each request.
    """

    source = models.CharField(max_length=64)
    partition_date = models.DateField()
    object_count = models.BigIntegerField(default=0)
    bytes = models.BigIntegerField(default=0)
    raw_bytes = models.BigIntegerField(default=0)
    records = models.BigIntegerField(default=0)
    simulated_objects = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["source", "-partition_date"]
        constraints = [models.UniqueConstraint(fields=["source", "partition_date"], name="lake_source_day_uniq")]
        verbose_name = "source day summary"
        verbose_name_plural = "source day summaries"

    def __str__(self) -> str:
        return f"{self.source} {self.partition_date}"


class LakeRetentionOverride(models.Model):
    """Keep one source's objects for a different number of days than LAKE_RETENTION_DAYS."""

    source = models.CharField(
        max_length=64,
        unique=True,
        validators=[RegexValidator(r"^[a-z0-9_]{1,64}$", "lower-case letters, digits and underscores only")],
        help_text="lake source name, e.g. nse_api",
    )
    days = models.PositiveIntegerField(
        validators=[MinValueValidator(1)], help_text="keep objects whose UTC date is at most this many days old"
    )
    note = models.CharField(max_length=200, blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["source"]
        verbose_name = "retention override"

    def __str__(self) -> str:
        return f"{self.source}: {self.days} days"

    def clean(self) -> None:
        """A source no pipeline stores and the lake holds none of is a typo: the source meant would keep
        LAKE_RETENTION_DAYS (a bhavcopy meant to be kept for years deleted after the default)."""
        super().clean()
        from pipelines.registry import PIPELINES  # (lazy: the lake sits below the pipelines)

        if not self.source:
            return
        known = {spec.source for spec in PIPELINES.values()}
        known |= set(LakeSourceDay.objects.values_list("source", flat=True).distinct())
        if self.source not in known:
            raise ValidationError(
                {"source": f"no pipeline stores {self.source!r} and the lake holds none of it; sources: "
                 f"{', '.join(sorted(known))}"}
            )  # fmt: skip
