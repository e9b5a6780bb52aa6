"""The NSE handlers: one per pipeline kind ("quotes", "bhavcopy"); the social one is in ``social.py``.

A handler takes a ``ParsedGroup`` and validates, loads and quarantines its records, adding to its
``outcome``; the registry names each kind's handler.
"""

from __future__ import annotations

import pandas as pd

from core.overlap import meanwhile
from warehouse.services import (
    LoadResult,
    PreparedRows,
    stock_rows_load,
    stock_rows_prepare,
    ticker_master_learn,
    warehouse,
)

from .outcome import ParsedGroup
from .validate import group_validate_and_load


def quotes_load(group: ParsedGroup) -> None:
    """Handler of the "quotes" kind: NSE quote rows into ``stock_data_warehouse``."""
    rows = group.tagged("stock_rows")
    group.read(rows)
    group.outcome.parsed += len(rows)
    group_validate_and_load(group, dataset="stock_quotes", rows=rows, loader=warehouse.insert_stock_data)


def bhavcopy_load(group: ParsedGroup) -> None:
    """Handler of the "bhavcopy" kind: daily bars, the day's closes as stock rows, and the ticker master.

    The two loads overlap our work with the server's (``core.overlap``): the closes are cleaned while the
    server takes in the bars, and the closes' load, the larger (a JSONB row each), carries the work the
    caller offered (a replay reads its next group then)."""
    bars = group.tagged("bars")
    stock_rows = group.tagged("stock_rows")
    group.read(bars)
    group.outcome.parsed += len(bars)
    ahead: dict = {}

    def load_bars(valid: pd.DataFrame) -> LoadResult:
        with meanwhile(lambda: ahead.update(closes=_closes_ahead(valid, stock_rows))):
            return warehouse.insert_daily_bars(valid)

    valid_bars = group_validate_and_load(group, dataset="bhavcopy_rows", rows=bars, loader=load_bars)
    if not len(valid_bars):
        return
    # The day's closes also become stock rows (price = close); counted once, with the bars.
    closes = ahead.get("closes") or stock_rows_prepare(records=_closes(valid_bars, stock_rows))
    if len(closes.original):
        stock_rows_load(prepared=closes)
    # The master learns symbols, series and ISINs (and the day they hold from): only those columns become
    # dicts (all twenty cost 10%), zipped from their lists (to_dict("records") took five times as long).
    learned = [c for c in ("ticker", "series", "isin", "date") if c in valid_bars.columns]
    values = zip(*(valid_bars[c].tolist() for c in learned), strict=True)
    ticker_master_learn([dict(zip(learned, row, strict=True)) for row in values])


def _closes(valid_bars: pd.DataFrame, stock_rows: list[dict]) -> pd.DataFrame:
    """The stock rows of the bars that passed validation."""
    if len(valid_bars) == len(stock_rows):
        # The parser makes one stock row per bar: when every bar passed (the usual day), every row is a close.
        return pd.DataFrame(stock_rows)
    keys = set(zip(valid_bars["lake_object_id"], valid_bars["ticker"], valid_bars["series"], strict=True))
    closes = [row for row in stock_rows if (row["lake_object_id"], row["ticker"], row.get("series", "EQ")) in keys]
    return pd.DataFrame(closes)


def _closes_ahead(valid_bars: pd.DataFrame, stock_rows: list[dict]) -> PreparedRows | None:
    """``_closes`` cleaned for their load, as work overlapped with the bars' (which must not raise: on a
    failure the closes are cleaned again after it, where the error is raised)."""
    try:
        return stock_rows_prepare(records=_closes(valid_bars, stock_rows))
    except Exception:
        return None
