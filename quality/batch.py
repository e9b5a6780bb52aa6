"""The columns of one batch under validation, coerced and factorised once for every rule that reads them.

Text columns are factorised (codes and their few distinct values), so a rule tests each distinct value
once and maps the answer back to the rows with one numpy index: never a Python loop per row.
"""

import datetime as dt
import math

import numpy as np
import pandas as pd

NULL_TOKENS = {"", "-"}  # NSE writes "-" for "no value" (DELIV_QTY on non-EQ rows, sessionNo …)
# 1 == True and 0 == False as dict keys, so the integers are covered by the booleans.
BOOL_VALUES = {True: True, False: False, "true": True, "false": False, "True": True, "False": False,
               "1": True, "0": False, "yes": True, "no": False}  # fmt: skip


class Batch:
    """Caches the coerced and factorised columns of one batch, so each is computed once."""

    def __init__(self, df: pd.DataFrame):
        self.df = df
        self.n = len(df)
        self._codes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._numbers: dict[str, np.ndarray] = {}
        self._times: dict[str, pd.Series] = {}
        self._nulls: dict[str, np.ndarray] = {}
        self.coerced: dict[str, pd.Series | np.ndarray] = {}

    def has(self, column: str) -> bool:
        return column in self.df.columns

    def is_texty(self, column: str) -> bool:
        dtype = self.df[column].dtype
        return dtype is np.dtype(object) or isinstance(dtype, pd.StringDtype) or str(dtype) == "str"

    def codes(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """(codes, uniques) of a column; code -1 is null."""
        if column not in self._codes:
            codes, uniques = pd.factorize(self.df[column], use_na_sentinel=True)
            self._codes[column] = (np.asarray(codes), np.asarray(uniques, dtype=object))
        return self._codes[column]

    def per_unique(self, column: str, test) -> np.ndarray:
        """Evaluate ``test(value) -> bool`` once per distinct value; True where the row fails."""
        codes, uniques = self.codes(column)
        bad_unique = np.fromiter((bool(test(v)) for v in uniques), dtype=bool, count=len(uniques))
        bad_unique = np.append(bad_unique, False)  # index -1 (null) passes
        return bad_unique[codes]

    def null(self, column: str) -> np.ndarray:
        if column not in self._nulls:
            s = self.df[column]
            if self.is_texty(column):
                codes, uniques = self.codes(column)
                blank = np.fromiter(
                    (isinstance(v, str) and v.strip() in NULL_TOKENS for v in uniques), dtype=bool, count=len(uniques)
                )
                self._nulls[column] = (codes == -1) | np.append(blank, False)[codes]
            else:
                self._nulls[column] = s.isna().to_numpy()
        return self._nulls[column]

    def number(self, column: str) -> np.ndarray:
        """Float values; NaN where null or not a number."""
        if column not in self._numbers:
            s = self.df[column]
            if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
                values = s.to_numpy(dtype="float64", na_value=np.nan)
            else:
                codes, uniques = self.codes(column)
                parsed = np.fromiter((to_float(v) for v in uniques), dtype="float64", count=len(uniques))
                values = np.append(parsed, np.nan)[codes]
            self._numbers[column] = values
        return self._numbers[column]

    def time(self, column: str, *, date_only: bool = False) -> pd.Series:
        """Aware UTC timestamps (dates: midnight IST); NaT where null or unparseable."""
        key = f"{column}:{date_only}"
        if key not in self._times:
            s = self.df[column]
            if isinstance(s.dtype, pd.DatetimeTZDtype):
                parsed = s.dt.tz_convert("UTC")
            elif pd.api.types.is_datetime64_dtype(s.dtype):
                parsed = s.dt.tz_localize("Asia/Kolkata" if date_only else "UTC").dt.tz_convert("UTC")
            else:
                codes, uniques = self.codes(column)
                parsed_u = parse_times(pd.Series(uniques, dtype=object), date_only=date_only)
                parsed = pd.Series(np.append(parsed_u.to_numpy(), pd.NaT)[codes], index=s.index)
                parsed = pd.to_datetime(parsed, utc=True)
            self._times[key] = parsed
        return self._times[key]


def to_float(value) -> float:
    if value is None or isinstance(value, bool):
        return np.nan
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        if text in NULL_TOKENS:
            return np.nan
        try:
            out = float(text)
        except ValueError:
            return np.nan
        return out if math.isfinite(out) else np.nan
    try:
        out = float(value)
    except (TypeError, ValueError):
        return np.nan
    return out if math.isfinite(out) else np.nan


def parse_times(values: pd.Series, *, date_only: bool) -> pd.Series:
    def one(v):
        if v is None or (isinstance(v, str) and v.strip() in NULL_TOKENS):
            return pd.NaT
        try:
            if isinstance(v, dt.datetime | pd.Timestamp | dt.date):
                ts = pd.Timestamp(v)
            elif isinstance(v, str):
                ts = pd.Timestamp(v.strip()) if not date_only else pd.to_datetime(v.strip(), dayfirst="-" in v[:3])
            else:
                return pd.NaT
        except (ValueError, TypeError, OverflowError):
            return pd.NaT
        if date_only:
            ts = pd.Timestamp(ts.date()).tz_localize("Asia/Kolkata")
        elif ts.tzinfo is None:
            ts = ts.tz_localize("UTC")
        return ts.tz_convert("UTC")

    return pd.Series([one(v) for v in values], dtype="datetime64[ns, UTC]")
