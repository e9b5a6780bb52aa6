"""X and Telegram parsers on the real sample files, and on a small Telegram Desktop export."""

import json
from datetime import UTC, datetime

from pipelines.connectors import get_connector
from pipelines.parsers import parse

FETCHED = datetime(2024, 1, 1, tzinfo=UTC)


def read(samples, source, name):
    batches = list(get_connector(source).read_files([samples / name]))
    assert len(batches) == 1
    assert batches[0].error is None
    return batches[0].payload


# ---- X -----------------------------------------------------------------------------------------


def test_a_minimal_search_page_parses_all_ten_tweets_without_includes_or_entities(samples):
    result = parse("twitter", read(samples, "twitter", "twitter/search_recent_minimal.json"), fetched_at=FETCHED)
    assert (len(result.messages), result.errors, result.drift) == (10, [], [])
    first = result.messages[0]
    assert first["external_id"] == "1578522194770296832"
    assert first["author"] == ""
    # No created_at: the time comes from the tweet id (a snowflake), and metadata says so.
    assert first["timestamp"] == datetime(2022, 10, 7, 23, 6, 33, 414000, tzinfo=UTC)
    assert first["metadata"]["timestamp_source"] == "tweet_id"
    assert first["metadata"]["entities_from"] == "text"
    assert first["metadata"]["is_repost"] is True
    assert first["metadata"]["repost_of_author"] == "t6dr1ve"
    assert sum(m["metadata"]["is_repost"] for m in result.messages) == 3


def test_a_tweet_without_any_time_falls_back_to_the_fetch_time():
    page = {"data": [{"id": "20", "text": "$INFY old tweet"}], "meta": {"result_count": 1}}
    message = parse("twitter", page, fetched_at=FETCHED).messages[0]
    assert (message["timestamp"], message["metadata"]["timestamp_source"]) == (FETCHED, "fetched_at")
    assert message["metadata"]["cashtags"] == ["INFY"]
    assert parse("twitter", page).errors == ["twitter: tweet 20: no created_at and no time to fall back on"]


def test_twarc_json_lines_with_expansions_parse_users_and_cashtags(samples):
    result = parse("twitter", read(samples, "twitter", "twitter/tweet_lookup_cashtags.jsonl"))
    assert (len(result.messages), result.errors) == (1, [])  # includes.tweets are not posts of their own
    message = result.messages[0]
    assert message["author"] == "Trading22971312"
    assert message["views"] == 52
    assert message["timestamp"] == datetime(2023, 1, 5, 19, 8, 1, tzinfo=UTC)
    meta = message["metadata"]
    assert meta["cashtags"] == ["AMD", "BTC", "TWTR", "BA", "doge", "baba", "spy", "SPX", "NIO", "ETC", "META"]
    assert meta["hashtags"] == ["business", "NFT", "StockMarket", "option"]
    assert meta["urls"][0] == "http://go.trade-ideas.com/SHHb"
    assert (meta["lang"], meta["followers"], meta["is_repost"]) == ("en", 809, False)


def test_a_retweet_points_at_its_original():
    page = {
        "data": [
            {
                "id": "1611077073803841540",
                "text": "RT @pump: $INFY 🚀🚀",
                "author_id": "2",
                "created_at": "2023-01-05T19:09:00.000Z",
                "referenced_tweets": [{"type": "retweeted", "id": "1611077073803841538"}],
            }
        ],
        "includes": {
            "users": [{"id": "2", "username": "fan", "name": "Fan"}],
            "tweets": [{"id": "1611077073803841538", "text": "$INFY 🚀🚀 target ₹2000", "author_id": "1"}],
        },
        "meta": {"result_count": 1},
    }
    message = parse("twitter", page).messages[0]
    assert message["author"] == "fan"
    meta = message["metadata"]
    assert (meta["is_repost"], meta["repost_of"], meta["repost_of_author"]) == (True, "1611077073803841538", "pump")
    assert meta["original_text"] == "$INFY 🚀🚀 target ₹2000"


def test_x_error_answers_and_unknown_shapes_are_reported_not_raised():
    assert parse("twitter", {"title": "Unauthorized", "status": 401, "detail": "Unauthorized"}).errors == [
        "twitter: answer: the API answered an error: Unauthorized"
    ]
    assert parse("twitter", {"tweets": []}).drift == ["twitter: answer: unknown X API shape: keys tweets"]
    assert parse("twitter", {"data": [{"text": "no id"}]}).errors == [
        "twitter: a tweet without id or text (keys: text)"
    ]


# ---- Telegram ----------------------------------------------------------------------------------


def test_get_updates_channel_posts_parse_with_chat_and_message_ids(samples):
    result = parse("telegram", read(samples, "telegram", "telegram/getUpdates_channel_post.json"))
    assert (len(result.messages), result.errors, result.skipped) == (3, [], 0)
    assert [m["external_id"] for m in result.messages] == [
        "-1001241558182:18",
        "-1001241558182:19",
        "-1001241558182:20",
    ]
    first, last = result.messages[0], result.messages[2]
    assert (first["author"], first["channel"], first["timestamp"]) == (
        "Chunlei Wang",
        "VVV talk",
        datetime(2018, 6, 22, 8, 57, 42, tzinfo=UTC),
    )
    assert first["metadata"]["urls"] == ["https://nodeschool.io"]
    assert last["text"] == "NES 才是永恒的游戏"
    assert last["metadata"]["entities_from"] == "text"  # this post came without entities


def test_the_scraped_pump_channel_parses_all_174_messages(samples):
    result = parse("telegram", read(samples, "telegram", "telegram/pump_channel_messages.jsonl"))
    assert (len(result.messages), result.errors, result.skipped) == (174, [], 0)
    newest = result.messages[0]
    assert newest["external_id"] == "-1001094499146:6788"
    assert newest["timestamp"] == datetime(2024, 11, 6, 17, 1, 36, tzinfo=UTC)
    assert newest["views"] == 2058
    assert newest["text"].startswith("‼️ 2 DAYS UNTIL THE PUMP ON MEXC")


def test_the_labelled_csv_parses_its_58_messages_with_their_labels(samples):
    result = parse("telegram", read(samples, "telegram", "telegram/pump_channel_labelled.csv"))
    assert (len(result.messages), result.errors) == (58, [])
    assert result.messages[0]["external_id"] == "-1001094499146:6663"
    assert result.messages[0]["metadata"]["label"] == "3"
    labels = [m["metadata"]["label"] for m in result.messages]
    assert (labels.count("3"), labels.count("5")) == (29, 29)


def desktop_export():
    return {
        "name": "Multibagger Calls",
        "type": "public_channel",
        "id": 1600000003,
        "messages": [
            {"id": 1, "type": "service", "date": "2024-11-06T10:00:00", "date_unixtime": "1730867400", "action": "create_channel", "text": ""},
            {
                "id": 2,
                "type": "message",
                "date": "2024-11-06T10:05:00",
                "date_unixtime": "1730867700",
                "from": "Multibagger Calls",
                "from_id": "channel1600000003",
                "text": ["🚀🚀 ", {"type": "cashtag", "text": "$SUZLON"}, " upper circuit tomorrow, target ₹90 ", {"type": "hashtag", "text": "#multibagger"}],
                "text_entities": [
                    {"type": "plain", "text": "🚀🚀 "},
                    {"type": "cashtag", "text": "$SUZLON"},
                    {"type": "plain", "text": " upper circuit tomorrow, target ₹90 "},
                    {"type": "hashtag", "text": "#multibagger"},
                ],
            },
            {
                "id": 3,
                "type": "message",
                "date": "2024-11-06T10:07:00",
                "from": "Multibagger Calls",
                "forwarded_from": "Upper Circuit Club",
                "text": "Read this https://example.com/tip",
                "text_entities": [{"type": "plain", "text": "Read this "}, {"type": "link", "text": "https://example.com/tip"}],
            },
            {"id": 4, "type": "message", "date": "2024-11-06T10:08:00", "date_unixtime": "1730867880", "photo": "photos/1.jpg", "text": ""},
        ],
    }  # fmt: skip


def test_a_desktop_export_parses_text_lists_forwards_and_skips_service_messages(tmp_path):
    path = tmp_path / "result.json"
    path.write_text(json.dumps(desktop_export(), ensure_ascii=False))
    batch = next(get_connector("telegram").read_files([path]))
    result = parse("telegram", batch.payload)
    assert result.layout == "desktop-export"
    assert (len(result.messages), result.skipped, result.errors) == (2, 2, [])
    tip, forward = result.messages
    assert tip["external_id"] == "-1001600000003:2"
    assert tip["text"] == "🚀🚀 $SUZLON upper circuit tomorrow, target ₹90 #multibagger"
    assert tip["timestamp"] == datetime(2024, 11, 6, 4, 35, tzinfo=UTC)
    assert (tip["metadata"]["cashtags"], tip["metadata"]["hashtags"]) == (["SUZLON"], ["multibagger"])
    # No date_unixtime (older exports): local time, read in the platform's zone, and said so.
    assert forward["timestamp"] == datetime(2024, 11, 6, 4, 37, tzinfo=UTC)
    assert forward["metadata"]["timestamp_source"] == "date (assumed Asia/Kolkata)"
    assert (forward["metadata"]["is_repost"], forward["metadata"]["forwarded_from"]) == (True, "Upper Circuit Club")
    assert forward["metadata"]["urls"] == ["https://example.com/tip"]


def test_a_full_export_of_several_chats_parses_each(tmp_path):
    payload = {
        "about": "export",
        "chats": {"list": [desktop_export(), {**desktop_export(), "id": 1600000004, "name": "Other"}]},
    }
    result = parse("telegram", payload)
    assert [m["external_id"] for m in result.messages] == [
        "-1001600000003:2",
        "-1001600000003:3",
        "-1001600000004:2",
        "-1001600000004:3",
    ]


def test_bot_api_entities_are_cut_in_utf16_units_and_forwards_marked():
    text = "🚀🚀 $INFY upper circuit #multibagger"
    update = {
        "update_id": 7,
        "message": {
            "message_id": 99,
            "chat": {"id": -1005, "title": "Traders", "type": "supergroup"},
            "from": {"id": 1, "first_name": "Ravi", "username": "ravi"},
            "date": 1730900000,
            "text": text,
            "entities": [
                {"offset": 5, "length": 5, "type": "cashtag"},
                {"offset": 25, "length": 12, "type": "hashtag"},
            ],
            "forward_origin": {
                "type": "channel",
                "chat": {"id": -1003, "title": "Pump Calls"},
                "message_id": 41,
                "date": 1,
            },
        },
    }
    result = parse("telegram", {"ok": True, "result": [update, {"update_id": 8, "my_chat_member": {}}]})
    assert result.skipped == 1
    meta = result.messages[0]["metadata"]
    assert (meta["cashtags"], meta["hashtags"]) == (["INFY"], ["multibagger"])
    assert (meta["is_repost"], meta["forwarded_from"], meta["repost_of"]) == (True, "Pump Calls", "-1003:41")
    assert result.messages[0]["author"] == "ravi"


def test_telegram_errors_and_unknown_shapes_are_reported_not_raised():
    assert parse("telegram", {"ok": False, "error_code": 401, "description": "Unauthorized"}).errors == [
        "telegram: getUpdates answered an error: 401 Unauthorized"
    ]
    assert parse("telegram", {"hello": 1}).drift[0].startswith("telegram: unknown Telegram shape (hello)")
    bad = parse("telegram", [{"id": 1, "date": "yesterday", "message": "x", "channel_id": 3}])
    assert bad.errors == [
        "telegram: scraped messages item 1 (message 1): date 'yesterday': Invalid isoformat string: 'yesterday'"
    ]


# ---- one odd record does not cost its page ---------------------------------------------------------


def test_a_get_updates_page_reads_its_other_posts_when_one_has_fields_of_odd_types(samples):
    page = read(samples, "telegram", "telegram/getUpdates_channel_post.json")
    page["result"][0]["channel_post"]["chat"] = "VVV talk"  # a text where the Bot API sends an object
    page["result"][1]["channel_post"]["sender_chat"] = ["x"]
    page["result"][1]["channel_post"]["reply_to_message"] = 7
    result = parse("telegram", page)
    # The first has no chat id to name it by: refused with the reason; the second reads without those fields.
    assert [m["external_id"] for m in result.messages] == ["-1001241558182:19", "-1001241558182:20"]
    assert result.errors == [
        f"telegram: update {page['result'][0]['update_id']}: a channel_post without chat id, message id or date"
    ]
    assert result.messages[0]["metadata"].get("reply_to") is None


def test_a_record_that_fails_unforeseen_is_its_own_error_and_the_page_goes_on(samples, monkeypatch):
    from pipelines.parsers import telegram

    def entity_metadata(text, entities):
        if "NES" in text:
            raise KeyError("something no upstream sends")
        return real(text, entities)

    real = telegram._entity_metadata
    monkeypatch.setattr(telegram, "_entity_metadata", entity_metadata)
    result = parse("telegram", read(samples, "telegram", "telegram/getUpdates_channel_post.json"))
    assert [m["external_id"] for m in result.messages] == ["-1001241558182:18", "-1001241558182:19"]
    assert result.errors == ["telegram: update 3 of 3: could not be read: KeyError: 'something no upstream sends'"]
    # The same for the other shapes: a scraped list, an export, X pages and X JSON lines.
    scraped = [
        {"id": n, "date": "2024-11-06 17:01:36 UTC", "message": t, "channel_id": 3} for n, t in ((1, "ok"), (2, "NES"))
    ]
    assert len(parse("telegram", scraped).messages) == 1
    assert (
        parse("telegram", scraped)
        .errors[0]
        .startswith("telegram: scraped messages item 2: could not be read: KeyError")
    )
    messages = [
        {"id": n, "type": "message", "date_unixtime": "1730867736", "text": t} for n, t in ((1, "ok"), (2, "NES"))
    ]
    export = parse("telegram", {"name": "Tips", "type": "public_channel", "id": 5, "messages": messages})
    assert [m["external_id"] for m in export.messages] == ["-1005:1"]
    assert export.errors[0].startswith("telegram: export of Tips: message 2 of 2: could not be read: KeyError")


def test_a_tweet_id_too_large_for_a_snowflake_falls_back_to_the_fetch_time():
    page = {"data": [{"id": 10**30, "text": "$INFY to the moon"}, {"id": "1578522194770296832", "text": "$TCS"}]}
    result = parse("twitter", page, fetched_at=FETCHED)
    assert result.errors == []
    huge, normal = result.messages
    assert (huge["timestamp"], huge["metadata"]["timestamp_source"]) == (FETCHED, "fetched_at")
    assert normal["metadata"]["timestamp_source"] == "tweet_id"


def test_an_x_page_reads_its_other_tweets_when_one_fails_unforeseen(monkeypatch):
    from pipelines.parsers import twitter

    def references(tweet, text, originals, metadata):
        if "$TCS" in text:
            raise TypeError("an odd field")
        return real(tweet, text, originals, metadata)

    real = twitter._references
    monkeypatch.setattr(twitter, "_references", references)
    page = {"data": [{"id": "1", "text": "$TCS up"}, {"id": "2", "text": "$INFY up"}], "meta": {"result_count": 2}}
    result = parse("twitter", page, fetched_at=FETCHED)
    assert [m["external_id"] for m in result.messages] == ["2"]
    assert result.errors == ["twitter: answer: tweet 1: could not be read: TypeError: an odd field"]
    lines = parse("twitter", [page, {"data": [{"id": "3", "text": "$TCS again"}]}], fetched_at=FETCHED)
    assert [m["external_id"] for m in lines.messages] == ["2"]
    # JSON lines: the failing lines said once per kind of failure, as any other failure of a line.
    assert lines.errors == ["twitter: 2 of 2 lines: could not be read (first at line 1: keys data, meta)"]
