"""Reads of the warehouse: DataFrames for analysts, QuerySets for the API.

Every function taking a ticker normalises it with ``warehouse.tickers.ticker_normalize`` and raises
``ValueError`` with a clear message for anything that cannot be an NSE symbol.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from django.db import connection, connections
from django.db.models import Count, FloatField, IntegerField, Max, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from warehouse.days import day_start, local_tz
from warehouse.models import DailyBar, DailySocial, SocialMention, StockData, Ticker
from warehouse.tickers import ticker_normalize

MAX_DAYS = 3650
STOCK_COLUMNS = ["timestamp", "ticker", "series", "exchange", "source", "price", "volume", "change_percent"]
SOCIAL_COLUMNS = [
    "timestamp",
    "ticker",
    "platform",
    "external_id",
    "text",
    "sentiment",
    "sentiment_score",
    "is_pump_signal",
    "pump_score",
    "channel",
    "author",
    "views",
]
BAR_COLUMNS = [
    "date",
    "ticker",
    "series",
    "exchange",
    "source",
    "isin",
    "open",
    "high",
    "low",
    "close",
    "last",
    "prev_close",
    "volume",
    "value",
    "trades",
    "delivery_qty",
    "delivery_pct",
]


def _days(days: int) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be a whole number from 1 to {MAX_DAYS}, got {days!r}")
    return days


def time_window(*, days: int = 30, start=None, end=None) -> tuple[datetime, datetime | None]:
    """[start, end) of a query: the last ``days`` days, or explicit bounds (a date means its whole day)."""
    if start is None and end is None:
        return timezone.now() - timedelta(days=_days(days)), None
    lo = _instant(start, end_of_day=False) if start is not None else None
    hi = _instant(end, end_of_day=True) if end is not None else None
    if lo is None:
        lo = (hi or timezone.now()) - timedelta(days=_days(days))
    if hi is not None and hi <= lo:
        raise ValueError("end must be after start")
    return lo, hi


def _instant(value, *, end_of_day: bool) -> datetime:
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"not an ISO date or date-time: {value!r}") from exc
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value, local_tz())
    if isinstance(value, date):
        return day_start(value + timedelta(days=1) if end_of_day else value)
    raise ValueError(f"not a date or date-time: {value!r}")


# QuerySets (the API pages them) ------------------------------------------------------------------


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
    rows = DailyBar.objects.filter(ticker=symbol)
    if start is not None:
        rows = rows.filter(date__gte=start)
    if end is not None:
        rows = rows.filter(date__lte=end)
    if source:
        rows = rows.filter(source=source)
    if series:
        rows = rows.filter(series=series.strip().upper())
    return rows.order_by("-date", "series", "source")


def ticker_overview(*, active: bool | None = None, search: str | None = None) -> QuerySet[Ticker]:
    """The ticker master with each symbol's latest price and today's mentions, in one query.

    Correlated subqueries walk the (ticker, timestamp DESC) indexes: one index probe per ticker.
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


# DataFrames (the seed's query API) ----------------------------------------------------------------


def _frame(rows, columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(list(rows), columns=columns)
    if "timestamp" in frame.columns:
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True).dt.tz_convert(local_tz())
    return frame


def historical_prices(*, ticker: str, days: int = 30, start=None, end=None) -> pd.DataFrame:
    """Price rows of one ticker as a DataFrame ordered by time (oldest first), times in IST.

    Prices come back as floats, volume as a nullable integer. The columns read are all in the covering
    (ticker, timestamp) index, so PostgreSQL answers from the index alone (an index-only scan) however
    large the table; times come as integer microseconds (no datetime object per row) and the rows
    become columns in one pass.
    """
    rows = stock_rows(ticker=ticker, days=days, start=start, end=end).order_by(
        "timestamp", "series", "exchange", "source"
    )
    pg = connections[rows.db].vendor == "postgresql"
    when = (
        RawSQL('(EXTRACT(EPOCH FROM "stock_data_warehouse"."timestamp") * 1000000)::bigint', []) if pg else "timestamp"
    )
    query = rows.values_list(
        when,
        "ticker",
        "series",
        "exchange",
        "source",
        Cast("price", FloatField()),
        "volume",
        Cast("change_percent", FloatField()),
    )
    if pg:
        sql, params = query.query.sql_with_params()
        with connections[rows.db].cursor() as cursor:
            cursor.execute(sql, params)
            values = cursor.fetchall()
    else:
        values = list(query)
    if not values:
        return _frame([], STOCK_COLUMNS).astype({"volume": "Int64"})
    columns = list(zip(*values, strict=True))
    stamps = pd.to_datetime(np.array(columns[0], dtype="int64"), unit="us", utc=True) if pg else columns[0]
    return pd.DataFrame(
        {
            "timestamp": pd.DatetimeIndex(pd.to_datetime(stamps, utc=True)).tz_convert(local_tz()),
            **{name: list(col) for name, col in zip(STOCK_COLUMNS[1:5], columns[1:5], strict=True)},
            "price": np.array(columns[5], dtype="float64"),
            "volume": pd.array(columns[6], dtype="Int64"),
            "change_percent": np.array(columns[7], dtype="float64"),
        }
    )


def social_mentions(*, ticker: str, days: int = 7, platform: str | None = None) -> pd.DataFrame:
    """Mentions of one ticker as a DataFrame ordered by time (oldest first), times in IST."""
    rows = social_rows(ticker=ticker, days=days, platform=platform).order_by("timestamp", "id")
    frame = _frame(rows.values_list(*SOCIAL_COLUMNS), SOCIAL_COLUMNS)
    frame["views"] = frame["views"].astype("Int64")
    return frame


def daily_bars(*, ticker: str, start: date | None = None, end: date | None = None) -> pd.DataFrame:
    """Daily bars of one ticker as a DataFrame ordered by date (oldest first); ``end`` inclusive."""
    rows = bar_rows(ticker=ticker, start=start, end=end).order_by("date", "series", "source")
    frame = pd.DataFrame.from_records(list(rows.values_list(*BAR_COLUMNS)), columns=BAR_COLUMNS)
    for name in ("open", "high", "low", "close", "last", "prev_close", "value", "delivery_pct"):
        frame[name] = pd.to_numeric(frame[name].astype(object), errors="coerce").astype("float64")
    for name in ("volume", "trades", "delivery_qty"):
        frame[name] = frame[name].astype("Int64")
    return frame


def daily_social(*, ticker: str, start: date | None = None, end: date | None = None) -> QuerySet[DailySocial]:
    symbol = ticker_normalize(ticker)
    rows = DailySocial.objects.filter(ticker=symbol)
    if start is not None:
        rows = rows.filter(date__gte=start)
    if end is not None:
        rows = rows.filter(date__lte=end)
    return rows.order_by("-date", "platform")


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
            "newest": _iso(agg["newest"]),
            "oldest": _iso(oldest),
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


def _iso(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return timezone.localtime(value, local_tz()).isoformat()
    return value.isoformat()
