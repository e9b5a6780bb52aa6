"""The simulated upstream: deterministic, seedable, shaped like the real APIs, with pump campaigns."""

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
import requests

from pipelines.connectors import ConnectorError, get_connector
from pipelines.parsers import parse
from pipelines.simulator import Chatter, SimMarket, quote_payloads, social_payloads
from pipelines.simulator.chatter import minute_index
from pipelines.simulator.market import DUMP, HYPE, IST, MINUTES, SPIKE
from pipelines.simulator.universe import NIFTY50, builtin_universe

DAY = date(2025, 3, 5)
WHEN = datetime(2025, 3, 5, 11, 20, tzinfo=IST)


@pytest.fixture
def market():
    return SimMarket(seed=42, tickers=builtin_universe())


def test_the_builtin_universe_is_fifty_real_nifty_symbols():
    symbols = [t.symbol for t in builtin_universe()]
    assert len(symbols) == len(set(symbols)) == 50
    assert {"RELIANCE", "TCS", "INFY", "HDFCBANK", "M&M", "BAJAJ-AUTO"} <= set(symbols)
    assert all(name for _, name, _ in NIFTY50)


def test_the_same_seed_answers_the_same_in_every_instance(market):
    other = SimMarket(seed=42, tickers=builtin_universe())
    assert market.quote("INFY", WHEN) == other.quote("INFY", WHEN)
    assert market.bhavcopy_udiff(DAY) == other.bhavcopy_udiff(DAY)
    index = minute_index(WHEN.astimezone(UTC))
    assert Chatter(market).tweets_at(index) == Chatter(other).tweets_at(index)
    assert Chatter(market).posts_at(index) == Chatter(other).posts_at(index)


def test_a_minute_answers_the_same_whenever_it_is_asked(market):
    first = market.quote("TCS", WHEN + timedelta(seconds=5))
    market.quote("TCS", WHEN + timedelta(minutes=30))  # time moves on
    assert market.quote("TCS", WHEN + timedelta(seconds=40)) == first


def test_another_seed_is_another_market(market):
    other = SimMarket(seed=7, tickers=builtin_universe())
    assert market.quote("INFY", WHEN)["priceInfo"]["lastPrice"] != other.quote("INFY", WHEN)["priceInfo"]["lastPrice"]


def test_prices_walk_minute_by_minute_and_the_close_links_days(market):
    path = market.day_path("RELIANCE", DAY)
    assert path.prices.shape == path.volumes.shape == (MINUTES,)
    assert np.all(path.volumes > 0)
    assert path.prev_close == market.day_path("RELIANCE", date(2025, 3, 4)).close
    after_close = market.quote("RELIANCE", datetime(2025, 3, 5, 20, 0, tzinfo=IST))
    assert after_close["priceInfo"]["lastPrice"] == path.close
    assert after_close["metadata"]["lastUpdateTime"] == "05-Mar-2025 16:00:00"
    weekend = market.quote("RELIANCE", datetime(2025, 3, 8, 12, 0, tzinfo=IST))
    assert weekend["metadata"]["lastUpdateTime"] == "07-Mar-2025 16:00:00"


@pytest.mark.parametrize(
    ("clock", "stamp"),
    [
        ((15, 30), "05-Mar-2025 15:30:00"),  # closed, the closing price not struck yet
        ((15, 36), "05-Mar-2025 15:30:00"),
        ((15, 59), "05-Mar-2025 15:30:00"),
        ((16, 0), "05-Mar-2025 16:00:00"),
    ],
)
def test_a_quote_after_the_close_is_never_stamped_later_than_it_is_asked_for(market, clock, stamp):
    when = datetime(2025, 3, 5, *clock, tzinfo=IST)
    answer = market.symbol_data("RELIANCE", when)["equityResponse"][0]
    assert answer["lastUpdateTime"] == stamp
    assert datetime.strptime(stamp, "%d-%b-%Y %H:%M:%S").replace(tzinfo=IST) <= when


def test_a_simulated_quote_has_the_classic_shape_and_parses(market, samples):
    import json

    real = json.loads((samples / "nse/quote-equity_INFY_2023-10-16.json").read_text())
    quote = market.quote("INFY", WHEN)
    assert set(real) <= set(quote)
    assert set(real["priceInfo"]) <= set(quote["priceInfo"])
    assert isinstance(quote["priceInfo"]["lowerCP"], str)
    result = parse("nse_api", quote)
    assert (result.drift, result.errors) == ([], [])
    row = result.stock_rows[0]
    assert row["timestamp"] == datetime(2025, 3, 5, 5, 51, tzinfo=UTC)  # 11:21 IST: the end of the 11:20 minute
    assert row["volume"] == int(market.day_path("INFY", DAY).cum_volume[125])
    assert market.quote("NOSUCH", WHEN) == {}


def test_each_trading_day_has_a_pump_campaign_shaped_hype_spike_dump(market):
    (campaign,) = market.campaigns(DAY)
    assert market.campaigns(date(2025, 3, 8)) == []  # a Saturday
    path = market.day_path(campaign.symbol, DAY)
    start = float(path.prices[campaign.start])
    peak = float(path.prices[campaign.spike_start : campaign.dump_start].max())
    after = float(path.prices[campaign.end - 1])
    assert peak > start * (1 + campaign.gain * 0.6)
    assert after < start
    hype_volume = path.volumes[campaign.start - 20 : campaign.start].mean()
    spike_volume = path.volumes[campaign.spike_start : campaign.dump_start].mean()
    assert spike_volume > 4 * hype_volume
    assert campaign.end - campaign.start == HYPE + SPIKE + DUMP


def test_every_simulated_post_names_its_ticker_in_a_form_the_matcher_finds(market):
    """A post whose ticker the matcher cannot find is quarantined (ticker_required): LT's news was, as "LT"."""
    from pipelines.enrich import TickerEntry, TickerMatcher
    from pipelines.simulator import chatter

    # The master as the simulated bhavcopy teaches it: each symbol with its name in capitals.
    matcher = TickerMatcher([TickerEntry(t.symbol, t.name.upper()) for t in market.tickers])
    templates = [*chatter.POSITIVE, *chatter.NEUTRAL, *chatter.NEGATIVE, *chatter.HYPE, *chatter.SPIKE, *chatter.DUMP]
    for template in [*templates, *chatter.NEWS]:
        for ticker in market.tickers:
            text = chatter._fill(template, market, ticker.symbol, WHEN)
            assert ticker.symbol in matcher.find(text), text
    news = chatter._fill(chatter.NEWS[1], market, "LT", WHEN)
    assert news.startswith("Larsen & Toubro: block deal")


def test_hype_comes_first_from_a_few_accounts_then_chatter_sours(market):
    (campaign,) = market.campaigns(DAY)
    chatter = Chatter(market)
    begin = campaign.starts_at().astimezone(UTC)
    hype = chatter.tweets_between(begin, begin + timedelta(minutes=HYPE))
    pumpers = [t for t in hype if t["_user"] in campaign.accounts]
    assert len(pumpers) >= 100
    assert all(f"${campaign.symbol}" in t["text"] for t in pumpers)
    assert all(any(w in t["text"] for w in ("MULTIBAGGER", "upper circuit", "target ₹", "Guaranteed")) for t in pumpers)
    rockets = [t for t in hype if "🚀" in t["text"] and "referenced_tweets" not in t]
    assert {t["_user"] for t in rockets} == set(campaign.accounts)
    assert sum("referenced_tweets" in t for t in hype) >= 50  # retweets of the hype
    dump_start = begin + timedelta(minutes=HYPE + SPIKE)
    dump = chatter.tweets_between(dump_start, dump_start + timedelta(minutes=DUMP))
    sour = [t for t in dump if f"${campaign.symbol}" in t["text"]]
    assert sour
    assert not any("🚀" in t["text"] for t in sour)
    # Telegram: pump channels post the tip and people forward it into the group.
    updates = [u for i in range(minute_index(begin), minute_index(begin) + HYPE) for u in chatter.posts_at(i)]
    assert any(u.get("channel_post", {}).get("chat", {}).get("id") in campaign.channels for u in updates)
    assert any("forward_origin" in u.get("message", {}) for u in updates)


@pytest.mark.django_db
def test_the_connectors_talk_to_the_simulator_through_their_http_client(sim):
    quotes = list(get_connector("nse_api").fetch(tickers=["INFY", "TCS"]))
    assert [b.simulated for b in quotes] == [True]
    assert [r["ticker"] for r in parse("nse_api", quotes[0].payload).stock_rows] == ["INFY", "TCS"]

    bhav = list(get_connector("nse_bhavcopy").fetch(since={"date": "2025-03-04"}))
    assert bhav[0].payload["filename"] == "BhavCopy_NSE_CM_0_0_0_20250304_F_0000.csv"
    assert parse("nse_bhavcopy", bhav[0].payload).layout == "udiff"
    full = get_connector("nse_bhavcopy")
    answer = full.client.get("https://nsearchives.nseindia.com/products/content/sec_bhavdata_full_04032025.csv")
    assert b"\r\n" in answer.body
    assert (
        parse("nse_bhavcopy", {"format": "csv", "filename": "f.csv", "content": answer.text()}).layout
        == "sec_bhavdata_full"
    )

    tweets = list(get_connector("twitter").fetch(tickers=["INFY", "TCS", "RELIANCE"]))
    assert tweets
    assert all(b.simulated and b.error is None for b in tweets)
    state = tweets[-1].meta["state"]["since_id"]["($INFY OR $TCS OR $RELIANCE)"]
    again = list(get_connector("twitter").fetch(tickers=["INFY", "TCS", "RELIANCE"], since=tweets[-1].meta["state"]))
    assert again[0].payload == {"meta": {"result_count": 0}}  # since_id: nothing is fetched twice
    assert int(state) > 0

    updates = list(get_connector("telegram").fetch())
    messages = parse("telegram", updates[0].payload).messages
    assert messages
    offset = updates[-1].meta["state"]["offset"]
    assert list(get_connector("telegram").fetch(since={"offset": offset})) == []


@pytest.mark.django_db
def test_the_simulated_nse_denies_the_retired_quote_equity_route_as_nse_does_now(sim):
    connector = get_connector("nse_api")
    answer = connector.client.get("https://www.nseindia.com/api/quote-equity?symbol=INFY")
    assert (answer.status, answer.content_type, answer.headers["server"]) == (403, "text/html", "AkamaiGHost")
    assert answer.text().startswith("<HTML><HEAD>\n<TITLE>Access Denied</TITLE>")


def test_a_simulated_nextapi_quote_has_the_shape_of_nses_answer_and_parses(market, samples):
    import json

    real = json.loads((samples / "nse/GetQuoteApi_getSymbolData_ETERNAL_2026-02-20.json").read_text())
    body = market.symbol_data("INFY", WHEN)
    assert set(body) == set(real) == {"equityResponse"}
    [element], [real_element] = body["equityResponse"], real["equityResponse"]
    assert set(element) == set(real_element)
    for section in ("orderBook", "metaData", "tradeInfo", "priceInfo", "secInfo"):
        assert set(element[section]) == set(real_element[section]), section
    assert isinstance(element["secInfo"]["deliveryQuantity"], str)  # a number as a string, as NSE writes it
    assert element["metaData"]["closePrice"] == 0  # during the session
    result = parse("nse_api", body)
    assert (result.drift, result.errors) == ([], [])
    row = result.stock_rows[0]
    assert row["timestamp"] == datetime(2025, 3, 5, 5, 51, tzinfo=UTC)
    assert row["volume"] == int(market.day_path("INFY", DAY).cum_volume[125])
    assert market.symbol_data("NOSUCH", WHEN) == {"equityResponse": []}
    assert market.meta_data("INFY")["activeSeries"] == ["EQ"]
    assert market.meta_data("NOSUCH") == {}


@pytest.mark.django_db
def test_symbols_x_cannot_cashtag_are_searched_as_phrases_and_found(sim):
    from pipelines.enrich import TickerEntry, TickerMatcher

    batches = list(get_connector("twitter").fetch(tickers=["M&M", "BAJAJ-AUTO"]))
    assert all(b.simulated and b.error is None for b in batches)
    assert '("M&M" OR "BAJAJ-AUTO")' in batches[-1].meta["state"]["since_id"]
    tweets = [t for b in batches for t in b.payload["data"]]
    assert len(tweets) >= 3  # an hour of background chatter on two of fifty tickers
    matcher = TickerMatcher([TickerEntry("M&M"), TickerEntry("BAJAJ-AUTO")])
    assert all(set(matcher.find(t["text"])) & {"M&M", "BAJAJ-AUTO"} for t in tweets)
    assert {s for t in tweets for s in matcher.find(t["text"])} == {"M&M", "BAJAJ-AUTO"}


@pytest.mark.django_db
def test_the_simulated_x_wants_a_bearer_token(sim):
    from pipelines.simulator import SimulatedUpstreamAdapter

    session = requests.Session()
    session.mount("https://api.x.com/", SimulatedUpstreamAdapter())
    response = session.get("https://api.x.com/2/tweets/search/recent", params={"query": "$INFY"})
    assert response.status_code == 401
    assert response.json()["title"] == "Unauthorized"


@pytest.mark.django_db
def test_real_connectors_do_not_reach_the_simulator(upstream):
    with pytest.raises(ConnectorError):
        list(get_connector("twitter").fetch(tickers=["INFY"]))
    assert len(upstream.requests) == 1  # the local server answered, not the simulator


def test_bulk_generators_give_the_asked_counts_in_the_real_shapes():
    start = datetime(2025, 3, 5, 4, 0, tzinfo=UTC)
    batches = list(quote_payloads(count=120, start=start, per_batch=50))
    assert [len(b) for b in batches] == [50, 50, 20]
    assert len(parse("nse_api", batches[0]).stock_rows) == 50
    posts = 0
    for source, payload in social_payloads(count=200, start=start):
        posts += len(parse(source, payload).messages)
    assert posts >= 200
