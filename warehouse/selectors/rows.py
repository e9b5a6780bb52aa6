"""QuerySets of the warehouse's rows for the API (which pages them), one ticker at a time."""

from __future__ import annotations

from datetime import date

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from warehouse.days import day_start
from warehouse.models import DailyBar, DailySocial, SocialMention, StockData, Ticker
from warehouse.selectors.times import time_window
from warehouse.tickers import ticker_normalize


def stock_rows(*, ticker: str, days: int = 30, start=None, end=None) -> QuerySet[StockData]:
    """Price rows of one ticker in a window, newest first."""
    symbol = ticker_normalize(ticker)
    lo, hi = time_window(days=days, start=start, end=end)
    rows = StockData.objects.filter(ticker=symbol, timestamp__gte=lo)
    if hi is not None:
        rows = rows.filter(timestamp__lt=hi)
    return rows.order_by("-timestamp", "-id")


def social_rows(
    *,
    ticker: str,
    days: int = 7,
    start=None,
    end=None,
    platform: str | None = None,
    sentiment: str | None = None,
    is_pump_signal: bool | None = None,
) -> QuerySet[SocialMention]:
    """Mentions of one ticker in a window, newest first, optionally filtered."""
    symbol = ticker_normalize(ticker)
    lo, hi = time_window(days=days, start=start, end=end)
    rows = SocialMention.objects.filter(ticker=symbol, timestamp__gte=lo)
    if hi is not None:
        rows = rows.filter(timestamp__lt=hi)
    if platform:
        rows = rows.filter(platform=platform.strip().lower())
    if sentiment:
        rows = rows.filter(sentiment=sentiment.strip().lower())
    if is_pump_signal is not None:
        rows = rows.filter(is_pump_signal=is_pump_signal)
    return rows.order_by("-timestamp", "-id")


def bar_rows(
    *,
    ticker: str,
    start: date | None = None,
    end: date | None = None,
    source: str | None = None,
    series: str | None = None,
) -> QuerySet[DailyBar]:
    """Daily bars (gold) of one ticker, newest day first; ``end`` is inclusive."""
    symbol = ticker_normalize(ticker)
    rows = _days_between(DailyBar.objects.filter(ticker=symbol), start, end)
    if source:
        rows = rows.filter(source=source)
    if series:
        rows = rows.filter(series=series.strip().upper())
    return rows.order_by("-date", "series", "source")


def ticker_overview(*, active: bool | None = None, search: str | None = None) -> QuerySet[Ticker]:
    """The ticker master with each symbol's latest price and today's mentions, in one query.

    Correlated subqueries walk the natural keys, led by (ticker, timestamp): one index probe per ticker.
    """
    latest = StockData.objects.filter(ticker=OuterRef("symbol")).order_by("-timestamp")
    today = SocialMention.objects.filter(ticker=OuterRef("symbol"), timestamp__gte=day_start(timezone.localdate()))
    mentions = today.order_by().values("ticker").annotate(n=Count("id")).values("n")
    rows = Ticker.objects.annotate(
        latest_price=Subquery(latest.values("price")[:1]),
        latest_change_percent=Subquery(latest.values("change_percent")[:1]),
        latest_at=Subquery(latest.values("timestamp")[:1]),
        mentions_today=Coalesce(Subquery(mentions, output_field=IntegerField()), Value(0)),
    )
    if active is not None:
        rows = rows.filter(active=active)
    if search:
        rows = rows.filter(Q(symbol__icontains=search.strip()) | Q(name__icontains=search.strip()))
    return rows.order_by("symbol", "exchange")


def daily_social(*, ticker: str, start: date | None = None, end: date | None = None) -> QuerySet[DailySocial]:
    symbol = ticker_normalize(ticker)
    rows = _days_between(DailySocial.objects.filter(ticker=symbol), start, end)
    return rows.order_by("-date", "platform")


def _days_between(rows: QuerySet, start: date | None, end: date | None) -> QuerySet:
    """``rows`` of a daily table from ``start`` to ``end``, both inclusive (either may be open)."""
    if start is not None:
        rows = rows.filter(date__gte=start)
    if end is not None:
        rows = rows.filter(date__lte=end)
    return rows
