"""Pump detection on real messages: the rules (PumpDetector) and the shipped classifier (PumpClassifier).

The crypto pump channel the rules were tuned on is cut by date: rates are reported on its older half
(tuned on) and its newer half (held out). bench/detection measures both detectors on channels never seen.
"""

import csv
import json
import math
import random
import re
from pathlib import Path

import numpy as np
import pytest

from pipelines.enrich import PumpClassifier, PumpDetector, clean_text, pump, pump_model, pump_tokens
from pipelines.enrich.pump_model import PumpModel, domains_guess, pump_grams, pump_model_load
from pipelines.enrich.pump_training import WRITTEN_PATH, labelled_load, model_fit, rules_fired, written_load

# Plain Indian market messages: results, closes, brokers' targets, regulator warnings. None is a pump.
INDIAN_NEUTRAL = [
    "RELIANCE closes flat at ₹2,456 ahead of Q2 results",
    "TCS Q2 results: net profit up 8.7% YoY to ₹11,909 crore; board declares interim dividend of ₹10 per share",
    "Infosys raises FY25 revenue guidance to 3.75-4.5% in constant currency",
    "HDFC Bank shares fell 2% after the RBI policy; Nifty Bank ended 0.6% lower",
    "SBI to raise ₹10,000 crore via infrastructure bonds, board approves",
    "Sensex ends 150 points higher; IT stocks lead, metals drag",
    "Motilal Oswal keeps a target price of ₹1,850 on INFY with a buy rating",
    "ITC demerger record date fixed; the hotels business will list separately",
    "Tata Motors Q3 volumes up 5% YoY, JLR wholesales steady",
    "Adani Ports hits a 52-week high after the monthly cargo update",
    "Petrol pump dealers' commission hike approved; IOC, BPCL and HPCL shares flat",
    "SEBI warns investors against pump-and-dump schemes run on Telegram channels",
    "Wipro Q2 profit rises 21% YoY to ₹3,209 crore, beats estimates",
    "Market wrap: Nifty 50 at 24,150, up 0.4%; breadth positive, India VIX lower",
    "L&T bags a large order from the Middle East; stock up 1.2% in early trade",
]

# Tips in the style of Indian stock pump groups (hand-written): the rules must see them too.
INDIAN_PUMP = [
    "🚀🚀 $SUZLON multibagger alert! Target ₹120 sure shot, buy now before it's too late 🔥🔥",
    "IRFC UPPER CIRCUIT TOMORROW!!! JOIN OUR VIP GROUP FOR THE NEXT STOCK 💰💰💰",
    "Jackpot call: #YESBANK 100% returns in 2 weeks, hurry, last chance to enter",
    "Next stock: IDEA. Entry 14, targets 18/22/25. Hold tight, operators are in 🚀",
    "Guaranteed 5x in this penny stock, buy before it's too late",
    "VIP members booked 300% profit in RPOWER, next call tomorrow 9:15 💸💸",
]


def _pump_channel(samples):
    path = samples / "telegram" / "pump_channel_messages.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _labels(samples):
    with (samples / "telegram" / "pump_channel_labelled.csv").open(newline="") as f:
        return {int(row["id"]): row["label"] for row in csv.DictReader(f)}


def _non_finance(samples):
    texts = [
        u["channel_post"]["text"]
        for u in json.loads((samples / "telegram" / "getUpdates_channel_post.json").read_text())["result"]
    ]
    texts += [t["text"] for t in json.loads((samples / "twitter" / "search_recent_minimal.json").read_text())["data"]]
    for line in (samples / "twitter" / "tweet_lookup_cashtags.jsonl").read_text().splitlines():
        data = json.loads(line)["data"]
        texts += [t["text"] for t in (data if isinstance(data, list) else [data])]
    return texts


def _rate(detector, texts):
    flagged = [r.is_pump_signal for r in detector.detect_many([clean_text(t) for t in texts])]
    return sum(flagged) / len(flagged)


def _halves(samples):
    """The pump channel oldest first, cut in two: the older half the rules were tuned on, the newer held out."""
    channel = sorted(_pump_channel(samples), key=lambda m: m["date"])
    return channel[:87], channel[87:]


@pytest.mark.parametrize(
    ("detector", "floors"),
    [
        # The rules were tuned on this whole channel (older and newer): the newer half is their best case.
        (PumpDetector(), {"older": 0.63, "newer": 0.89, "results": 1.0}),
        # The shipped classifier never saw this channel: it learned the labelled channels' taxonomy, where
        # bare hype ("INSANE PUMP 💸", "WE JUST PUMPED 917%") is "unrelated" and only announcements,
        # countdowns, releases, results and delays are pump messages. The bot's "Pump Activity on OG/USDT"
        # alerts (labelled 3 here) are not messages of a pump group in that taxonomy either. (Trained on the
        # written Indian messages too, it flags 18 of the older 87 where it flagged 19 before.)
        (None, {"older": 0.2, "newer": 0.58, "results": 0.0}),
    ],
    ids=["rules", "classifier"],
)
def test_the_pump_channel_is_flagged_on_its_newer_half_and_none_of_the_others(
    samples, detector, floors, record_property
):
    detector = detector or PumpClassifier()
    older, newer = _halves(samples)
    labels = _labels(samples)
    non_finance = _non_finance(samples)
    negatives = non_finance + INDIAN_NEUTRAL
    assert (len(older), len(newer), len(labels), len(non_finance), len(negatives)) == (87, 87, 58, 14, 29)
    # Every hand-labelled message is in the older half (the labellers worked on the first weeks).
    assert all(m["id"] in labels for m in older[:58])
    assert not any(m["id"] in labels for m in newer)

    results = [m["message"] for m in older if labels.get(m["id"]) == "3"]  # "pump result" announcements
    news = [m["message"] for m in older if labels.get(m["id"]) == "5"]  # crypto news reposted there
    rates = {
        "older half, 87 (tuned on)": _rate(detector, [m["message"] for m in older]),
        "newer half, 87 (held out)": _rate(detector, [m["message"] for m in newer]),
        "29 labelled pump results (3)": _rate(detector, results),
        "29 labelled other/news (5)": _rate(detector, news),
        "non-finance samples (14)": _rate(detector, non_finance),
        "non-finance + Indian market news (29)": _rate(detector, negatives),
    }
    for name, value in rates.items():
        record_property(name, round(value, 3))
    print("\npump detection rates:", json.dumps({k: round(v, 3) for k, v in rates.items()}, indent=1))

    assert rates["older half, 87 (tuned on)"] >= floors["older"]
    assert rates["newer half, 87 (held out)"] >= floors["newer"]
    assert rates["29 labelled pump results (3)"] >= floors["results"]
    assert rates["29 labelled other/news (5)"] == 0.0
    assert rates["non-finance samples (14)"] == 0.0
    assert rates["non-finance + Indian market news (29)"] <= 0.05


def _indian_test_set(name: str = "indian_stock_tips.csv") -> tuple[list[str], list[str]]:
    with (Path(__file__).resolve().parents[1] / "data" / "written" / name).open(newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["message"] for r in rows if r["label"] == "1"], [r["message"] for r in rows if r["label"] == "0"]


def test_the_learned_model_itself_flags_the_indian_tips_and_not_the_news():
    """Written for tests, never trained on: the model (not only the rules raising it) knows NSE tips."""
    tips, news = _indian_test_set()
    tips, news = [clean_text(t) for t in tips], [clean_text(t) for t in news]
    classifier = PumpClassifier()
    assert (len(tips), len(news)) == (20, 20)
    assert sum(r.is_pump_signal for r in PumpDetector().detect_many(tips)) == 20
    flagged = classifier.detect_many(tips)
    missed = [t for t, r in zip(tips, flagged, strict=True) if not r.is_pump_signal]
    assert len(missed) <= 1, missed
    # The learned part alone, without the rules' own score: trained on the crypto channels alone, the same
    # model had lost every tip (0 of 20 by its own score).
    assert sum(r.model_score >= 0.5 for r in flagged) >= 19
    assert sum(r.is_pump_signal for r in classifier.detect_many(news)) == 0


def test_x_style_pump_posts_about_nse_stocks_are_flagged_and_ordinary_x_chatter_is_not():
    """X-style posts written for tests, never trained on: "$TCS to the moon 🚀🚀 buy now!!!" is a pump
    post, a results headline with a cashtag or a warning about pump groups is not. Before the X-style
    training messages the shipped model flagged 4 of these 20 pump posts; with them, 10 when one set of
    weights had to serve the crypto channels too; its NSE view (the pipeline's) flags 17."""
    pumps, ordinary = _indian_test_set("x_stock_posts.csv")
    pumps, ordinary = [clean_text(t) for t in pumps], [clean_text(t) for t in ordinary]
    assert (len(pumps), len(ordinary)) == (20, 20)
    classifier = PumpClassifier()
    assert sum(r.is_pump_signal for r in classifier.detect_many(pumps)) >= 15
    assert sum(r.is_pump_signal for r in classifier.detect_many(ordinary)) <= 2
    assert classifier.detect("$TCS to the moon 🚀🚀 buy now!!!").is_pump_signal


def test_the_written_training_messages_are_apart_from_the_test_set_and_recorded_in_the_model():
    frame, sha = written_load()
    tips, news = _indian_test_set()
    x_pumps, x_ordinary = _indian_test_set("x_stock_posts.csv")
    written = {" ".join(m.lower().split()) for m in frame["message"]}
    assert not written & {" ".join(m.lower().split()) for m in tips + news + x_pumps + x_ordinary}
    assert set(frame["label"]) == {0, 1, 2, 3, 4, 5}
    assert pump_model_load().meta["written"] == {"messages": len(frame), "file": WRITTEN_PATH.name, "sha256": sha}


def test_the_classifier_explains_a_flag_with_rules_and_terms_and_scores_both_parts():
    classifier, crypto = PumpClassifier(), PumpClassifier(view="crypto")
    result = crypto.detect("The coin we have picked to pump today is : NEBL . NEBL is looking perfect for a pump")
    assert result.is_pump_signal is True
    assert result.rules == ["pump_talk"]
    assert "coin" in result.terms
    assert len(result.terms) <= 5
    assert result.model_score >= 0.9
    assert result.rule_score == 0.55
    assert result.pump_score == result.model_score  # no rule outside the training data fired
    tip = classifier.detect("IRFC CMP 148 target 165 SL 140 BTST, abhi buy karo", {"forwarded_from": "Stock Gurus"})
    assert {"nse_tip_call", "hinglish_urgency", "forwarded_unknown_channel"} <= set(tip.rules)
    # A rule the model never saw in training (a forward from an unknown channel): the rules' own score counts too.
    assert "forwarded_unknown_channel" in classifier.model.unseen_rules
    assert tip.pump_score == round(1 - (1 - tip.model_score) * (1 - tip.rule_score), 4)
    urged = classifier.detect("IRFC looks good, abhi buy karo", {"forwarded_from": "Stock Gurus"})
    assert urged.rules == ["hinglish_urgency", "forwarded_unknown_channel"]
    assert urged.model_score < 0.5 <= urged.pump_score == round(1 - (1 - urged.model_score) * (1 - urged.rule_score), 4)
    assert tip.terms  # flagged: the model's strongest terms explain it beside the rules
    signal = crypto.detect("SKL / USDT Long Signal Entry : 0.70691 Take Profit : 0.71691 Stop Loss : 0.30691")
    assert (signal.is_pump_signal, signal.terms) == (False, [])
    assert signal.rule_score >= 0.5  # the rules alone flagged ordinary signal chatter


@pytest.mark.parametrize(
    ("texts", "domains"),
    [
        # The Indian market named (₹, NSE, Nifty, crore, circuit, Hinglish): NSE, even beside a coin.
        (["IRFC target ₹165, abhi buy karo", "BTC and Nifty both up today"], ["nse", "nse"]),
        (["Upper circuit again! 10 crore volume", "NSE: TCS board meets"], ["nse", "nse"]),
        # A coin, a chain or a crypto exchange, the labellers' "binance_CEX" tag too.
        (["EXCHANGE : binance_CEX", "The coin is : NEBL", "Long SKL / USDT"], ["crypto"] * 3),
        # Naming neither: the batch's domain (more crypto than NSE messages: crypto; a tie or none: NSE).
        (["The coin is : UPGO", "UPGO", "Great job everyone !"], ["crypto"] * 3),
        (["The coin is : UPGO", "Nifty closes flat", "UPGO"], ["crypto", "nse", "nse"]),
        (["UPGO", "", "Great job everyone !"], ["nse"] * 3),
        # Whole words only: "coinbase" is no "coin", "rsi" no "rs", "tokenism" no "token".
        (["coinbase rsi tokenism", "ETH"], ["crypto", "crypto"]),
        (["coinbase rsi tokenism", "Sensex"], ["nse", "nse"]),
    ],
)
def test_a_message_is_scored_in_the_view_of_the_market_it_names(texts, domains):
    assert domains_guess(texts) == domains


def test_the_domain_words_are_found_as_the_plain_pattern_finds_them(samples):
    """``domains_guess`` finds its words with one Aho-Corasick pass and a boundary check by hand: the same
    verdicts as a plain regex of whole words, on every real message and on odd edges."""
    nse = "|".join(pump_model.NSE_WORDS)
    crypto = "|".join(pump_model.CRYPTO_WORDS)
    nse_re = re.compile(rf"₹|(?<![a-z0-9])(?:{nse})(?![a-z0-9])")
    crypto_re = re.compile(rf"(?<![a-z0-9])(?:{crypto})(?![a-z0-9])")

    def plain(text):
        lower = text.lower()
        return "nse" if nse_re.search(lower) else "crypto" if crypto_re.search(lower) else None

    texts = labelled_load().frame["message"].tolist() + written_load()[0]["message"].tolist()
    texts += [m["message"] for m in _pump_channel(samples)] + _non_finance(samples)
    texts += ["₹120", "x₹y", "rs", "rs.", "_rs_", "mrs", "rs1", "1rs", "BTC", "btc2", "é btc", "btcé", "nse:tcs", ""]
    texts += ["coinbase", "bitcoins", "$BTC", "(eth)", "ETH/USDT", "binance_CEX", "CRORE", "İnse"]
    assert len(texts) > 3700
    assert [pump_model._domain_of(t) for t in texts] == [plain(t) for t in texts]


def test_the_auto_view_scores_each_message_as_its_domains_view_does():
    texts = [
        "IRFC CMP 148 target 165 SL 140 BTST, abhi buy karo",
        "Our Ultra Signal today is : BCCOIN You can buy and hold this coin long term for massive gains",
        "Accepting new VIP Memberships for the Kucoin pump signal ! Our VIP members made amazing profits",
    ]
    auto = PumpClassifier(view="auto")
    views = {v: PumpClassifier(view=v) for v in ("nse", "crypto")}
    guessed = domains_guess(texts)
    assert guessed == ["nse", "crypto", "crypto"]
    assert auto.detect_many(texts) == [views[d].detect(t) for t, d in zip(texts, guessed, strict=True)]
    # Told each message's domain (guessed over a whole file, say), it scores in that view.
    told = auto.detect_many(texts, domains=["nse", "nse", "nse"])
    assert told == views["nse"].detect_many(texts) != auto.detect_many(texts)
    assert auto.detect(texts[1]) == views["crypto"].detect(texts[1])
    with pytest.raises(ValueError, match="unknown domain 'forex'"):
        auto.detect_many(texts, domains=["nse", "forex", "nse"])
    with pytest.raises(ValueError, match="3 texts but 2 domains"):
        auto.detect_many(texts, domains=["nse", "nse"])
    with pytest.raises(ValueError, match="domains are for view 'auto'"):
        views["nse"].detect_many(texts, domains=guessed)
    with pytest.raises(ValueError, match="give no model"):
        PumpClassifier(view="auto", model=views["nse"].model)


def test_a_message_repeated_in_a_batch_gets_the_verdict_it_gets_alone():
    """Repeats are scored once (the speed of a batch of copies), but each copy keeps its own verdict: the
    forward of the same text from an unknown channel is a different message, and results are not shared."""
    classifier = PumpClassifier(known_channels=["NSE Official"])
    tip, news = "IRFC CMP 148 target 165 SL 140 BTST, abhi buy karo 🚀", "Infosys results on Friday"
    texts = [tip, news, tip, tip, news, tip, None, ""]
    metas = [None, None, {"forwarded_from": "Stock Gurus"}, {"forwarded_from": "nse official"}, None, {}, None, None]
    batch = classifier.detect_many(texts, metas)
    alone = [classifier.detect(text or "", meta) for text, meta in zip(texts, metas, strict=True)]
    assert [vars(r) for r in batch] == [vars(r) for r in alone]
    assert batch[2].rules[-1] == "forwarded_unknown_channel"
    assert batch[2].rule_score > batch[0].rule_score
    assert "forwarded_unknown_channel" not in batch[3].rules  # a known channel, whatever its case
    assert len({id(r) for r in batch}) == len(batch)
    assert len({id(r.rules) for r in batch}) == len(batch)
    batch[0].rules.append("edited")
    assert "edited" not in batch[5].rules
    with pytest.raises(ValueError, match="metadatas"):
        classifier.detect_many(texts, metas[:3])


def test_raw_posts_and_their_pre_tokenised_form_give_the_same_tokens():
    raw = "🚀 Pump - OG/USDT [Binance]\nPump Activity on OG/USDT 🟢🟢\n💰Price: $7.39 ➜ $7.93 (+7.31%) https://t.me/x @bob"
    labelled = "🚀 Pump - OG / USDT [ Binance_CEX ] Pump Activity on OG / USDT 🟢 🟢 💰 Price : $ 7.39 ➜ $ 7.93 ( +7.31 % ) UNKNOWN_URL @USER"
    assert pump_tokens(raw) == pump_tokens(labelled)
    assert pump_tokens(raw)[:6] == ["🚀", "pump", "-", "og", "/", "usdt"]
    assert pump_tokens("") == []
    assert pump_tokens(None) == []


def test_the_shipped_model_matches_scikit_learn_on_the_labelled_messages():
    """The JSON scorer reproduces the trained pipeline's probabilities (same features, same normalisation)."""
    labelled = labelled_load()
    texts = labelled.frame["message"].tolist()[:400]
    model = pump_model_load(view="crypto")  # the labelled channels' domain
    assert model.meta["trained_on"]["messages"] == 3504
    assert model.meta["trained_on"]["files"] == labelled.files
    x, r = model.features([pump_tokens(t) for t in texts], rules_fired(texts))
    probs = model.probabilities(x, r)
    assert probs.shape == (400, 6)
    predicted = [model.classes[i] for i in probs.argmax(axis=1)]
    truth = labelled.frame["label"].tolist()[:400]
    assert sum(p == t for p, t in zip(predicted, truth, strict=True)) / 400 >= 0.95  # seen in training


def test_the_nse_view_adds_the_nse_copies_to_the_shared_weights_and_the_crypto_view_is_the_shared_ones():
    texts = ["buy the coin now", "coin news today", "buy RELIANCE now target 3000", "RELIANCE results today"] * 3
    texts += ["pump in 5 minutes", "pump in 10 minutes"]
    labels = [2, 5, 2, 5] * 3 + [1, 1]
    nse = [0, 0, 1, 1] * 3 + [0, 0]
    _, data = model_fit(texts, labels, [[] for _ in texts], nse=nse)
    crypto, local = PumpModel.from_dict(data, view="crypto"), PumpModel.from_dict(data, view="nse")
    assert np.array_equal(crypto.term_weights, np.asarray(data["term_weights"]))
    only_crypto = crypto.terms["coin"]  # no NSE message has it: no NSE copy
    assert only_crypto not in data["nse"]["terms"]
    assert np.array_equal(local.term_weights[only_crypto], crypto.term_weights[only_crypto])
    shared = crypto.terms["buy"]
    assert not np.array_equal(local.term_weights[shared], crypto.term_weights[shared])
    assert np.allclose(local.intercept, crypto.intercept + np.asarray(data["nse"]["intercept"]))
    plain = model_fit(texts, labels, [[] for _ in texts])[1]  # no NSE messages: one set of weights
    assert "nse" not in plain
    assert np.array_equal(PumpModel.from_dict(plain, view="nse").term_weights, np.asarray(plain["term_weights"]))
    with pytest.raises(ValueError, match="unknown view"):
        PumpModel.from_dict(data, view="forex")


@pytest.mark.parametrize(
    ("text", "bare"),
    [
        ("UPGO", True),  # a coin release: a new coin's name, alone
        ("$ ZXQW", True),  # a symbol the model knows and a word it does not
        ("ZXQW 🚀", True),
        ("pump", False),  # a word the model knows
        ("ZXQW pump", False),
        ("ZXQW QWZX JQXZ", False),  # more than BARE_TOKENS tokens
        ("12345", False),  # a number is "0", which the model knows
        ("NES 才是永恒的游戏", False),  # coin names are in Latin letters (a non-finance sample)
        ("", False),
    ],
)
def test_a_message_of_one_unknown_word_has_the_shape_of_a_coin_release(text, bare):
    crypto = pump_model_load(view="crypto")
    assert crypto.shapes == ("unknown_bare_word",)
    assert crypto.shapes_on
    _, r = crypto.text_features([text], [[]])
    assert r[0, len(crypto.rules) :].tolist() == [float(bare)]
    _, r = crypto.features([pump_tokens(text)], [[]])  # the token-list path computes the same
    assert r[0, len(crypto.rules) :].tolist() == [float(bare)]


def test_the_coin_release_shape_counts_on_crypto_channels_and_never_in_nse_chatter():
    """A bare coin name is a release on a crypto channel (the labelled set: 80 of its 105 one-token messages);
    in NSE chatter a one-word reply the vocabulary lacks ("accha") is none, and the NSE view never computes it."""
    nse, crypto = pump_model_load(view="nse"), pump_model_load(view="crypto")
    assert not nse.shapes_on
    _, r = nse.text_features(["accha"], [[]])
    assert r[0, len(nse.rules) :].tolist() == [0.0]
    release = PumpClassifier(view="crypto").detect("ZXQW")
    assert release.model_score >= crypto.flag_at
    assert release.is_pump_signal
    assert PumpClassifier(view="nse").detect("accha").is_pump_signal is False
    # In a crypto channel's file the bare name is scored in the crypto view (the file's domain).
    auto = PumpClassifier(view="auto").detect_many(["The coin is : NEBL", "ZXQW", "Buy NEBL on Binance"])
    assert auto[1] == release


def test_the_shape_feature_is_trained_on_the_crypto_domain_only_and_scored_as_trained():
    texts = ["AAA", "BBB", "CCC", "buy now", "news today", "buy now", "news today", "accha", "theek"]
    labels = [2, 2, 2, 5, 5, 5, 5, 5, 5]
    nse = [0, 0, 0, 0, 0, 1, 1, 1, 1]
    _, data = model_fit(texts, labels, [[] for _ in texts], nse=nse)
    assert data["shapes"] == ["unknown_bare_word"]
    crypto, local = PumpModel.from_dict(data, view="crypto"), PumpModel.from_dict(data, view="nse")
    release, unrelated = crypto.classes.index(2), crypto.classes.index(5)
    weight = np.asarray(data["shape_weights"])[0]
    assert weight[release] > weight[unrelated]  # learnt from the three bare releases
    assert not np.any(data["nse"]["shape_weights"])  # no NSE message has it: no NSE copy
    # Scoring an unseen bare word: the crypto view computes the feature, the NSE view does not.
    assert crypto.probabilities(*crypto.features([["ddd"]], [[]]))[0, release] > 0.5
    _, r = local.features([["ddd"]], [[]])
    assert r[0, len(local.rules) :].tolist() == [0.0]


def test_the_crypto_view_flags_higher_than_the_nse_view():
    """Pump channels' own promotion (the labellers' "unrelated") scores just above 0.5 in the crypto view: it flags
    at CRYPTO_FLAG_AT, the NSE view (the pipeline's) at FLAG_AT."""
    from pipelines.enrich.pump_training import CRYPTO_FLAG_AT

    assert pump_model_load(view="crypto").flag_at == CRYPTO_FLAG_AT > pump.FLAG_AT
    assert pump_model_load(view="nse").flag_at == pump.FLAG_AT
    texts = labelled_load().frame["message"].tolist()
    results = PumpClassifier(view="crypto").detect_many(texts)
    between = [r for r in results if pump.FLAG_AT <= r.pump_score < CRYPTO_FLAG_AT]
    assert between  # ("YEEEEESSSS…", a shout the labellers call unrelated, at 0.63)
    assert all(r.is_pump_signal is (r.pump_score >= CRYPTO_FLAG_AT) for r in results)
    nse = PumpClassifier(view="nse").detect_many(texts)
    assert all(r.is_pump_signal is (r.pump_score >= pump.FLAG_AT) for r in nse)
    assert any(pump.FLAG_AT <= r.pump_score < CRYPTO_FLAG_AT for r in nse)


def test_a_stock_symbol_is_no_evidence_of_a_pump():
    """The written training messages name a few dozen stocks: the model must not learn that IRFC or
    COALINDIA is a pump and HDFCBANK is not (their symbols are left out of its vocabulary). Before, the
    same bullish sentence scored 0.50 for COALINDIA and 0.25 for HDFCBANK, and the simulator's ordinary
    chatter was flagged 80 times a day."""
    masked = pump_model_load().meta["masked_symbols"]
    assert {"irfc", "suzlon", "coalindia", "hdfcbank"} <= set(masked)
    assert not set(masked) & {t for term in pump_model_load().term_list for t in term.split(" ")}
    sentence = "${} looking strong today, breakout above ₹387.63 likely 📈"
    classifier = PumpClassifier()
    scores = {classifier.detect(sentence.format(s)).pump_score for s in ("COALINDIA", "HDFCBANK", "IRFC", "XYZ")}
    assert len(scores) == 1
    assert scores.pop() < 0.5


@pytest.mark.parametrize("text", INDIAN_PUMP)
def test_indian_stock_tips_are_flagged(text):
    result = PumpDetector().detect(clean_text(text))
    assert result.is_pump_signal, result


@pytest.mark.parametrize("text", INDIAN_NEUTRAL)
def test_plain_market_news_is_not_flagged(text):
    result = PumpDetector().detect(clean_text(text))
    assert not result.is_pump_signal, result


def test_it_reports_the_rules_that_fired_and_a_score_in_range():
    result = PumpDetector().detect("🚀🚀🚀 $XYZ target ₹500, 100% returns, buy now!")
    assert result.rules == ["guaranteed_returns", "target_price", "urgency", "hype_emoji"]
    assert result.pump_score == 0.8859  # 1 - (1 - 0.55)(1 - 0.35)(1 - 0.35)(1 - 0.4)
    assert result.is_pump_signal is True
    empty = PumpDetector().detect("")
    assert (empty.is_pump_signal, empty.pump_score, empty.rules) == (False, 0.0, [])


def test_a_forward_from_an_unknown_channel_adds_to_a_tip_but_never_flags_alone():
    detector = PumpDetector(known_channels=["NSE Official"])
    tip = "INFY target 1800 🚀"
    assert detector.detect(tip).is_pump_signal is False
    forwarded = detector.detect(tip, {"forwarded_from": "Stock Gurus 2.0"})
    assert forwarded.rules[-1] == "forwarded_unknown_channel"
    assert forwarded.pump_score > detector.detect(tip).pump_score
    assert detector.detect(tip, {"forwarded_from": "nse official"}).rules == ["target_price", "hype_emoji"]
    assert detector.detect("Results on Friday", {"forwarded_from": "Stock Gurus 2.0"}).rules == []


def _rules_on_whole_text(text: str) -> tuple[list[str], float]:
    """The rules as written, without the finders: every pattern run over the whole text, capitals counted by regex."""
    fired = []
    for name, weight, pattern in pump.RULES:
        if name in pump._COUNTED:
            found = {m.group(0).lower() for m in pattern.finditer(text)}
            if found:
                fired.append((name, 0.5 if len(found) >= 2 else weight))
        elif pattern.search(text) is not None:
            fired.append((name, weight))
    emoji = sum(1 for ch in text if ch in pump._HYPE_EMOJI)
    if emoji:
        words = len(text.split())
        fired.append(("hype_emoji", 0.15 if emoji == 1 else 0.3 if emoji == 2 else 0.5 if emoji >= words else 0.4))
    bare = re.sub(r"https?://\S+|[$#@][\w&\-]+", "", text)
    letters = len(pump._LETTER_RE.findall(bare))
    if letters >= 10 and len(pump._UPPER_RE.findall(bare)) >= 0.7 * letters:
        fired.append(("shouting", 0.25))
    keep = 1.0
    for _, weight in fired:
        keep *= 1.0 - weight
    return [name for name, _ in fired], round(1.0 - keep, 4)


def test_the_fast_paths_give_the_rules_verdicts_on_every_real_message(samples):
    """Finders, C-level emoji and capital counts are speed-ups only: same rules, same score as the plain patterns."""
    texts = labelled_load().frame["message"].tolist() + [m["message"] for m in _pump_channel(samples)]
    texts += _non_finance(samples) + INDIAN_NEUTRAL + INDIAN_PUMP
    with (Path(__file__).resolve().parents[1] / "data" / "written" / "indian_stock_tips.csv").open(newline="") as f:
        texts += [r["message"] for r in csv.DictReader(f)]
    texts += [t.upper() for t in texts[::4]]  # shouting, with emoji and Latin-1 capitals in the mix
    detector = PumpDetector()
    fast = [(r.rules, r.pump_score) for r in detector.detect_many(texts)]
    assert len(texts) == 4692
    assert fast == [_rules_on_whole_text(t) for t in texts]
    assert sum("shouting" in rules for rules, _ in fast) >= 800


# Fragments close to each rule's edges (words, figures, separators, case, apostrophes, Indian markers), so that
# random messages built from them probe where finders, gates and windows could part from the plain patterns.
_VOCABULARY = (
    "pump pumped pumping petrol|pump pump|and|dump pump-n-dump guaranteed guarantee|fund risk|free risk-free "
    "assured|returns double|your|money peak|profit max|earning maximum|gain 100%|returns 917% 107.06% gains "
    "returns|of|250% upside|up|to|40|% 10x 2.5x $10x 10|x 3x3 target tgt tp 520 target:|₹500 rs|45 "
    "upper|circuit UC circuit|after uc multibagger 5|bagger next|gem next|rocket jackpot sure|shot sure-shot "
    "operator|stock operators|buying operator-driven cmp btst intraday nse bse nifty ₹ rs.|480 sl|460 "
    "stop|loss stoploss abhi|buy|karo jaldi|kharido turant|le|lo paisa|double mauka chuko|mat loot|lo "
    "rocket|banega buy|now buy|as|fast last|chance before|it's|too|late hurry don't|miss missed|out "
    "act|fast limited|seats now|or|never be|ready|to|fly get|ready next|message|is 5|minutes|left 2|hrs|to|go "
    "10|days|until next|coin signal signals|processing hold|tight vip entry exit SL join|us paid|group "
    "premium|members money|team we|just|hit let's|go make|huge|money money|was|made huge|gains insane "
    "to|the|moon mooning fly flying gems going|to|be|massive profit|booked"
)
_WORDS = [w.replace("|", " ") for w in _VOCABULARY.split()]
_FRAGMENTS = _WORDS + [w.replace("'", "\u2019") for w in _WORDS if "'" in w]  # curly apostrophes too
_GLUE = [" ", " ", " ", "", ", ", ". ", "!", "-", "\n", " #", " $", " @", ":", "…", " 🚀", "%", "x", "1", "."]


def _random_messages(count: int = 4000) -> list[str]:
    """Seeded random messages built from the rules' own vocabulary and glue, in random case."""
    rng = random.Random(20261202)
    texts = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 14)):
            word = rng.choice(_FRAGMENTS)
            case = rng.random()
            word = word.upper() if case < 0.15 else word.title() if case < 0.3 else word
            parts.append(word + rng.choice(_GLUE))
        texts.append("".join(parts))
    return texts


def test_the_fast_paths_agree_with_the_plain_patterns_on_random_messages():
    """Random messages from the rules' own vocabulary (seeded): the finders must never part from the patterns."""
    texts = _random_messages()
    detector = PumpDetector()
    fast = [(r.rules, r.pump_score) for r in detector.detect_many(texts)]
    assert fast == [_rules_on_whole_text(t) for t in texts]
    assert sum(score >= pump.FLAG_AT for _, score in fast) > 1000  # the random messages do reach the rules


def test_every_finder_hit_is_a_place_the_start_strings_give(samples):
    """The Aho-Corasick pass must give every place a finder matches (each finder's start strings cover it)."""
    texts = labelled_load().frame["message"].tolist() + [m["message"] for m in _pump_channel(samples)]
    texts += INDIAN_NEUTRAL + INDIAN_PUMP + _random_messages(1000)
    hits = 0
    for text in texts:
        low = text.lower()
        places = pump._places(low)
        for name, finders in pump._FINDERS.items():
            for index, (finder, _, _) in enumerate(finders):
                matched = {at for at in range(len(low)) if finder.match(low, at)}
                assert matched <= set(places.get((name, index), ())), (name, index, text)
                hits += len(matched)
    assert hits > 20000


def _plain_features(model, texts):
    """The TF-IDF rows as written: each message's grams counted in a dict, looked up one by one."""
    rows = []
    for text in texts:
        counts: dict[int, int] = {}
        for gram in pump_grams(pump_tokens(text)):
            if gram in model.terms:
                counts[model.terms[gram]] = counts.get(model.terms[gram], 0) + 1
        row = {col: (1.0 + math.log(n)) * model.idf[col] for col, n in counts.items()}
        norm = math.sqrt(sum(v * v for v in row.values())) or 1.0
        rows.append({col: v / norm for col, v in row.items()})
    return rows


def test_the_vectorised_features_and_terms_match_the_plain_computation_on_every_labelled_message(samples):
    """Batch tokenising, the bigram bit table and the rounds of strongest terms are speed-ups only."""
    texts = labelled_load().frame["message"].tolist() + [m["message"] for m in _pump_channel(samples)]
    texts += _non_finance(samples) + INDIAN_NEUTRAL + INDIAN_PUMP
    texts += ["", "pump 12,5 ²³ ① \u2160x नमस्ते x_y 1.2.3 a\x1cb\u00a0c _ \ufe0f \u200d ١٢ 12² ٣.٤ 🚀🚀 $ 7.39"]
    texts += ["İSTANBUL_CEX pump 10x https://t.me/x @bob", "0 0 0 signal signal coin, now! (+7.31%)"]
    texts += [t.upper() for t in texts]
    model = pump_model_load()
    x, r = model.text_features(texts, [[] for _ in texts])
    assert x.shape == (7434, len(model.term_list))
    tokenised, _ = model.features([pump_tokens(t) for t in texts], [[] for _ in texts])
    assert (x != tokenised).nnz == 0
    for n, plain in enumerate(_plain_features(model, texts)):
        row = x.getrow(n)
        assert dict(zip(row.indices.tolist(), row.data.tolist(), strict=True)) == pytest.approx(plain, abs=1e-12)
    probs = model.probabilities(x, r)
    rows = list(range(0, len(texts), 3))
    unrelated = model.classes.index(pump_model.UNRELATED)
    for n, terms in zip(rows, model.strongest_terms(x, rows, probs), strict=True):
        best = max((c for c in range(6) if c != unrelated), key=lambda c: probs[n, c])
        row = x.getrow(n)
        pulls = [
            (-v * (model.term_weights[c, best] - model.term_weights[c, unrelated]), c)
            for c, v in zip(row.indices.tolist(), row.data.tolist(), strict=True)
        ]
        assert terms == [model.term_list[c] for pull, c in sorted(pulls)[:5] if pull < 0]
    assert sum(bool(t) for t in model.strongest_terms(x, rows, probs)) >= 1000


def test_a_batch_is_tokenised_as_each_message_alone():
    """``text_ids`` folds, lower-cases and splits a whole batch as one string: no message may lend another its
    links, case or words, and a text may hold the separator's own mark ("\\x00")."""
    texts = ["WWW.BINANCE.COM pump", "pump https://t.me/x now", "unknown_url signal", "/ unknown_url", "ΟΔΟΣ", "Σ"]
    texts += ["σΣ.", "İSTANBUL_CEX coin", "_DEX pump", "@bob_CEX", "", " ", "1,234.56 7.39 12²", "\u200d\ufe0f 🚀"]
    texts += [a + b for a in texts for b in texts]
    grams = pump_model_load().grams
    for batch in (texts, [*texts, "pump \x00 coin", "\x00", "signal\x01 \x00now", "a\x00b"]):
        ids, owner = grams.text_ids(batch)
        plain_ids, plain_owner = grams.token_ids([pump_tokens(t) for t in batch])
        assert (ids.tolist(), owner.tolist()) == (plain_ids.tolist(), plain_owner.tolist())


def test_the_link_pattern_finds_what_the_plain_one_does_on_random_strings():
    """``_URL_RE``'s case-sensitive first letter is a speed-up only: the links of the plain ignore-case pattern."""
    plain = re.compile(r"(?:https?://|www\.|t\.me/)\S+|\bUNKNOWN_URL\b", re.IGNORECASE)
    pieces = ["http", "HTTPS", "http\u017f", "://", "/", "www", "WwW", ".", "t.me/", "T.ME/", "unknown", "_url"]
    pieces += ["UN\u212aNOWN", "_URL", "_", "x", "u", "h", "t", "w", " ", "\n", "\x00", "1", "İ", "@", "🚀"]
    rng = random.Random(20261202)
    for _ in range(20000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        assert pump_model._URL_RE.sub(" url ", text) == plain.sub(" url ", text)
