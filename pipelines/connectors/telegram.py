"""``telegram``: the Bot API's ``getUpdates`` (offset kept), the public web preview of the channels
listed in admin (``t.me/s/<channel>``, no credentials), and files (Desktop export, scraped JSONL/CSV).

State (``FetchedBatch.meta["state"]``, read back from ``ConnectorState`` when a run starts):
``{"offset": last update_id + 1, "preview": {channel: newest post id stored}}``. Telegram forgets the
updates below the offset passed to the next call, so the offset is only advanced by the batch that
holds those updates: persist it once that batch is in the lake.

Web preview: ``GET {TELEGRAM_PREVIEW_URL}/s/<channel>`` answers the ~20 newest posts of a public
channel, and ``?before=<post id>`` the ones before. A run reads pages back until it reaches the newest
post it stored last time (at most ``TELEGRAM_MAX_PAGES``), or, on a first run,
``TELEGRAM_PREVIEW_FIRST_PAGES`` pages. Every page is a batch of its own, stored whole (HTML) in the
lake; the channel's newest post id moves with its last page. 429 is honoured (``Retry-After``, up to
the cap) and stops the preview for this run; a private or missing channel is a one-line error.

The channels to follow are the active ``TelegramChannel`` rows (edited in admin). When any channel is
listed, updates from other chats are dropped before storage (they are not ours to keep) and counted
in ``meta["skipped_updates"]``; with none listed, everything the bot receives is kept.
"""

from __future__ import annotations

import re
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
from pipelines.models import TELEGRAM_USERNAME, TELEGRAM_USERNAME_RULE, TelegramChannel

OLDER_LINK = re.compile(r'data-before="(\d+)"')
POST_ID = re.compile(r'data-post="[A-Za-z0-9_]+/(\d+)"')
POST_CHANNEL = re.compile(r'data-post="([A-Za-z0-9_]+)/\d+"')
ALLOWED_UPDATES = '["message","channel_post","edited_message","edited_channel_post"]'
# t.me serves its preview pages to browsers; a browser's agent gets the same page a person sees.
PREVIEW_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"
)
POST_KEYS = ("channel_post", "message", "edited_channel_post", "edited_message")


def followed_channels() -> tuple[set[int], set[str]] | None:
    """(chat ids, lower-case usernames) of the active channels; None when no channel is listed at all."""
    rows = list(TelegramChannel.objects.values_list("chat_id", "username", "active"))
    if not rows:
        return None
    ids = {chat_id for chat_id, _, active in rows if active and chat_id is not None}
    names = {username.lstrip("@").lower() for _, username, active in rows if active and username}
    return ids, names


def preview_channels() -> list[tuple[str | None, int | None]]:
    """(username, chat id) of the active channels listed for reading through their public web preview; the
    username is None when it is no Telegram username (``TELEGRAM_USERNAME``)."""
    rows = TelegramChannel.objects.filter(active=True, web_preview=True).exclude(username="")
    out = []
    for username, chat_id in rows.values_list("username", "chat_id"):
        match = TELEGRAM_USERNAME.fullmatch(username)
        out.append((match.group(1) if match else None, chat_id))
    return out


def update_chat(update: dict) -> dict:
    for key in POST_KEYS:
        if isinstance(update.get(key), dict):
            return update[key].get("chat") or {}
    return {}


class TelegramConnector(Connector):
    source = "telegram"
    base_url_settings = ("TELEGRAM_BASE_URL", "TELEGRAM_PREVIEW_URL")
    secret_settings = ("TELEGRAM_BOT_TOKEN",)
    headers = {"User-Agent": "tickerlake/1.0", "Accept": "application/json"}
    max_pages_setting = "TELEGRAM_MAX_PAGES"
    simulated_token = "123456:SIMULATED-bot-token"
    pulls_acknowledge = True  # asking getUpdates for the next offset confirms the updates before it

    def __init__(self, *, limit: int = 100, **kwargs):
        super().__init__(**kwargs)
        self.first_pages = int(settings.TELEGRAM_PREVIEW_FIRST_PAGES)
        self.limit = max(1, min(100, limit))

    def token(self) -> str:
        """The bot token, or "" without one: public channels are still read through their web preview."""
        token = settings.TELEGRAM_BOT_TOKEN
        if not token and self.simulated:
            return self.simulated_token
        return token

    def fetch(self, *, tickers: list[str] | None = None, since: dict | None = None) -> Iterator[FetchedBatch]:
        from pipelines.connectors.state import connector_state_get

        state = dict(since) if since is not None else connector_state_get(self.source)
        token, public = self.token(), preview_channels()
        if not token and not public:
            raise ConnectorError(
                "telegram: TELEGRAM_BOT_TOKEN is not set, and no public channel is listed in admin (Telegram "
                "channels with a username and 'web preview' on) to read from t.me/s/"
            )
        failures: list[str] = []
        if token:
            try:
                yield from self._bot_updates(token, state)
            except ConnectorError as exc:
                if not public:
                    raise
                failures.append(exc.message)
        for username, chat_id in public:
            if username is None:  # stored past admin's check (the model's validator): never made into a path
                failures.append(f"a listed channel's username is not {TELEGRAM_USERNAME_RULE}: fix it in admin")
                continue
            stop = yield from self._preview(username, chat_id, state, failures)
            if stop:
                break
        if failures:
            raise ConnectorError(
                "telegram: " + "; ".join(f.removeprefix("telegram: ") for f in failures[:5]), failures=failures
            )

    # ---- Bot API ---------------------------------------------------------------------------------
    def _bot_updates(self, token: str, state: dict) -> Iterator[FetchedBatch]:
        url = f"{self.base_url('TELEGRAM_BASE_URL')}/bot{token}/getUpdates"
        # The client redacts the token from every URL and message it reports.
        self.client.secrets.append(token)
        offset = state.get("offset")
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
            state["offset"] = new_offset
            yield self.batch(
                body,
                url=answer.url,
                page=page,
                records=len(body["result"]),
                skipped_updates=skipped or None,
                state=_copy(state),
            )
            if new_offset == offset or len(updates) < self.limit:
                break
            offset = new_offset

    # ---- public web preview (t.me/s/<channel>) ---------------------------------------------------
    def _preview(self, username: str, chat_id: int | None, state: dict, failures: list[str]):
        """Pages of one channel, newest first, back to the last post stored; True to stop all channels."""
        base = self.base_url("TELEGRAM_PREVIEW_URL")
        seen = dict(state.get("preview") or {})
        after = int(seen.get(username.lower()) or 0)
        pages = self.max_pages if after else self.first_pages
        before, newest = None, None
        for page in range(1, pages + 1):
            url = f"{base}/s/{username}"
            answer = self.client.get(
                url,
                params={"before": before} if before else None,
                headers={"Accept": "text/html,application/xhtml+xml", "User-Agent": PREVIEW_AGENT},
                label=f"t.me/s/{username} page {page}",
            )
            error = answer.error or (None if answer.ok else describe_status(answer))
            html = answer.text()
            ids = [int(i) for i in POST_ID.findall(html)] if error is None else []
            if error is None and not ids and "tgme_channel_info" not in html:
                error = "no public posts (Telegram shows a contact page: a private or missing channel)"
            if error:
                line = f"t.me/s/{username}: {error}"
                failures.append(line)
                if answer.status is not None:
                    yield self.batch(
                        answer.text_payload(url=answer.url), url=answer.url, status=answer.status, error=line
                    )
                # Telegram limits by address: after a 429 every other channel would be refused too.
                return answer.status == 429
            newest = max([newest or 0, *ids]) or None
            oldest = min(ids) if ids else None
            older = OLDER_LINK.search(html)
            last = not ids or oldest <= after + 1 or not older or page == pages
            if last and newest:
                seen[username.lower()] = max(newest, after)
                state["preview"] = seen
            payload = {
                "format": "html",
                "kind": "tme-preview",
                "channel": username,
                "chat_id": chat_id,
                "url": answer.url,
                "status": answer.status,
                "before": before,
                "after": after or None,
                "body": html,
            }
            yield self.batch(
                payload,
                url=answer.url,
                page=page,
                records=sum(1 for i in ids if i > after),
                state=_copy(state) if last else None,
            )
            if last:
                return False
            before = oldest
        return False

    def file_batches(self, path, data, fetched_at):
        if path.suffix.lower() == ".csv":
            # A CSV of scraped messages (id, date, channel_id, message, views …), kept as the file's text.
            payload = {"format": "csv", "filename": path.name, "content": decode_text(data)}
            yield FetchedBatch(self.source, payload, fetched_at, False, {"file": str(path)})
            return
        if path.suffix.lower() in (".html", ".htm"):
            # A saved page of a channel's web preview (t.me/s/<channel>), kept whole like a fetched one.
            html = decode_text(data)
            channel = POST_CHANNEL.search(html)
            payload = {
                "format": "html",
                "kind": "tme-preview",
                "channel": channel.group(1) if channel else path.stem,
                "chat_id": None,
                "url": None,
                "status": None,
                "before": None,
                "after": None,
                "body": html,
                "filename": path.name,
            }
            yield FetchedBatch(self.source, payload, fetched_at, False, {"file": str(path)})
            return
        yield from super().file_batches(path, data, fetched_at)


def _copy(state: dict) -> dict:
    return {**state, **({"preview": dict(state["preview"])} if "preview" in state else {})}


def _followed(chat: dict, follow: tuple[set[int], set[str]]) -> bool:
    ids, names = follow
    return chat.get("id") in ids or str(chat.get("username") or "").lower() in names
