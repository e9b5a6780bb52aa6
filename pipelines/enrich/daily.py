"""The daily per-ticker pump score on gold (DailySocial.pump_score): chatter spike, hype and market move."""

import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta

MENTION_BASELINE_DAYS = 14  # calendar days of chatter history a ticker is compared with
VOLUME_BASELINE_DAYS = 20  # trading days (bars) of volume history
VOLUME_LOOKBACK_DAYS = 45  # calendar days fetched to find those bars

WEIGHTS = {"spike": 0.35, "pump_share": 0.25, "sentiment": 0.10, "price": 0.15, "volume": 0.15}


def _clip(value: float) -> float:
    return 0.0 if value <= 0 else 1.0 if value >= 1 else value


def pump_components(
    *,
    mentions: int,
    baseline_mean: float,
    mean_sentiment: float,
    pump_signals: int,
    day_return: float | None,
    volume_ratio: float | None,
) -> dict[str, float]:
    """The five components of the daily score, each in [0, 1] (see ``daily_pump_scores``)."""
    return {
        "spike": _clip(math.log2((mentions + 1) / (baseline_mean + 1)) / 3),
        "pump_share": _clip(pump_signals / mentions) if mentions else 0.0,
        "sentiment": _clip(mean_sentiment / 0.5),
        "price": _clip(abs(day_return) / 0.10) if day_return is not None else 0.0,
        "volume": _clip(math.log2(volume_ratio) / 2) if volume_ratio else 0.0,
    }


def pump_score_combine(components: dict[str, float]) -> float:
    return round(sum(WEIGHTS[k] * components[k] for k in WEIGHTS), 4)


def _market_days(tickers: set[str], start: date, end: date) -> dict[str, dict[date, tuple]]:
    """(close, prev_close, volume) per ticker and day: EQ-series daily bars (bhavcopy before
    quote-derived ones), and the day's quotes in ``StockData`` where there is no bar."""
    from django.utils import timezone

    from warehouse.models import DailyBar, StockData

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


def daily_pump_scores(*, dates: Iterable[date], tickers: Iterable[str] | None = None) -> int:
    """Set ``DailySocial.pump_score`` for the rows of ``dates`` (and ``tickers``); return rows updated.

    For each DailySocial row (one ticker, platform and day), five components in [0, 1]:

    - spike = clip(log2((mentions + 1) / (baseline + 1)) / 3): baseline is the ticker's mean daily
      mentions on that platform over the 14 days before (a day without a row counts as 0); 8 times its
      usual chatter gives 1;
    - pump_share = pump_signals / mentions: the share of the day's messages the rules flagged;
    - sentiment = clip(mean_sentiment / 0.5): hype is positive, so negative chatter adds nothing;
    - price = clip(|close / prev_close - 1| / 0.10): a 10 % move (NSE's common circuit band) gives 1;
    - volume = clip(log2(volume / mean volume of the 20 previous bars) / 2): 4 times the usual volume gives 1;

    pump_score = 0.35 spike + 0.25 pump_share + 0.10 sentiment + 0.15 price + 0.15 volume, rounded
    to 4 places. Price and volume come from the EQ-series ``DailyBar`` (a bhavcopy bar before a
    quote-derived one), or from that day's ``StockData`` quotes (last price, its change %, the
    largest cumulative volume) where there is no bar; without market data those two components are 0,
    so chatter alone scores at most 0.70. Idempotent: recomputing gives the same values.
    """
    from warehouse.models import DailySocial

    dates = sorted(set(dates))
    if not dates:
        return 0
    rows = DailySocial.objects.filter(date__in=dates)
    if tickers is not None:
        rows = rows.filter(ticker__in=list(tickers))
    rows = list(rows.only("id", "ticker", "platform", "date", "mentions", "mean_sentiment", "pump_signals"))
    if not rows:
        return 0
    symbols = {r.ticker for r in rows}
    first, last = dates[0], dates[-1]

    history: dict[tuple[str, str], dict[date, int]] = defaultdict(dict)
    past = DailySocial.objects.filter(
        ticker__in=symbols, date__gte=first - timedelta(days=MENTION_BASELINE_DAYS), date__lte=last
    ).values_list("ticker", "platform", "date", "mentions")
    for ticker, platform, day, mentions in past.iterator(chunk_size=5000):
        history[(ticker, platform)][day] = mentions

    market = _market_days(symbols, first - timedelta(days=VOLUME_LOOKBACK_DAYS), last)

    for row in rows:
        counts = history[(row.ticker, row.platform)]
        window = [counts.get(row.date - timedelta(days=k), 0) for k in range(1, MENTION_BASELINE_DAYS + 1)]
        baseline = sum(window) / len(window)
        day_return = volume_ratio = None
        bars = market.get(row.ticker, {})
        today = bars.get(row.date)
        if today:
            close, prev_close, volume = today
            if prev_close is None:
                before = [d for d in bars if d < row.date]
                prev_close = bars[max(before)][0] if before else None
            if prev_close:
                day_return = close / prev_close - 1
            earlier = sorted((d for d in bars if d < row.date), reverse=True)[:VOLUME_BASELINE_DAYS]
            volumes = [bars[d][2] for d in earlier if bars[d][2]]
            if volume and volumes:
                volume_ratio = volume / (sum(volumes) / len(volumes))
        components = pump_components(
            mentions=row.mentions,
            baseline_mean=baseline,
            mean_sentiment=row.mean_sentiment,
            pump_signals=row.pump_signals,
            day_return=day_return,
            volume_ratio=volume_ratio,
        )
        row.pump_score = pump_score_combine(components)
    DailySocial.objects.bulk_update(rows, ["pump_score"], batch_size=1000)
    return len(rows)
