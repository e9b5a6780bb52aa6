"""Reads of the warehouse: DataFrames for analysts, QuerySets for the API.

Every function taking a ticker normalises it with ``warehouse.tickers.ticker_normalize`` and raises
``InvalidInput`` (a ValueError) with a clear message for anything that cannot be an NSE symbol.

The reads live in modules by theme (time windows, row QuerySets, DataFrames, stats, suspicious
tickers, the chart's timeline); every public name is re-exported here, so callers keep importing
``warehouse.selectors`` and calling ``selectors.<name>`` (which is also what a test patches).
"""

from warehouse.selectors.frames import daily_bars, historical_prices, social_mentions
from warehouse.selectors.rows import bar_rows, daily_social, social_rows, stock_rows, ticker_overview
from warehouse.selectors.stats import storage_type, warehouse_stats
from warehouse.selectors.suspicious import (
    EVIDENCE_MESSAGES,
    MENTION_BASELINE_DAYS,
    VOLUME_BASELINE_BARS,
    daily_market,
    flagged_messages,
    market_moves,
    mention_baselines,
    pump_latest_day,
    pump_ticker_days,
    suspicious_tickers,
)
from warehouse.selectors.timeline import busiest_ticker, ticker_timeline
from warehouse.selectors.times import MAX_DAYS, time_window

__all__ = [
    "EVIDENCE_MESSAGES",
    "MAX_DAYS",
    "MENTION_BASELINE_DAYS",
    "VOLUME_BASELINE_BARS",
    "bar_rows",
    "busiest_ticker",
    "daily_bars",
    "daily_market",
    "daily_social",
    "flagged_messages",
    "historical_prices",
    "market_moves",
    "mention_baselines",
    "pump_latest_day",
    "pump_ticker_days",
    "social_mentions",
    "social_rows",
    "stock_rows",
    "storage_type",
    "suspicious_tickers",
    "ticker_overview",
    "ticker_timeline",
    "time_window",
    "warehouse_stats",
]
