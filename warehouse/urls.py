"""API routes of this app, mounted at /api/data/warehouse/ (DESIGN.md fixes the paths)."""

from core.routing import api_path

from . import apis

urlpatterns = [
    *api_path("stats", apis.StatsApi.as_view(), "warehouse-stats"),
    *api_path("historical/<str:ticker>", apis.HistoricalApi.as_view(), "warehouse-historical"),
    *api_path("social/<str:ticker>", apis.SocialApi.as_view(), "warehouse-social"),
    *api_path("daily/<str:ticker>", apis.DailyApi.as_view(), "warehouse-daily"),
    *api_path("tickers", apis.TickersApi.as_view(), "warehouse-tickers"),
    *api_path("suspicious", apis.SuspiciousApi.as_view(), "warehouse-suspicious"),
]
