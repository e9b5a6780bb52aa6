"""The simulated market's bhavcopy files in NSE's three layouts: UDiFF, sec_bhavdata_full and legacy.

Each writer takes a trading day and its rows (``SimMarket.bhav_rows``); ``zipped`` packs a file as the
archives serve it, with a fixed timestamp so the same day always gives the same bytes.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date

from pipelines.simulator.universe import stable_unit


def udiff_csv(day: date, rows: list[dict]) -> str:
    """UDiFF (``BhavCopy_NSE_CM_0_0_0_YYYYMMDD_F_0000.csv``): 34 columns, ISO dates."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(UDIFF_HEADER)
    for r in rows:
        t = r["ticker"]
        writer.writerow([
            day.isoformat(), day.isoformat(), "CM", "NSE", "STK", abs(hash_int(t.symbol)) % 100000, t.isin,
            t.symbol, t.series, "", "", "", "", t.name.upper(), f"{r['open']:.2f}", f"{r['high']:.2f}",
            f"{r['low']:.2f}", f"{r['close']:.2f}", f"{r['last']:.2f}", f"{r['prev_close']:.2f}", "",
            f"{r['close']:.2f}", "", "", r["volume"], f"{r['value']:.2f}", r["trades"], "F1", 1, "", "", "", "", "",
        ])  # fmt: skip
    return out.getvalue()


def full_csv(day: date, rows: list[dict]) -> str:
    """``sec_bhavdata_full``: a space after every comma, turnover in lakhs, CRLF line ends."""
    lines = [", ".join(FULL_HEADER)]
    for r in rows:
        t = r["ticker"]
        deliv_pct = r["delivery"] / r["volume"] * 100 if r["volume"] else 0
        avg = r["value"] / r["volume"] if r["volume"] else r["close"]
        lines.append(", ".join([
            t.symbol, t.series, f"{day:%d-%b-%Y}", f"{r['prev_close']:.2f}", f"{r['open']:.2f}", f"{r['high']:.2f}",
            f"{r['low']:.2f}", f"{r['last']:.2f}", f"{r['close']:.2f}", f"{avg:.2f}", str(r["volume"]),
            f"{r['value'] / 100_000:.2f}", str(r["trades"]), str(r["delivery"]), f"{deliv_pct:.2f}",
        ]))  # fmt: skip
    # NSE writes this file with CRLF line ends.
    return "\r\n".join(lines) + "\r\n"


def legacy_csv(day: date, rows: list[dict]) -> str:
    """Legacy ``cmDDMONYYYYbhav.csv``: 13 columns and a trailing comma on every line."""
    lines = [",".join(LEGACY_HEADER) + ","]
    for r in rows:
        t = r["ticker"]
        lines.append(",".join([
            t.symbol, t.series, _g(r["open"]), _g(r["high"]), _g(r["low"]), _g(r["close"]), _g(r["last"]),
            _g(r["prev_close"]), str(r["volume"]), _g(round(r["value"], 2)), f"{day:%d-%b-%Y}".upper(),
            str(r["trades"]), t.isin,
        ]) + ",")  # fmt: skip
    return "\n".join(lines) + "\n"


def zipped(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 18, 0, 0))  # fixed: same bytes on every call
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, text)
    return buffer.getvalue()


def hash_int(text: str) -> int:
    return int(stable_unit("id", text) * 10**9)


def _g(value: float) -> str:
    # The legacy file writes prices without trailing zeros (41.8, not 41.80).
    return f"{value:.2f}".rstrip("0").rstrip(".")


UDIFF_HEADER = [
    "TradDt",
    "BizDt",
    "Sgmt",
    "Src",
    "FinInstrmTp",
    "FinInstrmId",
    "ISIN",
    "TckrSymb",
    "SctySrs",
    "XpryDt",
    "FininstrmActlXpryDt",
    "StrkPric",
    "OptnTp",
    "FinInstrmNm",
    "OpnPric",
    "HghPric",
    "LwPric",
    "ClsPric",
    "LastPric",
    "PrvsClsgPric",
    "UndrlygPric",
    "SttlmPric",
    "OpnIntrst",
    "ChngInOpnIntrst",
    "TtlTradgVol",
    "TtlTrfVal",
    "TtlNbOfTxsExctd",
    "SsnId",
    "NewBrdLotQty",
    "Rmks",
    "Rsvd1",
    "Rsvd2",
    "Rsvd3",
    "Rsvd4",
]
FULL_HEADER = [
    "SYMBOL",
    "SERIES",
    "DATE1",
    "PREV_CLOSE",
    "OPEN_PRICE",
    "HIGH_PRICE",
    "LOW_PRICE",
    "LAST_PRICE",
    "CLOSE_PRICE",
    "AVG_PRICE",
    "TTL_TRD_QNTY",
    "TURNOVER_LACS",
    "NO_OF_TRADES",
    "DELIV_QTY",
    "DELIV_PER",
]
LEGACY_HEADER = [
    "SYMBOL",
    "SERIES",
    "OPEN",
    "HIGH",
    "LOW",
    "CLOSE",
    "LAST",
    "PREVCLOSE",
    "TOTTRDQTY",
    "TOTTRDVAL",
    "TIMESTAMP",
    "TOTALTRADES",
    "ISIN",
]
