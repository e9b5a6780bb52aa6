"""The daily per-ticker pump score on gold (``DailySocial.pump_score``), written by the warehouse.

The warehouse gathers each row's inputs (the day's chatter against the ticker's own history, and the
day's price and volume move) and writes the score; the formula is the caller's, passed in as
``score`` (the pipelines' ``enrich.daily.daily_pump_score``), so the warehouse holds no scoring rules.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from warehouse.models import DailySocial
from warehouse.selectors import daily_market

MENTION_BASELINE_DAYS = 14  # calendar days of chatter history a ticker is compared with
VOLUME_BASELINE_DAYS = 20  # trading days (bars) of volume history
VOLUME_LOOKBACK_DAYS = 45  # calendar days fetched to find those bars


@dataclass(frozen=True)
class PumpInputs:
    """What the score of one DailySocial row (one ticker, platform and day) is computed from."""

    mentions: int
    baseline_mean: float  # mean daily mentions on that platform over the 14 days before (no row = 0)
    mean_sentiment: float
    pump_signals: int
    day_return: float | None  # close / prev_close - 1, None without market data
    volume_ratio: float | None  # volume / mean volume of the 20 previous bars, None without them


def daily_social_pump_scores_write(
    *, dates: Iterable[date], score: Callable[[PumpInputs], float], tickers: Iterable[str] | None = None
) -> int:
    """Set ``DailySocial.pump_score = score(inputs)`` for the rows of ``dates`` (and ``tickers``); returns
    the rows updated. Idempotent: recomputing gives the same values."""
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
    market = daily_market(tickers=symbols, start=first - timedelta(days=VOLUME_LOOKBACK_DAYS), end=last)
    for row in rows:
        row.pump_score = score(_inputs(row, history[(row.ticker, row.platform)], market.get(row.ticker, {})))
    DailySocial.objects.bulk_update(rows, ["pump_score"], batch_size=1000)
    return len(rows)


def _inputs(row: DailySocial, counts: dict[date, int], bars: dict[date, tuple]) -> PumpInputs:
    window = [counts.get(row.date - timedelta(days=k), 0) for k in range(1, MENTION_BASELINE_DAYS + 1)]
    day_return = volume_ratio = None
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
    return PumpInputs(
        mentions=row.mentions,
        baseline_mean=sum(window) / len(window),
        mean_sentiment=row.mean_sentiment,
        pump_signals=row.pump_signals,
        day_return=day_return,
        volume_ratio=volume_ratio,
    )
