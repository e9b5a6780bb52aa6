"""The simulated chatter's channels as Telegram's public web preview pages (``t.me/s/<channel>``).

Same markup as the real preview (see ``pipelines/parsers/telegram_web.py``): posts oldest first in
``div.tgme_widget_message[data-post]``, the text with ``<br/>`` and emoji drawn as ``<i class="emoji">``,
views like "1.2K", the "older posts" link carrying ``data-before``. A name that is not one of the
simulated public channels gets Telegram's contact page (no posts), as a private or missing channel does.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

from pipelines.simulator.chatter import CHANNELS, Chatter, minute_index
from pipelines.simulator.universe import stable_unit

PAGE_POSTS = 20
LOOKBACK_MINUTES = 24 * 60
ENTITY = re.compile(r"(?P<cashtag>\$[A-Za-z][A-Za-z0-9_]*)|(?P<hashtag>#\w+)|(?P<url>https?://\S+)")
EMOJI = re.compile("([\U0001f000-\U0001faff\u2600-\u27bf])")


def public_channels() -> dict[str, tuple[int, str]]:
    """username → (chat id, title) of the simulated channels that have a public preview."""
    return {name: (chat_id, title) for chat_id, (name, title, kind) in CHANNELS.items() if kind == "channel"}


def channel_posts(chatter: Chatter, chat_id: int, *, now: datetime, before: int | None) -> list[dict]:
    """Up to ``PAGE_POSTS`` posts of the channel before post ``before`` (newest when None), oldest first."""
    found: list[dict] = []
    last = minute_index(now)
    start = min(last, before // 8) if before else last
    for index in range(start, max(start - LOOKBACK_MINUTES, 0), -1):
        for update in reversed(chatter.posts_at(index)):
            post = update.get("channel_post")
            if not post or post["chat"]["id"] != chat_id or post["date"] > now.timestamp():
                continue
            if before is None or post["message_id"] < before:
                found.append(post)
        if len(found) >= PAGE_POSTS:
            break
    return sorted(found[:PAGE_POSTS], key=lambda p: p["message_id"])


def _views(post: dict) -> str:
    count = int(200 + 30_000 * stable_unit("views", post["chat"]["id"], post["message_id"]))
    return f"{count / 1000:.1f}K" if count >= 1000 else str(count)


def _text_html(text: str) -> str:
    out, at = [], 0
    for match in ENTITY.finditer(text):
        out.append(html.escape(text[at : match.start()]))
        piece = match.group(0)
        href = piece if match.group("url") else "?q=" + piece.replace("$", "%24").replace("#", "%23")
        out.append(f'<a href="{html.escape(href)}">{html.escape(piece)}</a>')
        at = match.end()
    out.append(html.escape(text[at:]))
    body = EMOJI.sub(
        lambda m: (
            f'<i class="emoji" style="background-image:url(\'//telegram.org/img/emoji/40/'
            f"{m.group(1).encode().hex().upper()}.png')\"><b>{m.group(1)}</b></i>"
        ),
        "".join(out),
    )
    return body.replace("\n", "<br/>")


def _post_html(username: str, title: str, post: dict) -> str:
    when = datetime.fromtimestamp(post["date"], tz=UTC)
    signature = post.get("author_signature")
    author = (
        f'<span class="tgme_widget_message_from_author" dir="auto">{html.escape(signature)}</span>,&nbsp;'
        if signature
        else ""
    )
    link = f"https://t.me/{username}/{post['message_id']}"
    return (
        '<div class="tgme_widget_message_wrap js-widget_message_wrap">'
        f'<div class="tgme_widget_message text_not_supported_wrap js-widget_message" data-post="{username}/{post["message_id"]}">'
        f'<div class="tgme_widget_message_user"><a href="https://t.me/{username}">'
        f'<i class="tgme_widget_message_user_photo bgcolor1" data-content="{html.escape(title[:1])}"></i></a></div>'
        '<div class="tgme_widget_message_bubble">'
        '<div class="tgme_widget_message_author accent_color">'
        f'<a class="tgme_widget_message_owner_name" href="https://t.me/{username}"><span dir="auto">{html.escape(title)}</span></a></div>'
        f'<div class="tgme_widget_message_text js-message_text" dir="auto">{_text_html(post["text"])}</div>'
        '<div class="tgme_widget_message_footer compact js-message_footer">'
        '<div class="tgme_widget_message_info short js-message_info">'
        f'<span class="tgme_widget_message_views">{_views(post)}</span><span class="copyonly"> views</span>'
        f'<span class="tgme_widget_message_meta">{author}<a class="tgme_widget_message_date" href="{link}">'
        f'<time datetime="{when.isoformat()}" class="time">{when:%H:%M}</time></a></span>'
        "</div></div></div></div></div>"
    )


def channel_page(chatter: Chatter, username: str, *, now: datetime, before: int | None) -> str | None:
    """The preview page of a simulated public channel; None for any other name."""
    channel = public_channels().get(username) or next(
        (v for k, v in public_channels().items() if k.lower() == username.lower()), None
    )
    if channel is None:
        return None
    chat_id, title = channel
    name = next(k for k, v in public_channels().items() if v == channel)
    posts = channel_posts(chatter, chat_id, now=now, before=before)
    more = (
        f'<div class="tme_messages_more js-messages_more_wrap"><a href="/s/{name}?before={posts[0]["message_id"]}" '
        f'class="tme_messages_more js-messages_more" data-before="{posts[0]["message_id"]}"></a></div>'
        if posts
        else ""
    )
    items = "".join(_post_html(name, title, post) for post in posts)
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)} \u2013 Telegram</title>'
        f'<meta property="og:title" content="{html.escape(title)}"></head>'
        '<body class="widget_frame_base tgme_webpage"><main class="tgme_main">'
        f'<section class="tgme_channel_history js-message_history">{more}{items}</section></main>'
        '<div class="tgme_channel_info"><div class="tgme_channel_info_header">'
        f'<div class="tgme_channel_info_header_title"><span dir="auto">{html.escape(title)}</span></div>'
        f'<div class="tgme_channel_info_header_username"><a href="https://t.me/{name}">@{name}</a></div>'
        "</div></div></body></html>"
    )


def contact_page(username: str) -> str:
    """What ``t.me/s/<name>`` ends on for a private or missing channel: the contact page, no posts."""
    name = html.escape(username)
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>Telegram: Contact @{name}</title></head>'
        '<body class="no_transition"><div class="tgme_page_wrap"><div class="tgme_body_wrap"><div class="tgme_page">'
        f'<div class="tgme_page_title"><span dir="auto">If you have <strong>Telegram</strong>, you can contact '
        f"<br/>@{name} right away.</span></div>"
        f'<div class="tgme_page_action"><a class="tgme_action_button_new shine" href="tg://resolve?domain={name}">'
        "Send Message</a></div>"
        '<div class="tgme_page_context_link_wrap"><a class="tgme_page_context_link" href="/">'
        "Don't have Telegram yet? Try it now!</a></div></div></div></div></body></html>"
    )
