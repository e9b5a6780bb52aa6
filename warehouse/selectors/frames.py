"""DataFrames of one ticker's rows (the seed's query API), oldest first, times in India's time."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from django.db import connections
from django.db.models import FloatField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from core.collector import gc_paused
from warehouse.days import local_tz
from warehouse.schema import BAR_COLUMNS, SOCIAL_COLUMNS, STOCK_COLUMNS
from warehouse.selectors.rows import bar_rows, social_rows, stock_rows


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
    become columns in one pass. The cyclic collector is paused meanwhile: the ~10^4 short-lived tuples
    of a 30-day answer would otherwise start collections that walk every live object of the process
    (measured: p99 34-42 ms with it, 19 ms without, on 3M rows).
    """
    with gc_paused():
        return _historical_prices(ticker=ticker, days=days, start=start, end=end)


def _historical_prices(*, ticker: str, days: int, start, end) -> pd.DataFrame:
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
