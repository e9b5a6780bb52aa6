"""What every parser shares: the result type, number and time coercion, and entity extraction from text."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from warehouse.calendar import IST
from warehouse.tickers import ticker_normalize

# Cashtags start with a letter ($3 million is money, not a ticker); NSE symbols may hold & and -.
CASHTAG_RE = re.compile(r"(?<![\w$])\$([A-Za-z][A-Za-z0-9&_\-]{0,19})(?![\w&])")
HASHTAG_RE = re.compile(r"(?<![\w#&])#(\w{1,100})", re.UNICODE)
URL_RE = re.compile(r"https?://[^\s<>\"')\]]+")
MENTION_RE = re.compile(r"(?<![\w@])@(\w{1,32})")

logger = logging.getLogger(__name__)


@dataclass
class ParseResult:
    """Records parsed from one payload, and what could not be parsed (never an exception).

    ``drift``: reasons the payload's shape is not one we know (quarantine as schema drift);
    ``errors``: reasons records or the whole payload were rejected; ``skipped``: items that are not
    records at all (Telegram service messages, photos without text, non-post updates).
    """

    stock_rows: list[dict] = field(default_factory=list)
    bars: list[dict] = field(default_factory=list)
    messages: list[dict] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: int = 0
    layout: str = ""

    @property
    def records(self) -> int:
        return len(self.stock_rows) + len(self.messages)

    def extend(self, other: ParseResult) -> None:
        self.stock_rows += other.stock_rows
        self.bars += other.bars
        self.messages += other.messages
        self.drift += other.drift
        self.errors += other.errors
        self.skipped += other.skipped
        self.layout = self.layout or other.layout


def record_guarded(result: ParseResult, source: str, where: str, parse_one: Callable, /, *args, **kwargs) -> None:
    """``parse_one(*args, **kwargs)``: the parsing of one record of a payload into ``result``. A failure its
    parser did not foresee (a field of a type no upstream sends) becomes that record's error, with the
    reason, and what it had added is taken back: the payload's other records are still read (``parse``
    would otherwise refuse the whole payload for it)."""
    kept = len(result.stock_rows), len(result.bars), len(result.messages)
    try:
        parse_one(*args, **kwargs)
    except Exception as exc:
        logger.warning("%s: %s could not be read", source, where, exc_info=True)
        del result.stock_rows[kept[0] :], result.bars[kept[1] :], result.messages[kept[2] :]
        result.errors.append(f"{source}: {where}: could not be read: {type(exc).__name__}: {str(exc)[:200]}")


def to_float(value) -> float | None:
    """A number from NSE's mix of numbers and strings (``"1288.05"``, ``"1,432.95"``, ``" -"``); None if none."""
    kind = type(value)  # the usual cases first: a parser calls this several times per quote
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is int:
        return float(value)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return None if isinstance(value, float) and not math.isfinite(value) else float(value)
    text = str(value).strip().replace(",", "")
    if text in {"", "-", "--", "NA", "N/A", "null", "None", "nan"}:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def to_int(value) -> int | None:
    number = to_float(value)
    return None if number is None else round(number)


def normalize_symbol(value, cache: dict | None = None) -> str:
    """``ticker_normalize`` with a cache (bhavcopies repeat symbols across series)."""
    if cache is not None:
        hit = cache.get(value)
        if hit is None:
            hit = cache[value] = ticker_normalize(value)
        return hit
    return ticker_normalize(value)


def nse_datetime(text: str) -> datetime:
    """``16-Oct-2023 16:00:00`` (IST, as NSE writes it) as an aware UTC datetime."""
    if type(text) is str:  # as written (a fetch round repeats it): no need to normalise its spaces again
        return _nse_datetime_written(text)
    return _nse_datetime(" ".join(str(text).split()))


@lru_cache(maxsize=4096)
def _nse_datetime_written(text: str) -> datetime:
    return _nse_datetime(" ".join(text.split()))


# A fetch round repeats one timestamp for every ticker: strptime once per distinct string.
@lru_cache(maxsize=4096)
def _nse_datetime(text: str) -> datetime:
    for fmt in ("%d-%b-%Y %H:%M:%S", "%d-%b-%Y %H:%M", "%d-%b-%Y"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=IST).astimezone(UTC)
        except ValueError:
            continue
    raise ValueError(f"not an NSE date-time: {text[:40]!r}")


def iso_datetime(text: str) -> datetime:
    """ISO 8601 (``2023-01-05T19:08:01.000Z``) or ``2024-11-06 17:01:36 UTC`` as an aware UTC datetime."""
    text = str(text).strip()
    if text.endswith(" UTC"):
        text = text[:-4] + "+00:00"
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"no time zone in {text[:40]!r}")
    return value.astimezone(UTC)


def epoch_datetime(value) -> datetime:
    return datetime.fromtimestamp(int(value), tz=UTC)


def text_entities(text: str) -> dict:
    """Cashtags, hashtags, URLs and @mentions found in the text itself (when the API gave no entities)."""
    return {
        "cashtags": CASHTAG_RE.findall(text),
        "hashtags": HASHTAG_RE.findall(text),
        "urls": URL_RE.findall(text),
        "mentions": MENTION_RE.findall(text),
    }


def text_payload_error(source: str, payload: dict) -> str:
    status = payload.get("status")
    what = payload.get("content_type") or "text"
    where = payload.get("filename") or payload.get("url") or "the upstream"
    return f"{source}: no data to parse: {where} answered {what}" + (f" with HTTP {status}" if status else "")
