"""Public Telegram channels read through their web preview (t.me/s/<channel>), with no credentials:
the page parser, the connector against a local server speaking the preview's HTML, and whole runs on
the simulated upstream (tickers, sentiment and pump signals on the posts)."""

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from lake.models import LakeObject
from lake.services import lake_object_read
from pipelines.connectors import ConnectorError, connector_state_get, get_connector
from pipelines.models import PipelineRun, TelegramChannel
from pipelines.parsers import parse
from pipelines.parsers.telegram_web import views_count
from pipelines.simulator.chatter import CHANNELS
from quality.models import QuarantinedRecord
from tests.pipelines.conftest import Reply
from warehouse.models import SocialMention

pytestmark = pytest.mark.django_db
PAGE = "written/tme_s_nse_tips_page.html"
PRIVATE = "written/tme_private_channel_page.html"
CHANNEL = "/s/nse_tips_demo"


@pytest.fixture
def page_html(samples):
    return (samples.parent / PAGE).read_text()


def preview(body, **extra):
    return {"format": "html", "kind": "tme-preview", "channel": "nse_tips_demo", "chat_id": None, "body": body, **extra}


def older_page(page_html):
    """The page before the fixture's: the fixture's posts renumbered 1101…, with no older link."""
    return page_html.replace("nse_tips_demo/12", "nse_tips_demo/11").replace('data-before="1201"', "")


# ---- the page parser ---------------------------------------------------------------------------


def test_a_preview_page_gives_each_posts_id_time_text_views_and_forward(page_html):
    result = parse("telegram", preview(page_html))
    assert (result.layout, result.errors, result.drift) == ("tme-preview", [], [])
    assert result.skipped == 2  # the service message and the photo without a caption
    note, forward, album, reply = result.messages
    assert {k: v for k, v in note.items() if k != "metadata"} == {
        "platform": "telegram",
        "external_id": "@nse_tips_demo:1202",
        # <br/> is a newline, entities are decoded, links keep their text
        "text": (
            'Morning note\n\n#NIFTY opens flat. $INFY & $TCS results this week; "hold" both, don\'t chase '
            "<1% gaps.\nCharts: example.com/charts/infy"
        ),
        "author": "",
        "channel": "nse_tips_demo",
        "views": 1200,  # "1.2K"
        "timestamp": datetime(2024, 11, 6, 3, 45, 10, tzinfo=UTC),
    }
    assert note["metadata"]["cashtags"] == ["INFY", "TCS"]
    assert note["metadata"]["hashtags"] == ["NIFTY"]
    assert note["metadata"]["urls"] == ["https://example.com/charts/infy"]
    assert note["metadata"]["post_url"] == "https://t.me/nse_tips_demo/1202"
    assert note["metadata"]["is_repost"] is False
    # emoji kept; the forward names its source and points at the original post
    assert forward["text"] == "🚀🚀 #IRFC UPPER CIRCUIT coming, target ₹250 💰\nBuy before it's too late!!"
    assert forward["views"] == 15300
    assert (forward["metadata"]["forwarded_from"], forward["metadata"]["repost_of"]) == (
        "Multibagger Calls 🚀",
        "@multibagger_calls_demo:877",
    )
    assert forward["metadata"]["is_repost"] is True
    # an album's two nested text divs are read once, whole
    assert album["text"] == "Weekly chart pack: $RELIANCE breakout above ₹1,450"
    assert (album["views"], album["metadata"]["edited"]) == (2_500_000, True)
    # a reply's quoted text is not part of the reply; the signature is its author
    assert (reply["text"], reply["author"], reply["views"]) == ("Update: $INFY beat estimates 👍", "Ravi K", 987)


def test_a_known_chat_id_gives_the_bot_apis_ids_and_stored_posts_are_skipped(page_html):
    result = parse("telegram", preview(page_html, chat_id=-1001999999999, after=1203))
    assert [m["external_id"] for m in result.messages] == ["-1001999999999:1204", "-1001999999999:1206"]
    assert result.skipped == 4


def test_a_private_or_missing_channel_page_is_one_error_not_an_empty_success(samples):
    result = parse("telegram", preview((samples.parent / PRIVATE).read_text()))
    assert result.messages == []
    assert result.errors == [
        "telegram: t.me/s/nse_tips_demo: no public posts (Telegram shows a contact page: a private or missing channel)"
    ]


@pytest.mark.parametrize(
    ("text", "count"), [("987", 987), ("1.2K", 1200), ("15.3K", 15300), ("2.5M", 2500000), ("1,234", 1234), ("", None)]
)
def test_view_counts_read_like_telegram_writes_them(text, count):
    assert views_count(text) == count


def test_an_unreadable_view_count_is_no_count_and_the_page_reads_on(page_html, monkeypatch):
    # "1.2.3K" and more digits than a float holds raised, and the whole page went to quarantine.
    assert (views_count("1.2.3K"), views_count("9" * 400 + ".5K"), views_count("9" * 30)) == (None, None, 10**30 - 1)
    views = re.findall(r'<span class="tgme_widget_message_views">[^<]*</span>', page_html)
    odd = page_html.replace(views[0], '<span class="tgme_widget_message_views">1.2.3K</span>', 1)
    odd = odd.replace(views[1], f'<span class="tgme_widget_message_views">{"9" * 400}.5K</span>', 1)
    whole, result = parse("telegram", preview(page_html)), parse("telegram", preview(odd))
    assert result.errors == []
    assert [m["external_id"] for m in result.messages] == [m["external_id"] for m in whole.messages]
    assert [m["views"] for m in result.messages][:2] == [None, None]
    # And a post that fails in a way nobody foresaw is that post's error; the others read.
    from pipelines.parsers import telegram_web

    real = telegram_web._post_metadata

    def post_metadata(post, text, channel, post_id, chat_id):
        if post_id == int(whole.messages[0]["external_id"].rsplit(":", 1)[1]):
            raise LookupError("odd markup")
        return real(post, text, channel, post_id, chat_id)

    monkeypatch.setattr(telegram_web, "_post_metadata", post_metadata)
    guarded = parse("telegram", preview(page_html))
    assert len(guarded.messages) == len(whole.messages) - 1
    assert guarded.errors[0].endswith(": could not be read: LookupError: odd markup")


# ---- the connector against a local t.me -------------------------------------------------------


@pytest.fixture
def tme(upstream, settings):
    settings.TELEGRAM_BOT_TOKEN = ""  # the preview needs no credentials
    settings.TELEGRAM_PREVIEW_FIRST_PAGES = 2
    TelegramChannel.objects.create(username="nse_tips_demo", title="NSE Tips Demo")
    return upstream


def fetch():
    batches, error = [], None
    try:
        for batch in get_connector("telegram").fetch():
            batches.append(batch)
    except ConnectorError as exc:
        error = exc
    return batches, error


def test_a_first_run_reads_back_n_pages_and_stores_each_page_whole(tme, page_html):
    tme.script(CHANNEL, Reply(200, body=page_html, content_type="text/html"), Reply(200, body=older_page(page_html)))
    batches, error = fetch()
    assert error is None
    assert [(r.path, r.query) for r in tme.requests] == [(CHANNEL, {}), (CHANNEL, {"before": "1201"})]
    assert tme.requests[0].headers["User-Agent"].startswith("Mozilla/5.0")
    assert [b.payload["body"] for b in batches] == [page_html, older_page(page_html)]
    assert [b.payload["before"] for b in batches] == [None, 1201]
    assert [b.meta.get("state") for b in batches] == [None, {"preview": {"nse_tips_demo": 1207}}]
    assert [len(parse("telegram", b.payload).messages) for b in batches] == [4, 4]


def test_a_later_run_resumes_after_the_newest_post_it_stored(tme, page_html):
    from pipelines.connectors import connector_state_set

    connector_state_set("telegram", {"preview": {"nse_tips_demo": 1203}})
    tme.script(CHANNEL, Reply(200, body=page_html, content_type="text/html"))
    batches, error = fetch()
    assert error is None
    assert len(tme.requests) == 1  # the page reaches back past post 1203: no older page asked for
    assert batches[0].payload["after"] == 1203
    assert [m["external_id"] for m in parse("telegram", batches[0].payload).messages] == [
        "@nse_tips_demo:1204",
        "@nse_tips_demo:1206",
    ]
    assert batches[0].meta["state"] == {"preview": {"nse_tips_demo": 1207}}


def test_a_429_is_honoured(tme, page_html):
    tme.script(
        CHANNEL,
        Reply(429, body="Too Many Requests", headers={"Retry-After": "1"}),
        Reply(200, body=page_html, content_type="text/html"),
        Reply(200, body=older_page(page_html)),
    )
    started = time.monotonic()
    batches, error = fetch()
    elapsed = time.monotonic() - started
    assert error is None
    assert len(tme.calls(CHANNEL)) == 3
    assert elapsed >= 1.0  # timed at the client: the local server may note a first call late
    assert len(batches) == 2


def test_a_429_asking_too_long_stops_every_channel_in_one_line(tme, page_html):
    TelegramChannel.objects.create(username="second_demo", title="Second")
    tme.script(CHANNEL, Reply(429, body="Too Many Requests", headers={"Retry-After": "3600"}))
    batches, error = fetch()
    assert [r.path for r in tme.requests] == [CHANNEL]  # the second channel is not asked
    assert error.message == (
        "telegram: t.me/s/nse_tips_demo: HTTP 429 (text/plain): upstream asks to wait 3600 s, more than the 5 s "
        "cap; not retried"
    )
    assert batches[0].payload["status"] == 429


def test_a_private_channel_is_a_one_line_error_and_its_page_is_kept(tme, samples):
    private = (samples.parent / PRIVATE).read_text()
    tme.script(CHANNEL, Reply(200, body=private, content_type="text/html"))
    batches, error = fetch()
    line = "t.me/s/nse_tips_demo: no public posts (Telegram shows a contact page: a private or missing channel)"
    assert error.message == "telegram: " + line
    assert [b.error for b in batches] == [line]
    assert batches[0].payload["body"] == private
    assert connector_state_get("telegram") == {}


def test_a_username_stored_past_admin_is_never_made_into_a_path(tme, page_html):
    # The username becomes t.me/s/<username>: one with "/", "?" or ".." would have asked another address.
    TelegramChannel.objects.create(username="../bot123/getUpdates?offset=1", title="Typo")
    tme.script(CHANNEL, Reply(200, body=page_html, content_type="text/html"), Reply(200, body=older_page(page_html)))
    batches, error = fetch()
    assert {r.path for r in tme.requests} == {CHANNEL}  # the listed good channel is still read
    assert len(batches) == 2
    assert error.message == (
        "telegram: a listed channel's username is not a Telegram username: 4 to 32 letters, digits and "
        "underscores, starting with a letter: fix it in admin"
    )


def test_without_a_bot_token_or_a_public_channel_there_is_nothing_to_read(upstream, settings):
    settings.TELEGRAM_BOT_TOKEN = ""
    batches, error = fetch()
    assert (batches, upstream.requests) == ([], [])
    assert error.message.startswith("telegram: TELEGRAM_BOT_TOKEN is not set, and no public channel is listed")


# ---- whole runs on the simulated upstream -------------------------------------------------------


def test_a_run_stores_every_page_and_scores_the_posts_like_any_other(sim, settings):
    from pipelines.simulator import world

    market, _ = world()
    day = datetime(2025, 3, 5).date()
    campaign = market.campaigns(day)[0]
    settings.SIMULATOR_NOW = (campaign.starts_at() + timedelta(minutes=40)).isoformat()
    settings.TELEGRAM_PREVIEW_FIRST_PAGES = 1
    for username in ("multibagger_calls_india", "upper_circuit_club", "dalal_street_news"):
        TelegramChannel.objects.create(username=username, title=username)
    call_command("run_pipeline", "telegram")
    run = PipelineRun.objects.latest("pk")
    assert run.status == PipelineRun.Status.SUCCESS, run.error
    pages = [
        lake_object_read(o)["data"]
        for o in LakeObject.objects.filter(run_id=run.pk).order_by("pk")
        if lake_object_read(o)["data"].get("kind") == "tme-preview"
    ]
    assert sorted(p["channel"] for p in pages) == ["dalal_street_news", "multibagger_calls_india", "upper_circuit_club"]
    assert all(p["body"].startswith("<!DOCTYPE html>") for p in pages)
    web = SocialMention.objects.filter(external_id__startswith="@")
    assert web.exists()
    pump = web.filter(ticker=campaign.symbol, channel__in=["multibagger_calls_india", "upper_circuit_club"])
    assert pump.filter(is_pump_signal=True).exists()
    # The newer posts came through the Bot API too (the simulated bot is in these channels): each post
    # read from a web page was scored exactly as its Bot API copy.
    chat_ids = {name: chat_id for chat_id, (name, _, _) in CHANNELS.items()}
    scored = {}
    for row in SocialMention.objects.filter(platform="telegram"):
        scored[row.external_id, row.ticker] = (row.sentiment, row.is_pump_signal, round(row.pump_score, 6))
    pairs = [
        (
            scored[m.external_id, m.ticker],
            scored.get((f"{chat_ids[m.channel]}:{m.external_id.split(':')[1]}", m.ticker)),
        )
        for m in web
    ]
    both = [(web_score, bot_score) for web_score, bot_score in pairs if bot_score is not None]
    assert len(both) >= 10  # the simulated bot reaches back an hour, the pages further
    assert [p for p in both if p[0] != p[1]] == []
    state = connector_state_get("telegram")
    assert set(state["preview"]) == {"multibagger_calls_india", "upper_circuit_club", "dalal_street_news"}
    # the next run resumes: nothing is counted twice
    call_command("run_pipeline", "telegram")
    again = PipelineRun.objects.latest("pk")
    assert again.inserted == 0


def test_a_saved_preview_page_runs_through_run_pipeline_file(samples):
    call_command("run_pipeline", "telegram", "--file", str(samples.parent / PAGE))
    run = PipelineRun.objects.latest("pk")
    assert (run.status, run.fetched, run.stored) == (PipelineRun.Status.SUCCESS, 5, 1)  # 4 posts, INFY and TCS in one
    assert sorted(SocialMention.objects.values_list("external_id", "ticker")) == [
        ("@nse_tips_demo:1202", "INFY"),
        ("@nse_tips_demo:1202", "TCS"),
        ("@nse_tips_demo:1204", "RELIANCE"),
        ("@nse_tips_demo:1206", "INFY"),
    ]
    assert QuarantinedRecord.objects.filter(run_id=run.pk).count() == 1  # #IRFC: not in the ticker master
    stored = lake_object_read(LakeObject.objects.get(run_id=run.pk))["data"]
    assert stored["body"] == (samples.parent / PAGE).read_text()
