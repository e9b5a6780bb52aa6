"""One ticker's recent hours for the dashboard's chart, and which ticker it shows by default."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Max
from django.db.models.functions import TruncHour
from django.utils import timezone

from warehouse.models import SocialMention, StockData
from warehouse.tickers import ticker_normalize


def ticker_timeline(*, ticker: str, hours: int = 24) -> dict:
    """Hourly last price, volume, mention count and max pump score of one ticker (the second chart)."""
    symbol = ticker_normalize(ticker)
    since = timezone.now() - timedelta(hours=hours)
    prices: dict = {}
    for row in (
        StockData.objects.filter(ticker=symbol, timestamp__gte=since, series="EQ")
        .order_by("timestamp")
        .values("timestamp", "price")
    ):
        # The hour in India time, as TruncHour gives the mentions' (an IST hour starts at :30 UTC).
        prices[timezone.localtime(row["timestamp"]).replace(minute=0, second=0, microsecond=0)] = float(row["price"])
    social = {
        row["hour"]: row
        for row in SocialMention.objects.filter(ticker=symbol, timestamp__gte=since)
        .annotate(hour=TruncHour("timestamp"))
        .values("hour")
        .annotate(mentions=Count("id"), pump=Max("pump_score"))
    }
    hours_seen = sorted(set(prices) | set(social))
    return {
        "ticker": symbol,
        "points": [
            {
                "hour": hour,
                "price": prices.get(hour),
                "mentions": social[hour]["mentions"] if hour in social else 0,
                "pump_score": round(social[hour]["pump"] or 0, 3) if hour in social else 0,
            }
            for hour in hours_seen
        ],
    }


def busiest_ticker(*, hours: int = 24) -> str | None:
    """The ticker with most mentions lately (the chart's default), else the newest quoted one."""
    since = timezone.now() - timedelta(hours=hours)
    top = (
        SocialMention.objects.filter(timestamp__gte=since)
        .values("ticker")
        .annotate(n=Count("id"))
        .order_by("-n", "ticker")
        .first()
    )
    if top:
        return top["ticker"]
    newest = StockData.objects.order_by("-timestamp").values_list("ticker", flat=True).first()
    return newest
