"""NSE quote answers → stock rows, in both of NSE's shapes.

- **NextApi** (``/api/NextApi/apiClient/GetQuoteApi?functionName=getSymbolData``, NSE's quote page since
  its 2026 site migration): ``{"equityResponse": [{orderBook, metaData, tradeInfo, priceInfo, secInfo,
  lastUpdateTime}]}``, or one element of ``equityResponse`` saved alone (clients often keep only that).
  Numbers are sometimes strings (``secInfo``), ``closePrice`` is 0 during the session.
- **quote-equity** (``/api/quote-equity``, retired in 2026; lake objects of it still replay): info /
  metadata / priceInfo, numbers that are sometimes strings (``lowerCP``), float noise (``change``),
  right-padded strings, nulls.

Both give the same warehouse row: ticker, series, IST ``lastUpdateTime`` as UTC, last price, the day's
traded volume (when the answer has it), change %. Any other shape is schema drift, reported with the
keys that were missing.
"""

from __future__ import annotations

from typing import Any

import msgspec

from pipelines.parsers.common import ParseResult, normalize_symbol, nse_datetime, to_float, to_int

SOURCE = "nse_api"
# Where the classic shape keeps what a stock row needs.
REQUIRED = (("info", "symbol"), ("priceInfo", "lastPrice"), ("metadata", "lastUpdateTime"))
# The NextApi element needs metaData.symbol and lastUpdateTime; the price may sit in tradeInfo or (as a
# fallback) in orderBook.
NEXT_SECTIONS = ("metaData", "tradeInfo", "orderBook")
# The day's figures kept with a NextApi row (the whole answer stays in the lake object it links to).
NEXT_META_KEEP = ("open", "dayHigh", "dayLow", "previousClose", "closePrice", "averagePrice", "change", "pChange")
NEXT_TRADE_KEEP = ("totalTradedValue", "deliveryquantity", "deliveryToTradedQuantity", "secwisedelposdate")


def _dig(body: dict, path: tuple[str, ...]):
    value = body
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _drift(body: dict, result: ParseResult, missing: list[str], symbol) -> None:
    present = ", ".join(sorted(map(str, body))[:12])
    result.drift.append(
        f"{SOURCE}: unknown quote shape{f' for {symbol}' if symbol else ''}: missing {', '.join(missing)} "
        f"(top-level keys: {present})"
    )


def parse_quote(body, result: ParseResult, *, index: int | None = None) -> None:
    where = f"quote #{index}" if index is not None else "quote"
    if not isinstance(body, dict):
        result.errors.append(f"{SOURCE}: {where} is a {type(body).__name__}, not a quote-equity or NextApi object")
        return
    if body.get("format") == "text":
        result.errors.append(f"{SOURCE}: {where}: the upstream answered text, not a quote ({body.get('status')})")
        return
    if not body:
        # NSE answers {} for a symbol it does not know.
        result.errors.append(f"{SOURCE}: {where} is empty: NSE answers {{}} for an unknown symbol")
        return
    if "equityResponse" in body:
        elements = body["equityResponse"]
        if not isinstance(elements, list) or not elements:
            result.errors.append(f"{SOURCE}: {where}: equityResponse is empty: NSE has no quote for this symbol")
            return
        for element in elements:
            if isinstance(element, dict):
                parse_next_element(element, result, where=where)
            else:
                result.errors.append(f"{SOURCE}: {where}: an equityResponse item that is a {type(element).__name__}")
        return
    if any(key in body for key in NEXT_SECTIONS) and "info" not in body:
        parse_next_element(body, result, where=where)
        return
    parse_quote_equity(body, result, where=where)


# Symbol text -> ticker: a fetch round names the same few thousand symbols again and again.
_TICKERS: dict[str, str] = {}


def _ticker(value) -> str:
    """``normalize_symbol`` of a quote's symbol, remembered (ValueError for one that is no symbol)."""
    hit = _TICKERS.get(value) if type(value) is str else None
    if hit is not None:
        return hit
    if len(_TICKERS) >= 50_000:
        _TICKERS.clear()
    return normalize_symbol(str(value), _TICKERS)


def parse_next_element(item: dict, result: ParseResult, *, where: str) -> None:
    """One element of NextApi's ``equityResponse`` → one stock row."""
    meta, trade, book = item.get("metaData"), item.get("tradeInfo"), item.get("orderBook")
    meta = meta if isinstance(meta, dict) else {}
    trade = trade if isinstance(trade, dict) else {}
    book = book if isinstance(book, dict) else {}
    symbol, updated = meta.get("symbol"), item.get("lastUpdateTime")
    last = to_float(trade.get("lastPrice"))
    if last is None:
        last = to_float(book.get("lastPrice"))
    no_price = last is None and trade.get("lastPrice") is None and book.get("lastPrice") is None
    if symbol is None or symbol == "" or updated is None or updated == "" or no_price:
        missing = [
            name
            for name, value in (("metaData.symbol", symbol), ("lastUpdateTime", updated))
            if value is None or value == ""
        ]
        _drift(item, result, [*missing, "tradeInfo.lastPrice"] if no_price else missing, symbol)
        return
    try:
        ticker = _ticker(symbol)
        timestamp = nse_datetime(updated)
    except ValueError as exc:
        result.errors.append(f"{SOURCE}: {where}: {exc}")
        return
    if last is None:
        shown = trade.get("lastPrice", book.get("lastPrice"))
        result.errors.append(f"{SOURCE}: {where} ({ticker}): lastPrice {shown!r} is not a number")
        return
    raw = _next_raw(symbol, meta.get("isinCode"), meta.get("series"), meta.get("marketType"), updated)
    for key in NEXT_META_KEEP:
        if key in meta:
            raw[key] = meta[key]
    for key in NEXT_TRADE_KEEP:
        if key in trade:
            raw[key] = trade[key]
    series, volume = meta.get("series") or trade.get("series"), trade.get("totalTradedVolume")
    result.stock_rows.append(
        _next_row(ticker, timestamp, last, meta.get("pChange"), meta.get("previousClose"), series, volume, raw)
    )


def _next_raw(symbol, isin, series, market_type, updated) -> dict:
    """The start of a NextApi row's ``raw_data``: what identifies the quote (the day's figures follow)."""
    return {
        "shape": "getSymbolData",
        "symbol": symbol,
        "isin": isin,
        "series": series,
        "marketType": market_type,
        "lastUpdateTime": updated,
    }


def _next_row(ticker: str, timestamp, last: float, p_change, previous_close, series, volume, raw: dict) -> dict:
    """The stock row of a NextApi element whose symbol, time and last price were found."""
    change = to_float(p_change)
    previous = to_float(previous_close)
    if change is None and previous:
        change = (last - previous) / previous * 100
    return {
        "ticker": ticker,
        "series": str(series or "EQ").strip() or "EQ",
        "exchange": "NSE",
        "source": SOURCE,
        "timestamp": timestamp,
        "price": round(last, 2),
        "volume": to_int(volume),
        "change_percent": None if change is None else round(change, 2),
        "raw_data": raw,
    }


def parse_quote_equity(body: dict, result: ParseResult, *, where: str) -> None:
    """The retired ``/api/quote-equity`` answer → one stock row (lake objects of it still replay)."""
    missing = [".".join(path) for path in REQUIRED if _dig(body, path) in (None, "")]
    if missing:
        symbol = _dig(body, ("info", "symbol")) or _dig(body, ("metadata", "symbol")) or body.get("symbol")
        _drift(body, result, missing, symbol)
        return
    info, meta, price = body["info"], body.get("metadata") or {}, body["priceInfo"]
    try:
        ticker = _ticker(info["symbol"])
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
    """One quote answer (either shape, or a NextApi element alone), or a list of them (one fetch round)."""
    result = ParseResult(layout="quote")
    if isinstance(payload, list):
        for index, body in enumerate(payload):
            parse_quote(body, result, index=index)
    else:
        parse_quote(payload, result)
    first = payload[0] if isinstance(payload, list) and payload else payload
    if isinstance(first, dict):
        result.layout = "quote-equity" if "info" in first else "getSymbolData"
    return result


# A lake object of NextApi answers, decoded straight from its JSON into the few fields a stock row needs
# (msgspec skips the other ~130 keys of each answer without building them), for the replay: a third of
# the time of decoding it whole with orjson, and far fewer objects to free. Only the regular answer is
# read this way; any other shape, and any element the parser would have a word about (drift, errors), is
# left to ``parse_nse_api`` on the whole payload, so both give the same rows and the same messages.
# A key the row keeps only when the answer has it (the day's figures) defaults to UNSET, others to None.
_UNSET = msgspec.UNSET


def _struct(name: str, fields: tuple[str, ...], kept: tuple[str, ...]) -> type[msgspec.Struct]:
    """A struct of ``fields`` (None when absent) and of the keys a row keeps when the answer has them
    (``kept``: UNSET when absent), so it reads exactly the keys the dict path reads."""
    return msgspec.defstruct(name, [*((f, Any, None) for f in fields), *((k, Any, _UNSET) for k in kept)])


# (NSE's keys, as NSE spells them)
_Meta = _struct("_Meta", ("symbol", "isinCode", "series", "marketType"), NEXT_META_KEEP)
_Trade = _struct("_Trade", ("lastPrice", "totalTradedVolume", "series"), NEXT_TRADE_KEEP)


class _Book(msgspec.Struct):
    lastPrice: Any = None


class _Element(msgspec.Struct):
    metaData: _Meta | None = None
    tradeInfo: _Trade | None = None
    orderBook: _Book | None = None
    lastUpdateTime: Any = None


class _Answer(msgspec.Struct):
    equityResponse: list[_Element]  # required: an answer without it takes the dict path
    format: Any = _UNSET
    info: Any = _UNSET


_ANSWERS = msgspec.json.Decoder(list[_Answer])
_NO_TRADE, _NO_BOOK = _Trade(), _Book()


def parse_nse_api_json(data) -> ParseResult | None:
    """``parse_nse_api`` of the JSON text (bytes, or a ``msgspec.Raw``) of a list of NextApi answers, or
    None when the text is anything else or an element is not a regular quote: the caller then decodes
    the payload whole and parses it with ``parse_nse_api``, which gives the same rows and says what is
    wrong."""
    try:
        answers = _ANSWERS.decode(data)
    except (msgspec.DecodeError, TypeError):
        return None
    if not answers:
        return None
    rows = []
    for answer in answers:
        if not answer.equityResponse or answer.format is not _UNSET or answer.info is not _UNSET:
            return None  # an empty answer, or one the dict path reads another way
        for element in answer.equityResponse:
            row = _element_row(element)
            if row is None:
                return None
            rows.append(row)
    return ParseResult(stock_rows=rows, layout="getSymbolData")


def _element_row(element: _Element) -> dict | None:
    """``parse_next_element`` of a regular element; None for one it would report."""
    meta, updated = element.metaData, element.lastUpdateTime
    if meta is None or meta.symbol is None or meta.symbol == "" or updated is None or updated == "":
        return None
    trade = element.tradeInfo or _NO_TRADE
    last = to_float(trade.lastPrice)
    if last is None:
        last = to_float((element.orderBook or _NO_BOOK).lastPrice)
        if last is None:
            return None
    try:
        ticker = _ticker(meta.symbol)
        timestamp = nse_datetime(updated)
    except ValueError:
        return None
    raw = _next_raw(meta.symbol, meta.isinCode, meta.series, meta.marketType, updated)
    for key in NEXT_META_KEEP:
        if (value := getattr(meta, key)) is not _UNSET:
            raw[key] = value
    for key in NEXT_TRADE_KEEP:
        if (value := getattr(trade, key)) is not _UNSET:
            raw[key] = value
    p_change = None if meta.pChange is _UNSET else meta.pChange
    previous_close = None if meta.previousClose is _UNSET else meta.previousClose
    series = meta.series or trade.series
    return _next_row(ticker, timestamp, last, p_change, previous_close, series, trade.totalTradedVolume, raw)
