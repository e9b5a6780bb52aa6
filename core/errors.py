"""Errors and small text guards shared by every app (the lowest layer: imports nothing of ours).

``InvalidInput`` is what services and selectors raise for input a caller got wrong; the API maps it
(and only it) to 400. Any other exception in a view is a bug: a logged 500.
"""

import datetime as dt
import json
import re

# Every date a caller may ask about: earlier or later is a typo or a probe, answered 400, never 500.
DATE_MIN = dt.date(1990, 1, 1)
DATE_MAX = dt.date(2100, 12, 31)
# A 400 shows at most this many characters of the value it refuses.
ECHO_CHARS = 100
# C0 and C1 control characters but tab; newlines too, so an error stays one line.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]+")


class InvalidInput(ValueError):
    """Input a caller got wrong (a malformed ticker, an unknown source, a date out of range): a 400."""


def echo(value) -> str:
    """``repr`` of a refused value, cut to ECHO_CHARS characters and free of control characters."""
    text = value if isinstance(value, str) else str(value)
    cut = text[:ECHO_CHARS]
    shown = repr(cut)
    return shown + (" …" if len(text) > ECHO_CHARS else "")


def whole_number(value, *, least: int | None = None) -> bool:
    """Whether a decoded JSON value is a whole number (not a bool, which Python counts as one), at least
    ``least`` when given."""
    return isinstance(value, int) and not isinstance(value, bool) and (least is None or value >= least)


def count_problem(value, *, unit: str, least: int, most: int | None = None, null: bool = False) -> str:
    """Why a decoded JSON value is no whole number of ``unit`` from ``least`` (to ``most``; or null when
    ``null``): "" when it is one, else e.g. "a whole number of months, 0 to 120; got -1"."""
    if (value is None and null) or (whole_number(value, least=least) and (most is None or value <= most)):
        return ""
    bounds = f"{least} to {most}" if most is not None else f"{least} or more"
    return f"a whole number of {unit}, {bounds}{' (or null)' if null else ''}; got {echo_json(value)}"


def echo_json(value) -> str:
    """A refused JSON value as JSON (``-1``, ``"abc"``, ``[1, 2]``: its type shows), cut like ``echo``."""
    text = one_line(json.dumps(value, ensure_ascii=False, default=str))
    return text[:ECHO_CHARS] + (" …" if len(text) > ECHO_CHARS else "")


def one_line(text, *, limit: int | None = None) -> str:
    """``text`` without control characters (NUL, ESC, newlines …) on one line, optionally cut."""
    line = _CONTROL_RE.sub(" ", str(text)).strip()
    return line[:limit] if limit else line


def nul_strip(value):
    """A copy of ``value`` (str, or lists and dicts of them) without NUL characters: PostgreSQL's text
    and jsonb refuse ``\u0000``. Other values come back as they are."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {nul_strip(k) if isinstance(k, str) else k: nul_strip(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [nul_strip(v) for v in value]
    return value


def date_in_range(day: dt.date, name: str = "date") -> dt.date:
    """``day`` when it lies in DATE_MIN..DATE_MAX; InvalidInput naming ``name`` otherwise."""
    probe = day.date() if isinstance(day, dt.datetime) else day
    if not DATE_MIN <= probe <= DATE_MAX:
        raise InvalidInput(f"{name}: {probe.isoformat()} is outside {DATE_MIN.isoformat()}..{DATE_MAX.isoformat()}")
    return day
