"""Cleaning a batch for the loader: records or a DataFrame → database-ready columns, the refused rows
(with their reasons), in-batch duplicates dropped, and the (IST) dates the batch covers.

Vectorised where batches are large (codes and tickers are normalised once per distinct value;
timestamps travel as ISO text), so cleaning costs a small share of a COPY. Here: each table's
``TableSpec``, the batch around its rules, and the cleaned frame as SQL rows; the rules themselves,
column by column, are in ``warehouse.services.cleaners``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from django.utils import timezone

from warehouse import schema
from warehouse.days import local_tz
from warehouse.models import DailyBar, SocialMention, StockData
from warehouse.services.cleaners import daily_clean, is_missing, social_clean, stock_clean


@dataclass
class Prepared:
    frame: pd.DataFrame  # cleaned, de-duplicated; the original position is kept in column "_pos"
    rejected: list[tuple[int, str]]  # (position in the input, reason)
    in_batch_duplicates: int
    dates: set[date]


@dataclass
class TableSpec:
    """How one table is loaded: its model, the columns written, its natural key, how rows are cleaned."""

    model: type
    columns: list[str]
    key: list[str]
    clean: Callable[[pd.DataFrame, list[tuple[int, str]]], pd.DataFrame]
    day_column: str  # a datetime column (date taken in IST) or a date column
    # The time column used by the pre-COPY probe (a datetime or a date column, indexed with ticker).
    probe_column: str

    @property
    def table(self) -> str:
        return self.model._meta.db_table


def _frame(records: pd.DataFrame | Iterable[dict]) -> tuple[pd.DataFrame, Sequence[dict] | pd.DataFrame]:
    if isinstance(records, pd.DataFrame):
        frame = records.reset_index(drop=True)
        return frame.copy(deep=False), frame
    rows = list(records)
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ValueError(f"record {i} is a {type(row).__name__}, expected a dict")
    return pd.DataFrame.from_records(rows) if rows else pd.DataFrame(), rows


def record_at(original: Sequence[dict] | pd.DataFrame, pos: int) -> dict:
    if isinstance(original, pd.DataFrame):
        row = original.iloc[pos].to_dict()
        return {k: (None if is_missing(v) else v) for k, v in row.items()}
    return dict(original[pos])


STOCK = TableSpec(
    model=StockData,
    columns=schema.STOCK.stored,
    key=schema.STOCK.key,
    clean=stock_clean,
    day_column="timestamp",
    probe_column="timestamp",
)
SOCIAL = TableSpec(
    model=SocialMention,
    columns=schema.SOCIAL.stored,
    key=schema.SOCIAL.key,
    clean=social_clean,
    day_column="timestamp",
    probe_column="timestamp",
)
DAILY = TableSpec(
    model=DailyBar,
    columns=schema.DAILY_BAR.stored,
    key=schema.DAILY_BAR.key,
    clean=daily_clean,
    day_column="date",
    probe_column="date",
)
STAMP_COLUMN = {StockData: "processed_at", SocialMention: "processed_at", DailyBar: "updated"}


def batch_prepare(spec: TableSpec, records: pd.DataFrame | Iterable[dict]) -> tuple[Prepared, Any]:
    """Clean a batch, drop the rows that repeat a key within it, and note the dates it covers."""
    df, original = _frame(records)
    rejected: list[tuple[int, str]] = []
    if df.empty:
        return Prepared(pd.DataFrame(columns=[*spec.columns, "_pos"]), rejected, 0, set()), original
    df["_pos"] = np.arange(len(df))
    df = spec.clean(df, rejected)
    before = len(df)
    if before:
        df = df.loc[~df.duplicated(subset=spec.key, keep="first")]
    in_batch = before - len(df)
    df[STAMP_COLUMN[spec.model]] = timezone.now()
    dates: set[date] = set()
    if len(df):
        days = df[spec.day_column]
        if isinstance(days.dtype, pd.DatetimeTZDtype):
            dates = set(pd.unique(days.dt.tz_convert(local_tz()).dt.date))
        else:
            dates = set(pd.unique(days))
    return Prepared(df, rejected, in_batch, dates), original


def _sql_values(series: pd.Series) -> list:
    """One column as plain Python values for COPY or an INSERT: None for missing, ISO text for times."""
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        # Text in ISO form is the cheapest thing to hand psycopg (no datetime objects per row).
        values = series.dt.tz_convert("UTC").to_numpy(dtype="datetime64[us]")
        return np.datetime_as_string(values, unit="us", timezone="UTC").tolist()
    if series.dtype == "Int64":
        if not series.isna().any():
            return series.astype("int64").tolist()
        return series.astype(object).where(series.notna(), None).tolist()
    if series.dtype == "float64":
        if not series.isna().any():
            return series.tolist()
        return [None if v != v else v for v in series.tolist()]
    values = series.tolist()
    if series.isna().any():
        return [None if is_missing(v) else v for v in values]
    return values


def sql_rows(spec: TableSpec, frame: pd.DataFrame) -> list[tuple]:
    stamp = STAMP_COLUMN[spec.model]
    columns = []
    for name in spec.columns:
        if name == stamp:
            columns.append([frame[stamp].iloc[0].isoformat()] * len(frame) if len(frame) else [])
        else:
            columns.append(_sql_values(frame[name]))
    return list(zip(*columns, strict=True))


def dates_of(spec: TableSpec, frame: pd.DataFrame) -> set[date]:
    """The IST dates of a cleaned frame's rows."""
    if not len(frame):
        return set()
    days = frame[spec.day_column]
    if isinstance(days.dtype, pd.DatetimeTZDtype):
        return set(pd.unique(days.dt.tz_convert(local_tz()).dt.date))
    return set(pd.unique(days))
