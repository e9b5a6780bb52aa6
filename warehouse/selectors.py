"""Reads of the warehouse: DataFrames for analysts, QuerySets for the API.

Every function taking a ticker normalises it with ``warehouse.tickers.ticker_normalize`` and raises
``InvalidInput`` (a ValueError) with a clear message for anything that cannot be an NSE symbol.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from django.db import connection, connections
from django.db.models import (
    Count,
    F,
    FloatField,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    Window,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Coalesce, RowNumber, TruncHour
from django.utils import timezone

from core.errors import InvalidInput, date_in_range, echo
from warehouse.days import day_start, local_tz
from warehouse.models import DailyBar, DailySocial, SocialMention, StockData, Ticker
from warehouse.schema import BAR_COLUMNS, SOCIAL_COLUMNS, STOCK_COLUMNS
from warehouse.tickers import ticker_normalize

MAX_DAYS = 3650


def _days(days: int) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"days must be a whole number from 1 to {MAX_DAYS}, got {echo(days)}")
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
        raise InvalidInput("end must be after start")
    return lo, hi


def _instant(value, *, end_of_day: bool) -> datetime:
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        except ValueError as exc:
            raise InvalidInput(f"not an ISO date or date-time: {echo(value)}") from exc
    if isinstance(value, date):
        # Dates far outside the platform's years overflow on the way (9999-12-31 + 1 day): refused here.
        date_in_range(value, "end" if end_of_day else "start")
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value, local_tz())
    if isinstance(value, date):
        return day_start(value + timedelta(days=1) if end_of_day else value)
    raise InvalidInput(f"not a date or date-time: {echo(value)}")


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


# Suspicious tickers (pump score ranking and its evidence) ------------------------------------------

MENTION_BASELINE_DAYS = 14  # the same window as the daily pump score's mention spike
VOLUME_BASELINE_BARS = 20
EVIDENCE_MESSAGES = 5  # flagged messages shown per ticker-day


def pump_latest_day() -> date | None:
    """The newest day with a daily pump score."""
    return DailySocial.objects.filter(pump_score__isnull=False).aggregate(day=Max("date"))["day"]


def pump_ticker_days(*, day: date, min_score: float = 0.0, limit: int = 50) -> list[dict]:
    """Ticker-days of ``day`` ranked by pump score (the highest of its platforms), score ≥ ``min_score``.

    Each: ticker, pump_score, mentions and pump_signals (summed over platforms), platforms.
    """
    rows = (
        DailySocial.objects.filter(date=day, pump_score__isnull=False)
        .values("ticker")
        .annotate(score=Max("pump_score"), mentions=Sum("mentions"), signals=Sum("pump_signals"), n=Count("id"))
        .filter(score__gte=min_score)
        .order_by("-score", "ticker")[:limit]
    )
    return [
        {
            "ticker": r["ticker"],
            "pump_score": r["score"],
            "mentions": r["mentions"],
            "pump_signals": r["signals"],
            "platforms": r["n"],
        }
        for r in rows
    ]


def mention_baselines(*, tickers: list[str], day: date) -> dict[str, float]:
    """Mean daily mentions (all platforms) of each ticker over the 14 days before ``day`` (missing days: 0)."""
    rows = (
        DailySocial.objects.filter(
            ticker__in=tickers, date__gte=day - timedelta(days=MENTION_BASELINE_DAYS), date__lt=day
        )
        .values("ticker")
        .annotate(total=Sum("mentions"))
    )
    out = dict.fromkeys(tickers, 0.0)
    out.update({r["ticker"]: r["total"] / MENTION_BASELINE_DAYS for r in rows})
    return out


def market_moves(*, tickers: list[str], day: date) -> dict[str, dict]:
    """Each ticker's move on ``day``: ``price_change`` (close / previous close - 1), ``volume``, and
    ``volume_ratio`` against the mean of its 20 previous bars, from EQ daily bars (a bhavcopy bar before
    a quote-derived one); the day's last quote gives the price move when there is no bar."""
    bars = DailyBar.objects.filter(
        ticker__in=tickers, series="EQ", date__lte=day, date__gte=day - timedelta(days=45)
    ).values_list("ticker", "date", "source", "close", "prev_close", "volume")
    best: dict[tuple[str, date], tuple] = {}
    for ticker, d, source, close, prev_close, volume in bars:
        rank = 1 if source == "nse_api" else 0
        if (ticker, d) not in best or best[(ticker, d)][0] > rank:
            best[(ticker, d)] = (rank, close, prev_close, volume)
    out: dict[str, dict] = {}
    for ticker in tickers:
        days = sorted((d for (t, d) in best if t == ticker), reverse=True)
        move = {"price_change": None, "volume": None, "volume_ratio": None}
        if days and days[0] == day:
            _, close, prev_close, volume = best[(ticker, day)]
            prev = prev_close or (best[(ticker, days[1])][1] if len(days) > 1 else None)
            if close is not None and prev:
                move["price_change"] = round(float(close) / float(prev) - 1, 4)
            earlier = [best[(ticker, d)][3] for d in days[1 : VOLUME_BASELINE_BARS + 1] if best[(ticker, d)][3]]
            move["volume"] = volume
            if volume and earlier:
                move["volume_ratio"] = round(volume / (sum(earlier) / len(earlier)), 2)
        out[ticker] = move
    missing = [t for t, m in out.items() if m["price_change"] is None]
    if missing:
        quotes = (
            StockData.objects.filter(
                ticker__in=missing,
                series="EQ",
                timestamp__gte=day_start(day),
                timestamp__lt=day_start(day + timedelta(days=1)),
            )
            .order_by("ticker", "-timestamp")
            .values_list("ticker", "change_percent")
        )
        seen: set[str] = set()
        for ticker, change in quotes:
            if ticker not in seen and change is not None:
                seen.add(ticker)
                out[ticker]["price_change"] = round(float(change) / 100, 4)
    return out


def flagged_messages(*, tickers: list[str], day: date, per_ticker: int = EVIDENCE_MESSAGES) -> dict[str, dict]:
    """Per ticker: ``count`` of pump-flagged messages on ``day`` and the ``top`` ones by pump score
    (id, platform, channel, author, timestamp, text, pump_score, rules, terms, lake_object_id)."""
    window = SocialMention.objects.filter(
        ticker__in=tickers,
        is_pump_signal=True,
        timestamp__gte=day_start(day),
        timestamp__lt=day_start(day + timedelta(days=1)),
    )
    counts = dict(window.order_by().values("ticker").annotate(n=Count("id")).values_list("ticker", "n"))
    out = {t: {"count": counts.get(t, 0), "top": []} for t in tickers}
    # The top few per ticker in one query: a row number per ticker, by pump score.
    ranked = window.annotate(
        rank=Window(
            RowNumber(), partition_by=[F("ticker")], order_by=[F("pump_score").desc(), F("timestamp").desc(), F("id")]
        )
    ).filter(rank__lte=per_ticker)
    for m in ranked.order_by("ticker", "rank"):
        out[m.ticker]["top"].append(
            {
                "id": m.id,
                "platform": m.platform,
                "channel": m.channel,
                "author": m.author,
                "timestamp": _iso(m.timestamp),
                "text": m.text,
                "pump_score": m.pump_score,
                "rules": list((m.metadata or {}).get("pump_rules") or []),
                "terms": list((m.metadata or {}).get("pump_terms") or []),
                "lake_object_id": m.lake_object_id,
            }
        )
    return out


def suspicious_tickers(*, day: date | None = None, min_score: float = 0.0, limit: int = 50) -> dict:
    """Ticker-days of ``day`` (default: the newest scored day) ranked by pump score, with their evidence.

    ``{"date", "min_score", "results": [...]}``; each result: rank, ticker, pump_score, mentions,
    mention_baseline (mean daily mentions over the 14 days before) and mention_ratio, pump_signals,
    price_change, volume, volume_ratio (against its 20 previous bars), flagged (count and the top
    messages with the rules and model terms that fired) and links to its rows and lake objects.
    """
    from django.urls import reverse

    day = day or pump_latest_day()
    if day is None:
        return {"date": None, "min_score": min_score, "results": []}
    ranked = pump_ticker_days(day=day, min_score=min_score, limit=limit)
    tickers = [r["ticker"] for r in ranked]
    baselines = mention_baselines(tickers=tickers, day=day)
    moves = market_moves(tickers=tickers, day=day)
    flagged = flagged_messages(tickers=tickers, day=day)
    results = []
    for rank, row in enumerate(ranked, start=1):
        ticker = row["ticker"]
        baseline = baselines[ticker]
        social = reverse("warehouse-social", args=[ticker])
        for message in flagged[ticker]["top"]:
            message["admin_url"] = reverse("admin:warehouse_socialmention_change", args=[message["id"]])
            lake_id = message["lake_object_id"]
            message["lake_object_url"] = reverse("lake-object", args=[lake_id]) if lake_id else None
        lake_ids = sorted({m["lake_object_id"] for m in flagged[ticker]["top"] if m["lake_object_id"]})
        results.append(
            {
                "rank": rank,
                "date": day.isoformat(),
                **row,
                "mention_baseline": round(baseline, 2),
                "mention_ratio": round((row["mentions"] + 1) / (baseline + 1), 2),
                **moves[ticker],
                "flagged": flagged[ticker],
                "links": {
                    "flagged_rows": f"{social}?start={day}&end={day}&is_pump_signal=true",
                    "rows": f"{social}?start={day}&end={day}",
                    "daily_bars": f"{reverse('warehouse-daily', args=[ticker])}?start={day - timedelta(days=30)}&end={day}",
                    "lake_objects": [
                        {
                            "id": i,
                            "url": reverse("lake-object", args=[i]),
                            "download": reverse("lake-object-download", args=[i]),
                        }
                        for i in lake_ids
                    ],
                },
            }
        )
    return {"date": day.isoformat(), "min_score": min_score, "results": results}


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
        prices[row["timestamp"].replace(minute=0, second=0, microsecond=0)] = float(row["price"])
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


def daily_market(*, tickers: set[str], start: date, end: date) -> dict[str, dict[date, tuple]]:
    """(close, prev_close, volume) per ticker and day: EQ-series daily bars (bhavcopy before
    quote-derived ones), and the day's quotes in ``StockData`` where there is no bar."""
    days: dict[str, dict[date, tuple]] = defaultdict(dict)
    rank: dict[tuple[str, date], int] = {}
    bars = DailyBar.objects.filter(ticker__in=tickers, date__gte=start, date__lte=end, series="EQ").values_list(
        "ticker", "date", "source", "close", "prev_close", "volume"
    )
    for ticker, day, source, close, prev_close, volume in bars.iterator(chunk_size=5000):
        # NSE's own bhavcopy is the official close; a bar aggregated from quotes ("nse_api") is a fallback.
        r = 1 if source == "nse_api" else 0
        if rank.get((ticker, day), 9) > r and close is not None:
            rank[(ticker, day)] = r
            days[ticker][day] = (float(close), float(prev_close) if prev_close else None, volume)
    tz = timezone.get_current_timezone()
    quotes = (
        StockData.objects.filter(ticker__in=tickers, series="EQ", timestamp__date__gte=start, timestamp__date__lte=end)
        .order_by("timestamp")
        .values_list("ticker", "timestamp", "price", "change_percent", "volume")
    )
    for ticker, ts, price, change, volume in quotes.iterator(chunk_size=5000):
        day = timezone.localtime(ts, tz).date()
        if (ticker, day) in rank:
            continue
        prev_close = float(price) / (1 + float(change) / 100) if change is not None and change > -100 else None
        old = days[ticker].get(day)
        # Quotes carry the day's cumulative volume: keep the last price and the largest volume.
        volumes = [v for v in (volume, old[2] if old else None) if v is not None]
        days[ticker][day] = (float(price), prev_close, max(volumes) if volumes else None)
    return days
