"""What the warehouse holds: counts per table, distinct tickers, the oldest and newest times."""

from __future__ import annotations

from django.db import connection
from django.db.models import Count, Max

from warehouse.models import DailyBar, DailySocial, SocialMention, StockData, Ticker
from warehouse.selectors.times import iso_local


def storage_type() -> str:
    return "postgresql" if connection.vendor == "postgresql" else connection.vendor


def warehouse_stats() -> dict:
    """Counts per table, distinct tickers, the newest and oldest times, and the storage type."""

    def table(model, time_field: str) -> dict:
        agg = model.objects.aggregate(
            records=Count("id"),
            newest=Max(time_field),
        )
        oldest = model.objects.order_by(time_field).values_list(time_field, flat=True).first()
        return {
            "records": agg["records"],
            "distinct_tickers": model.objects.order_by().values("ticker").distinct().count(),
            "newest": iso_local(agg["newest"]),
            "oldest": iso_local(oldest),
        }

    return {
        "storage_type": storage_type(),
        "stock_data": table(StockData, "timestamp"),
        "social_mentions": table(SocialMention, "timestamp"),
        "daily_bars": table(DailyBar, "date"),
        "daily_social": table(DailySocial, "date"),
        "tickers": {
            "total": Ticker.objects.count(),
            "active": Ticker.objects.filter(active=True).count(),
        },
    }
