"""One way to name a ticker everywhere: upper-case NSE symbols (`$TCS`, `#tcs`, `TCS.NS` → `TCS`)."""

import re
from functools import lru_cache

from core.errors import InvalidInput, echo

# NSE symbols: letters, digits and a few marks (`J&KBANK`, `BAJAJ-AUTO`, `M&M`), at most 20 characters.
SYMBOL_RE = re.compile(r"[A-Z0-9][A-Z0-9&\-_]{0,19}")

_PREFIXES = ("$", "#", "NSE:", "BSE:")
_SUFFIXES = (".NS", ".NSE", ".BO", "-EQ")


def ticker_normalize(text: str) -> str:
    """Return the canonical symbol for ``text``; raise ValueError when it cannot be one."""
    if not isinstance(text, str):
        raise InvalidInput(f"ticker must be text, got {type(text).__name__}")
    # A market holds a few thousand symbols, and every bhavcopy day and quote batch names them again:
    # each is worked out once (only short texts are kept: a symbol is at most 20 characters and a mark).
    return _ticker_remembered(text) if len(text) <= 40 else _ticker_normalize(text)


@lru_cache(maxsize=16_384)
def _ticker_remembered(text: str) -> str:
    return _ticker_normalize(text)


def _ticker_normalize(text: str) -> str:
    symbol = text.strip().upper()
    for prefix in _PREFIXES:
        if symbol.startswith(prefix):
            symbol = symbol[len(prefix) :]
    for suffix in _SUFFIXES:
        if symbol.endswith(suffix):
            symbol = symbol[: -len(suffix)]
    if not SYMBOL_RE.fullmatch(symbol):
        raise InvalidInput(
            f"invalid ticker {echo(text)}: expected an NSE symbol of 1-20 letters, digits, '&', '-' or '_'"
        )
    return symbol


def ticker_is_valid(text: str) -> bool:
    try:
        ticker_normalize(text)
    except ValueError:
        return False
    return True
