"""The social handler: reposts collapsed, tickers, sentiment and pump signals, then validate and load.

The enrichers (VADER, the ticker matcher, the pump rules) are built once per process and the matcher
is rebuilt lazily, so names added in admin are picked up.
"""

from __future__ import annotations

import time

from quality.pump_alerts import pump_alerts_raise
from warehouse.services import warehouse

from ..enrich import (
    PumpClassifier,
    SentimentScorer,
    TickerMatcher,
    dedupe_reposts,
    enrich_messages,
)
from ..models import TelegramChannel
from .hooks import daily_pump_scores
from .outcome import ParsedGroup
from .validate import group_validate_and_load, quarantine, refused

_ENRICHERS: dict = {}
# The ticker matcher is rebuilt at most this often, so names added in admin are picked up.
MATCHER_TTL_SECONDS = 60


def enrichers():
    """(TickerMatcher, SentimentScorer, PumpClassifier), built once per process and refreshed lazily."""
    now = time.monotonic()
    if "scorer" not in _ENRICHERS:
        _ENRICHERS["scorer"] = SentimentScorer()
    if now - _ENRICHERS.get("built", -1e9) > MATCHER_TTL_SECONDS:
        channels = [
            str(value)
            for row in TelegramChannel.objects.filter(active=True).values_list("chat_id", "username")
            for value in row
            if value
        ]
        _ENRICHERS.update(
            matcher=TickerMatcher.from_master(), detector=PumpClassifier(known_channels=channels, view="nse"), built=now
        )
    return _ENRICHERS["matcher"], _ENRICHERS["scorer"], _ENRICHERS["detector"]


def enrichers_reset() -> None:
    """Forget the cached enrichers (tests that change the ticker master call this)."""
    _ENRICHERS.clear()


def social_messages(messages: list[dict], *, object_id: int, group: ParsedGroup) -> list[dict]:
    """One object's messages with its reposts collapsed (counted as duplicates), tagged with the object."""
    group.outcome.parsed += len(messages)
    originals = dedupe_reposts(messages)
    reposts = len(messages) - len(originals)
    group.outcome.fetched += reposts
    group.outcome.duplicates += reposts
    group.records[object_id] += reposts
    return [{**message, "lake_object_id": object_id} for message in originals]


def social_load(group: ParsedGroup) -> None:
    """Handler of the "social" kind: enrich the group's messages, quarantine the unmatched, load the rest."""
    messages = []
    for obj, parsed in zip(group.objects, group.parsed, strict=True):
        messages.extend(social_messages(parsed.messages, object_id=obj.pk, group=group))
    messages = _repeats_collapsed(messages, group)
    matcher, scorer, detector = enrichers()
    enriched = enrich_messages(messages, matcher, scorer, detector)
    rows, unmatched = list(enriched), list(enriched.unmatched)
    group.read(rows)
    group.read(unmatched)
    if unmatched:
        # Chatter that names no ticker we know: kept, with the reason, rather than dropped.
        single = len(group.ids) == 1
        rejected = [
            refused(
                {k: v for k, v in message.items() if k != "lake_object_id"} if single else message,
                "ticker_required",
                "the message names no ticker of the ticker master",
            )
            for message in unmatched
        ]
        group.outcome.rejected += quarantine(
            dataset="social_mentions",
            run_id=group.run_id,
            lake_object_id=group.ids[0] if single else None,
            rejected=rejected,
        )
    group_validate_and_load(group, dataset="social_mentions", rows=rows, loader=warehouse.insert_social_data)


def _repeats_collapsed(messages: list[dict], group: ParsedGroup) -> list[dict]:
    """The group's messages with each (platform, external id) once: a message the batch holds twice (an
    export that repeats rows, two pages that overlap) is one duplicate, not a second row or a second
    quarantined record."""
    seen: set[tuple] = set()
    unique = []
    for message in messages:
        key = (message.get("platform"), message.get("external_id"))
        if key[1] is not None and key in seen:
            group.outcome.fetched += 1
            group.outcome.duplicates += 1
            group.records[message["lake_object_id"]] += 1
            continue
        seen.add(key)
        unique.append(message)
    return unique


def pump_scores_after_gold(*, dates) -> None:
    """A social run's gold hook: the daily pump scores of those dates, then the pump alerts they cross."""
    daily_pump_scores(dates=dates)
    pump_alerts_raise(dates=dates)
