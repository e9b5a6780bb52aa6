#!/usr/bin/env python
"""Pump detection quality on channels a detector never saw, for every detector, plus messages/s.

Usage: python bench/detection/run.py [--quick] [--folds K]

The labelled pump channels (tests/data/samples/telegram/pump_labelled: 3,504 messages, 135 channels
counting the signal channels of the hard-negative file) are split **by channel** into K folds
(GroupKFold): each detector is trained on the other folds' channels and scores the held-out fold, so
every figure is measured on channels it never saw. A message is pump-related when its label is 0-4,
unrelated when 5. Every learned detector (baseline included) also trains on our written Indian training
messages (pipelines/enrich/training/indian_written.csv, as ``train_pump_model`` does); they are never
scored. Detectors:

- rules     the hand-written rules (``PumpDetector``), nothing learned;
- baseline  the issue's plain baseline: word (1-2) + character (2-5, within words) TF-IDF of the raw text
            and a binary logistic regression;
- model     the learned classifier alone: multinomial logistic regression over the six labels on word
            uni+bigrams of ``pump_tokens`` (the shipped normalisation), P(pump) = 1 - P(unrelated);
- combined  what the pipeline ships (``PumpClassifier``): the model with the rules as extra features,
            raised by the rules its training data never showed (a forward from an unknown channel).

The learned detectors are domain-augmented (``model_fit(nse=…)``): the labelled channels are the crypto
domain and the written messages the NSE one. Held-out crypto channels and the earlier crypto pump channel are
scored in the crypto view; the sets about NSE stocks and the non-finance posts in the NSE view, the one the
pipeline scores with ("comb./nse" shows that view on the crypto channels too, for scale: it is not their
domain; "comb./auto" scores each held-out channel's messages as ``score_messages`` scores a file by default,
each message in the view of the domain its words show, ``domains_guess`` over the channel).

Then the same for the baseline and the combined detector on a second split, K folds over messages (shuffled,
seed 0): a held-out message's channel, and its repeats, are in the training folds. It is not what the targets
ask for, but it is the split on which the issue's own baseline figures (F1 0.948, 5.9 % of unrelated flagged,
AUC 0.98 "on the held-out channels", a half this repository does not have) are reproduced here, while the
channel split gives that baseline F1 0.901: the two tables bound what the held-out half may give.

Then, trained on all the labelled channels and the written messages (the shipped model for "combined"),
the sets no detector is trained on: the earlier hand-labelled crypto pump channel (174 messages, 58
labelled), the non-finance samples (all unrelated), and our hand-written Indian tips and news written for
tests (tests/data/written/indian_stock_tips.csv, apart from the training file) and X-style posts about NSE
stocks written for tests (tests/data/written/x_stock_posts.csv: pump hype and ordinary chatter).
Speed: messages/s scoring the 3,504 labelled messages (long: 290 characters on average) in one process,
CPU time, the best of 5 runs (the figures hold on a busy machine), with the trained detector.
"""

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
# The enrichment modules import models (the ticker master): Django's apps must be loaded first.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

import numpy as np  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import precision_recall_fscore_support, roc_auc_score  # noqa: E402
from sklearn.model_selection import GroupKFold, StratifiedKFold  # noqa: E402
from sklearn.pipeline import make_union  # noqa: E402

from pipelines.enrich.pump import FLAG_AT, PumpDetector  # noqa: E402
from pipelines.enrich.pump_model import VIEWS, PumpClassifier, PumpModel, domains_guess, pump_model_load  # noqa: E402
from pipelines.enrich.pump_training import (  # noqa: E402
    Written,
    labelled_load,
    model_fit_written,
    rules_fired,
    written_load,
)

SAMPLES = ROOT / "tests" / "data" / "samples"
INDIAN = ROOT / "tests" / "data" / "written" / "indian_stock_tips.csv"
X_POSTS = ROOT / "tests" / "data" / "written" / "x_stock_posts.csv"
CLASSES = ["announce", "countdown", "release", "result", "delay"]
NSE_VIEW = "comb./nse"  # the combined detector's NSE view on the crypto channels: not its domain, shown for scale
AUTO_VIEW = "comb./auto"  # each held-out channel's file as score_messages scores it by default (--domain auto)
SPEED_RUNS = 5  # the least CPU time of these: the run least disturbed by the rest of the machine


class Rules:
    name = "rules"

    def flag_at(self, view="nse"):
        return FLAG_AT

    def fit(self, texts, labels, rules, written=None):
        return self

    def score(self, texts, view="nse"):
        detector = PumpDetector()
        return np.array([detector.detect(t).pump_score for t in texts])


class Baseline:
    name = "baseline"

    def flag_at(self, view="nse"):
        return FLAG_AT

    def fit(self, texts, labels, rules, written=None):
        if written is not None:
            texts, labels = texts + written.texts, np.concatenate([labels, written.labels])
        self.vec = make_union(
            TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, min_df=2),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
        )
        x = self.vec.fit_transform(texts)
        self.lr = LogisticRegression(C=10, max_iter=3000).fit(x, (np.asarray(labels) < 5).astype(int))
        return self

    def score(self, texts, view="nse"):
        return self.lr.predict_proba(self.vec.transform(texts))[:, 1]


class Learned:
    def __init__(self, *, use_rules: bool):
        self.use_rules = use_rules
        self.name = "combined" if use_rules else "model"

    def fit(self, texts, labels, rules, written=None):
        _, data = model_fit_written(texts, labels, rules, written, use_rules=self.use_rules)
        self.classifiers = {view: PumpClassifier(model=PumpModel.from_dict(data, view=view)) for view in VIEWS}
        return self

    def flag_at(self, view="nse"):
        """The score at which the view flags (the crypto view's is ``CRYPTO_FLAG_AT``)."""
        return self.classifiers[view].flag_at

    def shipped(self):
        self.classifiers = {view: PumpClassifier(model=pump_model_load(view=view)) for view in VIEWS}
        return self

    def score(self, texts, view="nse"):
        """Scores in the model's ``view``: "crypto" for the labelled channels, "nse" for posts about NSE stocks."""
        classifier = self.classifiers[view]
        if self.use_rules:
            return np.array([r.pump_score for r in classifier.detect_many(texts)])
        model = classifier.model
        from pipelines.enrich.pump_model import UNRELATED, pump_tokens

        x, r = model.features([pump_tokens(t) for t in texts], [[] for _ in texts])
        return 1.0 - model.probabilities(x, r)[:, model.classes.index(UNRELATED)]


def metrics(y, score, labels, extra_negatives=None, flag_at=FLAG_AT) -> dict:
    """``flag_at``: the detector's flag threshold, one for all or one per message."""
    flag = score >= flag_at
    p, r, f1, _ = precision_recall_fscore_support(y, flag, average="binary", zero_division=0)
    out = {
        "precision": p,
        "recall": r,
        "f1": f1,
        "fpr": flag[y == 0].mean(),
        "auc": roc_auc_score(y, score),
    }
    for k, name in enumerate(CLASSES):
        out[name] = flag[labels == k].mean()
    if extra_negatives is not None:
        out["fpr_signal"] = flag[(y == 0) & extra_negatives].mean()
        out["fpr_pumpch"] = flag[(y == 0) & ~extra_negatives].mean()
    return out


def cross_validate(detectors, frame, folds: int, written: Written, *, split: str = "channel") -> dict:
    """Out-of-fold figures of each detector. ``split``: "channel" (GroupKFold by channel: the held-out channels
    were never seen) or "message" (StratifiedKFold over messages, shuffled with seed 0: a held-out message's
    channel, and its copies, are in the training folds)."""
    texts = np.array(frame["message"].tolist(), dtype=object)
    labels = frame["label"].to_numpy()
    channels = frame["channel_id"].to_numpy()
    y = (labels < 5).astype(int)
    rules = rules_fired(texts.tolist())
    signal = (frame["file"] == "signal_channels_news.csv").to_numpy()
    # score_messages' default guesses the domain over a file: here, each channel's messages.
    domains = np.empty(len(texts), dtype=object)
    for channel in np.unique(channels):
        rows = np.flatnonzero(channels == channel)
        domains[rows] = domains_guess(texts[rows].tolist())
    scores = {d.name: np.zeros(len(y)) for d in detectors}
    scores[NSE_VIEW], scores[AUTO_VIEW] = np.zeros(len(y)), np.zeros(len(y))
    flag_at = {}
    fit_s = {d.name: 0.0 for d in detectors}
    if split == "channel":
        folds_of = GroupKFold(n_splits=folds).split(texts, y, channels)
    else:
        folds_of = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0).split(texts, labels)
    for fold, (train, test) in enumerate(folds_of):
        for d in detectors:
            started = time.process_time()
            d.fit(texts[train].tolist(), labels[train], [rules[i] for i in train], written=written)
            fit_s[d.name] += time.process_time() - started
            scores[d.name][test] = d.score(texts[test].tolist(), view="crypto")
            flag_at[d.name] = d.flag_at("crypto")
            if d.name == "combined":
                flag_at[NSE_VIEW] = d.flag_at("nse")
                flag_at[AUTO_VIEW] = np.where(domains == "crypto", flag_at[d.name], flag_at[NSE_VIEW])
                scores[NSE_VIEW][test] = d.score(texts[test].tolist(), view="nse")
                scores[AUTO_VIEW][test] = np.where(
                    domains[test] == "crypto", scores[d.name][test], scores[NSE_VIEW][test]
                )
        print(f"  fold {fold + 1}/{folds}: {len(test):,} held-out messages", flush=True)
    out = {
        d.name: (metrics(y, scores[d.name], labels, signal, flag_at[d.name]), fit_s[d.name] / folds) for d in detectors
    }
    if any(d.name == "combined" for d in detectors):
        for name in (NSE_VIEW, AUTO_VIEW):
            out[name] = (metrics(y, scores[name], labels, signal, flag_at[name]), fit_s["combined"] / folds)
        # The flag threshold the shipped crypto view's was chosen by: the best F1 with at most 3 % unrelated flagged.
        at = {t: metrics(y, scores["combined"], labels, signal, t) for t in np.arange(0.3, 0.96, 0.01)}
        best = max((m["f1"], t) for t, m in at.items() if m["fpr"] <= 0.03)
        out["policy"] = (best[1], best[0])
    return out


def table(results: dict) -> None:
    cols = ["precision", "recall", "f1", "fpr", "auc", "fpr_signal", "fpr_pumpch", *CLASSES]
    print(f"{'detector':<10} " + " ".join(f"{c:>10}" for c in cols) + f" {'fit s':>7}")
    for name, (m, fit_s) in results.items():
        if name != "policy":
            print(f"{name:<10} " + " ".join(f"{m[c]:>10.3f}" for c in cols) + f" {fit_s:>7.1f}")
    if "policy" in results:
        t, f1 = results["policy"]
        print(
            f"combined, crypto view: the best F1 with at most 3 % of unrelated flagged is {f1:.3f}, flagging at {t:.2f}"
        )


def pump_channel():
    raw = [json.loads(line) for line in (SAMPLES / "telegram" / "pump_channel_messages.jsonl").read_text().splitlines()]
    with (SAMPLES / "telegram" / "pump_channel_labelled.csv").open(newline="") as f:
        labels = {int(row["id"]): row["label"] for row in csv.DictReader(f)}
    return raw, labels


def non_finance() -> list[str]:
    texts = [
        u["channel_post"]["text"]
        for u in json.loads((SAMPLES / "telegram" / "getUpdates_channel_post.json").read_text())["result"]
    ]
    texts += [t["text"] for t in json.loads((SAMPLES / "twitter" / "search_recent_minimal.json").read_text())["data"]]
    for line in (SAMPLES / "twitter" / "tweet_lookup_cashtags.jsonl").read_text().splitlines():
        data = json.loads(line)["data"]
        texts += [t["text"] for t in (data if isinstance(data, list) else [data])]
    return texts


def indian_tips(path: Path = INDIAN) -> tuple[list[str], np.ndarray]:
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["message"] for r in rows], np.array([int(r["label"]) for r in rows])


def _cpu_seconds(score, texts) -> float:
    started = time.process_time()
    score(texts)
    return time.process_time() - started


def rate(values) -> str:
    return f"{np.mean(values):.3f}" if len(values) else "-"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="2 folds (a smoke run, not for figures)")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)
    folds = 2 if args.quick else args.folds
    from pipelines.enrich.text import clean_text

    labelled = labelled_load()
    frame = labelled.frame
    print(f"labelled: {len(frame):,} messages, {frame['channel_id'].nunique()} channels, {folds}-fold by channel")
    detectors = [Rules(), Baseline(), Learned(use_rules=False), Learned(use_rules=True)]
    written = Written.of(written_load()[0])  # added to every learned detector's training set, never scored
    print(f"written training messages: {len(written.texts):,} (added to every training set, never scored)")
    results = cross_validate(detectors, frame, folds, written)

    print("\nheld-out channels (every message scored by a detector trained on other channels):")
    table(results)
    print("fpr = unrelated messages flagged; fpr_signal / fpr_pumpch: those of signal channels / pump channels;")
    print("announce … delay: share flagged of each pump class. fit s: CPU seconds to train on one fold's rest.")
    print(f"{NSE_VIEW}: the combined detector in the NSE view; {AUTO_VIEW}: each channel's messages as")
    print("score_messages scores a file by default (--domain auto: the view of the domain its words show).")

    print(f"\nheld-out messages ({folds}-fold over messages, shuffled: a held-out message's channel is in training;")
    print("the split on which the issue's baseline figures, F1 0.948, 5.9 % flagged, AUC 0.98, are reproduced):")
    table(
        cross_validate(
            [d for d in detectors if d.name in ("baseline", "combined")], frame, folds, written, split="message"
        )
    )

    # Trained on everything: the shipped model for "combined", fresh fits for the others.
    texts = frame["message"].tolist()
    rules = rules_fired(texts)
    for d in detectors:
        if isinstance(d, Learned) and d.use_rules:
            d.shipped()
        else:
            d.fit(texts, frame["label"].to_numpy(), rules, written=written)

    raw, channel_labels = pump_channel()
    channel_texts = [clean_text(m["message"]) for m in raw]
    own = [i for i, m in enumerate(raw) if m["id"] not in channel_labels]
    results3 = [i for i, m in enumerate(raw) if channel_labels.get(m["id"]) == "3"]
    news5 = [i for i, m in enumerate(raw) if channel_labels.get(m["id"]) == "5"]
    other = [clean_text(t) for t in non_finance()]
    tips, tip_labels = indian_tips()
    tips = [clean_text(t) for t in tips]
    x_posts, x_labels = indian_tips(X_POSTS)
    x_posts = [clean_text(t) for t in x_posts]
    print("\nsets no detector trained on (detectors trained on all labelled channels + written; share flagged):")
    header = ["pump ch. own", "pump ch. results(3)", "pump ch. news(5)", "non-finance", "IN tips", "IN news"]
    header += ["X tips", "X chatter"]
    print(f"{'detector':<10} " + " ".join(f"{h:>19}" for h in header))
    for d in detectors:
        flags = d.score(channel_texts, view="crypto") >= d.flag_at("crypto")
        other_flags = d.score(other) >= d.flag_at("nse")
        tip_flags = d.score(tips) >= d.flag_at("nse")
        x_flags = d.score(x_posts) >= d.flag_at("nse")
        row = [
            rate(flags[own]),
            rate(flags[results3]),
            rate(flags[news5]),
            rate(other_flags),
            rate(tip_flags[tip_labels == 1]),
            rate(tip_flags[tip_labels == 0]),
            rate(x_flags[x_labels == 1]),
            rate(x_flags[x_labels == 0]),
        ]
        print(f"{d.name:<10} " + " ".join(f"{v:>19}" for v in row))
    print(
        f"(pump channel: {len(own)} own posts, {len(results3)} results, {len(news5)} news reposts; "
        f"{len(other)} non-finance posts; Indian tips written for tests: {int((tip_labels == 1).sum())} tips, "
        f"{int((tip_labels == 0).sum())} news; X-style posts written for tests: {int((x_labels == 1).sum())} pump "
        f"posts, {int((x_labels == 0).sum())} ordinary)"
    )

    print(f"\nspeed: scoring the 3,504 labelled messages in one process (CPU time, best of {SPEED_RUNS} runs):")
    print(f"{'detector':<10} {'messages':>9} {'cpu s':>8} {'messages/s':>11}")
    for d in detectors:
        d.score(texts[:50])  # warm caches
        seconds = min(_cpu_seconds(d.score, texts) for _ in range(SPEED_RUNS))
        print(f"{d.name:<10} {len(texts):>9,} {seconds:>8.2f} {len(texts) / seconds:>11,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
