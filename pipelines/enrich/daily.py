"""The daily per-ticker pump score on gold (DailySocial.pump_score): chatter spike, hype and market move."""

import math
from dataclasses import asdict

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


def daily_pump_score(inputs) -> float:
    """The daily pump score of one DailySocial row from its ``warehouse.services.PumpInputs``.

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
    so chatter alone scores at most 0.70. A pure function: the warehouse gathers the inputs and writes the score.
    """
    return pump_score_combine(pump_components(**asdict(inputs)))
