"""PumpDetector on real messages: a real crypto pump group against non-finance posts and market news."""

import csv
import json

import pytest

from pipelines.enrich import PumpDetector, clean_text

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
    flagged = [detector.detect(clean_text(t)).is_pump_signal for t in texts]
    return sum(flagged) / len(flagged)


def test_most_of_the_real_pump_channel_is_flagged_and_almost_none_of_the_others(samples, record_property):
    detector = PumpDetector()
    channel = _pump_channel(samples)
    labels = _labels(samples)
    non_finance = _non_finance(samples)
    negatives = non_finance + INDIAN_NEUTRAL
    assert (len(channel), len(labels), len(non_finance), len(negatives)) == (174, 58, 14, 29)

    pump_rate = _rate(detector, [m["message"] for m in channel])
    group_posts = [m["message"] for m in channel if m["id"] not in labels]  # the group's own posts
    results = [m["message"] for m in channel if labels.get(m["id"]) == "3"]  # "pump result" announcements
    news = [m["message"] for m in channel if labels.get(m["id"]) == "5"]  # crypto news reposted there
    group_rate, results_rate, news_rate = (_rate(detector, t) for t in (group_posts, results, news))
    negative_rate = _rate(detector, negatives)
    non_finance_rate = _rate(detector, non_finance)

    rates = {
        "pump channel, all 174": round(pump_rate, 3),
        "pump channel, the group's 116 own posts": round(group_rate, 3),
        "pump channel, 29 labelled pump results (3)": round(results_rate, 3),
        "pump channel, 29 labelled other/news (5)": round(news_rate, 3),
        "non-finance samples (14)": round(non_finance_rate, 3),
        "non-finance + Indian market news (29)": round(negative_rate, 3),
    }
    for name, value in rates.items():
        record_property(name, value)
    print("\npump detection rates:", json.dumps(rates, indent=1, ensure_ascii=False))

    # Most of the channel is flagged; what is not is its news reposts and bare coin names ("VTS").
    assert pump_rate >= 0.75
    assert group_rate >= 0.85
    assert results_rate == 1.0
    assert news_rate <= 0.1
    assert non_finance_rate == 0.0
    assert negative_rate <= 0.1


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
