"""Admin: the catalog read-only (with a decoded-content view), retention overrides editable."""

import json

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from core.admin import ReadOnlyAdmin
from lake.models import LakeObject, LakeRetentionOverride, LakeSourceDay
from lake.services import LakeReadError, lake_object_read, lake_objects_reset


class SourceFilter(admin.SimpleListFilter):
    """Sources from the summary table: no DISTINCT over the whole catalog on every page view."""

    title = "source"
    parameter_name = "source"

    def lookups(self, request, model_admin):
        names = LakeSourceDay.objects.order_by("source").values_list("source", flat=True).distinct()
        return [(name, name) for name in names]

    def queryset(self, request, queryset):
        return queryset.filter(source=self.value()) if self.value() else queryset


@admin.register(LakeObject)
class LakeObjectAdmin(ReadOnlyAdmin):
    list_display = (
        "key", "source", "partition_date", "status", "attempts", "simulated", "records", "bytes", "created", "content",
    )  # fmt: skip
    actions = ["reset_failed"]
    list_filter = (SourceFilter, "partition_date", "status", "simulated")
    search_fields = ("key",)
    date_hierarchy = "partition_date"
    readonly_fields = [f.name for f in LakeObject._meta.fields] + ["content"]

    @admin.display(description="content")
    def content(self, obj):
        url = reverse("admin:lake_lakeobject_content", args=[obj.pk])
        return format_html('<a href="{}">view decoded content</a>', url)

    @admin.action(description="Reset failed objects (replay them again)")
    def reset_failed(self, request, queryset):
        reset = lake_objects_reset(queryset.values_list("pk", flat=True))
        self.message_user(request, f"{reset} failed object(s) reset: the next replay loads them.")

    # Read-only (ReadOnlyAdmin): objects leave the lake only through retention, which keeps storage and
    # catalog in step.

    def get_urls(self):
        extra = [
            path(
                "<int:object_id>/content/",
                self.admin_site.admin_view(self.content_view),
                name="lake_lakeobject_content",
            )
        ]
        return extra + super().get_urls()

    def content_view(self, request, object_id: int):
        """The object's envelope as pretty JSON, escaped by the template (the content is untrusted)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        obj = get_object_or_404(LakeObject, pk=object_id)
        error, text = None, ""
        try:
            text = json.dumps(lake_object_read(obj), indent=2, ensure_ascii=False)
        except LakeReadError as exc:
            error = str(exc)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": obj,
            "title": f"Content of {obj.key}",
            "content_text": text,
            "error": error,
            "download_url": reverse("lake-object-download", args=[obj.pk]),
        }
        return TemplateResponse(request, "lake/admin_content.html", context)


@admin.register(LakeRetentionOverride)
class LakeRetentionOverrideAdmin(admin.ModelAdmin):
    list_display = ("source", "days", "note", "updated")
    search_fields = ("source",)


@admin.register(LakeSourceDay)
class LakeSourceDayAdmin(ReadOnlyAdmin):
    list_display = ("source", "partition_date", "object_count", "records", "bytes", "raw_bytes", "simulated_objects")
    list_filter = ("source",)

    @admin.action(description="Reset failed objects (replay them again)")
    def reset_failed(self, request, queryset):
        reset = lake_objects_reset(queryset.values_list("pk", flat=True))
        self.message_user(request, f"{reset} failed object(s) reset: the next replay loads them.")
