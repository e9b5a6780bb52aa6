"""Warehouse services: the bulk loader, the gold refresh, and the seed's ``warehouse`` entry point.

``insert_*`` load one batch in one transaction and return a ``LoadResult``; they do not refresh gold
themselves: the caller (the pipeline) passes ``result.dates`` to ``gold_refresh`` when it wants the
daily aggregates current, so a bulk backfill can refresh once at the end.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import pandas as pd

from core.db import reads_from_replica
from warehouse import selectors
from warehouse.services.daily_social import PumpInputs, daily_social_pump_scores_write
from warehouse.services.gold import QUOTE_SOURCE, GoldResult, gold_refresh
from warehouse.services.loader import (
    DAILY,
    SOCIAL,
    STOCK,
    LoadResult,
    PreparedRows,
    RowError,
    WarehouseUnavailable,
    rows_load,
    rows_prepare,
)
from warehouse.services.tickers import TickerLearnResult, ticker_master_learn

Records = pd.DataFrame | Iterable[dict]

__all__ = [
    "QUOTE_SOURCE",
    "GoldResult",
    "LoadResult",
    "PreparedRows",
    "PumpInputs",
    "RowError",
    "TickerLearnResult",
    "WarehouseUnavailable",
    "daily_bars_load",
    "daily_social_pump_scores_write",
    "gold_refresh",
    "social_rows_load",
    "stock_rows_load",
    "stock_rows_prepare",
    "ticker_master_learn",
    "warehouse",
]


def stock_rows_load(*, records: Records | None = None, prepared: PreparedRows | None = None) -> LoadResult:
    """Load price observations (keys: docs/CONTRACTS.md, "Stock record keys") idempotently: ``records``,
    or those ``stock_rows_prepare`` cleaned ahead."""
    return rows_load(spec=STOCK, records=records, prepared=prepared)


def stock_rows_prepare(*, records: Records) -> PreparedRows:
    """Price observations cleaned for ``stock_rows_load(prepared=…)`` (no database: work to overlap)."""
    return rows_prepare(spec=STOCK, records=records)


def social_rows_load(*, records: Records) -> LoadResult:
    """Load social mentions (one row per message and ticker) idempotently."""
    return rows_load(spec=SOCIAL, records=records)


def daily_bars_load(*, records: Records) -> LoadResult:
    """Load daily bars (bhavcopy days) idempotently; a bar's key is ticker, series, exchange, date, source."""
    return rows_load(spec=DAILY, records=records)


class Warehouse:
    """The seed's API, kept by name: thin entry points over the services and selectors.

    Its reads may be served by the streaming replica (``DATABASE_REPLICA_URL``), except inside a pipeline.
    """

    def insert_stock_data(self, records: Records) -> LoadResult:
        return stock_rows_load(records=records)

    def insert_social_data(self, records: Records) -> LoadResult:
        return social_rows_load(records=records)

    def insert_daily_bars(self, records: Records) -> LoadResult:
        return daily_bars_load(records=records)

    def gold_refresh(self, *, dates: Iterable[date], tickers: Iterable[str] | None = None) -> GoldResult:
        return gold_refresh(dates=dates, tickers=tickers)

    @reads_from_replica
    def get_historical_stock_data(self, ticker: str, days: int = 30) -> pd.DataFrame:
        return selectors.historical_prices(ticker=ticker, days=days)

    @reads_from_replica
    def get_social_mentions(self, ticker: str, days: int = 7, platform: str | None = None) -> pd.DataFrame:
        return selectors.social_mentions(ticker=ticker, days=days, platform=platform)

    @reads_from_replica
    def get_daily_bars(self, ticker: str, start: date | None = None, end: date | None = None) -> pd.DataFrame:
        return selectors.daily_bars(ticker=ticker, start=start, end=end)

    @reads_from_replica
    def get_stats(self) -> dict:
        return selectors.warehouse_stats()


warehouse = Warehouse()
