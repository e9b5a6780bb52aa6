"""X/Twitter API v1.1 files (StockNet, twarc 1: one tweet per line; search pages ``{"statuses": […]}``)
parse to the same rows as API v2, and a file of failing lines is reported in one line."""

import json
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from pipelines.connectors import get_connector
from pipelines.models import PipelineRun
from pipelines.parsers import parse
from warehouse.models import SocialMention

V1_LINES = "written/x_v1.1_stocknet_tweets.jsonl"
V1_PAGE = "written/x_v1.1_search_page.json"


@pytest.fixture
def data(samples):
    return samples.parent


def read(path):
    [batch] = get_connector("twitter").read_files([path])
    assert batch.error is None
    return batch.payload


def test_a_v1_file_of_one_tweet_per_line_parses_every_tweet(data):
    result = parse("twitter", read(data / V1_LINES))
    assert (result.layout, result.errors, result.drift) == ("x-api-v1.1", [], [])
    first, retweet, reply = result.messages
    assert {k: v for k, v in first.items() if k != "metadata"} == {
        "platform": "twitter",
        "external_id": "418814367036620800",
        "text": "$INFY looks strong into results, target 3600 #nifty",
        "author": "dalal_trader",
        "channel": "",
        "views": None,
        "timestamp": datetime(2014, 1, 2, 18, 23, 9, tzinfo=UTC),  # Thu Jan 02 18:23:09 +0000 2014
    }
    assert first["metadata"] == {
        "timestamp_source": "created_at", "cashtags": ["INFY"], "hashtags": ["nifty"], "urls": [], "mentions": [],
        "entities_from": "api", "is_repost": False, "lang": "en", "author_id": "1199876543",
        "author_name": "Dalal Trader", "verified": False, "followers": 1520,
        "metrics": {"retweet_count": 3, "reply_count": 0, "like_count": 7, "quote_count": 0},
    }  # fmt: skip
    meta = retweet["metadata"]
    assert (meta["is_repost"], meta["repost_of"], meta["repost_of_author"]) == (
        True,
        "418814367036620800",
        "dalal_trader",
    )
    assert meta["original_text"] == first["text"]
    # Extended mode: full_text, the cashtag as typed, the t.co link expanded, the reply kept.
    assert reply["text"].startswith("@NSEIndia Q3 numbers out: $TCS beats on margins, $reliance flat.")
    assert reply["metadata"]["cashtags"] == ["TCS", "reliance"]
    assert reply["metadata"]["urls"] == ["https://example.com/tcs-q3-2014"]
    assert (reply["metadata"]["mentions"], reply["metadata"]["reply_to"]) == (["NSEIndia"], "421600000000000000")
    assert (reply["author"], reply["metadata"]["verified"]) == ("MarketsAndMore", True)


def test_a_v1_tweet_and_the_same_tweet_from_api_v2_make_the_same_message(data):
    v1 = json.loads((data / V1_LINES).read_text().splitlines()[0])
    v2 = {
        "data": [
            {
                "id": "418814367036620800",
                "text": v1["text"],
                "created_at": "2014-01-02T18:23:09.000Z",
                "author_id": "1199876543",
                "lang": "en",
                "entities": {
                    "cashtags": [{"start": 0, "end": 5, "tag": "INFY"}],
                    "hashtags": [{"start": 45, "end": 51, "tag": "nifty"}],
                },
                "public_metrics": {"retweet_count": 3, "reply_count": 0, "like_count": 7, "quote_count": 0},
            }
        ],
        "includes": {
            "users": [
                {
                    "id": "1199876543",
                    "username": "dalal_trader",
                    "name": "Dalal Trader",
                    "verified": False,
                    "public_metrics": {"followers_count": 1520},
                }
            ]
        },
    }
    from_v2 = parse("twitter", v2).messages
    from_v2[0]["metadata"]["urls"] = []  # v2 leaves out empty entity lists; v1.1 writes them
    from_v2[0]["metadata"]["mentions"] = []
    assert parse("twitter", v1).messages == from_v2


def test_a_v1_search_page_parses_its_statuses(data):
    result = parse("twitter", read(data / V1_PAGE))
    assert result.layout == "x-api-v1.1"
    assert [m["external_id"] for m in result.messages] == ["421602001122334720", "418814367036620800"]
    assert result.errors == result.drift == []


def test_a_file_of_lines_in_no_known_shape_is_one_line_not_one_message_per_line(tmp_path):
    path = tmp_path / "odd.jsonl"
    path.write_text("".join(json.dumps({"tweet": f"$INFY {n}", "when": "today"}) + "\n" for n in range(33)))
    result = parse("twitter", read(path))
    assert result.messages == []
    assert result.errors == []
    assert result.drift == ["twitter: 33 of 33 lines: unknown X API shape (first at line 1: keys tweet, when)"]


def test_good_lines_load_and_the_failing_ones_are_said_once_per_kind(data, tmp_path):
    lines = (data / V1_LINES).read_text().splitlines()
    odd = json.dumps({"tweet": "x"})
    bad_time = json.dumps({**json.loads(lines[0]), "id_str": "9", "created_at": "2014-01-02"})
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join([lines[0], odd, bad_time, odd, lines[2]]) + "\n")
    result = parse("twitter", read(path))
    assert [m["external_id"] for m in result.messages] == ["418814367036620800", "421602001122334720"]
    assert result.drift == ["twitter: 2 of 5 lines: unknown X API shape (first at line 2: keys tweet)"]
    assert len(result.errors) == 1
    assert result.errors[0].startswith("twitter: 1 of 5 lines: created_at … is not like … (first at line 3: keys ")


@pytest.mark.django_db
def test_run_pipeline_loads_a_stocknet_file_and_refuses_an_unknown_one_in_one_line(data, tmp_path):
    call_command("run_pipeline", "twitter", "--file", str(data / V1_LINES))
    run = PipelineRun.objects.latest("pk")
    assert run.status == PipelineRun.Status.SUCCESS
    assert sorted(SocialMention.objects.values_list("external_id", "ticker")) == [
        ("418814367036620800", "INFY"),
        ("421602001122334720", "RELIANCE"),
        ("421602001122334720", "TCS"),
    ]
    assert run.duplicates == 1  # the retweet is folded into its original
    odd = tmp_path / "odd.jsonl"
    odd.write_text("".join(json.dumps({"tweet": f"$INFY {n}"}) + "\n" for n in range(33)))
    with pytest.raises(CommandError) as caught:
        call_command("run_pipeline", "twitter", "--file", str(odd))
    line = "twitter: 33 of 33 lines: unknown X API shape (first at line 1: keys tweet)"
    failed = PipelineRun.objects.latest("pk")
    assert str(caught.value) == f"run {failed.pk} failed: {line}"
    assert failed.error == line
