"""The X and Telegram connectors against a local HTTP server speaking their APIs."""

import json
import time

import pytest

from pipelines.connectors import ConnectorError, connector_state_get, connector_state_set, get_connector
from pipelines.connectors.twitter import cashtag_queries
from pipelines.models import ConnectorState, TelegramChannel
from pipelines.parsers import parse
from tests.pipelines.conftest import Reply

SEARCH = "/2/tweets/search/recent"
UPDATES = "/bot123456:TEST-token/getUpdates"
# The telegram connector reads the followed channels from the database.
pytestmark = pytest.mark.django_db


def tweet_page(ids, next_token=None):
    body = {
        "data": [{"id": str(i), "text": f"$INFY to the moon {i}", "edit_history_tweet_ids": [str(i)]} for i in ids],
        "meta": {"newest_id": str(ids[0]), "oldest_id": str(ids[-1]), "result_count": len(ids)},
    }
    if next_token:
        body["meta"]["next_token"] = next_token
    return body


def run(source, **kwargs):
    options = kwargs.pop("options", {})
    batches, error = [], None
    try:
        for batch in get_connector(source, **options).fetch(**kwargs):
            batches.append(batch)
    except ConnectorError as exc:
        error = exc
    return batches, error


# ---- X API v2 ----------------------------------------------------------------------------------


def test_cashtag_queries_stay_under_the_length_limit_and_search_symbols_x_cannot_tag_as_phrases():
    symbols = [f"SYM{n:03d}" for n in range(100)] + ["M&M", "BAJAJ-AUTO"]
    queries = cashtag_queries(symbols, max_chars=120)
    assert all(len(q) <= 120 for q in queries)
    assert sum(q.count("$") for q in queries) == 100
    # X cashtags are letters, digits and _: the others are phrases, in a query of their own after the
    # cashtags' (whose texts, the keys of their since_id, are as before).
    assert queries[-1] == '("M&M" OR "BAJAJ-AUTO")'
    assert queries[:-1] == cashtag_queries(symbols[:100], max_chars=120)
    assert queries[0].startswith("($SYM000 OR $SYM001")


def test_it_pages_with_next_token_and_keeps_the_newest_id_as_since_id(upstream):
    upstream.script(SEARCH, Reply(200, json=tweet_page([30, 29], "tok2")), Reply(200, json=tweet_page([28])))
    batches, error = run("twitter", tickers=["INFY", "TCS"], since={"since_id": {"($INFY OR $TCS)": "7"}})
    assert error is None
    calls = upstream.calls(SEARCH)
    assert len(calls) == 2
    assert calls[0].headers["Authorization"] == "Bearer test-bearer-token"
    assert calls[0].query["query"] == "($INFY OR $TCS)"
    assert calls[0].query["since_id"] == "7"
    assert calls[0].query["max_results"] == "100"
    assert "next_token" not in calls[0].query
    assert calls[1].query["next_token"] == "tok2"
    assert calls[1].query["since_id"] == "7"
    # since_id moves only with the last page: a run stopped after page 1 must fetch page 2 again.
    assert batches[0].meta["state"] == {"since_id": {"($INFY OR $TCS)": "7"}}
    assert batches[1].meta["state"] == {"since_id": {"($INFY OR $TCS)": "30"}}
    assert [len(parse("twitter", b.payload, fetched_at=b.fetched_at).messages) for b in batches] == [2, 1]


def test_a_newest_id_that_is_no_tweet_id_leaves_since_id_where_it_was(upstream):
    page = tweet_page([43, 42])
    page["meta"]["newest_id"] = "43; DROP"  # not an id X writes: sent back as since_id on every later run
    upstream.script(SEARCH, Reply(200, json=page))
    batches, error = run("twitter", tickers=["INFY"], since={"since_id": {"($INFY)": "41"}})
    assert error is None
    assert batches[0].meta["state"] == {"since_id": {"($INFY)": "41"}}
    assert len(parse("twitter", batches[0].payload, fetched_at=batches[0].fetched_at).messages) == 2


def test_a_run_without_state_resumes_from_the_since_id_the_last_run_saved(upstream):
    connector_state_set("twitter", {"since_id": {"($INFY)": "41"}})
    upstream.script(SEARCH, Reply(200, json=tweet_page([43, 42])))
    batches, error = run("twitter", tickers=["INFY"])
    assert error is None
    assert upstream.calls(SEARCH)[0].query["since_id"] == "41"
    assert batches[-1].meta["state"] == {"since_id": {"($INFY)": "43"}}


def test_a_first_run_asks_without_since_id(upstream):
    upstream.script(SEARCH, Reply(200, json=tweet_page([5])))
    batches, error = run("twitter", tickers=["INFY"])
    assert error is None
    assert "since_id" not in upstream.calls(SEARCH)[0].query
    assert batches[-1].meta["state"] == {"since_id": {"($INFY)": "5"}}
    assert not ConnectorState.objects.filter(source="twitter").exists()


def test_paging_stops_at_the_cap(upstream):
    upstream.script(SEARCH, Reply(200, json=tweet_page([50, 49], "more")))
    batches, error = run("twitter", tickers=["INFY"], options={"max_pages": 2})
    assert error is None
    assert len(upstream.calls(SEARCH)) == 2
    assert batches[-1].meta["capped"] is True
    assert batches[-1].meta["state"] == {"since_id": {"($INFY)": "50"}}


def test_an_empty_search_page_is_not_an_error(upstream):
    upstream.script(SEARCH, Reply(200, json={"meta": {"result_count": 0}}))
    batches, error = run("twitter", tickers=["INFY"])
    assert error is None
    assert batches[0].meta["records"] == 0
    result = parse("twitter", batches[0].payload)
    assert (result.messages, result.errors, result.drift) == ([], [], [])


def test_a_429_waits_for_the_rate_limit_reset(upstream):
    # Reset is in whole epoch seconds: two seconds ahead means a wait of more than one second.
    reset = str(int(time.time()) + 2)
    upstream.script(
        SEARCH,
        Reply(
            429,
            json={"title": "Too Many Requests"},
            headers={"x-rate-limit-remaining": "0", "x-rate-limit-reset": reset},
        ),
        Reply(200, json=tweet_page([5])),
    )
    batches, error = run("twitter", tickers=["INFY"])
    assert error is None
    assert len(upstream.calls(SEARCH)) == 2
    # The second call went out once the window had reset (timed at the client: the local server may note
    # a first call late).
    assert time.time() >= int(reset)
    assert batches[0].payload == tweet_page([5])


def test_a_spent_rate_limit_window_far_away_stops_the_run_cleanly(upstream):
    reset = str(int(time.time()) + 900)
    upstream.script(
        SEARCH,
        Reply(200, json=tweet_page([9], "next"), headers={"x-rate-limit-remaining": "0", "x-rate-limit-reset": reset}),
    )
    batches, error = run("twitter", tickers=["INFY"])
    assert len(upstream.calls(SEARCH)) == 1
    assert len(batches) == 1
    assert "rate limit spent" in error.message


def test_bad_credentials_stop_at_once_and_keep_the_answer(upstream):
    body = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
    upstream.script(SEARCH, Reply(401, json=body))
    batches, error = run("twitter", tickers=["INFY", "TCS"])
    assert len(upstream.calls(SEARCH)) == 1
    assert batches[0].payload == body
    assert error.message == "twitter: HTTP 401 (application/json): Unauthorized"


def test_a_503_from_x_is_retried(upstream):
    upstream.script(SEARCH, Reply(503, body="over capacity"), Reply(200, json=tweet_page([3])))
    batches, error = run("twitter", tickers=["INFY"])
    assert error is None
    assert len(upstream.calls(SEARCH)) == 2
    assert batches[0].payload == tweet_page([3])


def test_no_bearer_token_means_no_call(upstream, settings):
    settings.TWITTER_BEARER_TOKEN = ""
    batches, error = run("twitter", tickers=["INFY"])
    assert (batches, upstream.requests) == ([], [])
    assert error.message == "twitter: TWITTER_BEARER_TOKEN is not set"


# ---- Telegram Bot API --------------------------------------------------------------------------


def update(update_id, chat_id=-1001, text="hello", username="pumpchan"):
    return {
        "update_id": update_id,
        "channel_post": {
            "message_id": update_id * 10,
            "chat": {"id": chat_id, "title": "Chan", "username": username, "type": "channel"},
            "date": 1730900000 + update_id,
            "text": text,
        },
    }


def test_it_reads_updates_page_after_page_and_moves_the_offset(upstream):
    upstream.script(
        UPDATES,
        Reply(200, json={"ok": True, "result": [update(11), update(12)]}),
        Reply(200, json={"ok": True, "result": [update(13)]}),
    )
    batches, error = run("telegram", since={"offset": 11}, options={"limit": 2})
    assert error is None
    calls = upstream.calls(UPDATES)
    assert [c.query["offset"] for c in calls] == ["11", "13"]
    assert calls[0].query["allowed_updates"] == '["message","channel_post","edited_message","edited_channel_post"]'
    assert [b.meta["state"] for b in batches] == [{"offset": 13}, {"offset": 14}]
    assert [m["external_id"] for m in parse("telegram", batches[0].payload).messages] == ["-1001:110", "-1001:120"]


def test_the_bot_token_never_shows_in_urls_or_errors(upstream):
    upstream.script(UPDATES, Reply(401, json={"ok": False, "error_code": 401, "description": "Unauthorized"}))
    batches, error = run("telegram")
    assert len(upstream.calls(UPDATES)) == 1
    assert error.message == "telegram: getUpdates failed: HTTP 401 (application/json): Unauthorized"
    assert "TEST-token" not in batches[0].meta["url"]
    assert "<redacted>" in batches[0].meta["url"]
    assert batches[0].payload == {"ok": False, "error_code": 401, "description": "Unauthorized"}


def test_a_conflict_is_not_retried(upstream):
    body = {
        "ok": False,
        "error_code": 409,
        "description": "Conflict: can't use getUpdates method while webhook is active",
    }
    upstream.script(UPDATES, Reply(409, json=body))
    _, error = run("telegram")
    assert len(upstream.calls(UPDATES)) == 1
    assert "webhook is active" in error.message


def test_truncated_json_from_telegram_is_kept_as_text(upstream):
    upstream.script(UPDATES, Reply(200, body='{"ok":true,"result":[{"update_id":1', content_type="application/json"))
    batches, error = run("telegram")
    assert batches[0].payload["format"] == "text"
    assert batches[0].payload["body"] == '{"ok":true,"result":[{"update_id":1'
    assert "state" not in batches[0].meta  # a bad answer never moves the saved offset
    assert "malformed or truncated JSON" in error.message


@pytest.mark.django_db
def test_only_the_channels_followed_in_admin_are_kept(upstream):
    TelegramChannel.objects.create(chat_id=-1001, title="Followed")
    TelegramChannel.objects.create(username="quietchan", title="Paused", active=False)
    upstream.script(
        UPDATES,
        Reply(
            200,
            json={
                "ok": True,
                "result": [update(1), update(2, chat_id=-1002, username="quietchan"), update(3, -1003, username="x")],
            },
        ),
        Reply(200, json={"ok": True, "result": []}),
    )
    batches, error = run("telegram", options={"limit": 3})
    assert error is None
    assert [u["update_id"] for u in batches[0].payload["result"]] == [1]
    assert batches[0].meta["skipped_updates"] == 2
    assert batches[0].meta["state"] == {"offset": 4}


@pytest.mark.django_db
def test_connector_state_round_trips_through_the_database():
    assert connector_state_get("telegram") == {}
    connector_state_set("telegram", {"offset": 14})
    connector_state_set("telegram", {"offset": 15})
    assert connector_state_get("telegram") == {"offset": 15}
    assert ConnectorState.objects.count() == 1


# ---- files -------------------------------------------------------------------------------------


def test_twarc_json_lines_become_one_list_payload(samples):
    batch = next(get_connector("twitter").read_files([samples / "twitter/tweet_lookup_cashtags.jsonl"]))
    line = json.loads((samples / "twitter/tweet_lookup_cashtags.jsonl").read_text())
    assert batch.payload == line  # a one-line file is a plain JSON document
    assert batch.error is None


def test_a_file_that_is_not_json_is_kept_as_text_with_an_error(tmp_path):
    path = tmp_path / "page.json"
    path.write_text("<html>rate limited</html>")
    batches = list(get_connector("twitter").read_files([path]))
    assert batches[0].payload["body"] == "<html>rate limited</html>"
    assert batches[0].error.startswith("page.json: not JSON")


def test_json_lines_with_a_bad_line_keep_the_good_ones(tmp_path):
    path = tmp_path / "messages.jsonl"
    good = {"id": 1, "date": "2024-11-06 17:01:36 UTC", "channel_id": 5, "message": "hi", "views": 3, "image": None}
    path.write_text(json.dumps(good) + "\n{broken\n" + json.dumps({**good, "id": 2}) + "\n")
    batch = next(get_connector("telegram").read_files([path]))
    assert batch.error == "messages.jsonl: 1 of 3 lines are not JSON"
    result = parse("telegram", batch.payload)
    assert [m["external_id"] for m in result.messages] == ["-1005:1", "-1005:2"]
    assert result.errors == [
        "telegram: scraped messages item 2: not a scraped message (has body, error, format, line; needs id, date, message)"
    ]


@pytest.mark.parametrize(
    ("source", "value", "said"),
    [
        ("twitter", {"since_id": "1897162513242390533"}, "since_id: an object of search query to the newest tweet id"),
        ("twitter", {"since_id": {"($INFY)": "latest"}}, "since_id of '($INFY)': a tweet id (digits); got \"latest\""),
        ("telegram", {"offset": "15"}, 'offset: a whole number (the last update_id + 1); got "15"'),
        (
            "telegram",
            {"preview": {"nseupdates": None}},
            "preview of 'nseupdates': a post id (a whole number); got null",
        ),
    ],
    ids=["twitter-since-text", "twitter-id-word", "telegram-offset-text", "telegram-preview-null"],
)
def test_a_saved_state_no_connector_wrote_fails_the_fetch_in_one_line(upstream, source, value, said):
    # Edited past admin's check (the shell, SQL): before, the connector raised from inside (dict("1897…"),
    # "15" + 1) or sent Telegram an offset of text.
    ConnectorState.objects.create(source=source, value=value)
    batches, error = run(source, tickers=["INFY"])
    assert batches == []
    assert upstream.requests == []  # nothing asked upstream from a state it cannot resume from
    assert str(error).startswith(f"{source}: the state saved in admin (Connector states) cannot be resumed from (")
    assert said in str(error)
    assert str(error).endswith("): fix or delete it")
