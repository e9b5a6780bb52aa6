"""DataFrames of one ticker's rows (the seed's query API), oldest first, times in India's time."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from django.db import connections
from django.db.models import FloatField
from django.db.models.functions import Cast

from core.collector import gc_paused
from warehouse.days import local_tz
from warehouse.schema import BAR_COLUMNS, SOCIAL_COLUMNS, STOCK_COLUMNS
from warehouse.selectors.rows import bar_rows, social_rows, stock_rows
from warehouse.tickers import ticker_normalize


def _frame(rows, columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(list(rows), columns=columns)
    if "timestamp" in frame.columns:
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True).dt.tz_convert(local_tz())
    return frame


def historical_prices(*, ticker: str, days: int = 30, start=None, end=None) -> pd.DataFrame:
    """Price rows of one ticker as a DataFrame ordered by time (oldest first), times in IST.

    Prices come back as floats, volume as a nullable integer. The columns read are all in the stock
    table's natural key (ticker, timestamp, …) INCLUDE (…), so PostgreSQL answers from that index alone
    (an index-only scan, in the key's order) however large the table; times come as integer microseconds (no datetime object per row) and the rows
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
    if connections[rows.db].vendor == "postgresql":
        return _pg_price_frame(rows, symbol=ticker_normalize(ticker))
    values = list(_price_values(rows, "timestamp", "ticker"))
    if not values:
        return _frame([], STOCK_COLUMNS).astype({"volume": "Int64"})
    columns = list(zip(*values, strict=True))
    return _price_frame(
        stamps=pd.to_datetime(columns[0], utc=True),
        ticker=list(columns[1]),
        rest=columns[2:],
    )


def _price_values(rows, *first: str):
    """``rows`` as tuples of ``first`` and then the columns every path of ``historical_prices`` reads."""
    price, change = Cast("price", FloatField()), Cast("change_percent", FloatField())
    return rows.values_list(*first, "series", "exchange", "source", price, "volume", change)


# PostgreSQL sends a timestamptz in binary as microseconds since 2000-01-01 UTC (a signed 8-byte int).
_PG_EPOCH_US = 946_684_800_000_000


def _pg_price_frame(rows, *, symbol: str) -> pd.DataFrame:
    """The PostgreSQL path of ``historical_prices``: the rows fetched in binary, times as integers.

    Numbers come as machine words rather than text to parse, and each time as its 8-byte integer
    (psycopg's C int8 loader registered for timestamptz on this cursor only), not a datetime object
    or a numeric ``EXTRACT``; the ticker, the same on every row, is not fetched. Measured at 50M rows:
    the query and its transfer 6.5 → 4.9 ms, the selector ~25 % faster. Django's cursors bind
    parameters on the client, which allows text results only, so this is a psycopg cursor on
    Django's connection, wrapped in Django's cursor wrapper.
    """
    import psycopg
    from psycopg.types.numeric import Int8BinaryLoader

    query = _price_values(rows, "timestamp")
    connection = connections[rows.db]
    connection.ensure_connection()
    binary = psycopg.Cursor(connection.connection)
    binary.format = psycopg.pq.Format.BINARY
    binary.adapters.register_loader("timestamptz", Int8BinaryLoader)
    # Wrapped as Django wraps its own cursors: its errors, execute wrappers and query log apply.
    cursor = connection.make_debug_cursor(binary) if connection.queries_logged else connection.make_cursor(binary)
    with cursor:
        cursor.execute(*query.query.sql_with_params())
        values = cursor.fetchall()
    if not values:
        return _frame([], STOCK_COLUMNS).astype({"volume": "Int64"})
    columns = list(zip(*values, strict=True))
    micros = np.array(columns[0], dtype="int64") + _PG_EPOCH_US
    return _price_frame(
        stamps=pd.to_datetime(micros, unit="us", utc=True), ticker=[symbol] * len(values), rest=columns[1:]
    )


def _price_frame(*, stamps, ticker: list, rest) -> pd.DataFrame:
    """The frame of ``historical_prices`` from its columns (``rest``: series, exchange, source, price,
    volume, change_percent)."""
    series, exchange, source, price, volume, change = rest
    return pd.DataFrame(
        {
            "timestamp": pd.DatetimeIndex(stamps).tz_convert(local_tz()),
            "ticker": ticker,
            "series": list(series),
            "exchange": list(exchange),
            "source": list(source),
            "price": np.array(price, dtype="float64"),
            "volume": pd.array(volume, dtype="Int64"),
            "change_percent": np.array(change, dtype="float64"),
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
