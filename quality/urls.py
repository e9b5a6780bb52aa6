"""API routes of the quality app (mounted at /api/data/quality/ by config/urls.py)."""

from core.routing import api_path

from . import apis

urlpatterns = [
    *api_path("summary", apis.SummaryApi.as_view(), "quality-summary"),
    *api_path("metrics", apis.MetricsApi.as_view(), "quality-metrics"),
    *api_path("checks", apis.ChecksApi.as_view(), "quality-checks"),
    *api_path("rejects", apis.RejectsApi.as_view(), "quality-rejects"),
    *api_path("incidents", apis.IncidentsApi.as_view(), "quality-incidents"),
    *api_path("unaccounted", apis.UnaccountedApi.as_view(), "quality-unaccounted"),
]
