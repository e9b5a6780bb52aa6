"""The cleaning rules of each warehouse table, column by column: values normalised, the rows that
cannot be stored refused with a reason (``rejected`` gathers (position, reason) pairs).

Vectorised where batches are large: codes and tickers are normalised once per distinct value, and
free text and JSON row by row only where every value differs. ``warehouse.services.cleaning`` runs
these per table (see its ``TableSpec``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd

from core.errors import nul_strip
from core.jsontext import json_dumps
from warehouse.days import local_tz
from warehouse.models import SocialMention
from warehouse.tickers import ticker_normalize


def is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _column(df: pd.DataFrame, name: str, default: Any = None) -> pd.Series:
    if name in df.columns:
        return df[name]
    return pd.Series([default] * len(df), index=df.index, dtype=object)


def _reject(mask: pd.Series, reason: str | pd.Series, rejected: list[tuple[int, str]], df: pd.DataFrame) -> None:
    if not mask.any():
        return
    positions = df.loc[mask, "_pos"].tolist()
    if isinstance(reason, str):
        rejected.extend((p, reason) for p in positions)
    else:
        rejected.extend(zip(positions, reason[mask].tolist(), strict=True))


def _map_unique(series: pd.Series, func: Callable[[Any], Any]) -> pd.Series:
    """``func`` applied once per distinct value (codes, series and sources repeat a lot in a batch)."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    results = [func(value) for value in uniques.tolist()]
    results.append(func(None))  # the missing values (code -1 picks the last entry)
    table = np.empty(len(results), dtype=object)
    table[:] = results
    return pd.Series(table[codes], index=series.index, dtype=object)


def _as_text(value: Any, default: str) -> str:
    if is_missing(value):
        return default
    text = value if isinstance(value, str) else str(value)
    return text.replace("\x00", "") if "\x00" in text else text  # PostgreSQL text refuses NUL


def _text(series: pd.Series, default: str = "") -> pd.Series:
    """Strings (object dtype) with missing values replaced by ``default``."""
    return _map_unique(series, lambda v: _as_text(v, default))


def _text_rows(series: pd.Series, default: str = "") -> pd.Series:
    """Like ``_text`` for free text, where nearly every value differs (no point in factorising)."""
    return pd.Series([_as_text(v, default) for v in series.tolist()], index=series.index, dtype=object)


def _normalise_ticker(value: Any) -> tuple[str | None, str]:
    if is_missing(value) or value == "":
        return None, "ticker: missing"
    try:
        return ticker_normalize(value), ""
    except ValueError as exc:
        return None, f"ticker: {exc}"


def _clean_tickers(df: pd.DataFrame, rejected: list[tuple[int, str]]) -> pd.DataFrame:
    # Few distinct names in a batch: normalise each once (the one rule in warehouse.tickers).
    raw = _column(df, "ticker")
    symbols = _map_unique(raw, lambda v: _normalise_ticker(v)[0])
    bad = symbols.isna()
    if bad.any():
        _reject(bad, _map_unique(raw, lambda v: _normalise_ticker(v)[1]), rejected, df)
        df = df.loc[~bad]
        symbols = symbols.loc[~bad]
    df["ticker"] = symbols
    return df


def _clean_timestamps(df: pd.DataFrame, name: str, rejected: list[tuple[int, str]]) -> pd.DataFrame:
    """Aware UTC timestamps; naive ones are read as India's time (as Django reads naive datetimes)."""
    raw = _column(df, name)
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        parsed = raw.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(raw.dtype):
        parsed = raw.dt.tz_localize(local_tz(), ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
    else:
        values = [_one_timestamp(v) for v in raw.tolist()]
        parsed = pd.Series(pd.to_datetime(values, utc=True), index=raw.index)
    bad = parsed.isna()
    _reject(bad, f"{name}: missing or not a date-time", rejected, df)
    df = df.loc[~bad]
    df[name] = parsed.loc[~bad].astype("datetime64[us, UTC]")
    return df


def _one_timestamp(value: Any) -> pd.Timestamp | None:
    if is_missing(value) or (isinstance(value, str) and not value.strip()):
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        return None
    if ts is pd.NaT:
        return None
    if ts.tzinfo is None:
        ts = ts.tz_localize(local_tz())
    return ts.tz_convert("UTC")


def _clean_dates(df: pd.DataFrame, name: str, rejected: list[tuple[int, str]]) -> pd.DataFrame:
    return _keep_present(df, name, _map_unique(_column(df, name), _one_date), "missing or not a date", rejected)


def _one_date(value: Any) -> date | None:
    if is_missing(value) or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value.astimezone(local_tz()).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    try:
        return pd.Timestamp(value).date()
    except (ValueError, TypeError, OverflowError):
        return None


def _blank(value: Any) -> bool:
    return is_missing(value) or (isinstance(value, str) and not value.strip())


def _clean_number(
    df: pd.DataFrame, name: str, rejected: list[tuple[int, str]], *, required: bool = False
) -> pd.DataFrame:
    """Floats (NaN for missing); a value that is present but not a finite number is refused."""
    raw = _column(df, name)
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        numbers = raw.astype("float64")
        missing = numbers.isna()
    else:
        # Records from JSON: numbers, numeric strings, Decimals, blanks.
        missing = pd.Series([_blank(v) for v in raw.tolist()], index=raw.index, dtype=bool)
        numbers = pd.to_numeric(raw.where(~missing, None), errors="coerce").astype("float64")
    bad = (numbers.isna() & ~missing) | np.isinf(numbers)
    if required:
        bad |= missing
    _reject(bad, f"{name}: {'missing or ' if required else ''}not a finite number", rejected, df)
    df = df.loc[~bad]
    df[name] = numbers.loc[~bad]
    return df


def _one_decimal(value: Any) -> Decimal | bool | None:
    """A Decimal, None when blank, or False when it is not a finite number."""
    if type(value) is float:  # the parsers' usual value: the shortest repr is the number as written
        return Decimal(repr(value)) if math.isfinite(value) else (None if value != value else False)
    if _blank(value):
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return False
    return number if number.is_finite() else False


def _clean_decimal(df: pd.DataFrame, name: str, rejected: list[tuple[int, str]]) -> pd.DataFrame:
    """Exact decimals (turnover runs to 15+ digits, beyond a float); None for missing.

    A column of floats (what the parsers give) stays one: a float travels as its shortest repr, the
    very digits ``Decimal(repr(value))`` would hold, so only the infinite ones need a look."""
    column = _column(df, name)
    if column.dtype == "float64":
        bad = pd.Series(np.isinf(column.to_numpy()), index=df.index)
        _reject(bad, f"{name}: not a finite number", rejected, df)
        return df.loc[~bad] if bad.any() else df
    values = pd.Series([_one_decimal(v) for v in column.tolist()], index=df.index, dtype=object)
    bad = values.map(lambda v: v is False).astype(bool)
    _reject(bad, f"{name}: not a finite number", rejected, df)
    df = df.loc[~bad]
    df[name] = values.loc[~bad]
    return df


def _clean_int(df: pd.DataFrame, name: str, rejected: list[tuple[int, str]]) -> pd.DataFrame:
    df = _clean_number(df, name, rejected)
    values = df[name]
    fractional = values.notna() & (values != np.floor(values))
    _reject(fractional, f"{name}: not a whole number", rejected, df)
    df = df.loc[~fractional]
    # BIGINT's range: a larger value would fail the whole batch on conversion, not just its row.
    huge = df[name].notna() & (df[name].abs() >= 2.0**63)
    _reject(huge, f"{name}: out of range", rejected, df)
    df = df.loc[~huge]
    df[name] = df[name].astype("Int64")
    return df


def _json_text(value: Any) -> str | None:
    """JSON columns travel as JSON text (COPY parses it into jsonb); a str is taken as JSON already."""
    if is_missing(value):
        return None
    if isinstance(value, str):
        return value.replace("\\u0000", "") if "\\u0000" in value else value
    # orjson: several times faster than json.dumps, and NaN becomes null (jsonb has no NaN).
    text = json_dumps(value, default=str).decode()
    if "\\u0000" in text:  # jsonb refuses \u0000: encode a copy without NULs
        text = json_dumps(nul_strip(value), default=str).decode()
    return text


def _clean_json(df: pd.DataFrame, name: str) -> pd.DataFrame:
    raw = _column(df, name)
    if pd.api.types.is_string_dtype(raw.dtype) and raw.dtype != object:
        df[name] = raw.astype(object).where(raw.notna(), None)  # JSON text already
        return df
    df[name] = pd.Series([_json_text(v) for v in _column(df, name).tolist()], index=df.index, dtype=object)
    return df


def _clean_code(df: pd.DataFrame, name: str, default: str, *, upper: bool = True) -> pd.DataFrame:
    def code(value: Any) -> str:
        text = _as_text(value, "").strip()
        text = text.upper() if upper else text.lower()
        return text or default

    df[name] = _map_unique(_column(df, name), code)
    return df


def _require_text(df: pd.DataFrame, name: str, rejected: list[tuple[int, str]], *, lower: bool = False):
    def text(value: Any) -> str | None:
        out = _as_text(value, "").strip()
        return (out.lower() if lower else out) or None

    return _keep_present(df, name, _map_unique(_column(df, name), text), "missing", rejected)


def _keep_present(
    df: pd.DataFrame, name: str, values: pd.Series, reason: str, rejected: list[tuple[int, str]]
) -> pd.DataFrame:
    """``values`` as column ``name``, the rows where a value is missing refused with ``name: reason``."""
    bad = values.isna()
    _reject(bad, f"{name}: {reason}", rejected, df)
    df = df.loc[~bad]
    df[name] = values.loc[~bad]
    return df


def _ints_or_none(df: pd.DataFrame, name: str) -> pd.DataFrame:
    series = _column(df, name)
    if series.isna().all():
        df[name] = pd.Series([None] * len(df), index=df.index, dtype=object)
        return df
    df[name] = pd.to_numeric(series, errors="coerce").astype("Int64")
    return df


def stock_clean(df: pd.DataFrame, rejected: list[tuple[int, str]]) -> pd.DataFrame:
    df = _clean_tickers(df, rejected)
    df = _require_text(df, "source", rejected)
    df = _clean_timestamps(df, "timestamp", rejected)
    df = _clean_number(df, "price", rejected, required=True)
    df = _clean_int(df, "volume", rejected)
    df = _clean_number(df, "change_percent", rejected)
    df = _clean_code(df, "series", "EQ")
    df = _clean_code(df, "exchange", "NSE")
    df = _clean_json(df, "raw_data")
    return _ints_or_none(df, "lake_object_id")


SENTIMENTS = {choice.value for choice in SocialMention.Sentiment}


def social_clean(df: pd.DataFrame, rejected: list[tuple[int, str]]) -> pd.DataFrame:
    df = _clean_tickers(df, rejected)
    df = _require_text(df, "platform", rejected, lower=True)
    df = _require_text(df, "external_id", rejected)
    df = _clean_timestamps(df, "timestamp", rejected)
    df["text"] = _text_rows(_column(df, "text"))
    df = _clean_code(df, "sentiment", "neutral", upper=False)
    bad = ~df["sentiment"].isin(SENTIMENTS)
    _reject(bad, "sentiment: expected positive, neutral or negative", rejected, df)
    df = df.loc[~bad]
    for name in ("sentiment_score", "pump_score"):
        df = _clean_number(df, name, rejected)
        df[name] = df[name].fillna(0.0)
    df["is_pump_signal"] = _map_unique(_column(df, "is_pump_signal", False), _truthy).astype(bool)
    df["channel"] = _text(_column(df, "channel"))
    df["author"] = _text(_column(df, "author"))
    df = _clean_int(df, "views", rejected)
    df = _require_object(df, "metadata", rejected)
    df = _clean_json(df, "metadata")
    return _ints_or_none(df, "lake_object_id")


def _require_object(df: pd.DataFrame, name: str, rejected: list[tuple[int, str]]) -> pd.DataFrame:
    """Rows whose ``name`` is neither missing nor a JSON object (a dict, or JSON text of one) are refused:
    readers look keys up in it (the rules and terms a pump verdict stored there)."""
    values = _column(df, name).tolist()
    bad = pd.Series(
        [
            not (isinstance(v, dict) or (isinstance(v, str) and v.lstrip().startswith("{")) or is_missing(v))
            for v in values
        ],
        index=df.index,
        dtype=bool,
    )
    _reject(bad, f"{name}: expected a JSON object", rejected, df)
    return df.loc[~bad]


def _truthy(value: Any) -> bool:
    if is_missing(value):
        return False
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "y", "t"}
    return bool(value)


def daily_clean(df: pd.DataFrame, rejected: list[tuple[int, str]]) -> pd.DataFrame:
    df = _clean_tickers(df, rejected)
    df = _require_text(df, "source", rejected)
    df = _clean_dates(df, "date", rejected)
    df = _clean_code(df, "series", "EQ")
    df = _clean_code(df, "exchange", "NSE")
    df["isin"] = _map_unique(_column(df, "isin"), lambda v: _as_text(v, "").strip().upper())
    for name in ("open", "high", "low", "close", "last", "prev_close", "value", "delivery_pct"):
        df = _clean_decimal(df, name, rejected)
    for name in ("volume", "trades", "delivery_qty"):
        df = _clean_int(df, name, rejected)
    return _ints_or_none(df, "lake_object_id")
