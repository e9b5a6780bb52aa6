"""The learned pump classifier beside the rules: normalisation, the shipped model, and the combined detector.

The model is a multinomial logistic regression over the six labels of the labelled pump channels (0 pump
announcement, 1 countdown, 2 coin release, 3 pump result, 4 delay or cancellation, 5 unrelated) on TF-IDF
word uni- and bigrams of ``pump_tokens`` plus one feature per hand-written rule that fired. It is trained
on the labelled crypto pump and signal channels and on our written Indian tips, X posts and market news
(``pump_training.WRITTEN_PATH``) by ``python manage.py train_pump_model`` (``pump_training``,
scikit-learn), domain-augmented (crypto channels, NSE chatter: ``PumpModel.view``), and shipped as plain
JSON (``PUMP_MODEL_PATH``): scoring needs numpy and scipy's sparse matrices only, never a pickle.

``PumpClassifier.detect_many`` decides ``is_pump_signal`` on the combined score: the model's probability
that a message is pump-related (1 - P(unrelated)), with the rules as its features, weighed by what it
learned. When a message shows a rule the training data (almost) never showed, such as a forward from an
unknown channel (or an idiom a retrain on other data lacks), the model is outside what it knows and the
rules' own score counts too: ``1 - (1 - p) · (1 - rule_score)``.
"""

from __future__ import annotations

import gzip
import itertools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import ahocorasick
import numpy as np
from scipy import sparse

from .pump import PumpDetector, PumpResult

PUMP_MODEL_PATH = Path(__file__).resolve().parent / "pump_model.json.gz"
UNRELATED = 5  # the label of messages that are not about a pump
VIEWS = ("nse", "crypto")  # a model's domains (PumpModel.view): posts about NSE stocks, the crypto channels
AUTO = "auto"  # PumpClassifier(view=AUTO): each message in the view of the domain its words show (domains_guess)
TOP_TERMS = 5
# The model's shape features, beside its terms and rules (``shape_matrix``): "unknown_bare_word", a message of
# at most BARE_TOKENS tokens naming no word the model knows, and words it does not in Latin letters only ("UPGO",
# "$ HIDE"), the shape of a coin release on a crypto channel (a new coin's name, alone). Only in the crypto view:
# in NSE chatter a one-word reply the vocabulary lacks ("accha") is no pump, and NSE tips name a listed stock.
SHAPES = ("unknown_bare_word",)
BARE_TOKENS = 2

# The labelled set is the labellers' normalised text: tokens spaced ("Price : $ 7.39"), exchange names
# tagged ("Binance_CEX"), links replaced ("UNKNOWN_URL"), users ("@USER"). Raw posts and that text must
# give the same tokens, so both go through the same steps: tags and links folded, lower case, then
# tokens that do not depend on spacing (words, numbers, and each other symbol or emoji on its own).
# (Patterns start with a literal where they can: ``re`` then skips to it instead of trying every position.)
_TAG_RE = re.compile(r"_(?<=\w_)(?:CEX|DEX)\b", re.IGNORECASE)
# A link starts with h, t, w or u in either case (no other letter folds to them): that first letter, matched
# case-sensitively, lets ``re`` skip to the candidates (an ignore-case pattern is tried at every position: 3x slower).
_URL_RE = re.compile(
    r"(?-i:[HTUWhtuw])(?:(?<=h)ttps?://\S+|(?<=w)ww\.\S+|(?<=t)\.me/\S+|(?<=\bu)nknown_url\b)", re.IGNORECASE
)
_USER_RE = re.compile(r"@\w+")
_TOKEN_RE = re.compile(r"[^\W\d_]+|\d+(?:[.,]\d+)*|[^\w\s\ufe0f\u200d]")  # words first: the most common
# Between the messages of a batch (``GramIndex.text_ids``): a word of its own, and a token (its mark, id
# ``_MARK``) that no other token or pattern match spans. A text's own "\x00" becomes "\x01", a symbol alike.
_SEPARATOR = " \x00 "
_MARK = -2


def pump_tokens(text: str | None) -> list[str]:
    """The model's tokens of ``text``: the same for a raw post and for its pre-tokenised form.

    Exchange tags ``_CEX``/``_DEX`` dropped, links → ``url``, ``@name`` → ``@user``, lower case; words,
    numbers (each → ``0``: the figures of a call are not its wording) and single symbols or emoji
    (variation selectors and joiners dropped).
    """
    if not text:
        return []
    return ["0" if tok[0].isdigit() else tok for tok in _TOKEN_RE.findall(_links_folded(text).lower())]


def _links_folded(text: str, *, joined: bool = False) -> str:
    """Exchange tags dropped, links and users replaced (each only when its mark is in the text).

    ``joined``: ``text`` is messages joined by ``_SEPARATOR``, which no pattern spans; each message's links are
    then replaced on that message's own marks, as if it were folded alone.
    """
    if "_" in text:
        text = _TAG_RE.sub("", text)
    if _link_marked(text):
        parts = text.split(_SEPARATOR) if joined else [text]
        text = _SEPARATOR.join([_URL_RE.sub(" url ", part) if _link_marked(part) else part for part in parts])
    if "@" in text:
        text = _USER_RE.sub(" @user ", text)
    return text


def _link_marked(text: str) -> bool:
    # The marks are case-sensitive: an upper-case "WWW.X.COM" or a lower-case "unknown_url" alone is kept.
    return "/" in text or "UNKNOWN_URL" in text or "www." in text


def pump_grams(tokens: list[str]) -> list[str]:
    """Unigrams and bigrams (``"a b"``), the model's terms."""
    return tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]


@dataclass(frozen=True)
class PumpModel:
    """The shipped model: terms with their IDF, one weight per class for each term and rule, intercepts.

    ``view``: the weights of one domain of a domain-augmented model (``pump_training.model_fit``):
    ``"nse"`` (posts about NSE stocks, what the pipeline scores: the shared weights plus the NSE deltas) or
    ``"crypto"`` (the labelled crypto channels' domain: the shared weights alone). A model trained
    without NSE messages has one set of weights, the same in both views.
    """

    terms: dict[str, int]
    term_list: list[str]
    idf: np.ndarray
    term_weights: np.ndarray  # (terms, classes)
    rule_weights: np.ndarray  # (rules + shapes, classes): the rules', then the shape features'
    intercept: np.ndarray  # (classes,)
    classes: list[int]
    rules: list[str]
    unseen_rules: frozenset[str]  # rules (almost) never fired in the training data: their own weight counts
    flag_at: float
    meta: dict
    grams: GramIndex
    view: str = "nse"
    shapes: tuple[str, ...] = ()  # the shape features the model was trained with (``SHAPES``)
    shapes_on: bool = False  # whether this view computes them (the crypto view, or a model with no NSE domain)

    @classmethod
    def from_dict(cls, data: dict, *, view: str = "nse") -> PumpModel:
        if view not in VIEWS:
            raise ValueError(f"unknown view {view!r}: one of {', '.join(VIEWS)}")
        terms, n_classes = data["terms"], len(data["classes"])
        term_weights = np.asarray(data["term_weights"], dtype=np.float64).reshape(len(terms), -1)
        rule_weights = np.asarray(data["rule_weights"], dtype=np.float64).reshape(len(data["rules"]), n_classes)
        intercept = np.asarray(data["intercept"], dtype=np.float64)
        shapes = tuple(data.get("shapes", ()))
        if unknown := set(shapes) - set(SHAPES):
            raise ValueError(f"unknown shape feature {sorted(unknown)[0]!r}: one of {', '.join(SHAPES)}")
        shape_weights = np.asarray(data.get("shape_weights", []), dtype=np.float64).reshape(len(shapes), n_classes)
        rule_weights = np.vstack([rule_weights, shape_weights])
        nse = data.get("nse")
        if view == "nse" and nse:
            term_weights = term_weights.copy()
            if nse["terms"]:
                term_weights[np.asarray(nse["terms"])] += np.asarray(nse["term_weights"], dtype=np.float64)
            delta = [np.asarray(nse["rule_weights"], dtype=np.float64).reshape(len(data["rules"]), n_classes)]
            delta.append(np.asarray(nse.get("shape_weights", []), dtype=np.float64).reshape(len(shapes), n_classes))
            rule_weights = rule_weights + np.vstack(delta)
            intercept = intercept + np.asarray(nse["intercept"], dtype=np.float64)
        return cls(
            terms={t: i for i, t in enumerate(terms)},
            term_list=list(terms),
            idf=np.asarray(data["idf"], dtype=np.float64),
            term_weights=term_weights,
            rule_weights=rule_weights,
            intercept=intercept,
            classes=[int(c) for c in data["classes"]],
            rules=list(data["rules"]),
            unseen_rules=frozenset(data["unseen_rules"]),
            flag_at=float(data.get("crypto_flag_at", data["flag_at"]) if view == "crypto" else data["flag_at"]),
            meta=dict(data.get("meta", {})),
            grams=GramIndex.build(list(terms)),
            view=view,
            shapes=shapes,
            shapes_on=view == "crypto" or not nse,
        )

    def features(self, token_lists: list[list[str]], rule_lists: list[list[str]]):
        """(TF-IDF matrix, l2-normalised like scikit-learn's ``TfidfVectorizer(sublinear_tf=True)``, rule matrix).

        ``token_lists``: each message's ``pump_tokens`` (or the same before numbers become ``"0"``).
        """
        return self._matrices(*self.grams.token_ids(token_lists), rule_lists, token_lists.__getitem__)

    def text_features(self, texts: list[str], rule_lists: list[list[str]]):
        """``features`` of the texts' ``pump_tokens``, tokenised the fast way (``GramIndex.text_ids``)."""
        return self._matrices(*self.grams.text_ids(texts), rule_lists, lambda i: pump_tokens(texts[i]))

    def _matrices(self, ids: np.ndarray, owner: np.ndarray, rule_lists: list[list[str]], tokens_of):
        """``tokens_of(i)``: message i's tokens (the shape features check their few candidates' words)."""
        n, size = len(rule_lists), len(self.term_list)
        rows, cols = self.grams.columns(ids, owner)
        # Count each (message, term) pair in CSR order. numpy sorts int64 slowly here (~60 ns a key): lexsort on
        # the smallest unsigned types is a radix sort, 5x faster than np.unique's sort of the pair keys.
        order = np.lexsort((cols.astype(np.min_scalar_type(size)), rows.astype(np.min_scalar_type(n))))
        rows, cols = rows[order], cols[order]
        first = np.flatnonzero(np.diff(rows * size + cols, prepend=-1))
        counts = np.diff(first, append=len(rows))
        rows, cols = rows[first], cols[first]
        values = (1.0 + np.log(counts)) * self.idf[cols]
        norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=n))
        norms[norms == 0] = 1.0
        values /= norms[rows]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
        x = sparse.csr_matrix((values, cols, indptr), shape=(n, size))
        index = {name: i for i, name in enumerate(self.rules)}
        fired = np.fromiter(map(index.get, itertools.chain.from_iterable(rule_lists), itertools.repeat(-1)), np.int64)
        fired_rows = np.repeat(np.arange(n), np.fromiter(map(len, rule_lists), np.int64, n))
        r = np.zeros((n, len(self.rules) + len(self.shapes)))
        r[fired_rows[fired >= 0], fired[fired >= 0]] = 1.0
        if self.shapes and self.shapes_on:
            r[:, len(self.rules) :] = shape_matrix(self.grams, ids, owner, tokens_of, n, self.shapes)
        return x, r

    def probabilities(self, x, r) -> np.ndarray:
        """Class probabilities (softmax of the linear scores), one row per message."""
        logits = np.asarray(x @ self.term_weights) + r @ self.rule_weights + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        return logits / logits.sum(axis=1, keepdims=True)

    def strongest_terms(self, x, rows, probs: np.ndarray, limit: int = TOP_TERMS) -> list[list[str]]:
        """For each message in ``rows``: the terms that pushed it most towards its likeliest pump class.

        Strongest first (a tie to the earlier column), at most ``limit``, only terms that pushed towards it.
        No sort (slow here): each of ``limit`` rounds takes every message's strongest term left, the first
        entry of its run (CSR order) that equals the run's ``maximum.reduceat``.
        """
        unrelated = self.classes.index(UNRELATED)
        pump_cols = np.array([i for i in range(len(self.classes)) if i != unrelated])
        best = pump_cols[np.argmax(probs[:, pump_cols], axis=1)]
        wanted = np.zeros(x.shape[0], dtype=bool)
        wanted[np.asarray(rows, dtype=np.int64)] = True
        owner = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
        at = np.flatnonzero(wanted[owner])
        owner, cols = owner[at], x.indices[at]
        pull = x.data[at] * (self.term_weights[cols, best[owner]] - self.term_weights[cols, unrelated])
        at = np.flatnonzero(pull > 0)
        owner, cols, pull = owner[at], cols[at], pull[at]
        out: dict[int, list[str]] = {int(row): [] for row in rows}
        starts = np.flatnonzero(np.diff(owner, prepend=-1))
        run = np.repeat(np.arange(len(starts)), np.diff(starts, append=len(owner)))
        for _ in range(limit):
            tops = np.flatnonzero(pull == np.maximum.reduceat(pull, starts)[run])
            taken = tops[np.searchsorted(tops, starts)]  # every run has its top: the first one
            taken = taken[pull[taken] > 0]  # (a run with all taken has 0 on top)
            for row, col in zip(owner[taken].tolist(), cols[taken].tolist(), strict=True):
                out[row].append(self.term_list[col])
            pull[taken] = 0.0
        return [out[int(row)] for row in rows]


def shape_matrix(grams: GramIndex, ids: np.ndarray, owner: np.ndarray, tokens_of, n: int, shapes=SHAPES) -> np.ndarray:
    """The ``shapes`` features (0/1, a column each) of ``n`` messages from their token ids (``GramIndex.token_ids``
    or ``text_ids``: -1 for a token no term has), as training and scoring compute them. ``tokens_of(i)``: message
    i's ``pump_tokens``, read for the few messages the ids leave as candidates."""
    out = np.zeros((n, len(shapes)))
    for col, name in enumerate(shapes):
        if name == "unknown_bare_word":
            known = ids >= 0
            known_word = np.zeros(len(ids), dtype=bool)
            known_word[known] = grams.alpha[ids[known]]
            tokens = np.bincount(owner, minlength=n)
            unknown = np.bincount(owner, weights=~known, minlength=n)
            words = np.bincount(owner, weights=known_word, minlength=n)
            bare = (tokens <= BARE_TOKENS) & (unknown > 0) & (words == 0)
            # The unknown words must be in Latin letters, as coin names are: "NES 才是永恒的游戏" is no release.
            for i in np.flatnonzero(bare).tolist():
                unknown_words = [t for t in tokens_of(i) if t.isalpha() and t not in grams.ids]
                bare[i] = bool(unknown_words) and all(map(str.isascii, unknown_words))
            out[:, col] = bare
    return out


@dataclass(frozen=True)
class GramIndex:
    """The vocabulary as token ids: a message's uni- and bigram columns found with numpy, not a lookup per gram.

    Every token of a term has an id; a unigram term's column is ``unigram[id]`` (-1 when only part of a
    bigram). A bigram's key ``id_a * size + id_b`` is a bit of ``pair_bits``, and its column is
    ``bigram_cols[rank]``, its rank among the keys: ``pair_rank`` (the bits set before its 64-bit word)
    plus the bits set below it in its word. No search: sorting the keys for a binary search took 5x as long.
    """

    ids: dict[str, int]
    words: dict[str, int]  # ``ids`` and the separator's mark (``_MARK``)
    unigram: np.ndarray
    pair_bits: np.ndarray  # (size² bits, a count for every 64: 2.1 MB for 3,360 tokens)
    pair_rank: np.ndarray
    bigram_cols: np.ndarray  # in the order of their keys
    zero: int  # the id of "0", every number's token (-1 if no term has it)
    alpha: np.ndarray  # per id: whether the token is a word (letters only)

    @classmethod
    def build(cls, terms: list[str]) -> GramIndex:
        ids: dict[str, int] = {}
        for term in terms:
            for token in term.split(" "):
                ids.setdefault(token, len(ids))
        if any("\x00" in token or "\x01" in token for token in ids):
            raise ValueError("a term holds the batch separator's mark (\\x00) or its stand-in (\\x01)")
        unigram = np.full(len(ids), -1, dtype=np.int64)
        keys, bigram_cols = [], []
        for col, term in enumerate(terms):
            a, _, b = term.partition(" ")
            if b:
                keys.append(ids[a] * len(ids) + ids[b])
                bigram_cols.append(col)
            else:
                unigram[ids[a]] = col
        order = np.argsort(np.asarray(keys, dtype=np.uint64), kind="stable")
        keys = np.asarray(keys, dtype=np.uint64)[order]
        pair_bits = np.zeros(len(ids) * len(ids) // 64 + 1, dtype=np.uint64)
        np.bitwise_or.at(pair_bits, keys >> 6, np.uint64(1) << (keys & 63))
        pair_rank = np.zeros(len(pair_bits), dtype=np.int32)
        np.cumsum(np.bitwise_count(pair_bits[:-1]), out=pair_rank[1:])
        return cls(
            ids=ids,
            words={**ids, "\x00": _MARK},
            unigram=unigram,
            pair_bits=pair_bits,
            pair_rank=pair_rank,
            bigram_cols=np.asarray(bigram_cols, dtype=np.int64)[order],
            zero=ids.get("0", -1),
            alpha=np.fromiter(map(str.isalpha, ids), dtype=bool, count=len(ids)),
        )

    def token_ids(self, token_lists: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        """(id of every token, -1 if no term has it; its message). A number counts as ``"0"``."""
        flat = list(itertools.chain.from_iterable(token_lists))
        owner = np.repeat(np.arange(len(token_lists)), np.fromiter(map(len, token_lists), np.int64, len(token_lists)))
        return self._lookup(flat, self.ids), owner

    def _lookup(self, tokens: list[str], table: dict[str, int]) -> np.ndarray:
        """Each token's id in ``table`` (-1 if none), a number's that of ``"0"``."""
        ids = np.fromiter(map(table.get, tokens, itertools.repeat(-1)), dtype=np.int64, count=len(tokens))
        if self.zero >= 0:
            for i in np.flatnonzero(ids == -1).tolist():
                if tokens[i][0].isdigit():
                    ids[i] = self.zero
        return ids

    def text_ids(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """``token_ids`` of the texts' ``pump_tokens``, the whole batch at once, without tokenising most words.

        Tokens never span whitespace, and a term's token is its own only token: a whitespace-separated
        word that is such a token *is* one token, found with one dict lookup. The texts are folded,
        lower-cased and split as one string, joined by ``_SEPARATOR`` (its words count the messages; the
        spaces stop ``str.lower``'s final-sigma look-around as a text's ends do). The token regex runs once,
        on the other words ("7.39", "coin,"), each distinct one once, joined by the mark; their tokens are then
        spliced back in place.
        """
        joined = _SEPARATOR.join(texts)
        if joined.count("\x00") >= len(texts):  # a text holds the mark itself
            joined = _SEPARATOR.join([text.replace("\x00", "\x01") for text in texts])
        words = _links_folded(joined, joined=True).lower().split()
        ids = np.fromiter(map(self.words.get, words, itertools.repeat(-1)), dtype=np.int64, count=len(words))
        gap, other = ids == _MARK, ids == -1
        owner = np.cumsum(gap)
        if not other.any():
            return ids[~gap], owner[~gap]
        unknown = list(map(words.__getitem__, np.flatnonzero(other).tolist()))
        distinct = dict(zip(dict.fromkeys(unknown), itertools.count()))  # (numbers and "coin," recur)
        token_ids = self._lookup(_TOKEN_RE.findall("\x00".join(distinct)), self.words)
        mark = token_ids == _MARK
        token_ids, counts = token_ids[~mark], np.bincount(np.cumsum(mark)[~mark], minlength=len(distinct))
        # Each place of an other word: its distinct word's first token, then one slot for each further token.
        which = np.fromiter(map(distinct.__getitem__, unknown), np.int64, len(unknown))
        first, spread = (np.cumsum(counts) - counts)[which], counts[which]
        slots = np.repeat(first - (np.cumsum(spread) - spread), spread) + np.arange(spread.sum())
        sizes = (~gap).astype(np.int64)
        sizes[other] = spread
        ids, owner = np.repeat(ids, sizes), np.repeat(owner, sizes)
        ids[np.repeat(other, sizes)] = token_ids[slots]
        return ids, owner

    def columns(self, ids: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row, column) of every uni- and bigram of the messages' tokens that is a term, repeats included."""
        known = ids >= 0
        uni = np.where(known, self.unigram[ids], -1)
        pair = known[:-1] & known[1:] & (owner[:-1] == owner[1:])
        keys = (ids[:-1][pair] * len(self.ids) + ids[1:][pair]).astype(np.uint64)
        word, bit = keys >> 6, np.uint64(1) << (keys & 63)
        bits = self.pair_bits[word]
        rank = self.pair_rank[word] + np.bitwise_count(bits & (bit - np.uint64(1)))  # (most pairs are terms)
        hit = (bits & bit) != 0
        pair[pair] = hit
        rows = np.concatenate([owner[uni >= 0], owner[:-1][pair]])
        cols = np.concatenate([uni[uni >= 0], self.bigram_cols[rank[hit]]])
        return rows, cols


# The words that tell a message's domain (``domains_guess``), matched in lower case between letters and digits
# ("binance_CEX" is "binance"): a coin, a chain, a crypto exchange; or the Indian market, its money and its idiom.
# fmt: off
CRYPTO_WORDS = (
    "airdrop", "altcoin", "altcoins", "binance", "bitcoin", "bitmart", "bittrex", "blockchain", "bnb", "bsc", "btc",
    "busd", "bybit", "cex", "coin", "coins", "crypto", "cryptocurrencies", "cryptocurrency", "cryptopia", "cryptos",
    "defi", "dex", "doge", "dogecoin", "eth", "ethereum", "hodl", "hotbit", "huobi", "kucoin", "latoken", "lbank",
    "memecoin", "memecoins", "metamask", "mexc", "nft", "nfts", "okx", "pancakeswap", "poloniex", "satoshi", "sats",
    "shib", "solana", "token", "tokens", "uniswap", "usdt", "web3", "xrp", "yobit",
)
NSE_WORDS = (
    "banknifty", "bhai", "bse", "circuit", "cr", "crore", "crores", "demat", "finnifty", "fno", "groww", "inr",
    "intraday", "karo", "lakh", "lakhs", "largecap", "midcap", "multibagger", "multibaggers", "nifty", "nse", "rs",
    "sebi", "sensex", "smallcap", "upstox", "zerodha",
)
# fmt: on


def _domain_automaton() -> ahocorasick.Automaton:
    """Every domain word (and ₹) → (its length, whether it names the Indian market): one pass over a text finds
    them all (pyahocorasick, in C; a regex of the 80 words took four times as long)."""
    automaton = ahocorasick.Automaton()
    for word in CRYPTO_WORDS:
        automaton.add_word(word, (len(word), False))
    for word in (*NSE_WORDS, "₹"):
        automaton.add_word(word, (len(word), True))
    automaton.make_automaton()
    return automaton


_DOMAIN_WORDS = _domain_automaton()


def _domain_of(text: str) -> str | None:
    """ "nse", "crypto" or None: the domain words ``text`` has (whole words: between characters that are not
    ASCII letters or digits, "binance_CEX" is "binance"), the Indian market's first."""
    lower, found = text.lower(), None
    last = len(lower) - 1
    for end, (length, nse) in _DOMAIN_WORDS.iter(lower):
        start = end - length + 1
        if lower[end] != "₹":  # (₹ needs no boundary: "₹120")
            if start > 0 and lower[start - 1].isascii() and lower[start - 1].isalnum():
                continue
            if end < last and lower[end + 1].isascii() and lower[end + 1].isalnum():
                continue
        if nse:
            return "nse"
        found = "crypto"
    return found


def domains_guess(texts: list[str]) -> list[str]:
    """Each message's domain, the model view to score it in: "nse" or "crypto".

    A message that names the Indian market (``NSE_WORDS``: NSE, Nifty, ₹, crore, upper circuit, multibagger,
    "karo" …) is "nse"; one that names a coin, a chain or a crypto exchange (``CRYPTO_WORDS``) and not the Indian
    market is "crypto". A message that names neither ("UPGO", "Great job everyone!") takes the batch's domain:
    "crypto" when more of its messages name crypto than the Indian market, otherwise "nse". A file of one
    channel's messages is one batch (``score_messages`` guesses over the whole file).
    """
    found = [_domain_of(text) if text else None for text in texts]
    crypto = found.count("crypto")
    rest = "crypto" if crypto > found.count("nse") else "nse"
    return [domain or rest for domain in found]


def _verdict_key(text: str, metadata) -> tuple[str, str | None]:
    """What a message's verdict depends on: its text and the channel it was forwarded from (the rules'
    ``forwarded_unknown_channel``), as the rules read it."""
    forwarded = (metadata or {}).get("forwarded_from")
    return text, str(forwarded).lower() if forwarded else None


def pump_model_load(path: str | Path = PUMP_MODEL_PATH, view: str = "nse") -> PumpModel:
    """The model stored at ``path`` (gzip JSON written by ``train_pump_model``) in ``view`` ("nse", what the
    pipeline scores, or "crypto"), loaded once per process and view."""
    return _model_load(str(Path(path).resolve()), view)


@lru_cache(maxsize=8)
def _model_load(path: str, view: str) -> PumpModel:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return PumpModel.from_dict(json.load(f), view=view)


class PumpClassifier:
    """The detector the pipeline uses: the rules (the explanation) and the learned model, combined.

    ``detect_many(texts, metadatas) -> list[PumpResult]`` with ``pump_score`` the combined score,
    ``is_pump_signal`` at ``flag_at``, ``rules`` (fired), ``terms`` (the model's strongest terms, for
    flagged messages), and ``rule_score``/``model_score`` (each part alone). ``detect`` scores one. A message
    repeated in a batch (same text, forwarded from the same channel) is scored once; each copy gets its own result.
    ``view``: the shipped model's domain (``PumpModel``): "nse" for posts about NSE stocks (what the pipeline
    scores: it says so), "crypto", or "auto" (the default, or ``model``'s own view when one is given): each
    message in the view of the domain its words show (``domains_guess`` over the batch, or the ``domains``
    given to ``detect_many``).
    """

    def __init__(
        self,
        *,
        known_channels: Iterable[str] = (),
        model: PumpModel | None = None,
        flag_at=None,
        view: str | None = None,
    ):
        self.views: dict[str, PumpClassifier] = {}
        if view is None:
            view = AUTO if model is None else model.view
        if view == AUTO:
            if model is not None:
                raise ValueError("view 'auto' scores in the shipped model's views: give no model")
            self.views = {v: PumpClassifier(known_channels=known_channels, flag_at=flag_at, view=v) for v in VIEWS}
            model = self.views["nse"].model
        self.rules = PumpDetector(known_channels=known_channels)
        self.model = model or pump_model_load(view=view)
        self.flag_at = self.model.flag_at if flag_at is None else flag_at

    def detect(self, text: str, metadata: dict | None = None) -> PumpResult:
        return self.detect_many([text], [metadata])[0]

    def detect_many(
        self,
        texts: Iterable[str],
        metadatas: Iterable[dict | None] | None = None,
        *,
        domains: Iterable[str] | None = None,
    ) -> list[PumpResult]:
        """``domains``: with view "auto", each message's view (``domains_guess`` of a larger batch, say);
        guessed from ``texts`` when not given."""
        texts = [t or "" for t in texts]
        metas = list(metadatas) if metadatas is not None else [None] * len(texts)
        if len(metas) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(metas)} metadatas")
        if self.views:
            return self._detect_by_domain(texts, metas, domains_guess(texts) if domains is None else list(domains))
        if domains is not None:
            raise ValueError(f"domains are for view 'auto'; this detector scores in the {self.model.view!r} view")
        # A message repeated in the batch (a channel's copies of one call, reposts) is scored once: its verdict
        # depends on its text and the channel it was forwarded from only (each copy gets a result of its own).
        slots: dict = {}
        keys = texts if metas.count(None) == len(metas) else list(map(_verdict_key, texts, metas))
        slot_of = [slots.setdefault(key, len(slots)) for key in keys]
        if len(slots) == len(texts):
            return self._detect(texts, metas)
        firsts: dict[int, int] = {}
        for i, slot in enumerate(slot_of):
            firsts.setdefault(slot, i)
        found = self._detect([texts[i] for i in firsts.values()], [metas[i] for i in firsts.values()])
        given = [False] * len(found)
        results = []
        for slot in slot_of:
            res = found[slot]
            if given[slot]:
                res = replace(res, rules=list(res.rules), terms=list(res.terms))
            given[slot] = True
            results.append(res)
        return results

    def _detect_by_domain(self, texts: list[str], metas: list, domains: list[str]) -> list[PumpResult]:
        if len(domains) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(domains)} domains")
        unknown = set(domains) - set(self.views)
        if unknown:
            raise ValueError(f"unknown domain {sorted(unknown)[0]!r}: one of {', '.join(VIEWS)}")
        results: list = [None] * len(texts)
        for view, classifier in self.views.items():
            rows = [i for i, domain in enumerate(domains) if domain == view]
            found = classifier.detect_many([texts[i] for i in rows], [metas[i] for i in rows]) if rows else []
            for i, result in zip(rows, found, strict=True):
                results[i] = result
        return results

    def _detect(self, texts: list[str], metas: list) -> list[PumpResult]:
        if not texts:
            return []
        ruled = self.rules.detect_many(texts, metas)
        rule_lists, rule_scores = [res.rules for res in ruled], [res.pump_score for res in ruled]
        x, r = self.model.text_features(texts, rule_lists)
        probs = self.model.probabilities(x, r)
        model_p = 1.0 - probs[:, self.model.classes.index(UNRELATED)]
        keep = 1.0 - model_p
        # Outside what the model was trained on (a rule its training data never showed): the rules' verdict counts too.
        outside = ~np.fromiter(map(self.model.unseen_rules.isdisjoint, rule_lists), bool, len(ruled))
        keep[outside] *= 1.0 - np.asarray(rule_scores)[outside]
        # Python's round: np.round (scaled by 10⁴, then rounded) can part from it on a decimal half.
        scores = list(map(round, (1.0 - keep).tolist(), itertools.repeat(4)))
        flags = np.asarray(scores) >= self.flag_at
        flagged = np.flatnonzero(flags).tolist()
        terms: list[list[str]] = [[] for _ in texts]
        for n, found in zip(flagged, self.model.strongest_terms(x, flagged, probs), strict=True):
            terms[n] = found
        model_scores = map(round, model_p.tolist(), itertools.repeat(4))
        return list(map(PumpResult, flags.tolist(), scores, rule_lists, terms, rule_scores, model_scores))
