"""Suspicious tickers: ticker-days ranked by pump score with their evidence (the mention baseline,
the market's move, the flagged messages), and the daily market figures the pump score reads."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from django.db.models import Count, F, Max, Sum, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from warehouse.days import day_start
from warehouse.models import DailyBar, DailySocial, SocialMention, StockData
from warehouse.selectors.times import iso_local

MENTION_BASELINE_DAYS = 14  # the same window as the daily pump score's mention spike
VOLUME_BASELINE_BARS = 20
EVIDENCE_MESSAGES = 5  # flagged messages shown per ticker-day


def pump_latest_day() -> date | None:
    """The day the suspicious list opens on: the newest day with a daily pump score and a market day
    (daily bars) behind it, else the newest scored day.

    After midnight, or on a weekend, the newest scored day holds a few hours of chatter and no prices:
    opening there would hide the last session's campaigns (they stay one date-pick away)."""
    scored = DailySocial.objects.filter(pump_score__isnull=False)
    newest = scored.aggregate(day=Max("date"))["day"]
    if newest is None or DailyBar.objects.filter(date=newest).exists():
        return newest
    traded = DailyBar.objects.filter(date__lt=newest, date__in=scored.values("date")).aggregate(day=Max("date"))
    return traded["day"] or newest


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
    """Each ticker's move on ``day``: ``price_change`` (close / previous close - 1), ``high_change`` (the
    day's high / previous close - 1: a pump's intraday spike that the close gave back), ``volume``, and
    ``volume_ratio`` against the mean of its 20 previous bars, from EQ daily bars (a bhavcopy bar before
    a quote-derived one); the day's last quote gives the price move when there is no bar."""
    bars = DailyBar.objects.filter(
        ticker__in=tickers, series="EQ", date__lte=day, date__gte=day - timedelta(days=45)
    ).values_list("ticker", "date", "source", "close", "prev_close", "volume", "high")
    best: dict[tuple[str, date], tuple] = {}
    for ticker, d, source, close, prev_close, volume, high in bars:
        rank = 1 if source == "nse_api" else 0
        if (ticker, d) not in best or best[(ticker, d)][0] > rank:
            best[(ticker, d)] = (rank, close, prev_close, volume, high)
    out: dict[str, dict] = {}
    for ticker in tickers:
        days = sorted((d for (t, d) in best if t == ticker), reverse=True)
        move = {"price_change": None, "high_change": None, "volume": None, "volume_ratio": None}
        if days and days[0] == day:
            _, close, prev_close, volume, high = best[(ticker, day)]
            prev = prev_close or (best[(ticker, days[1])][1] if len(days) > 1 else None)
            if close is not None and prev:
                move["price_change"] = round(float(close) / float(prev) - 1, 4)
            if high is not None and prev:
                move["high_change"] = round(float(high) / float(prev) - 1, 4)
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
                "timestamp": iso_local(m.timestamp),
                "text": m.text,
                "pump_score": m.pump_score,
                "rules": _names(m.metadata, "pump_rules"),
                "terms": [term for term in _names(m.metadata, "pump_terms") if _readable(term)],
                "lake_object_id": m.lake_object_id,
            }
        )
    return out


def _names(metadata, key: str) -> list[str]:
    """``metadata[key]`` when it is a list of names; [] for anything else a row may hold (the warehouse
    API stores any JSON a caller sends: a list for metadata, a string for the rules)."""
    value = metadata.get(key) if isinstance(metadata, dict) else None
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str)]


def _readable(term: str) -> bool:
    """Whether a model term reads as evidence: every token a word or an emoji ("buy", "🚀", "next pump"),
    not a number (the model writes every figure as "0") or punctuation ("0 days", "#", ". buy")."""
    return all(not token.isascii() or any(c.isalpha() for c in token) for token in term.split(" "))


def suspicious_tickers(*, day: date | None = None, min_score: float = 0.0, limit: int = 50) -> dict:
    """Ticker-days of ``day`` (default: ``pump_latest_day``) ranked by pump score, with their evidence.

    ``{"date", "min_score", "results": [...]}``; each result: rank, ticker, pump_score, mentions,
    mention_baseline (mean daily mentions over the 14 days before) and mention_ratio, pump_signals,
    price_change, high_change, volume, volume_ratio (against its 20 previous bars), flagged (count and the top
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
            message["lake_object_page"] = f"{reverse('lake-browser')}?object={lake_id}" if lake_id else None
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
                            "page": f"{reverse('lake-browser')}?object={i}",
                            "download": reverse("lake-object-download", args=[i]),
                        }
                        for i in lake_ids
                    ],
                },
            }
        )
    return {"date": day.isoformat(), "min_score": min_score, "results": results}


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
