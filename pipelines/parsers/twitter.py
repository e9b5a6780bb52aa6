"""X/Twitter files and answers → social messages: API v2 (recent search pages, tweet lookups, twarc
JSON Lines) and API v1.1 (one tweet object per line, as twarc 1 and the StockNet dataset keep them, or
search pages ``{"statuses": […]}``). Both give the same rows.

Only ``data`` holds the tweets we asked for; ``includes.tweets`` are the referenced originals (a
retweet's source), used to mark reposts, never counted as posts of their own. ``includes``,
``entities``, ``author_id`` and ``created_at`` are optional: a search with default fields returns
none of them. Without ``created_at`` the time comes from the tweet id (a snowflake carries its
creation time to the millisecond), else from the batch's ``fetched_at``; metadata says which.

v1.1 tweets carry ``created_at`` like ``Thu Jan 02 18:23:09 +0000 2014``, ``id_str``, ``text`` (or
``full_text`` in extended mode, or ``extended_tweet.full_text`` from the streaming API), ``user``,
``entities`` (``symbols`` are the cashtags) and ``retweeted_status`` (the original, embedded).

A file of many lines reports its failing lines in one line per kind of failure ("33 of 33 lines:
unknown X API shape (first at line 1: keys …)"), not one message per line.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from pipelines.parsers.common import ParseResult, iso_datetime, record_guarded, text_entities, text_payload_error

V1_TIME = "%a %b %d %H:%M:%S %z %Y"

SOURCE = "twitter"
TWITTER_EPOCH_MS = 1288834974657
# Ids below this predate snowflakes (Nov 2010) and carry no time.
FIRST_SNOWFLAKE = 29_700_859_247
RT_PREFIX = re.compile(r"^RT @(\w{1,32}):")


def snowflake_time(tweet_id: str) -> datetime | None:
    try:
        value = int(tweet_id)
    except (TypeError, ValueError):
        return None
    if value < FIRST_SNOWFLAKE:
        return None
    try:
        return datetime.fromtimestamp(((value >> 22) + TWITTER_EPOCH_MS) / 1000, tz=UTC)
    except (OverflowError, ValueError, OSError):  # an id too large to be a snowflake: it carries no time
        return None


def _tags(entities: dict, kind: str, key: str) -> list[str]:
    return [str(e.get(key)) for e in entities.get(kind) or [] if isinstance(e, dict) and e.get(key)]


# Where each API keeps cashtags, hashtags and mentions: (list key, field) per kind.
V2_ENTITY_KEYS = {
    "cashtags": ("cashtags", "tag"),
    "hashtags": ("hashtags", "tag"),
    "mentions": ("mentions", "username"),
}
V1_ENTITY_KEYS = {
    "cashtags": ("symbols", "text"),
    "hashtags": ("hashtags", "text"),
    "mentions": ("user_mentions", "screen_name"),
}


def _entities(text: str, entities: dict | None, keys: dict) -> dict:
    """The tweet's cashtags, hashtags, URLs and mentions: from the API's entities, else from its text."""
    if entities is None:
        return {**text_entities(text), "entities_from": "text"}
    urls = [str(u.get("expanded_url") or u.get("url")) for u in entities.get("urls") or [] if isinstance(u, dict)]
    return {
        "cashtags": _tags(entities, *keys["cashtags"]),
        "hashtags": _tags(entities, *keys["hashtags"]),
        "urls": urls,
        "mentions": _tags(entities, *keys["mentions"]),
        "entities_from": "api",
    }


def parse_tweet(tweet: dict, users: dict, originals: dict, fetched_at: datetime | None, result: ParseResult) -> None:
    tweet_id, text = tweet.get("id"), tweet.get("text")
    if not tweet_id or not isinstance(text, str):
        result.errors.append(f"{SOURCE}: a tweet without id or text (keys: {', '.join(sorted(tweet))[:120]})")
        return
    metadata: dict = {}
    timestamp = _tweet_time(tweet, tweet_id, fetched_at, metadata, result)
    if timestamp is None:
        return
    entities = tweet.get("entities")
    metadata.update(_entities(text, entities if isinstance(entities, dict) else None, V2_ENTITY_KEYS))
    author_id = tweet.get("author_id")
    user = users.get(author_id) or {}
    _references(tweet, text, originals, metadata)
    metrics = tweet.get("public_metrics") or {}
    metadata.update(
        lang=tweet.get("lang"),
        author_id=author_id,
        author_name=user.get("name"),
        verified=user.get("verified"),
        followers=(user.get("public_metrics") or {}).get("followers_count"),
        metrics=metrics or None,
        conversation_id=tweet.get("conversation_id"),
    )
    result.messages.append(
        {
            "platform": SOURCE,
            "external_id": str(tweet_id),
            "text": text,
            "author": user.get("username") or (str(author_id) if author_id else ""),
            "channel": "",
            "views": metrics.get("impression_count"),
            "timestamp": timestamp,
            "metadata": {k: v for k, v in metadata.items() if v is not None},
        }
    )


def _tweet_time(
    tweet: dict, tweet_id, fetched_at: datetime | None, metadata: dict, result: ParseResult
) -> datetime | None:
    """When the tweet was posted: its ``created_at``, else its snowflake id, else the fetch time (noted
    as ``timestamp_source``); None, with the reason in ``result.errors``, when there is no time."""
    created = tweet.get("created_at")
    try:
        if created:
            timestamp = iso_datetime(created)
            metadata["timestamp_source"] = "created_at"
        elif (timestamp := snowflake_time(tweet_id)) is not None:
            metadata["timestamp_source"] = "tweet_id"
        elif fetched_at is not None:
            timestamp = fetched_at
            metadata["timestamp_source"] = "fetched_at"
        else:
            result.errors.append(f"{SOURCE}: tweet {tweet_id}: no created_at and no time to fall back on")
            return None
    except ValueError as exc:
        result.errors.append(f"{SOURCE}: tweet {tweet_id}: created_at {created!r}: {exc}")
        return None
    return timestamp


def _references(tweet: dict, text: str, originals: dict, metadata: dict) -> None:
    """A v2 tweet's retweet (by reference or by its ``RT @user:`` text), quote and reply, into metadata."""
    refs = {r.get("type"): r.get("id") for r in tweet.get("referenced_tweets") or [] if isinstance(r, dict)}
    rt_match = RT_PREFIX.match(text)
    repost_of = refs.get("retweeted")
    metadata["is_repost"] = bool(repost_of or rt_match)
    metadata["repost_of"] = repost_of
    if rt_match:
        metadata["repost_of_author"] = rt_match.group(1)
    if repost_of and repost_of in originals:
        original = originals[repost_of]
        metadata["repost_of_author_id"] = original.get("author_id")
        metadata["original_text"] = original.get("text")
    if refs.get("quoted"):
        metadata["quote_of"] = refs["quoted"]
    if refs.get("replied_to"):
        metadata["reply_to"] = refs["replied_to"]


def parse_response(body, fetched_at: datetime | None, result: ParseResult, *, where: str = "answer") -> None:
    if not isinstance(body, dict):
        result.errors.append(f"{SOURCE}: {where} is a {type(body).__name__}, not an X API object")
        return
    if body.get("format") == "text":
        result.errors.append(text_payload_error(SOURCE, body) if "line" not in body else f"{SOURCE}: {where}: not JSON")
        return
    if isinstance(body.get("statuses"), list):
        for tweet in body["statuses"]:  # a v1.1 search page
            if isinstance(tweet, dict):
                label = f"{where}: tweet {str(tweet.get('id_str') or tweet.get('id'))[:40]}"
                record_guarded(result, SOURCE, label, parse_v1_tweet, tweet, result, where=where)
            else:
                result.errors.append(f"{SOURCE}: {where}: a status that is a {type(tweet).__name__}")
        return
    if is_v1_tweet(body):
        parse_v1_tweet(body, result, where=where)
        return
    data = body.get("data")
    if data is None:
        if isinstance(body.get("meta"), dict):
            return  # a page with no results: `{"meta": {"result_count": 0}}`
        if body.get("errors") or body.get("title"):
            detail = body.get("detail") or body.get("title") or body["errors"][0].get("message", "")
            result.errors.append(f"{SOURCE}: {where}: the API answered an error: {str(detail)[:200]}")
            return
        result.drift.append(f"{SOURCE}: {where}: unknown X API shape: keys {', '.join(sorted(body))[:120]}")
        return
    tweets = [data] if isinstance(data, dict) else data
    if not isinstance(tweets, list):
        result.drift.append(f"{SOURCE}: {where}: data is a {type(data).__name__}, expected a list of tweets")
        return
    includes = body.get("includes") if isinstance(body.get("includes"), dict) else {}
    users = {u.get("id"): u for u in includes.get("users") or [] if isinstance(u, dict)}
    originals = {t.get("id"): t for t in includes.get("tweets") or [] if isinstance(t, dict)}
    for tweet in tweets:
        if isinstance(tweet, dict):
            label = f"{where}: tweet {str(tweet.get('id'))[:40]}"
            record_guarded(result, SOURCE, label, parse_tweet, tweet, users, originals, fetched_at, result)
        else:
            result.errors.append(f"{SOURCE}: {where}: a tweet that is a {type(tweet).__name__}")


def is_v1_tweet(body: dict) -> bool:
    """An API v1.1 tweet object: a string id, a text and a ``created_at`` of its own, no v2 ``data``."""
    has_text = isinstance(body.get("text"), str) or isinstance(body.get("full_text"), str)
    return "data" not in body and bool(body.get("id_str") or body.get("id")) and has_text and "created_at" in body


def _v1_text(tweet: dict) -> str:
    extended = tweet.get("extended_tweet") if isinstance(tweet.get("extended_tweet"), dict) else {}
    return extended.get("full_text") or tweet.get("full_text") or tweet.get("text") or ""


def _v1_entities(tweet: dict) -> dict:
    extended = tweet.get("extended_tweet") if isinstance(tweet.get("extended_tweet"), dict) else {}
    entities = extended.get("entities") or tweet.get("entities")
    return entities if isinstance(entities, dict) else {}


def parse_v1_tweet(tweet: dict, result: ParseResult, *, where: str) -> None:
    """One API v1.1 tweet → the same message (and metadata keys) a v2 tweet gives."""
    tweet_id = tweet.get("id_str") or (str(tweet["id"]) if tweet.get("id") is not None else None)
    text = _v1_text(tweet)
    if not tweet_id or not text:
        result.errors.append(f"{SOURCE}: {where}: a v1.1 tweet without id or text")
        return
    try:
        timestamp = datetime.strptime(str(tweet.get("created_at")), V1_TIME).astimezone(UTC)
    except ValueError:
        result.errors.append(
            f"{SOURCE}: {where}: tweet {tweet_id}: created_at {tweet.get('created_at')!r} is not like "
            "'Thu Jan 02 18:23:09 +0000 2014'"
        )
        return
    user = tweet.get("user") if isinstance(tweet.get("user"), dict) else {}
    entities = _v1_entities(tweet)
    metadata: dict = {"timestamp_source": "created_at"}
    metadata.update(_entities(text, entities or None, V1_ENTITY_KEYS))
    original = tweet.get("retweeted_status") if isinstance(tweet.get("retweeted_status"), dict) else None
    rt_match = RT_PREFIX.match(text)
    repost_of = (original.get("id_str") or str(original.get("id") or "")) or None if original else None
    metadata["is_repost"] = bool(repost_of or rt_match)
    metadata["repost_of"] = repost_of
    if rt_match:
        metadata["repost_of_author"] = rt_match.group(1)
    if original:
        metadata["repost_of_author_id"] = (original.get("user") or {}).get("id_str")
        metadata["original_text"] = _v1_text(original)
    if tweet.get("quoted_status_id_str"):
        metadata["quote_of"] = tweet["quoted_status_id_str"]
    if tweet.get("in_reply_to_status_id_str"):
        metadata["reply_to"] = tweet["in_reply_to_status_id_str"]
    counts = {
        "retweet_count": tweet.get("retweet_count"),
        "reply_count": tweet.get("reply_count"),
        "like_count": tweet.get("favorite_count"),
        "quote_count": tweet.get("quote_count"),
    }
    metrics = {k: v for k, v in counts.items() if v is not None}
    metadata.update(
        lang=tweet.get("lang"),
        author_id=user.get("id_str") or (str(user["id"]) if user.get("id") is not None else None),
        author_name=user.get("name"),
        verified=user.get("verified"),
        followers=user.get("followers_count"),
        metrics=metrics or None,
    )
    result.messages.append(
        {
            "platform": SOURCE,
            "external_id": str(tweet_id),
            "text": text,
            "author": user.get("screen_name") or metadata["author_id"] or "",
            "channel": "",
            "views": None,
            "timestamp": timestamp,
            "metadata": {k: v for k, v in metadata.items() if v is not None},
        }
    )


def _keys(body) -> str:
    if isinstance(body, dict):
        return "keys " + (", ".join(sorted(map(str, body)))[:100] or "none")
    return f"a {type(body).__name__}"


def _kind(message: str) -> str:
    """What went wrong on a line, without the line's own details (ids, values), so lines group."""
    text = message.removeprefix(f"{SOURCE}: ").removeprefix("line").lstrip(": ")
    text = re.sub(r"^tweet \S+: ", "", text)
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "…", text)
    return re.split(r": keys |\(keys|: (?=[A-Z])", text, maxsplit=1)[0].strip().rstrip(":")


def parse_lines(payload: list, fetched_at: datetime | None, result: ParseResult) -> None:
    """A file of many answers or tweets (JSON Lines): the failing lines said once per kind of failure."""
    failing: dict[tuple[str, bool], list[tuple[int, str]]] = {}
    for number, body in enumerate(payload, start=1):
        line = ParseResult()
        record_guarded(line, SOURCE, "line", parse_response, body, fetched_at, line, where="line")
        result.messages += line.messages
        result.skipped += line.skipped
        for is_drift, messages in ((True, line.drift), (False, line.errors)):
            if messages:
                failing.setdefault((_kind(messages[0]), is_drift), []).append((number, _keys(body)))
    for (kind, is_drift), lines in failing.items():
        number, keys = lines[0]
        summary = f"{SOURCE}: {len(lines)} of {len(payload)} lines: {kind} (first at line {number}: {keys})"
        (result.drift if is_drift else result.errors).append(summary)


def parse_twitter(payload, *, fetched_at: datetime | None = None) -> ParseResult:
    """One answer (v2, or v1.1: a tweet or a search page), or a list of them (JSON Lines: one per line)."""
    result = ParseResult(layout="x-api-v2")
    first = payload[0] if isinstance(payload, list) and payload else payload
    if isinstance(first, dict) and (is_v1_tweet(first) or isinstance(first.get("statuses"), list)):
        result.layout = "x-api-v1.1"
    if isinstance(payload, list):
        parse_lines(payload, fetched_at, result)
    else:
        parse_response(payload, fetched_at, result)
    return result
