"""enrich_messages: parsed messages → warehouse social records, one per (message, ticker)."""

import pytest

from pipelines.enrich import (
    EnrichResult,
    PumpDetector,
    SentimentScorer,
    TickerEntry,
    TickerMatcher,
    dedupe_reposts,
    enrich_messages,
)
from warehouse.schema import SOCIAL

# Every column of the social table but the load time the loader stamps.
SOCIAL_KEYS = set(SOCIAL.stored) - {"processed_at"}


@pytest.fixture(scope="module")
def tools():
    matcher = TickerMatcher(
        [TickerEntry("TCS", "Tata Consultancy Services Ltd."), TickerEntry("INFY", "Infosys Ltd.", ("Infosys",))]
    )
    return matcher, SentimentScorer(), PumpDetector()


def _message(external_id, text, **extra):
    message = {
        "platform": "telegram",
        "external_id": external_id,
        "text": text,
        "author": "Tips Desk",
        "channel": "Stock Gurus",
        "views": 1200,
        "timestamp": "2026-05-19T10:15:00+05:30",
        "metadata": {"cashtags": [], "hashtags": [], "is_repost": False, "lang": "en"},
    }
    message.update(extra)
    return message


def test_it_makes_one_record_per_ticker_with_the_warehouse_keys(tools):
    messages = [
        _message("-100:1", "🚀 $TCS &amp; Infosys: target ₹5000, buy now!!", lake_object_id=7),
        _message("-100:2", "Good morning, markets open at 9:15"),
        _message("-100:3", "$BTC $TCS closes flat"),
    ]
    result = enrich_messages(messages, *tools)
    assert isinstance(result, EnrichResult)
    assert isinstance(result, list)
    assert [(r["external_id"], r["ticker"]) for r in result] == [
        ("-100:1", "TCS"),
        ("-100:1", "INFY"),
        ("-100:3", "TCS"),
    ]
    assert all(set(r) == SOCIAL_KEYS for r in result)
    first = result[0]
    assert first["text"] == "🚀 $TCS & Infosys: target ₹5000, buy now!!"
    assert first["sentiment"] == "positive"
    assert first["is_pump_signal"] is True
    assert first["pump_score"] == result[1]["pump_score"] > 0.5
    assert (first["channel"], first["author"], first["views"], first["lake_object_id"]) == (
        "Stock Gurus",
        "Tips Desk",
        1200,
        7,
    )
    assert first["timestamp"] == "2026-05-19T10:15:00+05:30"
    assert first["metadata"] == {
        "cashtags": [],
        "hashtags": [],
        "is_repost": False,
        "lang": "en",
        "tickers": ["TCS", "INFY"],
        "pump_rules": ["target_price", "urgency", "hype_emoji"],
        "ticker_via": "cashtag",
    }
    assert result[1]["metadata"]["ticker_via"] == "name"
    assert result[2]["metadata"]["unknown_cashtags"] == ["BTC"]
    assert (result[2]["sentiment"], result[2]["is_pump_signal"], result[2]["pump_score"]) == ("neutral", False, 0.0)


def test_messages_without_a_known_ticker_are_returned_apart_not_as_errors(tools):
    messages = [_message("1", "Good morning&nbsp;traders"), _message("2", "$BTC to 100k"), _message("3", "$INFY up")]
    result = enrich_messages(messages, *tools)
    assert [r["ticker"] for r in result] == ["INFY"]
    assert (result.messages, result.matched_count, result.unmatched_count) == (3, 1, 2)
    assert [m["text"] for m in result.unmatched] == ["Good morning\u00a0traders".replace("\u00a0", " "), "$BTC to 100k"]
    assert result.unknown_cashtags == {"BTC": 1}


def test_an_empty_batch_gives_nothing(tools):
    result = enrich_messages([], *tools)
    assert (list(result), result.unmatched, result.messages, result.unknown_cashtags) == ([], [], 0, {})


def test_dedupe_then_enrich_loads_an_original_once_with_its_repost_count(tools):
    messages = [
        _message("1", "$TCS breakout", platform="twitter"),
        _message("2", "RT @x: $TCS breakout", platform="twitter", metadata={"is_repost": True, "repost_of": "1"}),
    ]
    result = enrich_messages(dedupe_reposts(messages), *tools)
    assert [(r["external_id"], r["ticker"], r["metadata"]["repost_count"]) for r in result] == [("1", "TCS", 1)]


@pytest.mark.django_db
def test_the_real_pump_channel_names_no_ticker_of_the_seeded_master(samples, tools):
    import json

    lines = (samples / "telegram" / "pump_channel_messages.jsonl").read_text().splitlines()
    messages = [_message(str(m["id"]), m["message"]) for m in map(json.loads, lines)]
    result = enrich_messages(messages, TickerMatcher.from_master(), *tools[1:])
    assert (len(result), result.unmatched_count) == (0, 174)  # crypto coins are not NSE tickers
    assert result.unknown_cashtags == {"EOS": 1}
