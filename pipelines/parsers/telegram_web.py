"""Telegram's public web preview of a channel (``https://t.me/s/<channel>``) → social messages.

The lake keeps each page whole: ``{"format": "html", "kind": "tme-preview", "channel", "chat_id", "url",
"status", "before", "after", "body": <the HTML>}``. A page lists about 20 posts, oldest first:

- a post is a ``div.tgme_widget_message`` with ``data-post="channel/123"`` (service messages such as
  "Channel photo updated" carry ``service_message`` and are skipped);
- its time is the ``<time datetime="2024-11-06T17:01:36+00:00">`` of its date link;
- its text is the ``div.tgme_widget_message_text``: an album nests two identical text divs, so the
  outer one is read whole; ``<br/>`` is a newline; HTML entities are decoded; emoji (drawn as
  ``<i class="emoji"><b>🚀</b></i>``) are kept; the quoted text of a reply is not part of it;
- ``span.tgme_widget_message_views`` reads like ``1.2K`` or ``2.5M``; a forward names its source in
  ``tgme_widget_message_forwarded_from_name`` (a link to the original post when it is public).

A private or missing channel answers a page without posts (``tgme_page_context``, no channel
history): an error, not an empty success. Posts with an id up to ``after`` (the newest one a previous
run stored) are skipped: the page is kept whole, only the new posts count.

Parsed with lxml's HTML parser (libxml2): tolerant of tag soup, and it decodes entities itself.
"""

from __future__ import annotations

import re
from datetime import UTC

import lxml.html

from pipelines.parsers.common import ParseResult, iso_datetime, record_guarded, text_entities

SOURCE = "telegram"
POST_LINK = re.compile(r"^https?://t\.me/(?:s/)?([A-Za-z0-9_]{3,64})/(\d+)")
COUNT = re.compile(r"^([\d.,]+)\s*([KMB]?)$", re.IGNORECASE)
SCALE = {"": 1, "K": 1_000, "M": 1_000_000, "B": 1_000_000_000}


def _has_class(name: str) -> str:
    """XPath test for one class among an element's classes (``tgme_widget_message``, not ``…_wrap``)."""
    return f'contains(concat(" ", normalize-space(@class), " "), " {name} ")'


POSTS = f"//div[{_has_class('tgme_widget_message')} and @data-post]"
TEXTS = f".//div[{_has_class('tgme_widget_message_text')}]"


def views_count(text: str | None) -> int | None:
    """``1.2K`` → 1200, ``2.5M`` → 2500000, ``987`` → 987; None when there is no count."""
    match = COUNT.match((text or "").strip().replace(" ", ""))
    if not match:
        return None
    digits = match.group(1).replace(",", "")
    try:
        number = float(digits) if "." in digits else int(digits)
        return round(number * SCALE[match.group(2).upper()])
    except (ValueError, OverflowError):  # "1.2.3K", or more digits than a float holds: no count
        return None


def _text(post) -> str | None:
    """The post's own text: the outermost text div outside a reply's quote, ``<br>`` as newlines."""
    for div in post.xpath(TEXTS):
        inside = div.xpath(
            f"ancestor::div[{_has_class('tgme_widget_message_text')}] | "
            f"ancestor::*[{_has_class('tgme_widget_message_reply')}]"
        )
        if inside:
            continue
        for br in div.iter("br"):
            br.tail = "\n" + (br.tail or "")
        return div.text_content().strip()
    return None


def _first(post, xpath: str):
    found = post.xpath(xpath)
    return found[0] if found else None


def parse_post(post, page: dict, result: ParseResult) -> None:
    channel, _, number = str(post.get("data-post") or "").partition("/")
    if not number.isdigit():
        result.errors.append(f"{SOURCE}: t.me/s/{page.get('channel')}: a post with data-post {post.get('data-post')!r}")
        return
    post_id = int(number)
    if post_id <= int(page.get("after") or 0):
        result.skipped += 1  # stored by an earlier run
        return
    if "service_message" in (post.get("class") or ""):
        result.skipped += 1  # "Channel created", "Channel photo updated" …
        return
    text = _text(post)
    if not text:
        result.skipped += 1  # a photo, a sticker or a poll without text
        return
    stamp = _first(post, f".//a[{_has_class('tgme_widget_message_date')}]//time/@datetime") or _first(
        post, ".//time/@datetime"
    )
    try:
        timestamp = iso_datetime(str(stamp)).astimezone(UTC)
    except (TypeError, ValueError):
        result.errors.append(f"{SOURCE}: t.me/s/{channel} post {post_id}: no readable <time datetime> ({stamp!r})")
        return
    views = _first(post, f".//span[{_has_class('tgme_widget_message_views')}]")
    author = _first(post, f".//*[{_has_class('tgme_widget_message_from_author')}]")
    chat_id = page.get("chat_id")
    metadata = _post_metadata(post, text, channel, post_id, chat_id)
    result.messages.append(
        {
            "platform": SOURCE,
            # The Bot API's id when admin knows the channel's chat id, so both ways of reading a
            # channel give a post one id; else the public name.
            "external_id": f"{chat_id}:{post_id}" if chat_id else f"@{channel.lower()}:{post_id}",
            "text": text,
            "author": " ".join(author.text_content().split()) if author is not None else "",
            "channel": channel,
            "views": views_count(views.text_content()) if views is not None else None,
            "timestamp": timestamp,
            "metadata": metadata,
        }
    )


def _post_metadata(post, text: str, channel: str, post_id: int, chat_id) -> dict:
    """A post's entities (links from its text's anchors), chat, permalink, forward source and edit mark."""
    forward = _first(post, f".//*[{_has_class('tgme_widget_message_forwarded_from_name')}]")
    forwarded_from, repost_of = None, None
    if forward is not None:
        forwarded_from = " ".join(forward.text_content().split()) or "hidden"
        link = POST_LINK.match(forward.get("href") or "")
        if link:
            repost_of = f"@{link.group(1).lower()}:{link.group(2)}"
    owner = _first(post, f".//*[{_has_class('tgme_widget_message_owner_name')}]")
    text_div_links = post.xpath(f"{TEXTS}//a/@href")
    metadata = text_entities(text)
    metadata["urls"] = [u for u in text_div_links if u.startswith(("http://", "https://"))] or metadata["urls"]
    metadata.update(
        entities_from="text",
        chat_id=chat_id,
        chat_title=" ".join(owner.text_content().split()) if owner is not None else None,
        post_url=f"https://t.me/{channel}/{post_id}",
        is_repost=forward is not None,
        forwarded_from=forwarded_from,
        repost_of=repost_of,
        edited=True
        if post.xpath(f".//span[{_has_class('tgme_widget_message_meta')}][contains(., 'edited')]")
        else None,
        layout="tme-preview",
    )
    return {k: v for k, v in metadata.items() if v is not None}


def parse_preview_page(page: dict, result: ParseResult) -> None:
    """One stored ``t.me/s/<channel>`` page → its posts (newer than ``page["after"]``)."""
    result.layout = "tme-preview"
    body = page.get("body") or ""
    name = page.get("channel") or "?"
    if not body.strip():
        result.errors.append(f"{SOURCE}: t.me/s/{name}: an empty page")
        return
    try:
        doc = lxml.html.document_fromstring(body)
    except (lxml.etree.ParserError, ValueError) as exc:
        result.errors.append(f"{SOURCE}: t.me/s/{name}: not a readable HTML page: {exc}")
        return
    posts = doc.xpath(POSTS)
    if not posts and not doc.xpath(f"//*[{_has_class('tgme_channel_info')}]"):
        result.errors.append(
            f"{SOURCE}: t.me/s/{name}: no public posts (Telegram shows a contact page: a private or missing channel)"
        )
        return
    for number, post in enumerate(posts, start=1):
        record_guarded(result, SOURCE, f"t.me/s/{name}: post {number} of {len(posts)}", parse_post, post, page, result)
