"""Telegram payloads → social messages: Bot API ``getUpdates``, Telegram Desktop exports, scraped messages,
and pages of a public channel's web preview (``telegram_web``).

``external_id`` is ``chat_id:message_id`` with the chat id in the Bot API's form (channels and
supergroups as ``-100…``), so one message read from any of the three shapes has one id. Bot API
entity offsets count UTF-16 code units, which matters as soon as a message holds an emoji.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.conf import settings

from pipelines.parsers.common import (
    ParseResult,
    epoch_datetime,
    iso_datetime,
    record_guarded,
    text_entities,
    text_payload_error,
    to_int,
)
from pipelines.parsers.telegram_web import parse_preview_page

SOURCE = "telegram"
POST_KEYS = ("channel_post", "message", "edited_channel_post", "edited_message")
CHANNEL_TYPES = {
    "channel",
    "supergroup",
    "public_channel",
    "private_channel",
    "public_supergroup",
    "private_supergroup",
}
SCRAPED_KEYS = {"id", "date", "message"}


def bot_chat_id(raw_id, chat_type: str | None) -> int | None:
    """A chat id in the Bot API's form: export and scraper ids of channels lack the ``-100`` prefix."""
    try:
        value = int(str(raw_id).removeprefix("channel").removeprefix("chat").removeprefix("user"))
    except (TypeError, ValueError):
        return None
    if value > 0 and (chat_type is None or chat_type in CHANNEL_TYPES):
        return int(f"-100{value}")
    if value > 0 and chat_type == "private_group":
        return -value
    return value


def _obj(value) -> dict:
    """A sub-object of a message (its chat, sender, forward origin …), or {} when it is missing or no object."""
    return value if isinstance(value, dict) else {}


def utf16_slice(text: str, offset: int, length: int) -> str:
    encoded = text.encode("utf-16-le")
    return encoded[offset * 2 : (offset + length) * 2].decode("utf-16-le", errors="replace")


def _entity_metadata(text: str, entities) -> dict:
    if not isinstance(entities, list):
        found = text_entities(text)
        found["entities_from"] = "text"
        return found
    found: dict = {"cashtags": [], "hashtags": [], "urls": [], "mentions": [], "entities_from": "api"}
    for entity in entities:
        if not isinstance(entity, dict):
            continue
        kind = entity.get("type")
        try:
            piece = utf16_slice(text, int(entity.get("offset", 0)), int(entity.get("length", 0)))
        except (TypeError, ValueError):
            continue
        _entity_add(found, kind, piece, link=entity.get("url"))
    return found


def _forward(msg: dict) -> dict:
    """Where a forwarded message came from, in the Bot API's newer (forward_origin) or older fields."""
    origin = msg.get("forward_origin")
    if isinstance(origin, dict):
        chat = _obj(origin.get("chat")) or _obj(origin.get("sender_chat"))
        user = _obj(origin.get("sender_user"))
        name = chat.get("title") or chat.get("username") or user.get("username") or origin.get("sender_user_name")
        return {"forwarded_from": name, "chat_id": chat.get("id"), "message_id": origin.get("message_id")}
    chat = _obj(msg.get("forward_from_chat"))
    user = _obj(msg.get("forward_from"))
    name = chat.get("title") or chat.get("username") or user.get("username") or msg.get("forward_sender_name")
    if not (name or chat or user or msg.get("forward_date")):
        return {}
    return {
        "forwarded_from": name or "hidden",
        "chat_id": chat.get("id"),
        "message_id": msg.get("forward_from_message_id"),
    }


def _message(
    *, result: ParseResult, chat_id: int | None, message_id, text, timestamp: datetime, author: str, channel: str,
    views, metadata: dict,
) -> None:  # fmt: skip
    result.messages.append(
        {
            "platform": SOURCE,
            "external_id": f"{chat_id}:{message_id}",
            "text": text,
            "author": author or "",
            "channel": channel or "",
            "views": views,
            "timestamp": timestamp,
            "metadata": {k: v for k, v in metadata.items() if v is not None},
        }
    )


def parse_bot_update(update, result: ParseResult) -> None:
    if not isinstance(update, dict):
        result.errors.append(f"{SOURCE}: an update that is a {type(update).__name__}")
        return
    kind = next((k for k in POST_KEYS if isinstance(update.get(k), dict)), None)
    if kind is None:
        result.skipped += 1  # callback queries, member changes …: not posts
        return
    msg = update[kind]
    chat = _obj(msg.get("chat"))
    chat_id, message_id = chat.get("id"), msg.get("message_id")
    if chat_id is None or message_id is None or msg.get("date") is None:
        result.errors.append(
            f"{SOURCE}: update {update.get('update_id')}: a {kind} without chat id, message id or date"
        )
        return
    text = msg.get("text") if isinstance(msg.get("text"), str) else msg.get("caption")
    if not isinstance(text, str) or not text.strip():
        result.skipped += 1  # stickers, photos without a caption …
        return
    try:
        timestamp = epoch_datetime(msg["date"])
    except (TypeError, ValueError, OverflowError):
        result.errors.append(f"{SOURCE}: update {update.get('update_id')}: date {msg.get('date')!r} is not a Unix time")
        return
    sender = _obj(msg.get("from"))
    sender_chat = _obj(msg.get("sender_chat"))
    author = (
        msg.get("author_signature")
        or sender.get("username")
        or " ".join(filter(None, [sender.get("first_name"), sender.get("last_name")]))
        or sender_chat.get("title")
        or chat.get("title")
    )
    forward = _forward(msg)
    metadata = _entity_metadata(text, msg.get("entities") if "text" in msg else msg.get("caption_entities"))
    metadata.update(
        chat_id=chat_id,
        chat_type=chat.get("type"),
        chat_title=chat.get("title"),
        update_id=update.get("update_id"),
        edited=kind.startswith("edited_") or None,
        is_repost=bool(forward),
        forwarded_from=forward.get("forwarded_from"),
        repost_of=f"{forward['chat_id']}:{forward['message_id']}"
        if forward.get("chat_id") and forward.get("message_id")
        else None,
        reply_to=_obj(msg.get("reply_to_message")).get("message_id"),
    )
    _message(
        result=result,
        chat_id=chat_id,
        message_id=message_id,
        text=text,
        timestamp=timestamp,
        author=author,
        channel=chat.get("username") or chat.get("title") or str(chat_id),
        views=msg.get("views"),
        metadata=metadata,
    )


def _export_text(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(part if isinstance(part, str) else str((part or {}).get("text", "")) for part in value)
    return ""


def _export_entities(entities) -> dict | None:
    if not isinstance(entities, list):
        return None
    found: dict = {"cashtags": [], "hashtags": [], "urls": [], "mentions": [], "entities_from": "export"}
    for entity in entities:
        if not isinstance(entity, dict):
            continue
        kind, piece = entity.get("type"), str(entity.get("text", ""))
        _entity_add(found, kind, piece, link=entity.get("href"))
    return found


def _entity_add(found: dict, kind, piece: str, *, link) -> None:
    """One entity into ``found``. The Bot API and the exports name kinds alike, but a bare URL is a
    "url" in the Bot API and a "link" in an export; a "text_link"'s target is ``url`` / ``href``."""
    if kind == "cashtag":
        found["cashtags"].append(piece.lstrip("$"))
    elif kind == "hashtag":
        found["hashtags"].append(piece.lstrip("#"))
    elif kind in ("url", "link"):
        found["urls"].append(piece)
    elif kind == "text_link" and link:
        found["urls"].append(link)
    elif kind == "mention":
        found["mentions"].append(piece.lstrip("@"))


def parse_export_chat(chat: dict, result: ParseResult) -> None:
    chat_type = chat.get("type") if isinstance(chat.get("type"), str) else None  # (a type that is no text says nothing)
    chat_id = bot_chat_id(chat.get("id"), chat_type)
    name = chat.get("name") or ""
    messages = chat.get("messages")
    if not isinstance(messages, list):
        result.drift.append(f"{SOURCE}: export of {name or chat.get('id')}: no messages list")
        return
    for number, msg in enumerate(messages, start=1):
        where = f"export of {name}: message {number} of {len(messages)}"
        record_guarded(
            result, SOURCE, where, _export_message, msg, result, chat_id=chat_id, chat_type=chat_type, name=name
        )


def _export_message(msg, result: ParseResult, *, chat_id, chat_type, name: str) -> None:
    """One message of a Desktop export."""
    if not isinstance(msg, dict):
        result.errors.append(f"{SOURCE}: export of {name}: a message that is a {type(msg).__name__}")
        return
    if msg.get("type", "message") != "message":
        result.skipped += 1  # service messages: pins, joins, title changes
        return
    text = _export_text(msg.get("text"))
    if not text.strip():
        result.skipped += 1
        return
    metadata: dict = {}
    try:
        if msg.get("date_unixtime"):
            timestamp = epoch_datetime(msg["date_unixtime"])
            metadata["timestamp_source"] = "date_unixtime"
        else:
            # Older exports write the exporting computer's local time without a zone.
            local = datetime.fromisoformat(str(msg["date"]))
            zone = local.tzinfo or _local_zone()
            timestamp = local.replace(tzinfo=zone) if local.tzinfo is None else local
            metadata["timestamp_source"] = f"date (assumed {zone})"
    except (KeyError, TypeError, ValueError, OverflowError):
        result.errors.append(f"{SOURCE}: export of {name}: message {msg.get('id')}: no readable date")
        return
    if msg.get("id") is None:
        result.errors.append(f"{SOURCE}: export of {name}: a message without id")
        return
    metadata.update(_export_entities(msg.get("text_entities")) or _entity_metadata(text, None))
    forwarded = msg.get("forwarded_from")
    metadata.update(
        chat_id=chat_id,
        chat_type=chat_type,
        chat_title=name or None,
        is_repost=bool(forwarded),
        forwarded_from=forwarded,
        reply_to=msg.get("reply_to_message_id"),
        edited=bool(msg.get("edited")) or None,
    )
    _message(
        result=result,
        chat_id=chat_id,
        message_id=msg["id"],
        text=text,
        timestamp=timestamp.astimezone(UTC),
        author=str(msg.get("from") or msg.get("author") or name),
        channel=name or str(chat_id),
        views=msg.get("views"),
        metadata=metadata,
    )


def _local_zone():
    return ZoneInfo(settings.TIME_ZONE)


def parse_scraped(rows: list, result: ParseResult, *, where: str) -> None:
    """Scraped channel messages: ``{id, date: "2024-11-06 17:01:36 UTC", channel_id, message, views, image}``."""
    for number, row in enumerate(rows, start=1):
        record_guarded(result, SOURCE, f"{where} item {number}", _scraped_row, row, result, number=number, where=where)


def _scraped_row(row, result: ParseResult, *, number: int, where: str) -> None:
    """One scraped message (item ``number`` of ``where``)."""
    if not isinstance(row, dict) or not set(row) >= SCRAPED_KEYS:
        keys = ", ".join(sorted(row))[:100] if isinstance(row, dict) else type(row).__name__
        result.errors.append(
            f"{SOURCE}: {where} item {number}: not a scraped message (has {keys}; needs id, date, message)"
        )
        return
    text = row.get("message")
    if not isinstance(text, str) or not text.strip():
        result.skipped += 1
        return
    try:
        timestamp = iso_datetime(row["date"])
    except (TypeError, ValueError) as exc:
        result.errors.append(
            f"{SOURCE}: {where} item {number} (message {row.get('id')}): date {row.get('date')!r}: {exc}"
        )
        return
    chat_id = bot_chat_id(row.get("channel_id"), None)
    metadata = _entity_metadata(text, None)
    views = row.get("views")
    metadata.update(
        chat_id=chat_id,
        scraped_channel_id=row.get("channel_id"),
        image=row.get("image") or None,
        label=row.get("label") or None,
        is_repost=False,
    )
    _message(
        result=result,
        chat_id=chat_id,
        message_id=row["id"],
        text=text,
        timestamp=timestamp,
        author="",
        channel=str(chat_id) if chat_id is not None else "",
        views=to_int(views),
        metadata=metadata,
    )


def parse_telegram(payload) -> ParseResult:
    """getUpdates answers, Desktop exports (one chat or all chats), scraped JSONL lists, scraped CSV, and
    pages of the public web preview (``t.me/s/<channel>``)."""
    result = ParseResult()
    if isinstance(payload, dict) and payload.get("format") == "html" and payload.get("kind") == "tme-preview":
        parse_preview_page(payload, result)
    elif isinstance(payload, dict) and payload.get("format") == "text":
        result.errors.append(text_payload_error(SOURCE, payload))
    elif isinstance(payload, dict) and payload.get("format") == "csv":
        result.layout = "scraped-csv"
        try:
            rows = list(csv.DictReader(io.StringIO(payload.get("content") or "")))
        except csv.Error as exc:
            result.errors.append(f"{SOURCE}: {payload.get('filename')}: not a readable CSV: {exc}")
            return result
        if not rows:
            # An empty export is a mistake (a wrong file, a failed scrape), not a run with 0 messages.
            result.errors.append(f"{SOURCE}: {payload.get('filename')}: the CSV holds no messages")
            return result
        parse_scraped(rows, result, where=str(payload.get("filename") or "CSV"))
    elif isinstance(payload, dict) and "ok" in payload:
        result.layout = "getupdates"
        if payload.get("ok") is not True:
            result.errors.append(
                f"{SOURCE}: getUpdates answered an error: {payload.get('error_code')} {payload.get('description', '')}"
            )
        elif not isinstance(payload.get("result"), list):
            result.drift.append(f"{SOURCE}: getUpdates result is a {type(payload.get('result')).__name__}, not a list")
        else:
            for number, update in enumerate(payload["result"], start=1):
                record_guarded(
                    result, SOURCE, f"update {number} of {len(payload['result'])}", parse_bot_update, update, result
                )
    elif isinstance(payload, dict) and isinstance(payload.get("messages"), list):
        result.layout = "desktop-export"
        parse_export_chat(payload, result)
    elif isinstance(payload, dict) and isinstance((payload.get("chats") or {}).get("list"), list):
        result.layout = "desktop-export"
        for chat in payload["chats"]["list"]:
            if isinstance(chat, dict):
                parse_export_chat(chat, result)
    elif isinstance(payload, list):
        result.layout = "scraped"
        parse_scraped(payload, result, where="scraped messages")
    else:
        keys = ", ".join(sorted(payload))[:120] if isinstance(payload, dict) else type(payload).__name__
        result.drift.append(
            f"{SOURCE}: unknown Telegram shape ({keys}): expected a getUpdates answer (ok, result), a Desktop "
            "export (messages, or chats.list) or scraped messages (id, date, channel_id, message)"
        )
    return result
