"""The learned pump classifier beside the rules: normalisation, the shipped model, and the combined detector.

The model is a multinomial logistic regression over the six labels of the labelled pump channels (0 pump
announcement, 1 countdown, 2 coin release, 3 pump result, 4 delay or cancellation, 5 unrelated) on TF-IDF
word uni- and bigrams of ``pump_tokens`` plus one feature per hand-written rule that fired. It is trained
by ``python manage.py train_pump_model`` (``pump_training``, scikit-learn) and shipped as plain JSON
(``PUMP_MODEL_PATH``): scoring needs numpy and scipy's sparse matrices only, never a pickle.

``PumpClassifier.detect_many`` decides ``is_pump_signal`` on the combined score: the model's probability
that a message is pump-related (1 - P(unrelated)), with the rules as its features, weighed by what it
learned. When a message shows a rule the training data (crypto pump and signal channels) never showed,
such as the Indian tip idioms ("upper circuit", "jackpot", "abhi buy karo", a CMP/target/SL call) or a
forward from an unknown channel, the model is outside what it knows and the rules' own score counts
too: ``1 - (1 - p) · (1 - rule_score)``.
"""

from __future__ import annotations

import gzip
import itertools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import sparse

from .pump import PumpDetector, PumpResult

PUMP_MODEL_PATH = Path(__file__).resolve().parent / "pump_model.json.gz"
UNRELATED = 5  # the label of messages that are not about a pump
TOP_TERMS = 5

# The labelled set is the labellers' normalised text: tokens spaced ("Price : $ 7.39"), exchange names
# tagged ("Binance_CEX"), links replaced ("UNKNOWN_URL"), users ("@USER"). Raw posts and that text must
# give the same tokens, so both go through the same steps: tags and links folded, lower case, then
# tokens that do not depend on spacing (words, numbers, and each other symbol or emoji on its own).
# (Patterns start with a literal where they can: ``re`` then skips to it instead of trying every position.)
_TAG_RE = re.compile(r"_(?<=\w_)(?:CEX|DEX)\b", re.IGNORECASE)
_URL_RE = re.compile(r"(?:https?://|www\.|t\.me/)\S+|\bUNKNOWN_URL\b", re.IGNORECASE)
_URL_MARKS = ("://", "www.", "t.me/", "unknown_url")  # one is in every link _URL_RE matches (lower-cased)
_USER_RE = re.compile(r"@\w+")
_TOKEN_RE = re.compile(r"[^\W\d_]+|\d+(?:[.,]\d+)*|[^\w\s\ufe0f\u200d]")  # words first: the most common


def pump_tokens(text: str | None) -> list[str]:
    """The model's tokens of ``text``: the same for a raw post and for its pre-tokenised form.

    Exchange tags ``_CEX``/``_DEX`` dropped, links → ``url``, ``@name`` → ``@user``, lower case; words,
    numbers (each → ``0``: the figures of a call are not its wording) and single symbols or emoji
    (variation selectors and joiners dropped).
    """
    if not text:
        return []
    return ["0" if tok[0].isdigit() else tok for tok in _TOKEN_RE.findall(_links_folded(text).lower())]


def _links_folded(text: str) -> str:
    """Exchange tags dropped, links and users replaced (each only when its mark is in the text)."""
    if "_" in text:
        text = _TAG_RE.sub("", text)
    if ("/" in text or "UNKNOWN_URL" in text or "www." in text) and any(map(text.lower().__contains__, _URL_MARKS)):
        text = _URL_RE.sub(" url ", text)
    if "@" in text:
        text = _USER_RE.sub(" @user ", text)
    return text


def pump_grams(tokens: list[str]) -> list[str]:
    """Unigrams and bigrams (``"a b"``), the model's terms."""
    return tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]


@dataclass(frozen=True)
class PumpModel:
    """The shipped model: terms with their IDF, one weight per class for each term and rule, intercepts."""

    terms: dict[str, int]
    term_list: list[str]
    idf: np.ndarray
    term_weights: np.ndarray  # (terms, classes)
    rule_weights: np.ndarray  # (rules, classes)
    intercept: np.ndarray  # (classes,)
    classes: list[int]
    rules: list[str]
    unseen_rules: frozenset[str]  # rules (almost) never fired in the training data: their own weight counts
    flag_at: float
    meta: dict
    grams: GramIndex

    @classmethod
    def from_dict(cls, data: dict) -> PumpModel:
        terms = data["terms"]
        return cls(
            terms={t: i for i, t in enumerate(terms)},
            term_list=list(terms),
            idf=np.asarray(data["idf"], dtype=np.float64),
            term_weights=np.asarray(data["term_weights"], dtype=np.float64).reshape(len(terms), -1),
            rule_weights=np.asarray(data["rule_weights"], dtype=np.float64).reshape(
                len(data["rules"]), len(data["classes"])
            ),
            intercept=np.asarray(data["intercept"], dtype=np.float64),
            classes=[int(c) for c in data["classes"]],
            rules=list(data["rules"]),
            unseen_rules=frozenset(data["unseen_rules"]),
            flag_at=float(data["flag_at"]),
            meta=dict(data.get("meta", {})),
            grams=GramIndex.build(list(terms)),
        )

    def features(self, token_lists: list[list[str]], rule_lists: list[list[str]]):
        """(TF-IDF matrix, l2-normalised like scikit-learn's ``TfidfVectorizer(sublinear_tf=True)``, rule matrix).

        ``token_lists``: each message's ``pump_tokens`` (or the same before numbers become ``"0"``).
        """
        return self._matrices(*self.grams.token_ids(token_lists), rule_lists)

    def text_features(self, texts: list[str], rule_lists: list[list[str]]):
        """``features`` of the texts' ``pump_tokens``, tokenised the fast way (``GramIndex.text_ids``)."""
        return self._matrices(*self.grams.text_ids(texts), rule_lists)

    def _matrices(self, ids: np.ndarray, owner: np.ndarray, rule_lists: list[list[str]]):
        n = len(rule_lists)
        rows, cols = self.grams.columns(ids, owner, n)
        # Count each (message, term) pair: one sort of the pair keys, already in CSR order.
        keys, counts = np.unique(rows * len(self.term_list) + cols, return_counts=True)
        rows, cols = np.divmod(keys, len(self.term_list))
        values = (1.0 + np.log(counts)) * self.idf[cols]
        norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=n))
        norms[norms == 0] = 1.0
        values /= norms[rows]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
        x = sparse.csr_matrix((values, cols, indptr), shape=(n, len(self.term_list)))
        rule_index = {r: i for i, r in enumerate(self.rules)}
        r = np.zeros((n, len(self.rules)))
        for row, fired in enumerate(rule_lists):
            for name in fired:
                if name in rule_index:
                    r[row, rule_index[name]] = 1.0
        return x, r

    def probabilities(self, x, r) -> np.ndarray:
        """Class probabilities (softmax of the linear scores), one row per message."""
        logits = np.asarray(x @ self.term_weights) + r @ self.rule_weights + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        return logits / logits.sum(axis=1, keepdims=True)

    def strongest_terms(self, x, rows, probs: np.ndarray, limit: int = TOP_TERMS) -> list[list[str]]:
        """For each message in ``rows``: the terms that pushed it most towards its likeliest pump class.

        Strongest first, at most ``limit``, only terms that pushed towards it; one sort for all the rows.
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
        # By message, then strongest first (a tie to the earlier column): one stable sort by pull, then one
        # integer sort of message * n + rank (cheaper than a two-key lexsort).
        at = at[np.argsort(-pull[at], kind="stable")]
        at = at[np.argsort(owner[at] * len(at) + np.arange(len(at)))]
        owner, cols = owner[at], cols[at]
        keep = np.arange(len(owner)) - np.searchsorted(owner, owner) < limit
        out: dict[int, list[str]] = {int(row): [] for row in rows}
        for row, col in zip(owner[keep].tolist(), cols[keep].tolist(), strict=True):
            out[row].append(self.term_list[col])
        return [out[int(row)] for row in rows]


@dataclass(frozen=True)
class GramIndex:
    """The vocabulary as token ids: a message's uni- and bigram columns found with numpy, not a lookup per gram.

    Every token of a term has an id; a unigram term's column is ``unigram[id]`` (-1 when only part of a
    bigram), a bigram's is found by its key ``id_a * size + id_b`` among the sorted ``bigram_keys``.
    """

    ids: dict[str, int]
    unigram: np.ndarray
    bigram_keys: np.ndarray
    bigram_cols: np.ndarray
    zero: int  # the id of "0", every number's token (-1 if no term has it)

    @classmethod
    def build(cls, terms: list[str]) -> GramIndex:
        ids: dict[str, int] = {}
        for term in terms:
            for token in term.split(" "):
                ids.setdefault(token, len(ids))
        unigram = np.full(len(ids), -1, dtype=np.int64)
        keys, bigram_cols = [], []
        for col, term in enumerate(terms):
            a, _, b = term.partition(" ")
            if b:
                keys.append(ids[a] * len(ids) + ids[b])
                bigram_cols.append(col)
            else:
                unigram[ids[a]] = col
        order = np.argsort(np.asarray(keys, dtype=np.int64), kind="stable")
        return cls(
            ids=ids,
            unigram=unigram,
            bigram_keys=np.asarray(keys, dtype=np.int64)[order],
            bigram_cols=np.asarray(bigram_cols, dtype=np.int64)[order],
            zero=ids.get("0", -1),
        )

    def token_ids(self, token_lists: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        """(id of every token, -1 if no term has it; its message). A number counts as ``"0"``."""
        flat = list(itertools.chain.from_iterable(token_lists))
        ids = np.fromiter(map(self.ids.get, flat, itertools.repeat(-1)), dtype=np.int64, count=len(flat))
        if self.zero >= 0:
            for i in np.flatnonzero(ids < 0).tolist():
                if flat[i][0].isdigit():
                    ids[i] = self.zero
        owner = np.repeat(np.arange(len(token_lists)), np.fromiter(map(len, token_lists), np.int64, len(token_lists)))
        return ids, owner

    def text_ids(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """``token_ids`` of the texts' ``pump_tokens``, without tokenising most words.

        Tokens never span whitespace, and a term's token is its own only token: a whitespace-separated
        word that is such a token *is* one token, found with one dict lookup (in C, over all the words at
        once). The token regex runs only on the other words ("7.39", "coin,"), spliced back in place.
        """
        words = [_links_folded(t).lower().split() if t else [] for t in texts]
        flat = list(itertools.chain.from_iterable(words))
        ids = np.fromiter(map(self.ids.get, flat, itertools.repeat(-1)), dtype=np.int64, count=len(flat))
        owner = np.repeat(np.arange(len(texts)), np.fromiter(map(len, words), np.int64, len(words)))
        other = np.flatnonzero(ids < 0)
        if not len(other):
            return ids, owner
        tokens = [_TOKEN_RE.findall(flat[i]) for i in other.tolist()]
        sizes = np.ones(len(flat), dtype=np.int64)
        sizes[other] = np.fromiter(map(len, tokens), np.int64, len(tokens))
        ids = np.repeat(ids, sizes)
        owner = np.repeat(owner, sizes)
        # The slots of each re-tokenised word: its first slot, then the next ones for its further tokens.
        first = (np.cumsum(sizes) - sizes)[other]
        spread = sizes[other]
        slots = np.repeat(first - (np.cumsum(spread) - spread), spread) + np.arange(spread.sum())
        ids[slots] = self.token_ids([list(itertools.chain.from_iterable(tokens))])[0]
        return ids, owner

    def columns(self, ids: np.ndarray, owner: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(row, column) of every uni- and bigram of ``n`` messages' tokens that is a term, repeats included."""
        known = ids >= 0
        uni = np.where(known, self.unigram[ids], -1)
        # Bigrams of neighbouring tokens of one message, both with ids, looked up in sorted order (the
        # binary searches then walk memory forwards: 3x faster); the message rides in the low digits.
        pair = known[:-1] & known[1:] & (owner[:-1] == owner[1:])
        query = np.sort((ids[:-1][pair] * len(self.ids) + ids[1:][pair]) * n + owner[:-1][pair])
        keys, pair_rows = np.divmod(query, n)
        at = np.minimum(np.searchsorted(self.bigram_keys, keys), max(len(self.bigram_keys) - 1, 0))
        hit = self.bigram_keys[at] == keys if len(self.bigram_keys) else np.zeros(len(keys), dtype=bool)
        rows = np.concatenate([owner[uni >= 0], pair_rows[hit]])
        cols = np.concatenate([uni[uni >= 0], self.bigram_cols[at[hit]]])
        return rows, cols


@lru_cache(maxsize=4)
def pump_model_load(path: str | Path = PUMP_MODEL_PATH) -> PumpModel:
    """The model stored at ``path`` (gzip JSON written by ``train_pump_model``), loaded once per process."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return PumpModel.from_dict(json.load(f))


class PumpClassifier:
    """The detector the pipeline uses: the rules (the explanation) and the learned model, combined.

    ``detect_many(texts, metadatas) -> list[PumpResult]`` with ``pump_score`` the combined score,
    ``is_pump_signal`` at ``flag_at``, ``rules`` (fired), ``terms`` (the model's strongest terms, for
    flagged messages), and ``rule_score``/``model_score`` (each part alone). ``detect`` scores one.
    """

    def __init__(self, *, known_channels: Iterable[str] = (), model: PumpModel | None = None, flag_at=None):
        self.rules = PumpDetector(known_channels=known_channels)
        self.model = model or pump_model_load()
        self.flag_at = self.model.flag_at if flag_at is None else flag_at

    def detect(self, text: str, metadata: dict | None = None) -> PumpResult:
        return self.detect_many([text], [metadata])[0]

    def detect_many(self, texts: Iterable[str], metadatas: Iterable[dict | None] | None = None) -> list[PumpResult]:
        texts = [t or "" for t in texts]
        metas = list(metadatas) if metadatas is not None else [None] * len(texts)
        if not texts:
            return []
        ruled = [self.rules.detect(t, m) for t, m in zip(texts, metas, strict=True)]
        x, r = self.model.text_features(texts, [res.rules for res in ruled])
        probs = self.model.probabilities(x, r)
        pump_p = (1.0 - probs[:, self.model.classes.index(UNRELATED)]).tolist()
        unseen = self.model.unseen_rules
        scores = []
        for p, res in zip(pump_p, ruled, strict=True):
            keep = 1.0 - p
            if unseen.intersection(res.rules):
                # Outside what the model was trained on (an Indian tip idiom): the rules' verdict counts too.
                keep *= 1.0 - res.pump_score
            scores.append(round(1.0 - keep, 4))
        flagged = [n for n, score in enumerate(scores) if score >= self.flag_at]
        terms = dict(zip(flagged, self.model.strongest_terms(x, flagged, probs), strict=True))
        return [
            PumpResult(n in terms, scores[n], res.rules, terms.get(n, []), res.pump_score, round(pump_p[n], 4))
            for n, res in enumerate(ruled)
        ]
