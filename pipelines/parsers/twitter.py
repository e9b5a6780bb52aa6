"""X API v2 answers (recent search pages, tweet lookups, twarc JSON Lines) → social messages.

Only ``data`` holds the tweets we asked for; ``includes.tweets`` are the referenced originals (a
retweet's source), used to mark reposts, never counted as posts of their own. ``includes``,
``entities``, ``author_id`` and ``created_at`` are optional: a search with default fields returns
none of them. Without ``created_at`` the time comes from the tweet id (a snowflake carries its
creation time to the millisecond), else from the batch's ``fetched_at``; metadata says which.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from pipelines.parsers.common import ParseResult, iso_datetime, text_entities, text_payload_error

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
    return datetime.fromtimestamp(((value >> 22) + TWITTER_EPOCH_MS) / 1000, tz=UTC)


def _tags(entities: dict, kind: str, key: str) -> list[str]:
    return [str(e.get(key)) for e in entities.get(kind) or [] if isinstance(e, dict) and e.get(key)]


def parse_tweet(tweet: dict, users: dict, originals: dict, fetched_at: datetime | None, result: ParseResult) -> None:
    tweet_id, text = tweet.get("id"), tweet.get("text")
    if not tweet_id or not isinstance(text, str):
        result.errors.append(f"{SOURCE}: a tweet without id or text (keys: {', '.join(sorted(tweet))[:120]})")
        return
    metadata: dict = {}
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
            return
    except ValueError as exc:
        result.errors.append(f"{SOURCE}: tweet {tweet_id}: created_at {created!r}: {exc}")
        return
    entities = tweet.get("entities")
    if isinstance(entities, dict):
        metadata["cashtags"] = _tags(entities, "cashtags", "tag")
        metadata["hashtags"] = _tags(entities, "hashtags", "tag")
        metadata["urls"] = [
            str(u.get("expanded_url") or u.get("url")) for u in entities.get("urls") or [] if isinstance(u, dict)
        ]
        metadata["mentions"] = _tags(entities, "mentions", "username")
        metadata["entities_from"] = "api"
    else:
        metadata.update(text_entities(text))
        metadata["entities_from"] = "text"
    author_id = tweet.get("author_id")
    user = users.get(author_id) or {}
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


def parse_response(body, fetched_at: datetime | None, result: ParseResult, *, where: str = "answer") -> None:
    if not isinstance(body, dict):
        result.errors.append(f"{SOURCE}: {where} is a {type(body).__name__}, not an X API v2 object")
        return
    if body.get("format") == "text":
        result.errors.append(text_payload_error(SOURCE, body))
        return
    data = body.get("data")
    if data is None:
        if isinstance(body.get("meta"), dict):
            return  # a page with no results: `{"meta": {"result_count": 0}}`
        if body.get("errors") or body.get("title"):
            detail = body.get("detail") or body.get("title") or body["errors"][0].get("message", "")
            result.errors.append(f"{SOURCE}: {where}: the API answered an error: {str(detail)[:200]}")
            return
        result.drift.append(
            f"{SOURCE}: {where}: unknown X API shape: no data nor meta (keys: {', '.join(sorted(body))[:120]})"
        )
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
            parse_tweet(tweet, users, originals, fetched_at, result)
        else:
            result.errors.append(f"{SOURCE}: {where}: a tweet that is a {type(tweet).__name__}")


def parse_twitter(payload, *, fetched_at: datetime | None = None) -> ParseResult:
    """One v2 answer, or a list of them (twarc's JSON Lines: one answer per line)."""
    result = ParseResult(layout="x-api-v2")
    if isinstance(payload, list):
        for number, body in enumerate(payload, start=1):
            parse_response(body, fetched_at, result, where=f"line {number}")
    else:
        parse_response(payload, fetched_at, result)
    return result
