from django.db import models
from django.utils import timezone


class PipelineRun(models.Model):
    """One run of one pipeline: the single truth that admin, API and pages read."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule"
        MANUAL = "manual"
        REPLAY = "replay"
        BACKFILL = "backfill"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCESS = "success"
        PARTIAL = "partial"
        FAILED = "failed"
        SKIPPED = "skipped"

    pipeline = models.CharField(max_length=32, help_text="nse_api, nse_bhavcopy, twitter, telegram")
    source = models.CharField(max_length=32, help_text="lake source the run wrote")
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.MANUAL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    simulated = models.BooleanField(default=False)
    params = models.JSONField(default=dict, blank=True, help_text="files, tickers, date range")
    created = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    stage_seconds = models.JSONField(default=dict, blank=True)
    fetched = models.IntegerField(default=0)
    stored = models.IntegerField(default=0, help_text="lake objects written")
    parsed = models.IntegerField(default=0)
    valid = models.IntegerField(default=0)
    rejected = models.IntegerField(default=0)
    inserted = models.IntegerField(default=0)
    duplicates = models.IntegerField(default=0)
    error = models.TextField(blank=True)
    traceback = models.TextField(blank=True)
    celery_task_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created"]
        indexes = [
            models.Index(fields=["pipeline", "-created"], name="run_pipeline_created_idx"),
            models.Index(fields=["status", "-created"], name="run_status_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.pipeline} #{self.pk} {self.status}"

    @property
    def duration(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None
