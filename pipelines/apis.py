from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import query_int
from lake.services import data_lake
from warehouse.selectors import busiest_ticker, ticker_timeline
from warehouse.services import warehouse

from .models import PipelineRun
from .registry import PIPELINES
from .selectors import next_scheduled_runs, runs_list, runs_loaded_last_day, ticker_daily, trading_days_loaded
from .services import BrokerUnavailable, pipeline_run_queue


class PipelineRunSerializer(serializers.ModelSerializer):
    duration_seconds = serializers.FloatField(source="duration", read_only=True)

    class Meta:
        model = PipelineRun
        fields = [
            "id",
            "pipeline",
            "source",
            "trigger",
            "status",
            "simulated",
            "params",
            "created",
            "started_at",
            "finished_at",
            "duration_seconds",
            "stage_seconds",
            "fetched",
            "stored",
            "parsed",
            "valid",
            "rejected",
            "inserted",
            "duplicates",
            "skipped",
            "error",
            "celery_task_id",
            "traceback",
        ]

    # Server file paths, tracebacks and task ids are for staff: other API users see the run without them.
    STAFF_ONLY = ("params", "celery_task_id", "traceback")

    def to_representation(self, instance):
        data = super().to_representation(instance)
        request = self.context.get("request")
        if not (request is not None and request.user.is_staff):
            for name in self.STAFF_ONLY:
                data.pop(name, None)
        return data


class PipelineRunListApi(generics.ListAPIView):
    """Run history, newest first; filters ``pipeline``, ``status``, ``trigger``."""

    serializer_class = PipelineRunSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("pipeline", str),
            OpenApiParameter("status", str),
            OpenApiParameter("trigger", str),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        pipeline = params.get("pipeline")
        known = [*PIPELINES, "replay"]  # a replay of chosen lake objects is a run of its own kind
        if pipeline and pipeline not in known:
            raise ValidationError({"pipeline": f"expected one of {', '.join(known)}"})
        status_ = params.get("status")
        if status_ and status_ not in PipelineRun.Status.values:
            raise ValidationError({"status": f"expected one of {', '.join(PipelineRun.Status.values)}"})
        trigger = params.get("trigger")
        if trigger and trigger not in PipelineRun.Trigger.values:
            raise ValidationError({"trigger": f"expected one of {', '.join(PipelineRun.Trigger.values)}"})
        runs = runs_list(pipeline=pipeline or None, status=status_ or None)
        return runs.filter(trigger=trigger) if trigger else runs


class PipelineRunDetailApi(generics.RetrieveAPIView):
    serializer_class = PipelineRunSerializer
    queryset = PipelineRun.objects.all()


class PipelineRunNowApi(APIView):
    """Staff only: queue a run of the pipeline now; answers its id (202), or 409 when one is active,
    or 503 when the task broker is down (the run is then recorded as failed, with the reason)."""

    permission_classes = [IsAdminUser]

    @extend_schema(
        request=None, responses={202: PipelineRunSerializer, 409: PipelineRunSerializer, 503: PipelineRunSerializer}
    )
    def post(self, request, name: str):
        if name not in PIPELINES:
            raise NotFound(f"unknown pipeline {name!r}; expected one of: {', '.join(PIPELINES)}")
        try:
            queued = pipeline_run_queue(pipeline=name, user=request.user.get_username())
        except BrokerUnavailable as exc:
            body = {**PipelineRunSerializer(exc.run, context={"request": request}).data, "detail": exc.run.error}
            return Response(body, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        body = PipelineRunSerializer(queued.run, context={"request": request}).data
        if not queued.queued:
            body["detail"] = queued.run.error
            return Response(body, status=status.HTTP_409_CONFLICT)
        return Response(body, status=status.HTTP_202_ACCEPTED)


class OverviewApi(APIView):
    """Everything the pipelines page shows: pipelines with last and next runs, stats, recent runs."""

    @extend_schema(responses=dict)
    def get(self, request):
        schedules = next_scheduled_runs()
        recent = list(runs_list()[:20])
        last_by_pipeline = {}
        for name in PIPELINES:
            last = runs_list(pipeline=name).exclude(status=PipelineRun.Status.QUEUED).first()
            last_by_pipeline[name] = PipelineRunSerializer(last, context={"request": request}).data if last else None
        pipelines = [
            {
                "name": name,
                "title": spec.title,
                "last_run": last_by_pipeline[name],
                "schedule": (schedules.get(name) or {}).get("schedule"),
                "schedule_enabled": (schedules.get(name) or {}).get("enabled", False),
                "next_run": (schedules.get(name) or {}).get("next_run"),
            }
            for name, spec in PIPELINES.items()
        ]
        simulated = settings.SIMULATE_UPSTREAMS or any(run.simulated for run in recent)
        return Response(
            {
                "simulated": simulated,
                "can_run": request.user.is_staff,
                "pipelines": pipelines,
                "warehouse": warehouse.get_stats(),
                "lake": data_lake.get_stats(),
                "recent_runs": PipelineRunSerializer(recent, many=True, context={"request": request}).data,
                "loaded_per_run": runs_loaded_last_day(),
                "trading_days": trading_days_loaded(),
            }
        )


class TickerTimelineApi(APIView):
    """Hourly price, mentions and pump score of one ticker over the last ``hours`` (default 24); with
    ``days`` (1-366), one point per day instead: close, mentions and the day's pump score."""

    @extend_schema(parameters=[OpenApiParameter("hours", int), OpenApiParameter("days", int)], responses=dict)
    def get(self, request, ticker: str):
        params = request.query_params
        hours = query_int(params, "hours", default=24, lo=1, hi=24 * 14)
        days = query_int(params, "days", default=None, lo=1, hi=366)
        if ticker == "_busiest":
            ticker = busiest_ticker(hours=days * 24 if days else hours)
            if ticker is None:
                return Response({"ticker": None, "days" if days else "points": []})
        if days:
            return Response(ticker_daily(ticker=ticker, days=days))
        return Response(ticker_timeline(ticker=ticker, hours=hours))
