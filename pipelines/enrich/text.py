"""Text cleaning and repost collapsing for social messages (before tickers, sentiment and pump rules)."""

import html
import re
import unicodedata
from collections.abc import Iterable

# Control characters go; tab, newline and the other whitespace controls become spaces/newlines first.
# Invisible format characters that only get in the way of matching go too, but ZWJ (U+200D) and ZWNJ
# (U+200C) stay: emoji sequences (👨‍👩‍👧) and Indic scripts need them.
_DROP = {c: None for c in range(0x20) if chr(c) not in "\t\n\r\x0b\x0c"}
_DROP.update({c: None for c in range(0x7F, 0xA0) if c != 0x85})
_DROP.update({c: None for c in (0x00AD, 0x200B, 0x200E, 0x200F, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xFEFF)})
_DROP.update({c: None for c in range(0x202A, 0x202F)})
_DROP.update({c: None for c in range(0x2066, 0x206A)})
_DROP.update({0x85: "\n", 0x2028: "\n", 0x2029: "\n\n", 0x0B: " ", 0x0C: "\n", 0x0D: "\n"})

_HSPACE_RE = re.compile(r"[^\S\n]+")  # whitespace other than newline (NBSP, thin space, tab …)
_EDGE_SPACE_RE = re.compile(r" ?\n ?")
_MANY_NEWLINES_RE = re.compile(r"\n{3,}")
_ENTITY_RE = re.compile(r"&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def clean_text(text: str | None) -> str:
    """Return ``text`` with HTML entities decoded, control characters removed and whitespace normalised.

    - ``&amp;`` → ``&`` (twice at most: X double-escapes some text, ``&amp;amp;``);
    - control and invisible format characters removed, emoji (with their ZWJ and variation selectors) kept;
    - runs of spaces/tabs/NBSP → one space, CRLF → LF, spaces around line breaks dropped, at most one
      blank line in a row, no leading or trailing whitespace; Unicode NFC.
    ``None`` gives "".
    """
    if not text:
        return ""
    if "&" in text:
        for _ in range(2):
            if not _ENTITY_RE.search(text):
                break
            text = html.unescape(text)
    text = text.replace("\r\n", "\n").translate(_DROP)
    text = _HSPACE_RE.sub(" ", text)
    if "\n" in text:
        text = _MANY_NEWLINES_RE.sub("\n\n", _EDGE_SPACE_RE.sub("\n", text))
    text = text.strip()
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text


_RT_RE = re.compile(r"^RT @(\w{1,15}):\s*")


def _repost_key(message: dict) -> tuple | None:
    """The identity of the original a repost points at, or None when ``message`` is an original."""
    meta = message.get("metadata") or {}
    platform = message.get("platform", "")
    text = message.get("text") or ""
    rt = _RT_RE.match(text)
    is_repost = bool(meta.get("is_repost")) or bool(meta.get("repost_of")) or rt is not None
    if not is_repost:
        return None
    if meta.get("repost_of"):
        return (platform, "id", str(meta["repost_of"]))
    # No id of the original (X's default fields, a forward without its origin): the original's author
    # and text identify it; the reposts of one tweet carry the same (truncated) text.
    author = rt.group(1).lower() if rt else str(meta.get("forwarded_from") or "").lower()
    body = clean_text(text[rt.end() :] if rt else text)
    return (platform, "text", author, body)


def dedupe_reposts(messages: Iterable[dict]) -> list[dict]:
    """Collapse retweets and forwards to their original: one message per original, in input order.

    A repost is a message whose ``metadata`` has ``is_repost`` or ``repost_of`` (or an X text starting
    ``RT @user:``). Reposts are grouped by ``repost_of`` (the original's external id) when there is one,
    otherwise by the original's author and text. The original itself is kept when it is in the batch
    (matched on ``external_id == repost_of``); otherwise the first repost stands for it. The kept
    message is a shallow copy whose metadata gains ``repost_count`` (the reposts of that original in
    the batch, the kept one included when it is itself a repost) and ``repost_ids`` (their external ids,
    at most 50). Messages are not modified; the number dropped is
    ``len(messages) - len(result)`` (a pipeline counts them as duplicates).
    """
    messages = list(messages)
    originals: dict[tuple, int] = {}  # (platform, external_id) → index in ``kept``
    groups: dict[tuple, int] = {}  # repost key → index in ``kept``
    kept: list[dict] = []
    pending: list[tuple[tuple, dict]] = []
    for msg in messages:
        key = _repost_key(msg)
        if key is None:
            originals.setdefault((msg.get("platform", ""), str(msg.get("external_id", ""))), len(kept))
            kept.append(msg)
        else:
            pending.append((key, msg))
    if not pending:
        return messages
    folded: dict[int, list[str]] = {}  # index in ``kept`` → external ids of the reposts it stands for
    for key, msg in pending:
        # ``originals`` also learns each repost's own id, so a repost of a repost joins the first group.
        index = originals.get((key[0], key[2])) if key[1] == "id" else None
        if index is None:
            index = groups.get(key)
        if index is None:
            index = groups[key] = len(kept)
            kept.append(msg)
        external_id = str(msg.get("external_id", ""))
        originals.setdefault((key[0], external_id), index)
        folded.setdefault(index, []).append(external_id)
    # Originals were all appended in the first pass and reposts after them: restore input order.
    position = {id(m): i for i, m in enumerate(messages)}
    result = []
    for index, msg in sorted(enumerate(kept), key=lambda pair: position[id(pair[1])]):
        ids = folded.get(index)
        if ids:
            meta = {**(msg.get("metadata") or {}), "repost_count": len(ids), "repost_ids": ids[:50]}
            msg = {**msg, "metadata": meta}
        result.append(msg)
    return result
