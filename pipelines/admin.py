"""Admin for the pipelines app.

Connector state and the Telegram channels to follow live here; the PipelineRun admin goes in the
marked section below. The beat schedules (django-celery-beat's Periodic tasks) get their arguments checked
(``pipelines.schedules``).
"""

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django_celery_beat.admin import PeriodicTaskAdmin, PeriodicTaskForm
from django_celery_beat.models import PeriodicTask

from core.admin import ReadOnlyAdmin
from pipelines.models import ConnectorState, PipelineLock, PipelineRun, TelegramChannel
from pipelines.schedules import schedule_problems

# --- PipelineRun admin -------------------------------------------------------------------------


@admin.register(PipelineRun)
class PipelineRunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "pipeline",
        "trigger",
        "status",
        "simulated",
        "started_at",
        "duration_display",
        "fetched",
        "inserted",
        "rejected",
        "duplicates",
        "lake_objects_link",
        "rejects_link",
    )
    list_filter = ("pipeline", "status", "trigger", "simulated", ("created", admin.DateFieldListFilter))
    date_hierarchy = "created"
    search_fields = ("id", "error", "celery_task_id")
    readonly_fields = [f.name for f in PipelineRun._meta.fields] + ["lake_objects_link", "rejects_link"]

    @admin.display(description="took")
    def duration_display(self, run):
        return f"{run.duration:.1f} s" if run.duration is not None else "-"

    @admin.display(description="lake objects")
    def lake_objects_link(self, run):
        url = reverse("admin:lake_lakeobject_changelist") + f"?run_id={run.pk}"
        return format_html('<a href="{}">{} stored</a>', url, run.stored)

    @admin.display(description="rejected records")
    def rejects_link(self, run):
        url = reverse("admin:quality_quarantinedrecord_changelist") + f"?run_id={run.pk}"
        return format_html('<a href="{}">{} rejected</a>', url, run.rejected)


@admin.register(PipelineLock)
class PipelineLockAdmin(ReadOnlyAdmin):
    list_display = ("pipeline", "holder_run_id", "acquired_at", "expires_at")


# --- Connectors ---------------------------------------------------------------------------------


@admin.register(TelegramChannel)
class TelegramChannelAdmin(admin.ModelAdmin):
    list_display = ("__str__", "chat_id", "username", "active", "web_preview", "created")
    list_filter = ("active", "web_preview")
    list_editable = ("active", "web_preview")
    search_fields = ("title", "username", "chat_id")


@admin.register(ConnectorState)
class ConnectorStateAdmin(admin.ModelAdmin):
    list_display = ("source", "key", "value", "updated")
    list_filter = ("source",)
    search_fields = ("source", "key")
    readonly_fields = ("updated",)


# --- Beat schedules ------------------------------------------------------------------------------


class ScheduleForm(PeriodicTaskForm):
    """django-celery-beat's form, which checks that args and kwargs are JSON, and then what the task takes."""

    def clean(self):
        data = super().clean()
        if "args" in data and "kwargs" in data:  # (else the form already says why they are no JSON)
            problems = schedule_problems(data.get("task") or "", data["args"], data["kwargs"])
            if problems:
                raise forms.ValidationError(problems)
        return data


admin.site.unregister(PeriodicTask)


@admin.register(PeriodicTask)
class ScheduleAdmin(PeriodicTaskAdmin):
    form = ScheduleForm
