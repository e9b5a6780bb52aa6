"""Parsers: one raw payload (as the connectors fetch it and the lake stores it) → records.

Contract
--------
``parse(source, payload, *, fetched_at=None) -> ParseResult(stock_rows, bars, messages, drift, errors, skipped, layout)``

- ``stock_rows``: the warehouse stock record keys of docs/CONTRACTS.md (ticker normalised with
  ``warehouse.tickers.ticker_normalize``, series, exchange "NSE", source, timestamp aware UTC, price,
  volume, change_percent, raw_data = the source row); no ``lake_object_id`` (the caller adds it).
- ``bars``: the daily bar keys (bhavcopy only): ticker, series, exchange, date, source, isin, open,
  high, low, close, last, prev_close, volume, value (INR), trades, delivery_qty, delivery_pct.
- ``messages``: social posts before enrichment: platform, external_id, text, author, channel, views,
  timestamp (aware UTC), metadata {cashtags, hashtags, urls, mentions, is_repost, repost_of,
  forwarded_from, lang, …}.
- ``drift``: the payload's shape is not one we know (quarantine as schema drift), with the reason.
- ``errors``: a record (or the whole payload) that could not be parsed, with the reason.
- ``skipped``: items that are not records (Telegram service messages, photos without text).

``parse`` never raises: an unexpected failure becomes one entry in ``errors``. The parsers of payloads of
many records (X pages and JSON lines, getUpdates answers, Telegram exports, scraped lists and t.me/s/ pages) read each
record through ``common.record_guarded``: a record that fails in a way nobody foresaw is that record's
error, and the payload's other records are still read.
``fetched_at``: the batch's fetch time, used for tweets that carry no time of their own.

Parsers are pure: no database. What a bhavcopy teaches the ticker master is written by the warehouse
(``warehouse.services.ticker_master_learn``).
"""

from __future__ import annotations

import csv
import io
import logging
from datetime import datetime

from pipelines.parsers.bhavcopy import parse_bhavcopy
from pipelines.parsers.common import ParseResult
from pipelines.parsers.nse_quote import parse_nse_api, parse_nse_api_json
from pipelines.parsers.telegram import parse_telegram
from pipelines.parsers.twitter import parse_twitter

logger = logging.getLogger(__name__)
PARSERS = {
    "nse_api": lambda payload, fetched_at: parse_nse_api(payload),
    "nse_bhavcopy": lambda payload, fetched_at: parse_bhavcopy(payload),
    "twitter": lambda payload, fetched_at: parse_twitter(payload, fetched_at=fetched_at),
    "telegram": lambda payload, fetched_at: parse_telegram(payload),
}


# Parsers that read a payload's JSON text straight into records (only the fields they need), for the
# replay's read of the lake; None when the text is not the regular shape: ``parse`` of the whole payload.
JSON_PARSERS = {"nse_api": parse_nse_api_json}


def parse_json(source: str, text) -> ParseResult | None:
    """Records from the JSON text of one payload of ``source`` (bytes or a ``msgspec.Raw``) by its
    ``JSON_PARSERS`` entry, exactly as ``parse`` of the decoded payload would give them; None when
    ``source`` has none, or the text is for ``parse`` (another shape, or anything to report)."""
    parser = JSON_PARSERS.get(source)
    if parser is None:
        return None
    try:
        return parser(text)
    except Exception:  # parse() of the whole payload then reports the failure
        logger.exception("JSON parser for %s failed", source)
        return None


def parse(source: str, payload, *, fetched_at: datetime | None = None) -> ParseResult:
    """Records from one payload of ``source``; whatever cannot be parsed is in ``drift``/``errors``."""
    parser = PARSERS.get(source)
    if parser is None:
        return ParseResult(errors=[f"no parser for source {source!r}: expected one of {', '.join(PARSERS)}"])
    try:
        return parser(payload, fetched_at)
    except Exception as exc:  # a parser bug must not take the run down: report it as the payload's error
        logger.exception("parser for %s failed", source)
        return ParseResult(errors=[f"{source}: the parser failed on this payload: {type(exc).__name__}: {exc}"])


# Where a payload of a known shape keeps its records: X v2 pages and v1 searches, getUpdates answers,
# Telegram Desktop exports.
_RECORD_LISTS = ("data", "statuses", "result", "messages")


def records_in(payload) -> int:
    """How many records ``payload`` holds, counted without parsing it: the quotes of a fetch round, the
    posts of an X page, the updates of a getUpdates answer, the messages of an export, the rows of a CSV
    file (rows that are not blank, less the header). The lake's catalog keeps it, and groups are sized
    by it. Any other payload is one record."""
    if isinstance(payload, list):
        return len(payload)
    if not isinstance(payload, dict):
        return 1
    if payload.get("format") == "csv" and isinstance(payload.get("content"), str):
        try:  # a message's text may hold line breaks: rows, not lines
            rows = sum(1 for row in csv.reader(io.StringIO(payload["content"])) if any(cell.strip() for cell in row))
        except csv.Error:
            return 1
        return max(rows - 1, 0)
    for key in _RECORD_LISTS:
        if isinstance(payload.get(key), list):
            return len(payload[key])
    meta = payload.get("meta")
    if isinstance(meta, dict) and meta.get("result_count") == 0:
        return 0  # an X page with no posts carries no "data"
    return 1


__all__ = ["JSON_PARSERS", "ParseResult", "parse", "parse_json", "records_in"]
