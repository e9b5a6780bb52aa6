"""Simulated social chatter in the real APIs' shapes: X API v2 tweets and Telegram Bot API updates.

Chatter is generated minute by minute from (seed, minute), so a minute always holds the same posts.
Background posts mention random tickers in ordinary words; during a campaign a handful of accounts
and channels hype one ticker (rockets, "multibagger", "upper circuit", "target ₹…"), others repost
and forward it, and once the price is dumped the chatter turns sour.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from pipelines.simulator.market import IST, PUMP_CHANNELS, Campaign, SimMarket, rng
from pipelines.simulator.universe import stable_unit

TWITTER_EPOCH_MS = 1288834974657
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
UPDATES_PER_MINUTE = 64  # update ids are minute * 64 + n

POSITIVE = (
    "${s} looking strong today, breakout above ₹{p} likely 📈",
    "Added more ${s} on the dip. Long term story intact.",
    "${s} results beat estimates, bullish on the next quarter",
    "Good volumes in ${s} today, rally could continue #{s}",
)
NEUTRAL = (
    "${s} trading at ₹{p} right now",
    "What do you think about ${s} at these levels?",
    "${s} board meeting next week, dividend on the agenda #NSE",
    "Watching ${s} around ₹{p}. No position yet.",
)
NEGATIVE = (
    "${s} weak today, might test support at ₹{p}",
    "Booked a loss in ${s}, management commentary was disappointing",
    "${s} bearish engulfing on the daily chart, staying away",
)
HYPE = (
    "🚀🚀🚀 ${s} MULTIBAGGER ALERT! Upper circuit coming, target ₹{t} in 2 days. Buy before it's too late!! #{s} #multibagger",
    "${s} 🚀 operator buying started, next upper circuit confirmed, target ₹{t}. Don't miss this! 💰💰",
    "Guaranteed 3x in ${s} 🚀🚀 Load up now, target ₹{t}. Join our Telegram for the next call #stocks",
    "URGENT: ${s} will hit upper circuit tomorrow 🚀 Insider news, target ₹{t}. Last chance to enter!",
)
SPIKE = (
    "✅ ${s} upper circuit hit! Target 1 done 🎯 Hold for target 2 ₹{t} 🚀🚀",
    "Told you! ${s} up {g}% today 🚀 Multibagger in the making, don't sell now",
)
DUMP = (
    "${s} crashed right after the pump, retail trapped again 😡",
    "Who bought ${s} at the top? Operators dumped everything.",
    "${s} down sharply, those 'target ₹{t}' calls were a trap",
)
# News names the company, as headlines do ("Larsen & Toubro", not "LT": a two-letter symbol is never taken
# bare, and a news post without a ticker the matcher can find would be quarantined).
NEWS = (
    "NIFTY ends the session {d}; {n} among the top movers #NSE",
    "{n}: block deal of {v} shares on the exchange today",
    "Brokerage keeps 'hold' on {n} with a target of ₹{t}",
)
_NAME_SUFFIX_RE = re.compile(r"[\s,]+(?:limited|ltd\.?)$", re.IGNORECASE)
USERS = tuple(
    f"{first}{last}{n}"
    for n, (first, last) in enumerate(
        (f, la)
        for f in ("ravi", "priya", "amit", "neha", "karan", "sneha", "vikram", "anita", "rahul", "pooja")
        for la in ("_trades", "invests", "_markets", "_fin", "charts")
    )
)
CHANNELS = {
    -1001600000001: ("dalal_street_news", "Dalal Street News", "channel"),
    -1001600000002: ("nifty_analysis_daily", "Nifty Analysis Daily", "channel"),
    -1001600000003: ("multibagger_calls_india", "Multibagger Calls 🚀", "channel"),
    -1001600000004: ("upper_circuit_club", "Upper Circuit Club", "channel"),
    -1001600000005: ("retail_traders_chat", "Retail Traders Chat", "supergroup"),
}
NEWS_CHANNELS = (-1001600000001, -1001600000002)
GROUP = -1001600000005
ENTITY_RE = re.compile(r"(?P<cashtag>\$[A-Za-z][A-Za-z0-9_]*)|(?P<hashtag>#\w+)|(?P<url>https?://\S+)")


def minute_index(when: datetime) -> int:
    return int((when - EPOCH).total_seconds() // 60)


def minute_start(index: int) -> datetime:
    return EPOCH + timedelta(minutes=index)


def snowflake(ms: int, sequence: int) -> int:
    return ((ms - TWITTER_EPOCH_MS) << 22) | (sequence & 0xFFF)


def snowflake_ms(tweet_id: int) -> int:
    return (tweet_id >> 22) + TWITTER_EPOCH_MS


def user_id(username: str) -> str:
    return str(10**15 + int(stable_unit("user", username) * 10**17))


def _fill(template: str, market: SimMarket, symbol: str, when: datetime, campaign=None) -> str:
    day, minute, _ = market.session_at(when)
    price = float(market.day_path(symbol, day).prices[minute])
    target = campaign.target if campaign else round(price * 1.2)
    gain = round(campaign.gain * 100) if campaign else 5
    name = _NAME_SUFFIX_RE.sub("", market.by_symbol[symbol].name) if "{n}" in template else ""
    return template.format(
        s=symbol, n=name or symbol, p=f"{price:,.2f}", t=f"{target:,.0f}", g=gain, d="higher", v="1,20,000"
    )


class Chatter:
    """Posts of one simulated world (a ``SimMarket`` and its seed), answered by minute."""

    def __init__(self, market: SimMarket):
        self.market = market
        self.symbols = [t.symbol for t in market.tickers]
        self.tweets_at = lru_cache(maxsize=8192)(self._tweets_at)
        self.posts_at = lru_cache(maxsize=8192)(self._posts_at)

    def campaign_now(self, when: datetime):
        for campaign in self.market.campaigns(when.astimezone(IST).date()):
            phase = campaign.at(when)
            if phase:
                return campaign, phase
        return None, None

    # ---- X ---------------------------------------------------------------------------------------
    def _tweets_at(self, index: int) -> tuple[dict, ...]:
        """The tweets posted in minute ``index`` (oldest first), as v2 tweet objects with a private ``_user``."""
        when = minute_start(index)
        r = rng(self.market.seed, "tweets", index)
        plan, campaign = self._tweet_plan(when, r)
        base_ms = int(when.timestamp() * 1000)
        offsets = sorted(int(x) for x in r.integers(0, 60_000, len(plan)))
        tweets: list[dict] = []
        originals: list[dict] = []
        for n, ((text, author, rt_of), offset) in enumerate(zip(plan, offsets, strict=True)):
            tweet = _tweet(base_ms + offset, n, text, author, r)
            if rt_of is not None:
                source = next((t for t in reversed(originals) if t["_user"] == rt_of), None)
                if source is None:
                    source = self._hype_original(campaign, rt_of, when, r)
                tweet["text"] = f"RT @{rt_of}: {source['text']}"[:140] + ("…" if len(source["text"]) > 130 else "")
                tweet["referenced_tweets"] = [{"type": "retweeted", "id": source["id"]}]
                tweet["_original"] = source
            else:
                originals.append(tweet)
            tweet["entities"] = twitter_entities(tweet["text"])
            tweets.append(tweet)
        return tuple(tweets)

    def _tweet_plan(self, when: datetime, r) -> tuple[list[tuple[str, str, str | None]], Campaign | None]:
        """(text, author, retweet of which hype account) of each tweet of the minute, and the campaign
        running then: background chatter first, then the campaign's posts and retweets."""
        plan: list[tuple[str, str, str | None]] = []
        for _ in range(int(r.poisson(2.0))):
            symbol = self.symbols[int(r.integers(len(self.symbols)))]
            mood = r.random()
            pool = POSITIVE if mood < 0.45 else NEUTRAL if mood < 0.8 else NEGATIVE
            plan.append(
                (
                    _fill(pool[int(r.integers(len(pool)))], self.market, symbol, when),
                    USERS[int(r.integers(len(USERS)))],
                    None,
                )
            )
        campaign, phase = self.campaign_now(when)
        if campaign is not None:
            pool, count = {"hype": (HYPE, 6.0), "spike": (SPIKE, 4.0), "dump": (DUMP, 3.0)}[phase]
            for _ in range(int(r.poisson(count))):
                text = _fill(pool[int(r.integers(len(pool)))], self.market, campaign.symbol, when, campaign)
                if phase == "dump":
                    plan.append((text, USERS[int(r.integers(len(USERS)))], None))
                else:
                    plan.append((text, campaign.accounts[int(r.integers(len(campaign.accounts)))], None))
            if phase == "hype":
                for _ in range(int(r.poisson(3.0))):
                    plan.append(
                        (
                            "",
                            USERS[int(r.integers(len(USERS)))],
                            campaign.accounts[int(r.integers(len(campaign.accounts)))],
                        )
                    )
        return plan, campaign

    def _hype_original(self, campaign, author: str, when: datetime, r) -> dict:
        start_ms = int(campaign.starts_at().timestamp() * 1000)
        ms = start_ms + int(r.integers(0, 60_000))
        tweet_id = str(snowflake(ms, 4095))
        text = _fill(HYPE[0], self.market, campaign.symbol, when, campaign)
        return {"id": tweet_id, "text": text, "author_id": user_id(author), "_user": author, "entities": twitter_entities(text),
                "created_at": datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "edit_history_tweet_ids": [tweet_id], "lang": "en"}  # fmt: skip

    def tweets_between(self, start: datetime, end: datetime) -> list[dict]:
        out: list[dict] = []
        for index in range(minute_index(start), minute_index(end) + 1):
            out.extend(self.tweets_at(index))
        start_ms, end_ms = start.timestamp() * 1000, end.timestamp() * 1000
        return [t for t in out if start_ms <= snowflake_ms(int(t["id"])) < end_ms]

    # ---- Telegram ----------------------------------------------------------------------------
    def _posts_at(self, index: int) -> tuple[dict, ...]:
        """Bot API updates of minute ``index``: channel posts and group messages, some forwarded."""
        when = minute_start(index)
        r = rng(self.market.seed, "telegram", index)
        posts = self._background_posts(when, r)
        campaign, phase = self.campaign_now(when)
        if campaign is not None:
            posts.extend(self._campaign_posts(campaign, phase, when, r))
        out: list[dict] = []
        for n, (chat_id, text, extra) in enumerate(posts):
            message = _chat_message(index * 8 + n, chat_id, int(when.timestamp()) + int(n * 60 / max(len(posts), 1)))
            message.update(text=text, **extra)
            entities = telegram_entities(text)
            if entities:
                message["entities"] = entities
            kind = message["chat"]["type"]
            if kind == "channel":
                message["sender_chat"] = dict(message["chat"])
            out.append(
                {
                    "update_id": index * UPDATES_PER_MINUTE + len(out),
                    "channel_post" if kind == "channel" else "message": message,
                }
            )
            if chat_id in PUMP_CHANNELS and phase == "hype" and r.random() < 0.5:
                # Someone forwards the tip into the traders' group.
                forward = _forward(message, index * 8 + len(posts) + len(out) % 4, USERS[int(r.integers(len(USERS)))])
                out.append({"update_id": index * UPDATES_PER_MINUTE + len(out), "message": forward})
        return tuple(out)

    def _background_posts(self, when: datetime, r) -> list[tuple[int, str, dict]]:
        """(chat id, text, extra fields) of the minute's ordinary posts: news channels, then the group."""
        posts: list[tuple[int, str, dict]] = []
        for _ in range(int(r.poisson(0.4))):
            symbol = self.symbols[int(r.integers(len(self.symbols)))]
            chat = NEWS_CHANNELS[int(r.integers(len(NEWS_CHANNELS)))]
            posts.append((chat, _fill(NEWS[int(r.integers(len(NEWS)))], self.market, symbol, when), {}))
        for _ in range(int(r.poisson(0.4))):
            symbol = self.symbols[int(r.integers(len(self.symbols)))]
            pool = (POSITIVE, NEUTRAL, NEGATIVE)[int(r.integers(3))]
            text = _fill(pool[int(r.integers(len(pool)))], self.market, symbol, when).replace("$", "")
            author = USERS[int(r.integers(len(USERS)))]
            posts.append((GROUP, text, {"from": _telegram_user(author)}))
        return posts

    def _campaign_posts(self, campaign: Campaign, phase: str, when: datetime, r) -> list[tuple[int, str, dict]]:
        """(chat id, text, extra fields) of the campaign's posts: the pump channels hype it, the group
        complains once it is dumped."""
        posts: list[tuple[int, str, dict]] = []
        pool, count = {"hype": (HYPE, 1.5), "spike": (SPIKE, 1.0), "dump": (DUMP, 0.5)}[phase]
        for _ in range(int(r.poisson(count))):
            text = _fill(pool[int(r.integers(len(pool)))], self.market, campaign.symbol, when, campaign).replace(
                "$", "#", 1
            )
            if phase == "dump":
                author = USERS[int(r.integers(len(USERS)))]
                posts.append((GROUP, text, {"from": _telegram_user(author)}))
            else:
                posts.append((PUMP_CHANNELS[int(r.integers(len(PUMP_CHANNELS)))], text, {"author_signature": "Admin"}))
        return posts

    def updates_between(self, first_update: int, end: datetime, limit: int) -> list[dict]:
        out: list[dict] = []
        for index in range(first_update // UPDATES_PER_MINUTE, minute_index(end) + 1):
            for update in self.posts_at(index):
                if update["update_id"] >= first_update and update_time(update) <= end.timestamp():
                    out.append(update)
                    if len(out) >= limit:
                        return out
        return out


def _tweet(ms: int, sequence: int, text: str, author: str, r) -> dict:
    """A v2 tweet object posted at ``ms`` (epoch milliseconds), without its entities yet."""
    tweet_id = str(snowflake(ms, sequence))
    return {
        "id": tweet_id,
        "text": text,
        "author_id": user_id(author),
        "created_at": datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z",
        "edit_history_tweet_ids": [tweet_id],
        "lang": "en",
        "public_metrics": {
            "retweet_count": int(r.integers(0, 40)),
            "reply_count": int(r.integers(0, 10)),
            "like_count": int(r.integers(0, 200)),
            "quote_count": 0,
            "impression_count": int(r.integers(50, 20000)),
        },
        "_user": author,
    }


def _telegram_user(username: str) -> dict:
    """The Bot API ``from`` of a simulated person."""
    return {
        "id": int(user_id(username)) % 10**10,
        "is_bot": False,
        "first_name": username.split("_")[0].title(),
        "username": username,
    }


def _chat_message(message_id: int, chat_id: int, date: int) -> dict:
    """A Bot API message's id, chat and date (the caller adds the rest)."""
    username, title, kind = CHANNELS[chat_id]
    return {
        "message_id": message_id,
        "chat": {"id": chat_id, "title": title, "username": username, "type": kind},
        "date": date,
    }


def _forward(message: dict, message_id: int, author: str) -> dict:
    """``author``'s forward of a pump channel's ``message`` into the traders' group, five seconds later."""
    forward = {
        "message_id": message_id,
        "chat": {"id": GROUP, "title": CHANNELS[GROUP][1], "username": CHANNELS[GROUP][0], "type": "supergroup"},
        "from": _telegram_user(author),
        "date": message["date"] + 5,
        "forward_origin": {
            "type": "channel",
            "chat": dict(message["chat"]),
            "message_id": message["message_id"],
            "date": message["date"],
        },
        "text": message["text"],
    }
    if "entities" in message:
        forward["entities"] = message["entities"]
    return forward


def update_time(update: dict) -> int:
    message = update.get("channel_post") or update.get("message") or {}
    return int(message.get("date", 0))


def twitter_entities(text: str) -> dict:
    """v2 ``entities`` with code-point offsets (``end`` exclusive), as X computes them."""
    entities: dict = {}
    for match in ENTITY_RE.finditer(text):
        kind = match.lastgroup
        value = match.group()
        if kind == "url":
            item = {
                "start": match.start(),
                "end": match.end(),
                "url": value,
                "expanded_url": value,
                "display_url": value.split("//", 1)[-1],
            }
            entities.setdefault("urls", []).append(item)
        else:
            entities.setdefault(kind + "s", []).append({"start": match.start(), "end": match.end(), "tag": value[1:]})
    return entities


def telegram_entities(text: str) -> list[dict]:
    """Bot API entities: offsets and lengths in UTF-16 code units."""
    out = []
    for match in ENTITY_RE.finditer(text):
        offset = len(text[: match.start()].encode("utf-16-le")) // 2
        length = len(match.group().encode("utf-16-le")) // 2
        out.append({"offset": offset, "length": length, "type": match.lastgroup})
    return out
