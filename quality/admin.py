"""Admin: rule sets and checks are edited here; quarantine, metrics and incidents are browsed."""

from django.contrib import admin, messages

from .models import (
    LearnedSchema,
    PumpAlert,
    PumpAlertSetting,
    QualityCheck,
    QualityIncident,
    QualityMetric,
    QuarantinedRecord,
    ValidationRule,
)
from .services import incidents_resolve, rejects_revalidate


@admin.register(ValidationRule)
class ValidationRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "dataset", "kind", "columns", "params", "severity", "enabled")
    list_editable = ("params", "severity", "enabled")
    list_filter = ("dataset", "kind", "severity", "enabled")
    search_fields = ("name", "description")


@admin.register(QuarantinedRecord)
class QuarantinedRecordAdmin(admin.ModelAdmin):
    list_display = ("id", "dataset", "rule_names", "status", "run_id", "lake_object_id", "created")
    list_filter = ("dataset", "status", "created")
    search_fields = ("rule_names",)
    readonly_fields = [f.name for f in QuarantinedRecord._meta.fields]
    actions = ["revalidate"]

    @admin.action(description="Re-validate the selected datasets' quarantine with the current rules")
    def revalidate(self, request, queryset):
        recovered = 0
        for dataset in sorted(set(queryset.values_list("dataset", flat=True))):
            recovered += rejects_revalidate(dataset=dataset).recovered_count
        self.message_user(
            request, f"{recovered} records now pass and are marked recovered; reprocess loads them.", messages.INFO
        )


@admin.register(QualityMetric)
class QualityMetricAdmin(admin.ModelAdmin):
    list_display = ("computed_at", "dataset", "metric", "value", "scope", "run_id", "date")
    list_filter = ("dataset", "metric", "scope")
    readonly_fields = [f.name for f in QualityMetric._meta.fields]
    date_hierarchy = "computed_at"


@admin.register(QualityCheck)
class QualityCheckAdmin(admin.ModelAdmin):
    list_display = (
        "name", "dataset", "metric", "direction", "unit", "warn_threshold", "fail_threshold", "enabled",
        "last_status", "last_value", "last_scope", "last_evaluated",
    )  # fmt: skip
    list_editable = ("warn_threshold", "fail_threshold", "enabled")
    list_filter = ("dataset", "metric", "last_status", "enabled")
    readonly_fields = ("last_status", "last_value", "last_scope", "last_evaluated")


@admin.register(QualityIncident)
class QualityIncidentAdmin(admin.ModelAdmin):
    list_display = ("id", "check_ref", "status", "opened_at", "last_seen", "failures", "last_value", "resolved_by")
    list_filter = ("status", "check_ref__dataset")
    readonly_fields = (
        "check_ref", "opened_at", "last_seen", "first_value", "last_value", "failures", "run_id", "message",
        "alerted_channels", "resolved_at", "resolved_by",
    )  # fmt: skip
    actions = ["resolve"]

    @admin.action(description="Resolve the selected incidents")
    def resolve(self, request, queryset):
        count = incidents_resolve(ids=queryset.values_list("pk", flat=True), user=request.user.get_username())
        self.message_user(request, f"{count} incidents resolved.", messages.SUCCESS)


@admin.register(LearnedSchema)
class LearnedSchemaAdmin(admin.ModelAdmin):
    list_display = ("source", "objects_seen", "updated")
    readonly_fields = ("objects_seen", "created", "updated")


@admin.register(PumpAlertSetting)
class PumpAlertSettingAdmin(admin.ModelAdmin):
    list_display = ("__str__", "threshold", "enabled", "updated")
    list_editable = ("threshold", "enabled")
    list_display_links = ("__str__",)

    def has_add_permission(self, request):
        return not PumpAlertSetting.objects.exists()  # one setting


@admin.register(PumpAlert)
class PumpAlertAdmin(admin.ModelAdmin):
    list_display = ("date", "ticker", "pump_score", "threshold", "alerted_channels", "created")
    list_filter = ("date",)
    search_fields = ("ticker",)
    readonly_fields = [f.name for f in PumpAlert._meta.fields]

    def has_add_permission(self, request):
        return False
