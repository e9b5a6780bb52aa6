from django.db import models
from django.utils import timezone


class LakeObject(models.Model):
    """Catalog row of one immutable lake object (one fetched batch, gzip JSON)."""

    class Status(models.TextChoices):
        STORED = "stored", "stored"
        LOADED = "loaded", "loaded"
        MISSING = "missing", "missing"
        CORRUPT = "corrupt", "corrupt"

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

    class Meta:
        ordering = ["-timestamp"]
        indexes = [
            models.Index(fields=["source", "partition_date"], name="lake_source_date_idx"),
            models.Index(fields=["status", "source"], name="lake_status_source_idx"),
        ]

    def __str__(self) -> str:
        return self.key
