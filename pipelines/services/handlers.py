"""The NSE handlers: one per pipeline kind ("quotes", "bhavcopy"); the social one is in ``social.py``.

A handler takes a ``ParsedGroup`` and validates, loads and quarantines its records, adding to its
``outcome``; the registry names each kind's handler.
"""

from __future__ import annotations

import pandas as pd

from warehouse.services import ticker_master_learn, warehouse

from .outcome import ParsedGroup
from .validate import group_validate_and_load


def quotes_load(group: ParsedGroup) -> None:
    """Handler of the "quotes" kind: NSE quote rows into ``stock_data_warehouse``."""
    rows = group.tagged("stock_rows")
    group.read(rows)
    group.outcome.parsed += len(rows)
    group_validate_and_load(group, dataset="stock_quotes", rows=rows, loader=warehouse.insert_stock_data)


def bhavcopy_load(group: ParsedGroup) -> None:
    """Handler of the "bhavcopy" kind: daily bars, the ticker master, and the day's closes as stock rows."""
    bars = group.tagged("bars")
    stock_rows = group.tagged("stock_rows")
    group.read(bars)
    group.outcome.parsed += len(bars)
    valid_bars = group_validate_and_load(group, dataset="bhavcopy_rows", rows=bars, loader=warehouse.insert_daily_bars)
    if not len(valid_bars):
        return
    # The master learns symbols, series and ISINs (and the day they hold from): only those columns become
    # dicts (all twenty cost 10%).
    learned = [c for c in ("ticker", "series", "isin", "date") if c in valid_bars.columns]
    ticker_master_learn(valid_bars[learned].to_dict("records"))
    # The day's closes also become stock rows (price = close); counted once, with the bars.
    keys = set(zip(valid_bars["lake_object_id"], valid_bars["ticker"], valid_bars["series"], strict=True))
    closes = [row for row in stock_rows if (row["lake_object_id"], row["ticker"], row.get("series", "EQ")) in keys]
    if closes:
        warehouse.insert_stock_data(pd.DataFrame(closes))
