"""Messages → social records: clean, find tickers, score sentiment and pump rules, one row per ticker."""

from collections.abc import Iterable

from .pump import PumpDetector, PumpResult
from .pump_model import PumpClassifier
from .sentiment import SentimentScorer
from .text import clean_text
from .tickers import TickerHits, TickerMatcher


class EnrichResult(list):
    """The social records (a list of dicts, one per message and ticker), plus what matched no ticker.

    ``unmatched``: the messages (text cleaned) that name no known ticker; they are not errors, the
    pipeline counts them and does not load them. ``unknown_cashtags``: how often each cashtag the
    master does not know was seen (``$BTC``: 3), for the run's summary.
    """

    def __init__(self, records=(), *, unmatched=None, messages=0, unknown_cashtags=None):
        super().__init__(records)
        self.unmatched: list[dict] = unmatched or []
        self.messages = messages
        self.unknown_cashtags: dict[str, int] = unknown_cashtags or {}

    @property
    def unmatched_count(self) -> int:
        return len(self.unmatched)

    @property
    def matched_count(self) -> int:
        return self.messages - len(self.unmatched)


def enrich_messages(
    messages: Iterable[dict],
    matcher: TickerMatcher,
    scorer: SentimentScorer,
    detector: PumpDetector | PumpClassifier,
) -> EnrichResult:
    """Enrich parsed social messages into warehouse social records (docs/CONTRACTS.md keys).

    Each message (``platform, external_id, text, author, channel, views, timestamp, metadata`` and
    optionally ``lake_object_id``) gets its text cleaned (``clean_text``), its tickers found
    (``matcher``), and, when it names at least one ticker, a sentiment label and score (``scorer``,
    each distinct text scored once) and pump rules (``detector``). It yields one record per ticker
    with the same sentiment and pump values; metadata keeps the connector's keys and adds
    ``tickers`` (all the message's symbols), ``ticker_via`` (how this one was found: cashtag,
    hashtag, suffix, exchange, symbol, name), ``pump_rules`` (the rules that fired), ``pump_terms``
    (a flagged message's strongest model terms, with ``PumpClassifier``) and, when there were any,
    ``unknown_cashtags``. Messages naming no ticker are not scored: they are in
    ``result.unmatched``. Reposts are not collapsed here: call ``dedupe_reposts`` first.
    """
    matched, unmatched, unknown_counts, count = _scan(messages, matcher)
    # One batch for the pump detector: the learned model scores a batch in one matrix product.
    pumps = detector.detect_many([m[1] for m in matched], [m[2] for m in matched])
    records: list[dict] = []
    sentiment_cache: dict[str, tuple[str, float]] = {}
    for (message, text, meta, hits), pump in zip(matched, pumps, strict=True):
        sentiment = sentiment_cache.get(text)
        if sentiment is None:
            sentiment = sentiment_cache[text] = scorer.score(text)
        records.extend(_ticker_records(message, text, meta, hits, pump, sentiment))
    return EnrichResult(records, unmatched=unmatched, messages=count, unknown_cashtags=unknown_counts)


def _scan(
    messages: Iterable[dict], matcher: TickerMatcher
) -> tuple[list[tuple[dict, str, dict, TickerHits]], list[dict], dict[str, int], int]:
    """Clean each message's text and find its tickers: (message, text, metadata, hits) of those naming
    one, the others (text cleaned), how often each unknown cashtag was seen, how many messages."""
    unmatched: list[dict] = []
    unknown_counts: dict[str, int] = {}
    matched: list[tuple[dict, str, dict, TickerHits]] = []
    count = 0
    for message in messages:
        count += 1
        text = clean_text(message.get("text"))
        meta = message.get("metadata") or {}
        hits = matcher.scan(text, meta)
        for tag in hits.unknown_cashtags:
            unknown_counts[tag] = unknown_counts.get(tag, 0) + 1
        if not hits.symbols:
            unmatched.append({**message, "text": text})
            continue
        matched.append((message, text, meta, hits))
    return matched, unmatched, unknown_counts, count


def _ticker_records(
    message: dict, text: str, meta: dict, hits: TickerHits, pump: PumpResult, sentiment: tuple[str, float]
) -> list[dict]:
    """One record per ticker of the message, the same sentiment and pump values in each."""
    base_meta = {**meta, "tickers": hits.symbols, "pump_rules": pump.rules}
    if pump.terms:
        base_meta["pump_terms"] = pump.terms
    if hits.unknown_cashtags:
        base_meta["unknown_cashtags"] = hits.unknown_cashtags
    return [
        {
            "ticker": symbol,
            "platform": message.get("platform", ""),
            "external_id": str(message.get("external_id", "")),
            "text": text,
            "sentiment": sentiment[0],
            "sentiment_score": sentiment[1],
            "is_pump_signal": pump.is_pump_signal,
            "pump_score": pump.pump_score,
            "channel": message.get("channel") or "",
            "author": message.get("author") or "",
            "views": message.get("views"),
            "timestamp": message.get("timestamp"),
            "metadata": {**base_meta, "ticker_via": hits.via[symbol]},
            "lake_object_id": message.get("lake_object_id"),
        }
        for symbol in hits.symbols
    ]
