"""NSE ``/api/quote-equity`` answers → stock rows.

Written against the classic shape (info / metadata / priceInfo): numbers that are sometimes strings
(``lowerCP``), float noise (``change``), right-padded strings, IST dates like ``16-Oct-2023 16:00:00``,
nulls. Any other shape is schema drift, reported with the keys that were missing.
"""

from __future__ import annotations

from pipelines.parsers.common import ParseResult, normalize_symbol, nse_datetime, to_float, to_int

SOURCE = "nse_api"
# Where the classic shape keeps what a stock row needs.
REQUIRED = (("info", "symbol"), ("priceInfo", "lastPrice"), ("metadata", "lastUpdateTime"))


def _dig(body: dict, path: tuple[str, ...]):
    value = body
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def parse_quote(body, result: ParseResult, *, index: int | None = None) -> None:
    where = f"quote #{index}" if index is not None else "quote"
    if not isinstance(body, dict):
        result.errors.append(f"{SOURCE}: {where} is a {type(body).__name__}, not a quote-equity object")
        return
    if body.get("format") == "text":
        result.errors.append(f"{SOURCE}: {where}: the upstream answered text, not a quote ({body.get('status')})")
        return
    if not body:
        # NSE answers {} for a symbol it does not know.
        result.errors.append(f"{SOURCE}: {where} is empty: NSE answers {{}} for an unknown symbol")
        return
    missing = [".".join(path) for path in REQUIRED if _dig(body, path) in (None, "")]
    if missing:
        present = ", ".join(sorted(map(str, body))[:12])
        symbol = _dig(body, ("info", "symbol")) or _dig(body, ("metadata", "symbol")) or body.get("symbol")
        result.drift.append(
            f"{SOURCE}: unknown quote shape{f' for {symbol}' if symbol else ''}: missing {', '.join(missing)} "
            f"(top-level keys: {present})"
        )
        return
    info, meta, price = body["info"], body.get("metadata") or {}, body["priceInfo"]
    try:
        ticker = normalize_symbol(str(info["symbol"]))
        timestamp = nse_datetime(meta["lastUpdateTime"])
    except ValueError as exc:
        result.errors.append(f"{SOURCE}: {where}: {exc}")
        return
    last = to_float(price.get("lastPrice"))
    if last is None:
        result.errors.append(f"{SOURCE}: {where} ({ticker}): lastPrice {price.get('lastPrice')!r} is not a number")
        return
    change = to_float(price.get("pChange"))
    trade = body.get("securityWiseDP") or {}
    result.stock_rows.append(
        {
            "ticker": ticker,
            "series": str(meta.get("series") or "EQ").strip() or "EQ",
            "exchange": "NSE",
            "source": SOURCE,
            "timestamp": timestamp,
            "price": round(last, 2),
            # The day's traded quantity comes with the trade_info section (securityWiseDP); absent otherwise.
            "volume": to_int(trade.get("quantityTraded")) if isinstance(trade, dict) else None,
            "change_percent": None if change is None else round(change, 2),
            # The quote's own figures; the whole body (company info, pre-open book, …) stays in the lake
            # object this row links to. Carrying all ~2 KB of it per row tripled the load time.
            "raw_data": {
                "symbol": info.get("symbol"),
                "isin": info.get("isin"),
                "lastUpdateTime": meta.get("lastUpdateTime"),
                "priceInfo": price,
                "securityWiseDP": trade or None,
            },
        }
    )


def parse_nse_api(payload) -> ParseResult:
    """One quote-equity body, or a list of them (one fetch round)."""
    result = ParseResult(layout="quote-equity")
    if isinstance(payload, list):
        for index, body in enumerate(payload):
            parse_quote(body, result, index=index)
    else:
        parse_quote(payload, result)
    return result
