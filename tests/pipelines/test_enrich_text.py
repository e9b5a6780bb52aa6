"""clean_text and dedupe_reposts."""

from pipelines.enrich import clean_text, dedupe_reposts


def test_it_decodes_html_entities_once_or_twice():
    assert clean_text("M&amp;M up 3% &gt; Nifty") == "M&M up 3% > Nifty"
    assert clean_text("F&amp;amp;O expiry") == "F&O expiry"
    assert clean_text("AT&T") == "AT&T"


def test_it_normalises_whitespace_and_keeps_paragraphs():
    text = "  RELIANCE\u00a0\u00a0closes\tflat \r\n\r\n\r\n\r\nvolumes   light  \n  "
    assert clean_text(text) == "RELIANCE closes flat\n\nvolumes light"


def test_it_removes_control_and_invisible_characters():
    assert clean_text("TCS\x00 up\x07 \u200bnow\ufeff\u202e") == "TCS up now"


def test_it_keeps_emoji_intact_including_joined_sequences():
    family = "👨\u200d👩\u200d👧"
    text = f"‼️ $TCS 🚀🚀 {family} 🇮🇳"
    assert clean_text(text) == text


def test_it_returns_empty_text_for_none_and_is_idempotent():
    assert clean_text(None) == ""
    once = clean_text(" a &amp; b \n\n\n c ")
    assert clean_text(once) == once == "a & b\n\nc"


def _msg(external_id, text, **meta):
    return {"platform": "twitter", "external_id": external_id, "text": text, "metadata": meta}


def test_it_collapses_retweets_onto_their_original_in_the_batch():
    original = _msg("1", "$TCS breakout above 4000")
    messages = [
        original,
        _msg("2", "RT @a: $TCS breakout above 4000", is_repost=True, repost_of="1"),
        _msg("3", "$INFY flat"),
        _msg("4", "RT @a: $TCS breakout above 4000", is_repost=True, repost_of="1"),
    ]
    result = dedupe_reposts(messages)
    assert [m["external_id"] for m in result] == ["1", "3"]
    assert result[0]["metadata"] == {"repost_count": 2, "repost_ids": ["2", "4"]}
    assert original["metadata"] == {}  # the input is not modified


def test_a_repost_whose_original_is_absent_stands_for_it():
    messages = [
        _msg("7", "RT @a: hello", is_repost=True, repost_of="100"),
        _msg("8", "RT @a: hello", is_repost=True, repost_of="100"),
        _msg("9", "RT @b: x", is_repost=True, repost_of="7"),
    ]
    result = dedupe_reposts(messages)
    assert [m["external_id"] for m in result] == ["7"]
    assert result[0]["metadata"]["repost_count"] == 3
    assert result[0]["metadata"]["repost_ids"] == ["7", "8", "9"]


def test_retweets_without_ids_collapse_by_author_and_text(samples):
    import json

    tweets = json.loads((samples / "twitter" / "search_recent_minimal.json").read_text())["data"]
    messages = [{"platform": "twitter", "external_id": t["id"], "text": t["text"], "metadata": {}} for t in tweets]
    result = dedupe_reposts(messages)
    assert len(messages) == 10
    assert len(result) == 8  # three identical "RT @t6dr1ve: …" become one
    kept = [m for m in result if m["text"].startswith("RT @t6dr1ve")]
    assert len(kept) == 1
    assert kept[0]["external_id"] == "1578522194770296832"
    assert kept[0]["metadata"]["repost_count"] == 3


def test_telegram_forwards_of_one_post_collapse():
    messages = [
        {
            "platform": "telegram",
            "external_id": "-100:1",
            "text": "Buy $X",
            "metadata": {"is_repost": True, "forwarded_from": "Tips"},
        },
        {
            "platform": "telegram",
            "external_id": "-200:5",
            "text": "Buy $X",
            "metadata": {"is_repost": True, "forwarded_from": "tips"},
        },
        {"platform": "telegram", "external_id": "-200:6", "text": "Buy $X", "metadata": {}},
    ]
    result = dedupe_reposts(messages)
    assert [m["external_id"] for m in result] == ["-100:1", "-200:6"]


def test_a_batch_without_reposts_is_returned_unchanged():
    messages = [_msg("1", "a"), _msg("2", "b")]
    assert dedupe_reposts(messages) == messages
