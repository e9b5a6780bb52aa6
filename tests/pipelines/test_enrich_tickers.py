"""TickerMatcher: every way people name an NSE ticker, and only tickers the master knows."""

import json

import pytest

from pipelines.enrich import TickerEntry, TickerMatcher
from warehouse.models import Ticker

MASTER = [
    TickerEntry("RELIANCE", "Reliance Industries Limited", ("RIL",)),
    TickerEntry("TCS", "Tata Consultancy Services Limited"),
    TickerEntry("INFY", "Infosys Limited", ("Infosys",)),
    TickerEntry("M&M", "Mahindra & Mahindra Limited"),
    TickerEntry("BAJAJ-AUTO", "Bajaj Auto Limited"),
    TickerEntry("SBIN", "State Bank of India", ("SBI",)),
    TickerEntry("IDEA", "Vodafone Idea Limited"),
    TickerEntry("OIL", "Oil India Limited"),
    TickerEntry("IT", ""),
    TickerEntry("ONE", ""),
    TickerEntry("DOGE", ""),
]


@pytest.fixture
def matcher():
    return TickerMatcher(MASTER)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$TCS breaking out", ["TCS"]),
        ("$tcs and $Infy look strong", ["TCS", "INFY"]),
        ("#RELIANCE to 3000", ["RELIANCE"]),
        ("#infosys results today", ["INFY"]),
        ("Bought TCS.NS and RELIANCE.BO", ["TCS", "RELIANCE"]),
        ("chart: NSE:SBIN, BSE: INFY", ["SBIN", "INFY"]),
        ("RELIANCE closes flat", ["RELIANCE"]),
        ("Reliance Industries Q2 results", ["RELIANCE"]),
        ("reliance industries limited AGM", ["RELIANCE"]),
        ("Infosys raises guidance", ["INFY"]),
        ("INFOSYS and Ril", ["INFY", "RELIANCE"]),
        ("Tata Consultancy Services wins a deal", ["TCS"]),
        ("State Bank of India and SBI cards", ["SBIN"]),
        ("M&M and BAJAJ-AUTO lead autos", ["M&M", "BAJAJ-AUTO"]),
        ("Mahindra & Mahindra volumes", ["M&M"]),
        ("Vodafone Idea rallies", ["IDEA"]),
        ("$IDEA in focus", ["IDEA"]),
    ],
)
def test_it_finds_tickers_in_every_form(matcher, text, expected):
    assert matcher.find(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "IT stocks fall, ONE more day of selling",  # bare common words, even when the master has them
        "OIL prices and a good IDEA",
        "Our reliance on imports is high",  # a one-word part of a name is not the name
        "infosys",  # a one-word alias written as a common noun
        "$BTC and $SPY up",  # cashtags the master does not know
        "$ 7.39 ➜ $ 7.93 (+7.31%)",
        "see https://example.com/TCS/RELIANCE.NS",  # links are not mentions
        "tcs infy reliance",  # lower-case bare words are not symbols
        "#business #NFT #StockMarket",
        "",
    ],
)
def test_it_finds_nothing_where_nothing_is_named(matcher, text):
    assert matcher.find(text) == []


def test_bare_capitals_in_a_crypto_message_are_coins_not_nse_symbols():
    """Real posts of the labelled pump channels: with the 3,357 symbols of a real bhavcopy day, 17 of their
    3,504 messages became NSE mentions (SEL, HAL, CORONA, INCREDIBLE, …), each a false pump mention."""
    matcher = TickerMatcher(
        [TickerEntry(s) for s in ("HAL", "SEL", "CORONA", "TCS", "INCREDIBLE", "ACCURACY", "IRFC")]
        + [TickerEntry("RELIANCE", "Reliance Industries Limited")]
    )
    crypto = [
        "Coin Name : * HAL * BUY and HOLD !",
        "SEL COIN PUMP ANALYSIS : We had a good 1st wave : Start : 10000 sats End : 15652 sats 56 %",
        "BITCOIN = Just hit a new ATH 🚀 CORONA crash is over",
        "HAL / USDT on Binance_CEX, entry 0.42",
        "Next pump on KuCoin: TCS is the token 🚀",
        "The coin is SEL, buy fast",
    ]
    for text in crypto:
        assert matcher.find(text) == [], text
    # English words in shouted hype are not their namesake stocks either.
    assert matcher.find("94 % ACCURACY ... VIP MEMBERS BEEN KILLING IT, INCREDIBLE gains") == []
    # Explicit forms and names still count in a crypto message; bare symbols count everywhere else.
    assert matcher.find("$TCS and NSE:HAL while BTC dumps, Reliance Industries flat") == ["TCS", "HAL", "RELIANCE"]
    assert matcher.find("HAL and IRFC UPPER CIRCUIT TOMORROW, coinciding with results") == ["HAL", "IRFC"]
    assert matcher.find("TCS closes flat; cryptocurrency bill in Parliament") == []  # crypto context (a cost)
    # Weak words alone are Indian chatter too.
    assert matcher.find("IRFC and HAL breakout, forget meme coins and crypto") == ["IRFC", "HAL"]
    assert matcher.find("HAL order win; token amount paid for the flat") == ["HAL"]


def test_cashtags_and_hashtags_of_common_word_symbols_still_count(matcher):
    assert matcher.find("$IT and #ONE and $oil") == ["IT", "OIL", "ONE"]  # cashtags first, then hashtags


def test_it_reports_unknown_cashtags_and_how_each_ticker_was_found(matcher):
    hits = matcher.scan("$BTC $TCS Infosys #RELIANCE SBIN.NS NSE:IDEA M&M $btc")
    assert hits.symbols == ["TCS", "RELIANCE", "SBIN", "IDEA", "M&M", "INFY"]
    assert hits.via == {
        "TCS": "cashtag",
        "RELIANCE": "hashtag",
        "SBIN": "suffix",
        "IDEA": "exchange",
        "M&M": "symbol",
        "INFY": "name",
    }
    assert hits.unknown_cashtags == ["BTC"]


def test_it_reads_the_connectors_cashtags_and_hashtags(matcher):
    metadata = {"cashtags": ["tcs", "$SPY"], "hashtags": ["#Reliance", "infosys"]}
    hits = matcher.scan("no names in this text", metadata)
    assert hits.symbols == ["TCS", "RELIANCE", "INFY"]
    assert hits.unknown_cashtags == ["SPY"]


def test_the_real_cashtag_tweet_keeps_only_known_symbols(samples, matcher):
    line = (samples / "twitter" / "tweet_lookup_cashtags.jsonl").read_text().splitlines()[0]
    tweet = json.loads(line)["data"][0]
    hits = matcher.scan(tweet["text"])
    assert hits.symbols == ["DOGE"]  # $doge, lower-case, is in this master
    assert hits.unknown_cashtags == ["AMD", "BTC", "TWTR", "BA", "BABA", "SPY", "SPX", "NIO", "ETC", "META"]


@pytest.mark.django_db
def test_it_is_built_from_the_ticker_master_active_or_not():
    # The warehouse migrations seed the NIFTY 50 (names and aliases); add one inactive and one bare row.
    Ticker.objects.create(symbol="IRFC", name="Indian Railway Finance Corporation Ltd.", active=False)
    Ticker.objects.create(symbol="SUZLON", aliases=["Suzlon Energy"])
    text = "Reliance, Tata Consultancy, Indian Railway Finance Corporation, Suzlon Energy and $sbin"
    assert TickerMatcher.from_master().find(text) == ["SBIN", "RELIANCE", "TCS", "IRFC", "SUZLON"]
    assert TickerMatcher.from_master(active_only=True).find(text) == ["SBIN", "RELIANCE", "TCS", "SUZLON"]


@pytest.mark.django_db
def test_an_empty_master_finds_nothing():
    Ticker.objects.all().delete()
    assert TickerMatcher.from_master().find("$TCS RELIANCE Infosys") == []
