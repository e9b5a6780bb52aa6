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
_TAG_RE = re.compile(r"(?<=\w)_(?:CEX|DEX)\b", re.IGNORECASE)
_URL_RE = re.compile(r"(?:https?://|www\.|t\.me/)\S+|\bUNKNOWN_URL\b", re.IGNORECASE)
_USER_RE = re.compile(r"@\w+")
_TOKEN_RE = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+|[^\w\s\ufe0f\u200d]")


def pump_tokens(text: str | None) -> list[str]:
    """The model's tokens of ``text``: the same for a raw post and for its pre-tokenised form.

    Exchange tags ``_CEX``/``_DEX`` dropped, links → ``url``, ``@name`` → ``@user``, lower case; words,
    numbers (each → ``0``: the figures of a call are not its wording) and single symbols or emoji
    (variation selectors and joiners dropped).
    """
    if not text:
        return []
    if "_" in text:
        text = _TAG_RE.sub("", text)
    if "/" in text or "UNKNOWN_URL" in text or "www." in text:
        text = _URL_RE.sub(" url ", text)
    if "@" in text:
        text = _USER_RE.sub(" @user ", text)
    return ["0" if tok[0].isdigit() else tok for tok in _TOKEN_RE.findall(text.lower())]


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
        )

    def features(self, token_lists: list[list[str]], rule_lists: list[list[str]]):
        """(TF-IDF matrix, l2-normalised like scikit-learn's ``TfidfVectorizer(sublinear_tf=True)``, rule matrix)."""
        get = self.terms.get
        indptr = [0]
        indices: list[int] = []
        counts: list[int] = []
        for tokens in token_lists:
            row: dict[int, int] = {}
            for gram in pump_grams(tokens):
                i = get(gram)
                if i is not None:
                    row[i] = row.get(i, 0) + 1
            indices.extend(row)
            counts.extend(row.values())
            indptr.append(len(indices))
        cols = np.asarray(indices, dtype=np.int64)
        values = (1.0 + np.log(np.asarray(counts, dtype=np.float64))) * self.idf[cols]
        x = sparse.csr_matrix((values, cols, np.asarray(indptr)), shape=(len(token_lists), len(self.term_list)))
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        x = sparse.diags(1.0 / norms) @ x
        rule_index = {r: i for i, r in enumerate(self.rules)}
        r = np.zeros((len(rule_lists), len(self.rules)))
        for n, fired in enumerate(rule_lists):
            for name in fired:
                if name in rule_index:
                    r[n, rule_index[name]] = 1.0
        return x.tocsr(), r

    def probabilities(self, x, r) -> np.ndarray:
        """Class probabilities (softmax of the linear scores), one row per message."""
        logits = np.asarray(x @ self.term_weights) + r @ self.rule_weights + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        return logits / logits.sum(axis=1, keepdims=True)

    def strongest_terms(self, x, row: int, probs: np.ndarray, limit: int = TOP_TERMS) -> list[str]:
        """The terms that pushed message ``row`` most towards its likeliest pump class, strongest first."""
        unrelated = self.classes.index(UNRELATED)
        pump_cols = [i for i in range(len(self.classes)) if i != unrelated]
        best = pump_cols[int(np.argmax(probs[row, pump_cols]))]
        start, end = x.indptr[row], x.indptr[row + 1]
        cols, values = x.indices[start:end], x.data[start:end]
        pull = values * (self.term_weights[cols, best] - self.term_weights[cols, unrelated])
        order = np.argsort(-pull)[:limit]
        return [self.term_list[cols[i]] for i in order if pull[i] > 0]


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
        x, r = self.model.features([pump_tokens(t) for t in texts], [res.rules for res in ruled])
        probs = self.model.probabilities(x, r)
        pump_p = 1.0 - probs[:, self.model.classes.index(UNRELATED)]
        out = []
        unseen = self.model.unseen_rules
        for n, res in enumerate(ruled):
            keep = 1.0 - float(pump_p[n])
            if unseen.intersection(res.rules):
                # Outside what the model was trained on (an Indian tip idiom): the rules' verdict counts too.
                keep *= 1.0 - res.pump_score
            score = round(1.0 - keep, 4)
            flagged = score >= self.flag_at
            out.append(
                PumpResult(
                    flagged,
                    score,
                    res.rules,
                    terms=self.model.strongest_terms(x, n, probs) if flagged else [],
                    rule_score=res.pump_score,
                    model_score=round(float(pump_p[n]), 4),
                )
            )
        return out
