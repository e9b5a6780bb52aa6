import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

# A public Telegram username (an optional "@" before it): it becomes a path, t.me/s/<username>, so nothing else
# may pass ("../", "?", "/", spaces). Telegram's own rule is 5 to 32 characters; auctioned ones have 4.
TELEGRAM_USERNAME = re.compile(r"@?([A-Za-z][A-Za-z0-9_]{3,31})")
TELEGRAM_USERNAME_RULE = "a Telegram username: 4 to 32 letters, digits and underscores, starting with a letter"


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
    skipped = models.IntegerField(
        default=0, help_text="items that are no record: photos without text, service messages, posts stored before"
    )
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


class ConnectorState(models.Model):
    """What a connector must remember between runs (Twitter `since_id`, Telegram `offset`), per source and key.

    Written only after a run has stored what it fetched, so a crash never skips data (at worst it
    fetches a page twice, and loads are idempotent).
    """

    source = models.CharField(max_length=32, help_text="nse_api, nse_bhavcopy, twitter, telegram")
    key = models.CharField(max_length=255, default="default", help_text="e.g. the search query or the bot")
    value = models.JSONField(default=dict, blank=True, help_text="e.g. {'since_id': '…'} or {'offset': 123}")
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "connector state"
        constraints = [models.UniqueConstraint(fields=["source", "key"], name="connector_state_source_key_uniq")]

    def __str__(self) -> str:
        return f"{self.source}/{self.key}"

    def clean(self) -> None:
        """A state its connector could not resume from is refused where it is written (admin), saying why."""
        from pipelines.connectors.state import connector_state_problems

        super().clean()
        problems = connector_state_problems(self.source, self.value)
        if problems:
            raise ValidationError(problems)


class TelegramChannel(models.Model):
    """A Telegram channel or group the telegram connector follows (edited in admin).

    Updates from chats that are not listed here, or are listed but inactive, are skipped by the
    connector when at least one channel is listed; with none listed every update the bot sees is kept.
    Active channels with a public username (and ``web_preview`` on) are also read through their public
    web preview, ``t.me/s/<username>``, which needs no bot and no credentials.
    """

    chat_id = models.BigIntegerField(null=True, blank=True, unique=True, help_text="e.g. -1001241558182")
    username = models.CharField(
        max_length=64,
        blank=True,
        validators=[RegexValidator(rf"\A{TELEGRAM_USERNAME.pattern}\Z", TELEGRAM_USERNAME_RULE)],
        help_text="public @username, without the @",
    )
    title = models.CharField(max_length=255, blank=True)
    active = models.BooleanField(default=True)
    web_preview = models.BooleanField(
        default=True,
        help_text="read the public channel's web preview, https://t.me/s/<username> (no credentials needed)",
    )
    notes = models.TextField(blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["title", "username"]
        verbose_name = "Telegram channel"

    def __str__(self) -> str:
        return self.title or (f"@{self.username}" if self.username else str(self.chat_id))


class PipelineLock(models.Model):
    """The lock that keeps two runs of one pipeline from overlapping (see pipelines/services/runs.py)."""

    pipeline = models.CharField(max_length=32, unique=True)
    holder_run_id = models.BigIntegerField(null=True, blank=True)
    acquired_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.pipeline} lock ({'held by run ' + str(self.holder_run_id) if self.holder_run_id else 'free'})"
