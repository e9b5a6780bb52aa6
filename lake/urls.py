"""API routes of this app (mounted at /api/data/lake/ by config/urls.py; see DESIGN.md)."""

from core.routing import api_path

from . import apis

urlpatterns = [
    *api_path("stats", apis.LakeStatsApi.as_view(), "lake-stats"),
    *api_path("sources", apis.LakeSourcesApi.as_view(), "lake-sources"),
    *api_path("sources/<str:source>/dates", apis.LakeSourceDatesApi.as_view(), "lake-source-dates"),
    *api_path("sources/<str:source>/data", apis.LakeSourceDataApi.as_view(), "lake-source-data"),
    *api_path("objects/<int:pk>", apis.LakeObjectApi.as_view(), "lake-object"),
    *api_path("objects/<int:pk>/download", apis.LakeObjectDownloadApi.as_view(), "lake-object-download"),
]
