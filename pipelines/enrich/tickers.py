"""Find NSE tickers in social text: cashtags, hashtags, `SYMBOL.NS`, `NSE:SYMBOL`, bare symbols and names.

Every form resolves only to symbols the ticker master knows (active or not). The matcher is built once
per run from the master and then answers each message with a handful of compiled regexes plus dict
look-ups on the message's words: its cost does not grow with the number of tickers.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from warehouse.models import Ticker
from warehouse.tickers import ticker_normalize

# Words people write in capitals that are also (or could become) NSE symbols: as bare words they say
# nothing about a ticker ("IT stocks", "ONE more", "OIL prices", "BUY NOW"). A cashtag, hashtag or an
# exchange-qualified form still finds those symbols.
_COMMON = """
    A AN AND ARE AS AT BE BUT BY FOR FROM HAS HAVE HE HER HIS I IF IN INTO IS IT ITS ME MY NO NOT OF ON ONE OR
    OUR SHE SO THAT THE THEIR THEM THEN THERE THEY THIS TO UP US WAS WE WERE WHAT WHEN WHO WHY WILL WITH YOU
    YOUR ALL ANY CAN DO GO GET GOT JUST LIKE MORE MOST NEW NOW OUT OVER SEE TOP TWO WAY WELL BIG BEST
    GOOD GREAT HIGH LOW LONG SHORT FAST FREE FULL HOT LIVE NEXT LAST FIRST REAL SAFE SURE TRUE BACK DAY
    WEEK YEAR TIME TODAY NEWS DATA INFO CARE HOME LIFE LOVE STAR SUN MOON RAIN GOLD OIL GAS POWER IDEA
    ACE MAX FOCUS FUTURE GLOBAL INDIA INDIAN BHARAT NATIONAL UNITED TRUST CAPITAL FINANCE BANK
    BUY SELL HOLD CALL CALLS PUT PUTS BULL BULLS BEAR BEARS PUMP DUMP ENTRY EXIT TARGET STOP LOSS PROFIT
    SL TP TGT CMP LTP ATH ATL IPO FPO OFS NSE BSE SEBI RBI NIFTY SENSEX FII FIIS DII DIIS EPS PE PB ROE
    ROCE GDP CPI EMI USD INR USDT BTC ETH CEO CFO MD AGM EGM QIP YOY QOQ FY Q1 Q2 Q3 Q4 H1 H2 NAV ETF SIP
    VIP OK WOW LOL OMG FYI TBH IMO PM AM GMT IST UTC AI API APP WEB NET TV FM ALERT ALERTS SIGNAL SIGNALS
    HUGE INSANE CRAZY NOTE RISK LIMIT ORDER MARKET PRICE RATE STOCK STOCKS SHARE SHARES COIN COINS TEAM
    ACCORD ADVANCE ALPHA AMBER ANTHEM APEX ASPIRE BANG BEACON BETA BRIGHT CLEAN CREST CROWN CURRENT DEFENCE
    DOLLAR DRONE DYNAMIC EMPOWER ENERGY EXCEL FACT FLAIR FROG GATEWAY GLOBE HEALTHY INFRA INSPIRE LIQUID
    LOVABLE MAGNUM MARINE METAL MIDCAP MONARCH NUCLEUS OMNI PAR PERFECT PREMIER PYRAMID RACE RAINBOW RETAIL
    ROUTE SIGMA SILVER SUPREME TAKE TECH TOTAL UNITY URBAN VALUE VIGOR VITAL WEALTH WORTH ZEAL SAFARI CAMPUS
    ACCURACY COMMITTED EXCELLENT INCREDIBLE INFLUX INTERNET LANDMARK MOMENTUM RELIABLE SPECIALITY
"""
COMMON_WORDS = frozenset(_COMMON.split())

_CASHTAG_RE = re.compile(r"(?<![\w$])\$([A-Za-z][A-Za-z0-9&_\-]{0,19})")
_HASHTAG_RE = re.compile(r"(?<![\w#&])#([A-Za-z0-9][A-Za-z0-9&_\-]{0,19})")
_SUFFIX_RE = re.compile(r"(?<![\w&\-.$#])([A-Za-z0-9][A-Za-z0-9&\-]{0,19})\.(?:NS|NSE|BO)(?![\w])", re.IGNORECASE)
_EXCHANGE_RE = re.compile(r"\b(?:NSE|BSE)\s?:\s?([A-Za-z0-9][A-Za-z0-9&\-]{0,19})", re.IGNORECASE)
_BARE_RE = re.compile(r"(?<![\w$#&\-.])([A-Z0-9][A-Z0-9&\-]{0,19})(?![\w&])")
# A message about crypto: its bare upper-case words are coins (SEL, HAL, UMA, CORONA in the labelled pump
# channels), not NSE symbols. Only bare symbols are skipped there; a cashtag, hashtag, ``.NS`` or ``NSE:``
# form, or a company name, still counts. Strong marks only: "coins", "token" or "crypto" alone also occur in
# Indian chatter ("forget meme coins", "token amount"), "the coin" and "coin name" hardly.
_CRYPTO_RE = re.compile(
    r"(?<![^\W_])(?:usdt|usdc|busd|sats|satoshis?|bitcoin\w*|altcoins?|memecoins?|cryptocurrenc\w*|binance|kucoin|"
    r"mexc|yobit|cryptopia|bittrex|hotbit|digifinex|latoken|poloniex|gate\.io|pancakeswap|uniswap|raydium|airdrop|"
    r"presale|blockchain|defi|web3|coin\s+(?:name|is)|(?:the|this|our|next)\s+coin)(?![^\W_])|_(?:cex|dex)\b",
    re.IGNORECASE,
)
_URL_RE = re.compile(r"https?://\S+|www\.\S+|\S+@\S+\.\w+", re.IGNORECASE)
_WORD_RE = re.compile(r"[a-z0-9]+(?:[&'][a-z0-9]+)*", re.IGNORECASE)
_NAME_SUFFIXES = ("limited", "ltd", "ltd.", "pvt", "private")


def _words(text: str) -> list[str]:
    return _WORD_RE.findall(text.lower().replace("\u2019", "'"))


@dataclass(frozen=True)
class TickerEntry:
    """What the matcher needs of one ticker master row."""

    symbol: str
    name: str = ""
    aliases: tuple[str, ...] = ()


@dataclass
class TickerHits:
    """The result of scanning one message."""

    # Known symbols without repeats, by form: cashtags, hashtags, .NS, NSE:, bare symbols, then names.
    symbols: list[str] = field(default_factory=list)
    via: dict[str, str] = field(default_factory=dict)  # symbol → how it was first found
    unknown_cashtags: list[str] = field(default_factory=list)  # cashtags the master does not know

    def add(self, symbol: str, how: str) -> None:
        if symbol not in self.via:
            self.via[symbol] = how
            self.symbols.append(symbol)


class TickerMatcher:
    """Resolves tickers mentioned in a message against a fixed set of master entries.

    Forms, all case-insensitive except bare symbols: cashtags (``$TCS``, ``$tcs``; also the connector's
    ``metadata["cashtags"]``), hashtags (``#RELIANCE``, ``#Infosys``; also ``metadata["hashtags"]``),
    ``TCS.NS`` / ``TCS.BO``, ``NSE:TCS`` / ``BSE: TCS``, bare upper-case symbols (``RELIANCE closes flat``;
    never words in ``COMMON_WORDS`` nor one- or two-letter symbols, nor any in a message about crypto:
    "USDT", "sats", "Binance", "the coin", … make its capitals coin names), and company names and aliases
    (``Reliance Industries``, ``Infosys``; a name's trailing "Limited"/"Ltd" is optional; a one-word name
    or alias counts only when not written all in lower case, "reliance on imports" is not RELIANCE, and
    never when it is a common word). URLs and e-mail addresses are skipped.

    Decision on unknown symbols: a symbol counts only when the master knows it. A cashtag of a symbol
    the master does not know (``$BTC``, ``$SPY``: US and crypto tags are common in Indian chatter) is not
    a ticker; it is reported in ``TickerHits.unknown_cashtags`` so the loader can keep it in metadata and
    nothing is dropped silently. The master learns every NSE symbol from the bhavcopy, so a real NSE
    cashtag is known as soon as one bhavcopy has been loaded.
    """

    def __init__(self, entries: Iterable[TickerEntry]):
        self.symbols: set[str] = set()
        self.phrases: dict[str, str] = {}  # lower-case words joined by one space → symbol
        for entry in entries:
            try:
                symbol = ticker_normalize(entry.symbol)
            except ValueError:
                continue
            self.symbols.add(symbol)
            for phrase in self._phrases(entry):
                self.phrases.setdefault(phrase, symbol)
        self.bare_symbols = frozenset(
            s for s in self.symbols if len(s) >= 3 and s not in COMMON_WORDS and any(c.isalpha() for c in s)
        )
        # First word of every phrase → the phrase lengths (in words) starting with it, longest first:
        # one dict look-up per word of the message, whatever the size of the master.
        starts: dict[str, set[int]] = {}
        for phrase in self.phrases:
            words = phrase.split(" ")
            starts.setdefault(words[0], set()).add(len(words))
        self._starts = {w: sorted(lengths, reverse=True) for w, lengths in starts.items()}

    @staticmethod
    def _phrases(entry: TickerEntry) -> list[str]:
        phrases = []
        if entry.name:
            words = _words(entry.name)
            while words and words[-1] in _NAME_SUFFIXES:
                words = words[:-1]
            if words:
                phrases.append(" ".join(words))
                full = _words(entry.name)
                if full != words:
                    phrases.append(" ".join(full))
        for alias in entry.aliases or ():
            words = _words(str(alias))
            if words:
                phrases.append(" ".join(words))
        return [p for p in phrases if " " in p or (len(p) >= 3 and p.upper() not in COMMON_WORDS)]

    @classmethod
    def from_master(cls, *, active_only: bool = False) -> "TickerMatcher":
        """Build from ``warehouse.models.Ticker`` (every row by default: inactive tickers are still named)."""
        rows = Ticker.objects.all()
        if active_only:
            rows = rows.filter(active=True)
        entries = [
            TickerEntry(symbol=s, name=n or "", aliases=tuple(a) if isinstance(a, list) else ())
            for s, n, a in rows.values_list("symbol", "name", "aliases").iterator(chunk_size=5000)
        ]
        return cls(entries)

    def _known(self, raw: str) -> str | None:
        try:
            symbol = ticker_normalize(raw.strip("-_&"))
        except ValueError:
            return None
        return symbol if symbol in self.symbols else None

    def scan(self, text: str, metadata: dict | None = None) -> TickerHits:
        """All the tickers of one message, with how each was found and the unknown cashtags."""
        hits = TickerHits()
        meta = metadata or {}
        text = text or ""
        if "http" in text or "www." in text or "@" in text:
            text = _URL_RE.sub(" ", text)
        cashtags = list(_CASHTAG_RE.findall(text)) if "$" in text else []
        cashtags.extend(str(t) for t in meta.get("cashtags") or ())
        for tag in cashtags:
            symbol = self._known(tag)
            if symbol:
                hits.add(symbol, "cashtag")
            else:
                unknown = tag.lstrip("$").upper()
                if unknown not in hits.unknown_cashtags:
                    hits.unknown_cashtags.append(unknown)
        hashtags = list(_HASHTAG_RE.findall(text)) if "#" in text else []
        hashtags.extend(str(t).lstrip("#") for t in meta.get("hashtags") or ())
        for tag in hashtags:
            symbol = self._known(tag) or self.phrases.get(tag.lower())
            if symbol:
                hits.add(symbol, "hashtag")
        if "." in text:
            for raw in _SUFFIX_RE.findall(text):
                symbol = self._known(raw)
                if symbol:
                    hits.add(symbol, "suffix")
        if ":" in text:
            for raw in _EXCHANGE_RE.findall(text):
                symbol = self._known(raw)
                if symbol:
                    hits.add(symbol, "exchange")
        bare = [raw for raw in _BARE_RE.findall(text) if raw in self.bare_symbols]
        if bare and not _CRYPTO_RE.search(text):  # (the crypto marks only matter when a bare symbol is there)
            for raw in bare:
                hits.add(raw, "symbol")
        written = _WORD_RE.findall(text.replace("\u2019", "'"))
        words = [w.lower() for w in written]
        i, n = 0, len(words)
        while i < n:
            lengths = self._starts.get(words[i])
            if lengths:
                for length in lengths:
                    if i + length <= n:
                        symbol = self.phrases.get(" ".join(words[i : i + length]))
                        # A one-word name counts when written as a name ("Reliance", "INFOSYS"), not
                        # as the common noun ("reliance on imports").
                        if symbol and (length > 1 or not written[i].islower()):
                            hits.add(symbol, "name")
                            i += length - 1
                            break
            i += 1
        return hits

    def find(self, text: str, metadata: dict | None = None) -> list[str]:
        """The known NSE symbols mentioned in ``text`` (and its connector metadata), without repeats."""
        return self.scan(text, metadata).symbols
