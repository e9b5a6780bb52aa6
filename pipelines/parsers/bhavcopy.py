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


def _numbers(texts: list) -> np.ndarray:
    """A column's texts as floats (NaN where missing or no number); thousands separators dropped."""
    plain = [t.replace(",", "") if type(t) is str and "," in t else t for t in texts]
    try:
        # The usual column, every cell a plain number: numpy reads the texts four times as fast as
        # to_numeric. It also takes "1_000" and non-ASCII digits, which to_numeric does not: those go there.
        joined = "".join(plain)  # (TypeError: a short row's NaN)
        if joined.isascii() and "_" not in joined:
            return np.array(plain, dtype=np.float64)
    except (TypeError, ValueError):  # (ValueError: a missing mark or a text that is no number)
        pass
    return pd.to_numeric(np.array(plain, dtype=object), errors="coerce").astype("float64")


def _stripped(values: list) -> list:
    """A column's texts without surrounding spaces (a short row's missing cells stay as pandas read them)."""
    try:
        return list(map(str.strip, values))  # every cell a text: the usual column, twice as fast
    except TypeError:
        return [v.strip() if type(v) is str else v for v in values]


def _days(texts: list, date_format: str) -> list:
    """Each row's trading day (None where it is not one in ``date_format``): a file holds one or two
    distinct dates, so each distinct text is read once."""
    texts = [t if type(t) is str else None for t in texts]  # (a short row's NaN: no day)
    distinct = list(dict.fromkeys(texts))
    titled = [t.title() if t is not None else None for t in distinct]
    read = pd.to_datetime(pd.Series(titled, dtype=object), format=date_format, errors="coerce")
    day_of = {text: (None if pd.isna(d) else d.date()) for text, d in zip(distinct, read, strict=True)}
    return [day_of[t] for t in texts]


def parse_bhavcopy(payload) -> ParseResult:
    """A ``{"format": "csv", "filename", "content"}`` payload → stock rows and bars (never raises)."""
    result = ParseResult()
    read = _read_frame(payload, result)
    if read is None:
        return result
    frame, filename = read
    spec = LAYOUTS[result.layout]
    cols = spec["columns"]
    # The columns as lists of stripped texts: pandas reads the CSV, plain lists do the rest (the str
    # accessor's strip and replace cost more than the read itself).
    texts = {c: _stripped(frame[c].tolist()) for c in frame.columns}
    # The legacy layout's trailing comma adds an empty, unnamed last column: not part of the row.
    names = [c for c in texts if not (c.startswith("Unnamed") and not any(v for v in texts[c] if type(v) is str))]
    as_lists, change_list = _value_lists(texts, spec)
    day_list = _days(texts[cols["date"]], spec["date_format"])
    symbols = texts[cols["symbol"]]
    series = texts[cols["series"]]
    isins = texts[cols["isin"]] if "isin" in cols else [""] * len(frame)
    # Each row as written (raw_data), zipped from the columns' lists: ten times faster than to_dict("records").
    columns = [texts[c] for c in names]
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


def _value_lists(texts: dict[str, list], spec: dict) -> tuple[dict[str, list], list]:
    """Each numeric field as a list of Python values (turnover in INR), and the change against the
    previous close in percent: whole columns at once, the rows only read them."""
    cols = spec["columns"]
    numbers = {f: _numbers(texts[cols[f]]) for f in (*PRICE_FIELDS, "volume", "value", "trades") if f in cols}
    for f in ("delivery_qty", "delivery_pct"):
        if f in cols:
            numbers[f] = _numbers(texts[cols[f]])
    prev, close = numbers["prev_close"], numbers["close"]
    # (A figure near float's limit, "1e308", may overflow to infinity here: no warning, ``_column`` takes it
    # for no number.)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        numbers["value"] = np.round(numbers["value"] * spec["value_scale"], 2)
        change = np.where(prev > 0, np.round((close - prev) / prev * 100, 2), np.nan)
    as_lists = {
        f: _column(v, as_int=f in ("volume", "trades", "delivery_qty"), text=texts[cols[f]] if f in cols else None)
        for f, v in numbers.items()
    }
    return as_lists, _column(change)


def _column(values: np.ndarray, as_int: bool = False, text: list | None = None) -> list:
    """A numeric column as Python values: None where missing, ints when ``as_int``. An infinite value ("inf",
    "1e400", 400 digits: Python reads them, NSE never writes one) counts as no number."""
    out = values.astype(object)
    mask = ~np.isfinite(values)
    out[mask] = None
    if as_int:
        out = np.array([None if v is None else int(v) for v in out], dtype=object)
    if text is not None and mask.any():
        # A value that is there but no number (OPEN = "abc") stays as written, so validation
        # refuses it naming the column (rule <column>_number) instead of loading NULL unsaid.
        for i in np.flatnonzero(mask).tolist():
            written = text[i]
            if type(written) is str and written.upper() not in MISSING_MARKS:
                out[i] = written
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
