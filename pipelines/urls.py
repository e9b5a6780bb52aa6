"""API routes of the pipelines app (mounted at /api/pipelines/)."""

from core.routing import api_path

from . import apis

urlpatterns = [
    *api_path("overview", apis.OverviewApi.as_view(), "pipelines-overview"),
    *api_path("timeline/<str:ticker>", apis.TickerTimelineApi.as_view(), "ticker-timeline"),
    *api_path("runs", apis.PipelineRunListApi.as_view(), "pipeline-runs"),
    *api_path("runs/<int:pk>", apis.PipelineRunDetailApi.as_view(), "pipeline-run"),
    *api_path("<str:name>/run", apis.PipelineRunNowApi.as_view(), "pipeline-run-now"),
]
