"""Sentiment of market chatter: VADER (lexicon shipped in its wheel, nothing downloaded) plus market words."""

import re
from collections.abc import Iterable

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

POSITIVE_AT = 0.05  # VADER's own cut-offs for its compound score
NEGATIVE_AT = -0.05

# Phrases are joined with "_" before scoring because VADER looks words up one at a time.
MARKET_PHRASES = {
    "upper circuit": "upper_circuit",
    "lower circuit": "lower_circuit",
    "to the moon": "to_the_moon",
    "all time high": "all_time_high",
    "all-time high": "all_time_high",
    "52 week high": "52w_high",
    "52-week high": "52w_high",
    "52 week low": "52w_low",
    "52-week low": "52w_low",
    "sl hit": "sl_hit",
    "stop loss hit": "sl_hit",
    "stoploss hit": "sl_hit",
    "target hit": "target_hit",
    "target achieved": "target_hit",
    "profit booking": "profit_booking",
    "short covering": "short_covering",
    "buy the dip": "buy_the_dip",
    "buy on dips": "buy_the_dip",
    "gap up": "gap_up",
    "gap down": "gap_down",
    "sell off": "selloff",
    "sell-off": "selloff",
    "going to zero": "going_to_zero",
    "all in": "all_in",
}

# Valences on VADER's scale (-4 … +4). Sources: GOTCHAS.md's list and the way Indian retail chatter uses
# them; "profit booking" is a fall in price, "target" is bullish talk, "calls"/"puts" lean by direction.
MARKET_LEXICON = {
    "bullish": 2.5,
    "bull": 1.5,
    "bulls": 1.5,
    "bearish": -2.5,
    "bear": -1.5,
    "bears": -1.5,
    "moon": 2.0,
    "mooning": 2.5,
    "to_the_moon": 3.0,
    "rocket": 1.5,
    "rally": 2.0,
    "rallies": 2.0,
    "rallied": 2.0,
    "breakout": 2.0,
    "breakdown": -2.0,
    "multibagger": 2.5,
    "upper_circuit": 2.5,
    "lower_circuit": -2.5,
    "all_time_high": 2.0,
    "52w_high": 1.5,
    "52w_low": -1.5,
    "calls": 0.8,
    "puts": -0.8,
    "target": 1.0,
    "target_hit": 2.5,
    "crash": -3.0,
    "crashed": -3.0,
    "crashing": -3.0,
    "dump": -2.0,
    "dumped": -2.0,
    "dumping": -2.0,
    "sl_hit": -2.0,
    "selloff": -2.0,
    "plunge": -2.5,
    "plunged": -2.5,
    "plunges": -2.5,
    "tank": -2.0,
    "tanked": -2.5,
    "tanks": -2.0,
    "slump": -2.0,
    "slumps": -2.0,
    "surge": 2.0,
    "surged": 2.0,
    "surges": 2.0,
    "soar": 2.0,
    "soared": 2.0,
    "soars": 2.0,
    "jumps": 1.5,
    "jumped": 1.5,
    "gains": 1.5,
    "gained": 1.5,
    "rebound": 1.5,
    "recovery": 1.0,
    "outperform": 1.5,
    "underperform": -1.5,
    "upgrade": 1.5,
    "downgrade": -1.5,
    "undervalued": 1.5,
    "overvalued": -1.5,
    "accumulate": 1.0,
    "profit_booking": -1.0,
    "short_covering": 1.0,
    "buy_the_dip": 1.5,
    "gap_up": 1.5,
    "gap_down": -1.5,
    "going_to_zero": -3.0,
    "all_in": 1.0,
    "fomo": 0.5,
    "hodl": 1.0,
    "rekt": -2.5,
    "bagholder": -2.0,
    "bagholders": -2.0,
    "fraud": -3.0,
    "scam": -3.0,
    "default": -2.0,
    "defaults": -2.0,
    "beat": 1.0,
    "beats": 1.0,
    "miss": -1.0,
    "misses": -1.0,
    "flat": 0.0,
}

_PHRASE_RE = re.compile("|".join(re.escape(p) for p in sorted(MARKET_PHRASES, key=len, reverse=True)), re.IGNORECASE)


class SentimentScorer:
    """VADER with the market lexicon: ``score(text) -> (label, compound)``, labels at ±0.05.

    One analyzer is built per scorer (loading the lexicon costs ~50 ms) and reused for every message.
    Emoji are turned into VADER's descriptions with one ``str.translate`` instead of VADER's
    character loop, and ``score_many`` scores each distinct text once (reposts and copied tips are
    common), so a batch costs about one VADER call per distinct text.
    """

    def __init__(self, *, extra_lexicon: dict[str, float] | None = None):
        self.analyzer = SentimentIntensityAnalyzer()
        self.analyzer.lexicon.update(MARKET_LEXICON)
        if extra_lexicon:
            self.analyzer.lexicon.update({k.lower(): float(v) for k, v in extra_lexicon.items()})
        # VADER's emoji file maps single characters (plus a few sequences it never matches) to words.
        self._emoji_table = {ord(e): f" {d} " for e, d in self.analyzer.emojis.items() if len(e) == 1}
        # polarity_scores would loop over every character again: give it emoji-free text and an empty map.
        self.analyzer.emojis = {}

    def _prepare(self, text: str) -> str:
        if not text.isascii():
            text = text.translate(self._emoji_table)
        if _PHRASE_RE.search(text):
            text = _PHRASE_RE.sub(lambda m: MARKET_PHRASES[m.group(0).lower()], text)
        return text

    def compound(self, text: str) -> float:
        if not text:
            return 0.0
        return self.analyzer.polarity_scores(self._prepare(text))["compound"]

    @staticmethod
    def label(compound: float) -> str:
        if compound >= POSITIVE_AT:
            return "positive"
        if compound <= NEGATIVE_AT:
            return "negative"
        return "neutral"

    def score(self, text: str) -> tuple[str, float]:
        """(label, compound) of one text; compound in [-1, 1]."""
        value = self.compound(text)
        return self.label(value), value

    def score_many(self, texts: Iterable[str]) -> list[tuple[str, float]]:
        """``score`` for a batch, each distinct text scored once."""
        cache: dict[str, tuple[str, float]] = {}
        out = []
        for text in texts:
            result = cache.get(text)
            if result is None:
                result = cache[text] = self.score(text)
            out.append(result)
        return out
