"""Quality API (thin views): summary, metrics, checks, rejects, incidents. Mounted at /api/data/quality/."""

import datetime as dt

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import query_int
from core.errors import date_in_range, echo

from . import selectors
from .models import QualityCheck, QualityIncident, QualityMetric, QuarantinedRecord
from .rules import DATASETS

MAX_POINTS = 10_000


def _dataset(request, *, required=False):
    value = request.query_params.get("dataset") or None
    if value is None and required:
        raise ValidationError({"detail": "dataset: required"})
    if value is not None and value not in DATASETS:
        raise ValidationError({"detail": f"dataset: unknown {value[:40]!r}; expected one of {', '.join(DATASETS)}"})
    return value


class MetricSerializer(serializers.ModelSerializer):
    class Meta:
        model = QualityMetric
        fields = [
            "id",
            "dataset",
            "metric",
            "value",
            "scope",
            "run_id",
            "date",
            "window_start",
            "details",
            "computed_at",
        ]


class CheckSerializer(serializers.ModelSerializer):
    open_incident = serializers.IntegerField(allow_null=True, read_only=True)

    class Meta:
        model = QualityCheck
        fields = [
            "id", "name", "dataset", "metric", "direction", "unit", "warn_threshold", "fail_threshold", "enabled",
            "description", "last_status", "last_value", "last_scope", "last_evaluated", "open_incident",
        ]  # fmt: skip


class RejectSerializer(serializers.ModelSerializer):
    rules = serializers.ListField(child=serializers.CharField(), read_only=True)
    lake_object_id = serializers.IntegerField(allow_null=True, read_only=True)

    class Meta:
        model = QuarantinedRecord
        fields = ["id", "dataset", "run_id", "lake_object_id", "status", "rules", "reasons", "record", "created"]


class IncidentSerializer(serializers.ModelSerializer):
    check_name = serializers.CharField(source="check_ref.name", read_only=True)
    dataset = serializers.CharField(source="check_ref.dataset", read_only=True)
    metric = serializers.CharField(source="check_ref.metric", read_only=True)

    class Meta:
        model = QualityIncident
        fields = [
            "id", "check_name", "dataset", "metric", "status", "opened_at", "last_seen", "resolved_at",
            "resolved_by", "first_value", "last_value", "failures", "run_id", "message", "alerted_channels",
        ]  # fmt: skip


class SummaryApi(APIView):
    """Per dataset: score (0-100), completeness and valid ratio (%), freshness, today's rows, open incidents."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response({"datasets": selectors.quality_summary(), "market": selectors.market_status()})


class UnaccountedApi(APIView):
    """Lake objects processed in the last ?days= (1-90, default 7) whose records do not add up now."""

    @extend_schema(
        parameters=[OpenApiParameter("days", int, description="1-90, default 7")],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        days = query_int(request.query_params, "days", default=7, lo=1, hi=90)
        items = selectors.lake_objects_unaccounted(days=days)
        return Response({"days": days, "objects": [item.as_dict() for item in items]})


class MetricsApi(APIView):
    """Time series of stored metric values: ?dataset=&metric=&days= (1-365, default 7), oldest first."""

    @extend_schema(
        parameters=[
            OpenApiParameter("dataset", str, enum=list(DATASETS)),
            OpenApiParameter("metric", str),
            OpenApiParameter("days", int, description="1-365, default 7"),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        dataset = _dataset(request)
        metric = request.query_params.get("metric") or None
        if metric is not None and (len(metric) > 64 or not metric.replace("_", "").isalnum()):
            raise ValidationError({"detail": f"metric: not a metric name: {metric[:40]!r}"})
        days = query_int(request.query_params, "days", default=7, lo=1, hi=365)
        qs = selectors.metric_series(dataset=dataset, metric=metric, days=days)
        points = list(qs[: MAX_POINTS + 1])
        return Response(
            {
                "dataset": dataset,
                "metric": metric,
                "days": days,
                "truncated": len(points) > MAX_POINTS,
                "results": MetricSerializer(points[:MAX_POINTS], many=True).data,
            }
        )


class ChecksApi(APIView):
    """Every check with its thresholds and latest status (ok / warn / fail / unknown) and open incident."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response({"results": CheckSerializer(selectors.checks_status(), many=True).data})


class RejectsApi(APIView):
    """Quarantined records with their reasons: ?dataset=&date=YYYY-MM-DD (IST)&rule=&status=, paginated."""

    @extend_schema(
        parameters=[
            OpenApiParameter("dataset", str, enum=list(DATASETS)),
            OpenApiParameter("date", OpenApiTypes.DATE, description="IST date, 1990-01-01 to 2100-12-31"),
            OpenApiParameter("rule", str),
            OpenApiParameter("status", str, enum=list(QuarantinedRecord.Status.values)),
            OpenApiParameter("page", int),
        ],
        responses=RejectSerializer(many=True),
    )
    def get(self, request):
        dataset = _dataset(request)
        day = None
        raw_date = request.query_params.get("date")
        if raw_date:
            try:
                day = date_in_range(dt.date.fromisoformat(raw_date))
            except ValueError:
                raise ValidationError(
                    {"detail": f"date: expected YYYY-MM-DD from 1990 to 2100, got {echo(raw_date)}"}
                ) from None
        rule = request.query_params.get("rule") or None
        if rule is not None and rule not in selectors.known_rules():
            raise ValidationError({"detail": f"rule: unknown rule {rule[:64]!r}"})
        status = request.query_params.get("status") or None
        if status is not None and status not in QuarantinedRecord.Status.values:
            raise ValidationError({"detail": "status: expected quarantined or recovered"})
        qs = selectors.rejects_list(dataset=dataset, day=day, rule=rule, status=status)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(RejectSerializer(page, many=True).data)


class IncidentsApi(APIView):
    """Incidents, newest first: ?status=open|resolved, paginated."""

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=list(QualityIncident.Status.values)),
            OpenApiParameter("page", int),
        ],
        responses=IncidentSerializer(many=True),
    )
    def get(self, request):
        status = request.query_params.get("status") or None
        if status is not None and status not in QualityIncident.Status.values:
            raise ValidationError({"detail": "status: expected open or resolved"})
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(selectors.incidents_list(status=status), request, view=self)
        return paginator.get_paginated_response(IncidentSerializer(page, many=True).data)
