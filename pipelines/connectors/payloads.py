"""What an upstream answered, and what the pipeline keeps of it: answers, text payloads, decoding.

An answer that is not the data we asked for (an HTML error page, truncated JSON, an empty body,
10 MB of anything) becomes a ``text`` payload that the lake still keeps, with the original bytes
beside it (``raw_split``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .limits import json_decode

# The kept copy of an answer that is not data is cut to this many characters.
TEXT_KEEP_CHARS = 64 * 1024
# A text payload's original bytes, until the pipeline hands them to the lake (raw_split).
RAW_KEY = "_raw_bytes"


@dataclass
class Answer:
    """What one HTTP exchange produced after retries: a status and body, or only an error."""

    url: str
    status: int | None = None
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    truncated: bool = False
    size: int = 0
    cap: int = 0
    attempts: int = 0
    error: str | None = None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def text_payload(self, *, url: str | None = None) -> dict:
        """The answer as a ``text`` payload: kept in the lake when it is not the data we asked for."""
        body = self.text().replace("\x00", "")
        return {
            "format": "text",
            "status": self.status,
            "content_type": self.content_type,
            "url": url or self.url,
            "bytes": self.size,
            "truncated": self.truncated or len(body) > TEXT_KEEP_CHARS,
            "body": body[:TEXT_KEEP_CHARS],
            # Every byte that was read (at most the size cap), exactly as received: the pipeline moves
            # them out of the payload into the lake's raw object beside the envelope (raw_split).
            RAW_KEY: self.body,
        }


def raw_split(payload):
    """(payload without its original bytes, the bytes or None): a text payload carries the answer's
    bytes under RAW_KEY until the lake keeps them beside the envelope."""
    if isinstance(payload, dict) and isinstance(payload.get(RAW_KEY), bytes):
        payload = dict(payload)
        return payload, payload.pop(RAW_KEY)
    return payload, None


def describe_status(answer: Answer) -> str:
    return f"HTTP {answer.status}" + (f" ({answer.content_type.split(';')[0]})" if answer.content_type else "")


def json_or_error(answer: Answer) -> tuple[Any, str | None]:
    """Decode a JSON answer; otherwise say in one line why it is not JSON."""
    if answer.truncated:
        return None, (
            f"answer over the {answer.cap:,} bytes size cap ({answer.size:,} bytes read before stopping; "
            f"{describe_status(answer)}): refused, the first {TEXT_KEEP_CHARS // 1024} KB kept"
        )
    if not answer.body.strip():
        return None, f"empty body ({describe_status(answer)})"
    head = answer.body[:200].lstrip().lower()
    if head.startswith((b"<!doctype", b"<html", b"<?xml", b"<")):
        return None, f"an HTML/XML page instead of JSON ({describe_status(answer)})"
    value, error = json_decode(answer.body)
    if error:
        return None, f"malformed or truncated JSON ({describe_status(answer)}): {error}"
    return value, None


def answer_body(answer: Answer) -> tuple[Any, str | None]:
    """(decoded JSON body or None, error or None) of an answer: a non-2xx status is always an error,
    its JSON body (if any) still returned so the lake keeps it as sent."""
    if answer.error:
        return None, answer.error
    if answer.ok:
        return json_or_error(answer)
    body = None
    if answer.body.strip() and not answer.truncated:
        body, _error = json_decode(answer.body)
    return body, describe_status(answer)


def decode_text(data: bytes) -> str:
    """Text of a file or answer: UTF-8 (with or without BOM), else Latin-1, never an exception.

    NUL bytes are dropped: no text or JSON column takes them (PostgreSQL refuses ``\u0000``), and the
    lake keeps the original bytes anyway.
    """
    if b"\x00" in data:
        data = data.replace(b"\x00", b"")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def load_json_or_lines(text: str) -> tuple[Any, str | None]:
    """A JSON document, or JSON Lines (a list of one value per line); bad lines become text items."""
    value, first_error = json_decode(text)
    if first_error is None:
        return value, None
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        return None, f"not JSON: {first_error}"
    items, bad = [], 0
    for number, line in enumerate(lines, start=1):
        item, error = json_decode(line)
        if error is None:
            items.append(item)
        else:
            bad += 1
            items.append({"format": "text", "line": number, "error": error, "body": line[:TEXT_KEEP_CHARS]})
    if bad == len(lines):
        return None, f"not JSON nor JSON Lines: {first_error}"
    return items, (f"{bad} of {len(lines)} lines are not JSON" if bad else None)
