"""Message-level pump-and-dump rules: which hype patterns a message shows, and how strongly.

Tuned on real messages (tests/data/samples/telegram/pump_channel_messages.jsonl, a crypto pump group)
against non-finance posts and plain Indian market news; tests/pipelines/test_enrich_pump.py measures
both rates.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import ahocorasick

FLAG_AT = 0.5  # pump_score at or above which a message is a pump signal

_I = re.IGNORECASE
# A whole number not part of a longer one: promises are round ("917%", "1000% returns"), while a figure
# with decimals ("a 107.06% gain") is a measurement quoted by news.
_NUM = r"(?<![\d.,])(?:\d{1,3}(?:,\d{3})+|\d{1,6})(?![\d]|[.,]\d)"
_AP = "['\u2019]"  # straight or curly apostrophe

# The alternatives of "guaranteed_returns" by what they contain: words, a figure's "%", "10x" (each part is
# searched on its own near its own finder's hits: see _PARTS).
_RETURNS = (
    r"\bguarantee(?:d)?\b(?! ?(?:fund|scheme))|\brisk[ -]?free\b|\bassured (?:returns?|profit|gains?)"
    r"|\bdouble your (?:money|investment|capital)|\b(?:peak|max(?:imum)?) (?:earning|profit|gain)",
    rf"{_NUM} ?% ?(?:returns?|gains?|profits?|upside)\b|(?:returns?|gains?|upside) (?:of |up to |upto )?(?:over )?{_NUM} ?%"
    r"|(?<![\d.,])\d{3,5}(?![.,]\d) ?%",
    r"(?<![\d.,$₹])\b\d{1,3}(?:\.\d)? ?x\b(?! ?\d)",
)

# The alternatives of "urgency": phrases, then countdowns ("5 minutes left").
_URGENCY = (
    r"\bbuy (?:now|fast|quickly|asap|immediately|today|before)|\bbuy as fast|\blast chance\b"
    rf"|\bbefore it{_AP}?s too late|\bhurry\b|\bdon{_AP}?t miss\b|\bmiss(?:ed)? out\b|\bact (?:now|fast)\b|\blimited (?:time|seats|slots)"
    r"|\bnow or never\b|\b(?:be |get )?ready to (?:buy|fly|pump|go)|\bget ready\b|\bnext message is",
    r"\b\d{1,3} ?(?:minutes?|mins?|hours?|hrs?|days?) (?:until|till|to go|left)\b",
)

# The three things an NSE tip call shows, anywhere in it: a market marker, a target and a stop loss figure.
_TIP = (
    r"\b(?:cmp|btst|stbt|intraday|positional|nse|bse|nifty)\b|₹|\brs\.? ?\d",
    r"\b(?:target|tgt)s?\b ?[:@=-]? ?(?:rs\.? ?|₹ ?)?\d",
    r"\b(?:sl|stop ?loss)\b ?[:@=-]? ?(?:rs\.? ?|₹ ?)?\d",
)

# (rule, weight, pattern). Weights are the rule's evidence on its own; a message's score combines the
# rules that fired as 1 - Π(1 - weight), so two medium rules flag and one weak rule never does.
RULES: list[tuple[str, float, re.Pattern]] = [
    (
        "pump_talk",
        0.55,
        re.compile(r"(?<!petrol )(?<!fuel )(?<!water )\bpump(?:s|ed|ing)?\b(?![ -]?(?:and|&|n)[ -]?dump)", _I),
    ),
    (
        "guaranteed_returns",
        0.55,
        re.compile("|".join(_RETURNS), _I),
    ),
    (
        "target_price",
        0.35,
        re.compile(r"\b(?:target|tgt|tp)s?\b(?: price)? ?(?:[:@=-]|of|is|at|to)? ?(?:rs\.? ?|inr ?|₹ ?|\$ ?)?\d", _I),
    ),
    ("upper_circuit", 0.4, re.compile(r"\bupper[ -]?circuit|\bUC\b|\bcircuit (?:after|every) ", _I)),
    ("multibagger", 0.4, re.compile(r"\bmulti[ -]?bagger|\b\d{1,2} ?bagger\b|\bnext (?:gem|rocket)\b", _I)),
    # NSE tip channels: "jackpot" / "sure shot" calls, "operator stock", a "CMP 480 target 520 SL 460" call
    # with an Indian market marker, and Hinglish urgency ("abhi buy karo", "jaldi kharido", "paisa double").
    ("jackpot_call", 0.55, re.compile(r"\bjackpot\b|\bsure[ -]?shot\b", _I)),
    (
        "operator_stock",
        0.4,
        re.compile(
            r"\boperators? (?:stock|buying|entry|game|activity|driven|are in|loading|ka)\b|\boperator[ -]driven\b", _I
        ),
    ),
    (
        "nse_tip_call",
        0.5,
        re.compile(r"\A" + "".join(f"(?=.*(?:{part}))" for part in _TIP), _I | re.DOTALL),
    ),
    (
        "hinglish_urgency",
        0.5,
        re.compile(
            r"\b(?:abhi|jaldi|turant|aaj hi)\b.{0,20}\b(?:buy|kharid\w*|le lo|lelo|karo|dalo|daalo)\b"
            r"|\bkharido\b|\bpaisa (?:double|dugna)\b|\bmauka\b|\bchuk(?:o|na) mat\b|\bloot lo\b|\brocket ban\w*\b",
            _I,
        ),
    ),
    (
        "urgency",
        0.35,
        re.compile("|".join(_URGENCY), _I),
    ),
    (
        "pump_group_vocab",
        0.3,
        re.compile(
            r"\bnext (?:coin|stock|call|pick|signal)s?\b|\bsignals?\b(?! (?:processing|strength))|\bhold tight\b|\bvip\b"
            r"|\bentry\b|\bexit\b|\bstop ?loss\b|\bSL\b|\bjoin (?:us|now|our)\b|\bpaid group\b"
            r"|\bpremium (?:group|channel|members)|\bmoney (?:team|makers?)\b|\bwe (?:just )?(?:hit|did it|pumped)\b"
            rf"|\blet{_AP}?s (?:go|fly|make)\b",
            _I,
        ),
    ),
    (
        "profit_hype",
        0.3,
        re.compile(
            r"\bmake (?:huge |big |insane |some )?(?:money|profits?|gains)|\bmoney (?:was|is) (?:just )?made"
            r"|\bhuge gains\b|\binsane\b|\bto the moon\b|\bmoon(?:ing)?\b|\bfl(?:y|ying)\b|\bgems?\b"
            r"|\bgoing to be (?:huge|big|massive|crazy)\b|\bprofit (?:booked|day|making|%)",
            _I,
        ),
    ),
]

# Finders: cheap regexes per rule run on the lower-cased text; the rule's own pattern (a leading ``\b`` or
# look-behind makes ``re`` try it at every position: ~20x slower on a long post) then runs only where they
# hit. Most finders are *aligned*: every match of the rule starts where the finder hits, so the pattern is
# tried there only (``match``, anchored); the others give a window (chars before and after the hit) that
# holds any match near it. A finder may name the part of the rule's alternatives it stands for (a rule that
# fires on any alternative can be searched part by part).
# Where the finders can hit is found for all of them at once: each lists the strings every one of its
# matches starts with ("5|x": the match starts after the "|", at an "x" that follows a "5"), and one
# Aho-Corasick pass over the lower-cased text (pyahocorasick, in C) gives every place one of them starts;
# a finder is tried at those places only. tests/pipelines/test_enrich_pump.py checks the verdicts against
# the plain patterns on every real message and on random ones built from the rules' vocabulary.
_Starts = tuple[str, ...]
_Window = tuple[int, int] | None  # None: aligned
_AT: _Window = None
_AFTER_FIGURE = tuple(f"{d}{space}|" for d in "0123456789" for space in ("", " "))  # "5|", "5 |": prefixes
_F: dict[str, tuple[tuple[_Starts, str, _Window, str | None], ...]] = {
    "pump_talk": ((("pump",), r"pump", _AT, None),),
    "guaranteed_returns": (
        # A figure's per cent sign ends its part's matches; "10x" nearly ends its own.
        (tuple(f"{p}%" for p in _AFTER_FIGURE), r"%(?:(?<=\d%)|(?<=\d %))", (50, 12), _RETURNS[1]),
        (tuple(f"{p}x" for p in _AFTER_FIGURE), r"x\b(?:(?<=\dx)|(?<=\d x))", (12, 6), _RETURNS[2]),
        (
            ("guarantee", "risk", "assured ", "double your"),
            r"guarantee|risk[ -]?free|assured |double your",
            _AT,
            _RETURNS[0],
        ),
        (("peak ", "max"), r"(?:peak|max|maximum) (?:earning|profit|gain)", _AT, _RETURNS[0]),
    ),
    "jackpot_call": ((("jackpot", "sure"), r"jackpot|sure[ -]?shot", _AT, None),),
    "target_price": ((("target", "tgt", "tp"), r"target|tgt|tp(?<!\wtp)", _AT, None),),
    "upper_circuit": ((("upper", "uc", "circuit"), r"upper|uc\b|circuit", _AT, None),),
    "multibagger": ((("bagger", "next gem", "next rocket"), r"bagger|next gem|next rocket", (12, 12), None),),
    "operator_stock": ((("operator",), r"operator", _AT, None),),
    "nse_tip_call": (  # each part must match (see _ALL_PARTS), rarest first
        (("target", "tgt"), r"target|tgt", _AT, _TIP[1]),
        (("sl", "stop"), r"sl|stop ?loss", _AT, _TIP[2]),
        (
            ("cmp", "btst", "stbt", "intraday", "positional", "nse", "bse", "nifty", "₹", "rs"),
            r"cmp|btst|stbt|intraday|positional|nse|bse|nifty|₹|rs",
            _AT,
            _TIP[0],
        ),
    ),
    "hinglish_urgency": (
        (
            ("abhi", "jaldi", "turant", "aaj hi", "kharido", "paisa", "mauka", "chuk", "loot lo", "rocket ban"),
            r"abhi|jaldi|turant|aaj hi|kharido|paisa|mauka|chuk|loot lo|rocket ban",
            _AT,
            None,
        ),
    ),
    "urgency": (
        (
            ("buy ", "last chance", "before it", "hurry", "act ", "limited ", "now or never", "next message"),
            r"buy (?:now|fast|quickly|asap|immediately|today|before|as fast)|last chance|before it['\u2019]?s too late"
            r"|hurry|act (?:now|fast)|limited (?:time|seats|slots)|now or never|next message",
            _AT,
            _URGENCY[0],
        ),
        (("don", "miss"), r"don['\u2019]?t miss|miss(?:ed)? out", _AT, _URGENCY[0]),
        (("ready to", "get ready"), r"ready to (?:buy|fly|pump|go)|get ready", (4, 8), _URGENCY[0]),
        (("until", "till", "to go", "left"), r"until|till|to go|left", (16, 16), _URGENCY[1]),
    ),
    "pump_group_vocab": (
        (
            (
                *("next ", "signal", "hold tight", "vip", "entry", "exit", "stop", "sl", "join ", "paid group"),
                *("premium ", "money ", "we ", "let"),
            ),
            r"next (?:coin|stock|call|pick|signal)|signal|hold tight|vip|entry|exit|stop ?loss|sl\b|join (?:us|now|our)"
            r"|paid group|premium |money (?:team|make)|we (?:just )?(?:hit|did it|pumped)|let['\u2019]?s (?:go|fly|make)",
            _AT,
            None,
        ),
    ),
    "profit_hype": (
        (
            ("make ", "money ", "huge gains", "insane", "to the moon", "moon", "fly", "gem", "going to be", "profit "),
            r"make (?:huge |big |insane |some )?(?:money|profit|gains)|money (?:was|is) |huge gains|insane|to the moon"
            r"|moon|fly|gem|going to be|profit (?:booked|day|making|%)",
            _AT,
            None,
        ),
    ),
}
_PATTERNS = {name: pattern for name, _, pattern in RULES}
# name -> [(finder, window, pattern)]: a part's place in the list is its key in the places of a message.
_FINDERS = {
    name: [
        (re.compile(finder), window, re.compile(part, _I) if part else _PATTERNS[name])
        for _, finder, window, part in finders
    ]
    for name, finders in _F.items()
}
_ALL_PARTS = {"nse_tip_call"}  # fires when every part matches somewhere (the others: when any part does)


def _starts_automaton() -> ahocorasick.Automaton:
    """Every start string of every finder, each giving (part key, how far before its end the match starts)."""
    found: dict[str, list[tuple[tuple[str, int], int]]] = {}
    for name, finders in _F.items():
        for index, (starts, *_) in enumerate(finders):
            for start in starts:
                before, _, rest = start.rpartition("|")
                found.setdefault(before + rest, []).append(((name, index), len(rest) - 1))
    automaton = ahocorasick.Automaton()
    for word, keys in found.items():
        automaton.add_word(word, tuple(keys))
    automaton.make_automaton()
    return automaton


_STARTS = _starts_automaton()


def _places(low: str) -> dict[tuple[str, int], list[int]]:
    """Where each finder could hit in ``low``: (rule, part) -> positions, ascending, each once."""
    places: dict[tuple[str, int], list[int]] = {}
    for end, keys in _STARTS.iter(low):
        for key, back in keys:
            at = end - back
            where = places.get(key)
            if where is None:
                places[key] = [at]
            elif where[-1] < at:
                where.append(at)
            elif at not in where:  # a longer start string began earlier than the last one: keep the order
                where.append(at)
                where.sort()
    return places


def _rule_fires(name: str, text: str, low: str, places: dict) -> bool:
    """Whether the rule matches anywhere in ``text``: tried where its finders hit, or near them."""
    every = name in _ALL_PARTS
    for index, part in enumerate(_FINDERS[name]):  # (a plain loop: any() over a generator costs more)
        where = places.get((name, index))
        if (where is not None and _part_fires(part, text, low, where)) is not every:
            return not every
    return every


def _part_fires(part: tuple, text: str, low: str, where: list[int]) -> bool:
    finder, window, pattern = part
    for at in where:
        hit = finder.match(low, at)
        if hit is None:
            continue
        if window is None:
            if pattern.match(text, at):
                return True
        elif _found_near(pattern, text, max(0, at - window[0]), hit.end() + window[1]):
            return True
    return False


def _found_near(pattern: re.Pattern, text: str, start: int, end: int) -> bool:
    """A match of ``pattern`` starting in ``text[start:end]``, checked on the whole text (the window's end
    could cut a word short and fake a ``\\b``)."""
    m = pattern.search(text, start, end)
    while m is not None:
        if pattern.match(text, m.start()):
            return True
        m = pattern.search(text, m.start() + 1, end)
    return False


def _rule_phrases(name: str, text: str, low: str, places: dict) -> set[str]:
    """The distinct (lower-cased) matches of a counted rule, up to two (it needs no more), in the order and
    without the overlaps of ``finditer`` on the whole text: its finders are aligned, so each match starts at
    a hit, and a hit inside the last match is skipped."""
    found: set[str] = set()
    for index, (finder, _, pattern) in enumerate(_FINDERS[name]):
        after = 0
        for at in places.get((name, index), ()):
            if at >= after and finder.match(low, at) is not None:
                m = pattern.match(text, at)
                if m:
                    found.add(m.group(0).lower())
                    if len(found) >= 2:
                        return found
                    after = m.end()
    return found


# Vocabulary rules: one word is weak evidence, two different ones are as strong as a rule of their own.
_COUNTED = {"pump_group_vocab", "profit_hype"}
# Hype emoji: rockets, fire, money, charts going up, the moon, "‼️".
_HYPE_EMOJI = frozenset("🚀🔥💰💸🤑💵💲💹📈🫰🌕🌙⚡💎‼🤯🙌💯")
# Links and tags, which shouting does not count: "https?://\S+|[$#@][\w&\-]+", written to start with the set of
# its first characters, so that ``re`` skips to them (2x faster).
_CAPS_STRIP_RE = re.compile(r"[h$#@](?:(?<=h)ttps?://\S+|(?<=[$#@])[\w&\-]+)")
_LETTER_RE = re.compile(r"[^\W\d_]")
_UPPER_RE = re.compile(r"[A-Z\u00c0-\u00de\u0391-\u03a9\u0410-\u042f]")  # Latin, Greek and Cyrillic capitals


_ASCII_UPPER = bytes(range(65, 91))
_ASCII_LETTERS = _ASCII_UPPER + bytes(range(97, 123))


def _shouting(text: str) -> bool:
    """At least 70 % capitals over at least 10 letters (Latin, Greek and Cyrillic capitals).

    The ASCII part is counted in C (``bytes.translate`` deletes); the regexes run only when the non-ASCII
    characters could tip the balance (each counted as a possible capital, none as a letter).
    """
    ascii_part = text.encode("ascii", "ignore")
    size = len(ascii_part)
    upper = size - len(ascii_part.translate(None, _ASCII_UPPER))
    letters = size - len(ascii_part.translate(None, _ASCII_LETTERS))
    others = len(text) - size
    if upper + others < 0.7 * letters:  # even if every other character were a capital: not shouting
        return False
    if others:
        letters = len(_LETTER_RE.findall(text))
        upper = len(_UPPER_RE.findall(text))
    return letters >= 10 and upper >= 0.7 * letters


@dataclass
class PumpResult:
    """A message's pump verdict; ``terms``, ``rule_score`` and ``model_score`` are set by ``PumpClassifier``."""

    is_pump_signal: bool
    pump_score: float
    rules: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    rule_score: float | None = None
    model_score: float | None = None


class PumpDetector:
    """``detect(text, metadata) -> PumpResult``: hype rules, a score in [0, 1], flagged at ``FLAG_AT``.

    Rules (weight): pump talk ("pump", "pumped"; not "petrol pump" or "pump-and-dump" warnings, 0.55),
    guaranteed returns ("100% returns", "10x", "peak profit", any round 3-digit percentage, 0.55),
    "jackpot" and "sure shot" calls (0.55), target prices ("target ₹500", "tgt 520", 0.35), "upper circuit" (0.4),
    "multibagger" (0.4), "operator stock" (0.4), an NSE tip call (target and SL figures with CMP, BTST,
    intraday, NSE, ₹ …, 0.5), Hinglish urgency ("abhi buy karo", "jaldi kharido", 0.5), urgency ("buy now", "last chance", "hurry", countdowns "5 minutes until",
    0.35), pump-group vocabulary ("next coin", "VIP", "hold tight", "entry", "SL") and profit hype
    ("make money", "to the moon", "insane"), each 0.3 for one phrase and 0.5 for two different ones,
    hype-emoji density (🚀🔥💰💸…: one 0.15, two 0.3, three or more 0.4, 0.5 when they outnumber the
    words), all-caps shouting (≥ 70 % capitals over ≥ 10 letters, tags and links aside, 0.25) and a
    tip forwarded from a channel not in ``known_channels`` (0.25, only added when another rule fired:
    it never flags on its own).
    """

    def __init__(self, *, known_channels: Iterable[str] = (), flag_at: float = FLAG_AT):
        self.known_channels = {str(c).lower() for c in known_channels}
        self.flag_at = flag_at

    def detect(self, text: str, metadata: dict | None = None) -> PumpResult:
        text = text or ""
        fired: list[tuple[str, float]] = []
        low = text.lower()
        if len(low) != len(text):  # a few letters change length when lower-cased ("İ"): keep offsets aligned
            low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
        places = _places(low)
        near = {name for name, _ in places}  # the rules whose finders could hit: the others cannot fire
        for name, weight, _ in RULES:
            if name not in near:
                continue
            if name in _COUNTED:
                found = _rule_phrases(name, text, low, places)
                if found:
                    fired.append((name, 0.5 if len(found) >= 2 else weight))
            elif _rule_fires(name, text, low, places):
                fired.append((name, weight))
        if not text.isascii():
            emoji = sum(map(text.count, _HYPE_EMOJI))  # str.count per emoji: C loops, not one per character
            if emoji:
                # Density matters: "💰💸🫰" alone is pure hype, three rockets in a long post less so.
                words = len(text.split())
                weight = 0.15 if emoji == 1 else 0.3 if emoji == 2 else 0.5 if emoji >= words else 0.4
                fired.append(("hype_emoji", weight))
        if text != low:  # some capitals: count them (tags and links aside)
            bare = _CAPS_STRIP_RE.sub("", text) if ("$" in text or "#" in text or "@" in text or "//" in text) else text
            if _shouting(bare):
                fired.append(("shouting", 0.25))
        meta = metadata or {}
        forwarded = meta.get("forwarded_from")
        if fired and forwarded and str(forwarded).lower() not in self.known_channels:
            fired.append(("forwarded_unknown_channel", 0.25))
        score = 1.0
        for _, weight in fired:
            score *= 1.0 - weight
        score = round(1.0 - score, 4)
        return PumpResult(score >= self.flag_at, score, [name for name, _ in fired])

    def detect_many(self, texts: Iterable[str], metadatas: Iterable[dict | None] | None = None) -> list[PumpResult]:
        texts = list(texts)
        metas = list(metadatas) if metadatas is not None else [None] * len(texts)
        return [self.detect(t, m) for t, m in zip(texts, metas, strict=True)]


# Every rule name a detector can report, in a fixed order (the learned model's rule features).
RULE_NAMES: tuple[str, ...] = (*(name for name, _, _ in RULES), "hype_emoji", "shouting", "forwarded_unknown_channel")
