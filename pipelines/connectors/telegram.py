"""``telegram``: the Bot API's ``getUpdates`` (offset kept), and files (Desktop export, scraped JSONL/CSV).

State (``FetchedBatch.meta["state"]``): ``{"offset": last update_id + 1}``. Telegram forgets the
updates below the offset passed to the next call, so the offset is only advanced by the batch that
holds those updates: persist it once that batch is in the lake.

The channels to follow are the active ``TelegramChannel`` rows (edited in admin). When any channel is
listed, updates from other chats are dropped before storage (they are not ours to keep) and counted
in ``meta["skipped_updates"]``; with none listed, everything the bot receives is kept.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings

from pipelines.connectors.base import (
    Connector,
    ConnectorError,
    FetchedBatch,
    answer_body,
    decode_text,
    describe_status,
)

ALLOWED_UPDATES = '["message","channel_post","edited_message","edited_channel_post"]'
POST_KEYS = ("channel_post", "message", "edited_channel_post", "edited_message")


def followed_channels() -> tuple[set[int], set[str]] | None:
    """(chat ids, lower-case usernames) of the active channels; None when no channel is listed at all."""
    from pipelines.models import TelegramChannel

    rows = list(TelegramChannel.objects.values_list("chat_id", "username", "active"))
    if not rows:
        return None
    ids = {chat_id for chat_id, _, active in rows if active and chat_id is not None}
    names = {username.lstrip("@").lower() for _, username, active in rows if active and username}
    return ids, names


def update_chat(update: dict) -> dict:
    for key in POST_KEYS:
        if isinstance(update.get(key), dict):
            return update[key].get("chat") or {}
    return {}


class TelegramConnector(Connector):
    source = "telegram"
    base_url_settings = ("TELEGRAM_BASE_URL",)
    secret_settings = ("TELEGRAM_BOT_TOKEN",)
    headers = {"User-Agent": "tickerlake/1.0", "Accept": "application/json"}

    def __init__(self, *, max_pages: int | None = None, limit: int = 100, **kwargs):
        super().__init__(**kwargs)
        self.max_pages = int(max_pages or getattr(settings, "TELEGRAM_MAX_PAGES", 10))
        self.limit = max(1, min(100, limit))

    def token(self) -> str:
        token = settings.TELEGRAM_BOT_TOKEN
        if not token and self.simulated:
            return "123456:SIMULATED-bot-token"
        if not token:
            raise ConnectorError("telegram: TELEGRAM_BOT_TOKEN is not set")
        return token

    def fetch(self, *, tickers: list[str] | None = None, since: dict | None = None) -> Iterator[FetchedBatch]:
        token = self.token()
        url = f"{self.base_url('TELEGRAM_BASE_URL')}/bot{token}/getUpdates"
        # The client redacts the token from every URL and message it reports.
        self.client.secrets.append(token)
        offset = (since or {}).get("offset")
        follow = followed_channels()
        for page in range(1, self.max_pages + 1):
            params = {"timeout": 0, "limit": self.limit, "allowed_updates": ALLOWED_UPDATES}
            if offset:
                params["offset"] = offset
            answer = self.client.get(url, params=params, label=f"telegram getUpdates page {page}")
            body, error = answer_body(answer)
            if error is None and (not isinstance(body, dict) or body.get("ok") is not True):
                error = describe_status(answer) + ": not a getUpdates answer"
            if error and answer.status and isinstance(body, dict) and body.get("description"):
                error += f": {body['description']}"
            if error:
                kept = body if body is not None else (answer.text_payload() if answer.status is not None else None)
                if kept is not None:
                    yield self.batch(kept, url=answer.url, status=answer.status, error=error)
                raise ConnectorError(f"telegram: getUpdates failed: {error}", failures=[error])
            updates = body.get("result") or []
            if not isinstance(updates, list):
                yield self.batch(body, url=answer.url, error="getUpdates result is not a list")
                raise ConnectorError("telegram: getUpdates answered a result that is not a list")
            if not updates:
                break
            ids = [u.get("update_id") for u in updates if isinstance(u, dict) and isinstance(u.get("update_id"), int)]
            new_offset = max(ids) + 1 if ids else offset
            skipped = 0
            if follow is not None:
                kept_updates = [u for u in updates if _followed(update_chat(u), follow)]
                skipped = len(updates) - len(kept_updates)
                body = {**body, "result": kept_updates}
            yield self.batch(
                body,
                url=answer.url,
                page=page,
                records=len(body["result"]),
                skipped_updates=skipped or None,
                state={"offset": new_offset},
            )
            if new_offset == offset or len(updates) < self.limit:
                break
            offset = new_offset

    def file_batches(self, path, data, fetched_at):
        if path.suffix.lower() == ".csv":
            # A CSV of scraped messages (id, date, channel_id, message, views …), kept as the file's text.
            payload = {"format": "csv", "filename": path.name, "content": decode_text(data)}
            yield FetchedBatch(self.source, payload, fetched_at, False, {"file": str(path)})
            return
        yield from super().file_batches(path, data, fetched_at)


def _followed(chat: dict, follow: tuple[set[int], set[str]]) -> bool:
    ids, names = follow
    return chat.get("id") in ids or str(chat.get("username") or "").lower() in names
