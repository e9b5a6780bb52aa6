"""Training the pump classifier (scikit-learn): the labelled data, the fit, and the export to shipped JSON.

Used by ``python manage.py train_pump_model`` and by ``bench/detection``; the pipeline never imports it
(scoring needs only ``pump_model``). Deterministic: the same data gives byte-for-byte the same file.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from .pump import FLAG_AT, RULE_NAMES, PumpDetector
from .pump_model import SHAPES, UNRELATED, GramIndex, PumpModel, pump_grams, pump_tokens, shape_matrix

REPO = Path(__file__).resolve().parents[2]
LABELLED_DIR = REPO / "tests" / "data" / "samples" / "telegram" / "pump_labelled"
# Our own messages, written for training (not real posts): Indian stock tips in the labelled set's classes and
# Indian market news, trader talk and channel chatter (5). The labelled channels are crypto groups; without
# these the model has never seen an NSE tip and scores "target 165 SL 140, abhi buy karo" as unrelated.
WRITTEN_PATH = Path(__file__).resolve().parent / "training" / "indian_written.csv"
C = 30.0  # inverse regularisation; see docs/MEASUREMENTS.md for the figures it was chosen on (with the shapes)
MIN_DF = 2  # a term must appear in two training messages (drops one-off coin names and typos)
UNSEEN_BELOW = 5  # a rule that fired on fewer training messages than this keeps its own weight
# The crypto view flags at this score (the NSE view, what the pipeline scores, at FLAG_AT): the best F1 that holds
# at most 3 % of unrelated messages flagged on the labelled channels, chosen by nested cross-validation
# (docs/MEASUREMENTS.md); pump channels' own promotion, which the labellers call unrelated, scores just above 0.5.
CRYPTO_FLAG_AT = 0.75


@dataclass
class Labelled:
    """The labelled messages: ``frame`` (label 0-5 as int, channel_id, message, file) and its provenance."""

    frame: pd.DataFrame
    files: dict[str, str]  # file name -> sha256


def labelled_load(directory: Path = LABELLED_DIR) -> Labelled:
    """Every CSV of the labelled set, labels as integers (some are written ``3.0``), empty messages as ""."""
    frames, files = [], {}
    for path in sorted(directory.glob("*.csv")):
        frame = pd.read_csv(path, usecols=["label", "channel_id", "message"], dtype={"message": str})
        frame["file"] = path.name
        frames.append(frame)
        files[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    if not frames:
        raise FileNotFoundError(f"no labelled CSV files in {directory}")
    frame = pd.concat(frames, ignore_index=True)
    frame["message"] = frame["message"].fillna("")
    frame["label"] = frame["label"].astype(float).astype(int)
    return Labelled(frame=frame, files=files)


def written_load(path: Path = WRITTEN_PATH) -> tuple[pd.DataFrame, str]:
    """Our written training messages (``label``, ``message``) and the file's sha256."""
    frame = pd.read_csv(path, usecols=["label", "message"], dtype={"message": str})
    frame["message"] = frame["message"].fillna("")
    frame["label"] = frame["label"].astype(int)
    if not frame["label"].between(0, UNRELATED).all():
        raise ValueError(f"{path.name}: labels must be 0-{UNRELATED}")
    return frame, hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Written:
    """Our written messages as a training set's NSE domain: texts, labels, the rules they fire, and the
    stock symbols they name (``symbol_tokens``: left out of the vocabulary)."""

    texts: list[str]
    labels: np.ndarray
    rules: list[list[str]]
    masked: frozenset[str]

    @classmethod
    def of(cls, frame: pd.DataFrame) -> Written:
        """From ``written_load``'s frame."""
        texts = frame["message"].tolist()
        return cls(texts, frame["label"].to_numpy(), rules_fired(texts), symbol_tokens(texts))


def model_fit_written(
    texts: list[str], labels, rules: list[list[str]], written: Written | None, *, use_rules: bool = True
) -> tuple[PumpModel, dict]:
    """``model_fit`` on labelled crypto-channel ``texts`` and, when given, our ``written`` messages after them as
    the NSE domain with their symbols masked: how ``train_pump_model`` and ``bench/detection`` train."""
    if written is None:
        return model_fit(texts, labels, rules, use_rules=use_rules)
    return model_fit(
        texts + written.texts,
        np.concatenate([labels, written.labels]),
        rules + written.rules,
        use_rules=use_rules,
        nse=np.concatenate([np.zeros(len(texts)), np.ones(len(written.texts))]),
        masked=written.masked,
    )


def rules_fired(texts, detector: PumpDetector | None = None) -> list[list[str]]:
    detector = detector or PumpDetector()
    return [detector.detect(t).rules for t in texts]


def model_fit(
    texts: list[str],
    labels,
    rules: list[list[str]] | None = None,
    *,
    use_rules: bool = True,
    nse=None,
    masked: frozenset[str] = frozenset(),
) -> tuple[PumpModel, dict]:
    """Fit the classifier on ``texts`` (raw or pre-tokenised) with labels 0-5: (the model, its JSON form).

    ``nse``: per message, whether it is about NSE stocks (our written messages) rather than from the
    labelled crypto channels. With any, the fit is domain-augmented ("frustratingly easy domain
    adaptation", Daumé III 2007): every feature has a shared copy and an NSE-only copy (plus an NSE bias),
    so what NSE chatter does differently (a paid-group pitch is a pump there, while the crypto labellers
    call it unrelated) is learnt without bending the weights the crypto channels taught. The JSON keeps the
    shared weights (the crypto view) and the NSE copies as sparse deltas (``"nse"``: non-zero only for
    terms the NSE messages have); ``PumpModel.from_dict(data, view="nse")`` adds them.

    ``masked``: tokens (lower case) left out of the vocabulary with every bigram that holds them: the
    stock symbols of our written messages (``symbol_tokens``). Written by one team about a few dozen
    stocks, they would teach that "IRFC" is a pump and "HDFCBANK" is not; left out, a symbol is no
    evidence either way (at scoring a term the vocabulary lacks counts for nothing).
    """
    rules = rules if rules is not None else rules_fired(texts)
    vectorizer = TfidfVectorizer(
        analyzer=lambda text: _grams(text, masked), min_df=MIN_DF, sublinear_tf=True, dtype=np.float64
    )
    x = vectorizer.fit_transform(texts)
    rule_names = list(RULE_NAMES) if use_rules else []
    r = _rule_matrix(rules, rule_names)
    terms = list(vectorizer.get_feature_names_out())
    domain = np.zeros(len(texts)) if nse is None else np.asarray(nse, dtype=np.float64)
    augmented = bool(domain.any())
    # The shape features, on the crypto domain's messages only (the NSE view never computes them: ``PumpModel``).
    grams = GramIndex.build(terms)
    token_lists = [pump_tokens(t) for t in texts]
    shapes = shape_matrix(grams, *grams.token_ids(token_lists), token_lists.__getitem__, len(texts))
    shapes[domain > 0] = 0.0
    base = sparse.hstack([x, sparse.csr_matrix(r), sparse.csr_matrix(shapes)]).tocsr()
    if augmented:
        copy = sparse.diags(domain) @ base
        base = sparse.hstack([base, copy, sparse.csr_matrix(domain[:, None])]).tocsr()
    fit = LogisticRegression(C=C, max_iter=5000).fit(base, labels)
    coef, intercept = _per_class(fit)
    n_terms, n_rules, n_shapes = len(terms), len(rule_names), len(SHAPES)
    n_base = n_terms + n_rules + n_shapes
    shared = coef[:, :n_base]
    counts = r.sum(axis=0) if use_rules else np.zeros(0)
    unseen = [name for name, count in zip(rule_names, counts, strict=True) if count < UNSEEN_BELOW]
    if not use_rules:
        unseen = []
    data = {
        "terms": terms,
        "idf": [round(float(v), 6) for v in vectorizer.idf_],
        "term_weights": _rounded(shared[:, :n_terms].T),
        "rule_weights": _rounded(shared[:, n_terms : n_terms + n_rules].T),
        "shapes": list(SHAPES),
        "shape_weights": _rounded(shared[:, n_terms + n_rules :].T),
        "intercept": [round(float(v), 6) for v in intercept],
        "classes": [int(c) for c in fit.classes_],
        "rules": rule_names,
        "unseen_rules": unseen,
        "flag_at": FLAG_AT,
        "crypto_flag_at": CRYPTO_FLAG_AT,
    }
    if augmented:
        delta = coef[:, n_base : 2 * n_base]
        term_delta = delta[:, :n_terms].T
        used = np.flatnonzero(np.abs(term_delta).max(axis=1) > 0)
        data["nse"] = {
            "terms": used.tolist(),
            "term_weights": _rounded(term_delta[used]),
            "rule_weights": _rounded(delta[:, n_terms : n_terms + n_rules].T),
            "shape_weights": _rounded(delta[:, n_terms + n_rules :].T),
            "intercept": [round(float(v), 6) for v in coef[:, -1]],
        }
    if UNRELATED not in data["classes"]:
        raise ValueError("the training data has no unrelated messages (label 5)")
    return PumpModel.from_dict(data), data


def _per_class(fit: LogisticRegression) -> tuple[np.ndarray, np.ndarray]:
    """The fit's weights and intercepts with one row per class. Trained on two labels only (pump and
    unrelated, say), scikit-learn keeps one row, the second class's logit against the first's: the first
    class gets a row of zeros, so the model's softmax gives exactly its sigmoid."""
    coef, intercept = fit.coef_, fit.intercept_
    if len(fit.classes_) == 2 and coef.shape[0] == 1:
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.concatenate([np.zeros_like(intercept), intercept])
    return coef, intercept


def _rounded(matrix) -> list[list[float]]:
    return [[round(float(w), 6) for w in row] for row in matrix]


def model_save(data: dict, path: Path, *, meta: dict) -> int:
    """Write the model as gzip JSON (no timestamp in the gzip header, so a rebuild is byte-identical).

    Atomic: written beside ``path`` under a temporary name, then renamed over it. Every scoring process loads
    the shipped model, so a write cut short (a full disk, an interrupt) must leave the old file whole.
    """
    body = json.dumps({**data, "meta": meta}, ensure_ascii=False, separators=(",", ":")).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False) as raw:
        try:
            with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9, filename="") as f:
                f.write(body)
        except BaseException:
            Path(raw.name).unlink(missing_ok=True)
            raise
    os.chmod(raw.name, 0o644)  # (a temporary file is private; the model is read by every worker)
    os.replace(raw.name, path)
    return path.stat().st_size


def _grams(text: str, masked: frozenset[str] = frozenset()) -> list[str]:
    grams = pump_grams(pump_tokens(text))
    if not masked:
        return grams
    return [g for g in grams if not any(part in masked for part in g.split(" "))]


# A real bhavcopy day (tests/data/samples/nse): the symbols the written messages may name.
SYMBOLS_PATH = LABELLED_DIR.parents[1] / "nse" / "BhavCopy_NSE_CM_0_0_0_20260519_F_0000.csv"
_SYMBOL_RE = re.compile(r"(?<![\w$])\$?([A-Z][A-Z0-9&-]*[A-Z0-9])")


def symbol_tokens(texts: list[str], symbols_path: Path = SYMBOLS_PATH) -> frozenset[str]:
    """The ``pump_tokens`` of the NSE symbols ``texts`` name as symbols (a cashtag, or a word in capitals
    that is a symbol of ``symbols_path``'s equity series), less the symbols that are common words (the
    ticker matcher's ``COMMON_WORDS``: "IDEA", "TAKE", "MOMENTUM" stay words) and those that are more than
    one token (BAJAJ-AUTO or M&M would mask "auto" or "m" in every message)."""
    from .tickers import COMMON_WORDS

    frame = pd.read_csv(symbols_path, usecols=["TckrSymb", "SctySrs"], dtype=str)
    symbols = set(frame.loc[frame["SctySrs"].isin(["EQ", "BE", "BZ", "SM", "ST"]), "TckrSymb"])
    named = {m for text in texts for m in _SYMBOL_RE.findall(text or "")} & symbols
    tokens = [pump_tokens(symbol) for symbol in named - COMMON_WORDS]
    return frozenset(toks[0] for toks in tokens if len(toks) == 1 and toks[0].isalpha())


def _rule_matrix(rules: list[list[str]], names: list[str]) -> np.ndarray:
    index = {n: i for i, n in enumerate(names)}
    out = np.zeros((len(rules), len(names)))
    for row, fired in enumerate(rules):
        for name in fired:
            if name in index:
                out[row, index[name]] = 1.0
    return out
