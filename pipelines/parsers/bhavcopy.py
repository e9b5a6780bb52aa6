"""NSE CM bhavcopy CSVs in the three layouts NSE has published → stock rows and daily bars.

- ``legacy``: ``cmDDMONYYYYbhav.csv``, 13 columns and a trailing comma on every line, ``06-JAN-2021``;
- ``udiff``: ``BhavCopy_NSE_CM_0_0_0_YYYYMMDD_F_0000.csv``, 34 columns, ISO dates (NSE's format since July 2024);
- ``sec_bhavdata_full``: a space after every comma, ``30-Dec-2024``, turnover in lakhs, delivery ``-`` when none.

All series are kept. A stock row's price is the close, its change is against the previous close, and
its timestamp is the close of that trading day (15:30 IST).
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, time

import numpy as np
import pandas as pd

from pipelines.parsers.common import IST, ParseResult, normalize_symbol

SOURCE = "nse_bhavcopy"
CLOSE_TIME = time(15, 30)

# layout → (date format, {field: column}); `value_scale` converts the turnover to INR.
LAYOUTS: dict[str, dict] = {
    "legacy": {
        "date_format": "%d-%b-%Y",
        "value_scale": 1.0,
        "columns": {
            "symbol": "SYMBOL", "series": "SERIES", "date": "TIMESTAMP", "open": "OPEN", "high": "HIGH",
            "low": "LOW", "close": "CLOSE", "last": "LAST", "prev_close": "PREVCLOSE", "volume": "TOTTRDQTY",
            "value": "TOTTRDVAL", "trades": "TOTALTRADES", "isin": "ISIN",
        },
    },
    "udiff": {
        "date_format": "%Y-%m-%d",
        "value_scale": 1.0,
        "columns": {
            "symbol": "TckrSymb", "series": "SctySrs", "date": "TradDt", "open": "OpnPric", "high": "HghPric",
            "low": "LwPric", "close": "ClsPric", "last": "LastPric", "prev_close": "PrvsClsgPric",
            "volume": "TtlTradgVol", "value": "TtlTrfVal", "trades": "TtlNbOfTxsExctd", "isin": "ISIN",
        },
    },
    "sec_bhavdata_full": {
        "date_format": "%d-%b-%Y",
        "value_scale": 100_000.0,  # TURNOVER_LACS: one lakh is 100,000 rupees
        "columns": {
            "symbol": "SYMBOL", "series": "SERIES", "date": "DATE1", "prev_close": "PREV_CLOSE",
            "open": "OPEN_PRICE", "high": "HIGH_PRICE", "low": "LOW_PRICE", "last": "LAST_PRICE",
            "close": "CLOSE_PRICE", "volume": "TTL_TRD_QNTY", "value": "TURNOVER_LACS", "trades": "NO_OF_TRADES",
            "delivery_qty": "DELIV_QTY", "delivery_pct": "DELIV_PER",
        },
    },
}  # fmt: skip
PRICE_FIELDS = ("open", "high", "low", "close", "last", "prev_close")
EXPECTED = (
    "expected one of the NSE CM bhavcopy layouts: legacy (SYMBOL, SERIES, OPEN, HIGH, LOW, CLOSE, LAST, "
    "PREVCLOSE, TOTTRDQTY, TOTTRDVAL, TIMESTAMP, TOTALTRADES, ISIN), UDiFF (TradDt, TckrSymb, SctySrs, "
    "OpnPric … ClsPric, PrvsClsgPric, TtlTradgVol, TtlTrfVal …) or sec_bhavdata_full (SYMBOL, SERIES, "
    "DATE1, PREV_CLOSE … CLOSE_PRICE, TTL_TRD_QNTY, TURNOVER_LACS, NO_OF_TRADES, DELIV_QTY, DELIV_PER)"
)


def detect_layout(columns: list[str]) -> str | None:
    present = set(columns)
    for name, spec in LAYOUTS.items():
        if set(spec["columns"].values()) <= present:
            return name
    return None


# How NSE writes "no value" in a numeric column (sec_bhavdata_full uses "-"): missing, not wrong.
MISSING_MARKS = ("", "-", "NA", "N/A", "NIL", "NULL", "NONE", "NAN")


def _numbers(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series.str.replace(",", "", regex=False), errors="coerce").to_numpy(dtype="float64")


def parse_bhavcopy(payload) -> ParseResult:
    """A ``{"format": "csv", "filename", "content"}`` payload → stock rows and bars (never raises)."""
    result = ParseResult()
    read = _read_frame(payload, result)
    if read is None:
        return result
    frame, filename = read
    spec = LAYOUTS[result.layout]
    cols = spec["columns"]
    # The legacy layout's trailing comma adds an empty, unnamed last column: not part of the row.
    source_columns = [c for c in frame.columns if not (c.startswith("Unnamed") and not frame[c].str.strip().any())]
    frame = frame[source_columns].apply(lambda s: s.str.strip())
    as_lists, change_list = _value_lists(frame, spec)
    dates = pd.to_datetime(frame[cols["date"]].str.title(), format=spec["date_format"], errors="coerce")
    symbols = frame[cols["symbol"]].tolist()
    series = frame[cols["series"]].tolist()
    isins = frame[cols["isin"]].tolist() if "isin" in cols else [""] * len(frame)
    day_list = [None if pd.isna(d) else d.date() for d in dates]
    # Each row as written (raw_data), zipped from the columns' lists: ten times faster than to_dict("records").
    names = list(frame.columns)
    columns = [frame[c].tolist() for c in names]
    raw_rows = [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
    cache: dict = {}
    stamps: dict = {}
    for i, raw in enumerate(raw_rows):
        symbol, day, close_i = symbols[i], day_list[i], as_lists["close"][i]
        try:
            ticker = normalize_symbol(symbol, cache)
        except ValueError as exc:
            result.errors.append(f"{SOURCE}: {filename} line {i + 2}: {exc}")
            continue
        if day is None:
            result.errors.append(
                f"{SOURCE}: {filename} line {i + 2} ({ticker}): date {raw[cols['date']]!r} is not {spec['date_format']}"
            )
            continue
        if close_i is None:
            result.errors.append(f"{SOURCE}: {filename} line {i + 2} ({ticker}): no close price")
            continue
        stamp = stamps.get(day)
        if stamp is None:
            stamp = stamps[day] = datetime.combine(day, CLOSE_TIME, IST).astimezone(UTC)
        serie = series[i] or "EQ"
        result.stock_rows.append(
            {
                "ticker": ticker,
                "series": serie,
                "exchange": "NSE",
                "source": SOURCE,
                "timestamp": stamp,
                "price": close_i,
                "volume": as_lists["volume"][i],
                "change_percent": change_list[i],
                "raw_data": raw,
            }
        )
        result.bars.append(_bar(ticker, serie, day, isins[i], as_lists, i))
    return result


def _read_frame(payload, result: ParseResult) -> tuple[pd.DataFrame, str] | None:
    """(the CSV as text columns, its file name), the layout in ``result.layout``; None, with the reason
    in ``result.errors``, when the payload is no CSV, empty, unreadable or of no known layout."""
    if not isinstance(payload, dict) or payload.get("format") != "csv" or not isinstance(payload.get("content"), str):
        kind = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        result.errors.append(f"{SOURCE}: expected a CSV payload ({{format: csv, content}}), got {kind}")
        return None
    filename = payload.get("filename") or "bhavcopy"
    content = payload["content"]
    if not content.strip():
        result.errors.append(f"{SOURCE}: {filename} is empty; {EXPECTED}")
        return None
    try:
        frame = pd.read_csv(
            io.StringIO(content), dtype=str, keep_default_na=False, skipinitialspace=True, index_col=False
        )
    except (ValueError, pd.errors.ParserError) as exc:
        result.errors.append(f"{SOURCE}: {filename} is not a readable CSV ({exc}); {EXPECTED}")
        return None
    frame.columns = [str(c).strip() for c in frame.columns]
    layout = detect_layout(list(frame.columns))
    if layout is None:
        shown = ", ".join(c for c in frame.columns if not c.startswith("Unnamed"))[:300]
        result.errors.append(f"{SOURCE}: {filename}: unknown bhavcopy layout (columns: {shown}); {EXPECTED}")
        return None
    result.layout = layout
    return frame, filename


def _value_lists(frame: pd.DataFrame, spec: dict) -> tuple[dict[str, list], list]:
    """Each numeric field as a list of Python values (turnover in INR), and the change against the
    previous close in percent: whole columns at once, the rows only read them."""
    cols = spec["columns"]
    numbers = {f: _numbers(frame[cols[f]]) for f in (*PRICE_FIELDS, "volume", "value", "trades") if f in cols}
    for f in ("delivery_qty", "delivery_pct"):
        if f in cols:
            numbers[f] = _numbers(frame[cols[f]])
    numbers["value"] = np.round(numbers["value"] * spec["value_scale"], 2)
    prev, close = numbers["prev_close"], numbers["close"]
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.where(prev > 0, np.round((close - prev) / prev * 100, 2), np.nan)
    as_lists = {
        f: _column(v, as_int=f in ("volume", "trades", "delivery_qty"), text=frame[cols[f]] if f in cols else None)
        for f, v in numbers.items()
    }
    return as_lists, _column(change)


def _column(values: np.ndarray, as_int: bool = False, text: pd.Series | None = None) -> list:
    """A numeric column as Python values: None where missing, ints when ``as_int``."""
    out = values.astype(object)
    mask = np.isnan(values)
    out[mask] = None
    if as_int:
        out = np.array([None if v is None else int(v) for v in out], dtype=object)
    if text is not None and mask.any():
        # A value that is there but no number (OPEN = "abc") stays as written, so validation
        # refuses it naming the column (rule <column>_number) instead of loading NULL unsaid.
        written = text.to_numpy(dtype=object)
        wrong = mask & ~text.str.upper().isin(MISSING_MARKS).to_numpy()
        out[wrong] = written[wrong]
    return out.tolist()


def _bar(ticker: str, serie: str, day, isin: str, as_lists: dict[str, list], i: int) -> dict:
    """Row ``i``'s daily bar (delivery None in the layouts without it)."""
    bar = {
        "ticker": ticker,
        "series": serie,
        "exchange": "NSE",
        "date": day,
        "source": SOURCE,
        "isin": isin,
    }
    for f in (*PRICE_FIELDS, "volume", "value", "trades"):
        bar[f] = as_lists[f][i]
    bar["delivery_qty"] = as_lists["delivery_qty"][i] if "delivery_qty" in as_lists else None
    bar["delivery_pct"] = as_lists["delivery_pct"][i] if "delivery_pct" in as_lists else None
    return bar
