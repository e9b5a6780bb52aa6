"""Transform and enrich social messages: clean text, find tickers, sentiment, pump signals.

The contract (what the social connectors' orchestration calls, in this order):

``clean_text(text) -> str``
    HTML entities decoded (``&amp;`` → ``&``), control and invisible format characters removed, emoji
    kept intact (ZWJ sequences and variation selectors too), runs of spaces → one space, at most one
    blank line, stripped, NFC. Idempotent.

``dedupe_reposts(messages) -> list``
    Retweets and forwards (``metadata.is_repost`` / ``repost_of``, or ``RT @user:``) collapse to their
    original: one message per original (the original if it is in the batch, else its first repost),
    with ``metadata.repost_count`` and ``repost_ids``. Input order kept; input not modified; the
    pipeline counts ``len(messages) - len(result)`` as duplicates.

``TickerMatcher.from_master()`` / ``TickerMatcher(entries)``; ``.find(text, metadata) -> list[str]``
    Symbols from cashtags (``$TCS``, ``$tcs``, ``metadata["cashtags"]``), hashtags (``#RELIANCE``),
    ``TCS.NS``/``.BO``, ``NSE:TCS``, bare upper-case symbols (not common words such as IT, ONE, OIL, nor
    symbols under three letters) and company names/aliases of the master ("Reliance Industries" →
    RELIANCE, "Infosys" → INFY), normalised with ``warehouse.tickers.ticker_normalize``. Only symbols
    the master knows (active or inactive) count, in every form: an unknown cashtag (``$BTC``) is not
    a ticker but is reported (``.scan(...).unknown_cashtags``; ``metadata.unknown_cashtags`` on
    records). Cost per message: a few compiled regexes and one dict look-up per word, independent of
    the size of the master.

``SentimentScorer()``; ``.score(text) -> (label, compound)``; ``.score_many(texts)``
    VADER (lexicon shipped in ``vaderSentiment``; nothing downloaded) plus market words
    (``MARKET_LEXICON``; multi-word phrases such as "upper circuit", "SL hit" joined first). Labels:
    positive ≥ 0.05, negative ≤ -0.05, neutral between.

``PumpDetector(known_channels=())``; ``.detect(text, metadata) -> PumpResult(is_pump_signal,
pump_score, rules)``
    Message-level hype rules combined as 1 - Π(1 - weight), flagged at 0.5 (see ``pump.RULES``).

``PumpClassifier(known_channels=(), view="auto")``; ``.detect_many(texts, metadatas) -> list[PumpResult]``
    What the pipeline uses: the learned model (``pump_model``, trained by ``train_pump_model``) with the
    rules as features, raised by the rules its training data never showed; ``PumpResult.terms`` are a
    flagged message's strongest model terms. ``pump_tokens(text)`` is the shared normalisation.
    ``view``: "nse" (posts about NSE stocks: the pipeline's), "crypto" (crypto channels) or "auto" (the
    default: each message in the view of the domain its words show, ``pump_model.domains_guess``, as
    ``score_messages`` does by default).

``enrich_messages(messages, matcher, scorer, detector) -> EnrichResult``
    ``EnrichResult`` is a ``list`` of social records with the warehouse keys (ticker, platform,
    external_id, text, sentiment, sentiment_score, is_pump_signal, pump_score, channel, author, views,
    timestamp, metadata, lake_object_id), one per (message, ticker), plus ``.unmatched`` (messages
    naming no known ticker; not errors), ``.unmatched_count``, ``.matched_count``, ``.messages`` and
    ``.unknown_cashtags`` (tag → times seen).

``daily_pump_score(inputs) -> float``
    The daily pump score of one ``DailySocial`` row from its ``warehouse.services.PumpInputs`` (mention
    spike against the ticker's own 14-day baseline, the share of pump-flagged messages, mean sentiment,
    and the day's price and volume move); formula in ``daily.daily_pump_score``. The warehouse gathers
    the inputs and writes the scores (``pipelines.services.daily_pump_scores`` passes this function).
"""

from .daily import daily_pump_score
from .pump import FLAG_AT, PumpDetector, PumpResult
from .pump_model import PumpClassifier, pump_tokens
from .records import EnrichResult, enrich_messages
from .sentiment import MARKET_LEXICON, SentimentScorer
from .text import clean_text, dedupe_reposts
from .tickers import COMMON_WORDS, TickerEntry, TickerHits, TickerMatcher

__all__ = [
    "COMMON_WORDS",
    "FLAG_AT",
    "MARKET_LEXICON",
    "EnrichResult",
    "PumpClassifier",
    "PumpDetector",
    "PumpResult",
    "SentimentScorer",
    "TickerEntry",
    "TickerHits",
    "TickerMatcher",
    "clean_text",
    "daily_pump_score",
    "dedupe_reposts",
    "enrich_messages",
    "pump_tokens",
]
