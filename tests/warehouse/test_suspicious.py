"""GET /api/data/warehouse/suspicious: ticker-days ranked by pump score, with their evidence and links."""

import datetime as dt
from decimal import Decimal

import pytest

from lake.services import raw_batch_store
from warehouse.days import day_start
from warehouse.models import DailyBar, DailySocial, SocialMention

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 5, 19)
URL = "/api/data/warehouse/suspicious"


def _social(ticker, day, mentions, score, signals=0, platform="telegram"):
    DailySocial.objects.create(
        ticker=ticker, platform=platform, date=day, mentions=mentions, pump_signals=signals, pump_score=score
    )


EVIDENCE = {"pump_rules": ["upper_circuit", "multibagger"], "pump_terms": ["tomorrow"]}


def _message(ticker, n, *, score, flagged=True, lake_object_id=None, text=None, metadata=EVIDENCE):
    return SocialMention.objects.create(
        ticker=ticker,
        platform="telegram",
        external_id=f"-100:{ticker}:{n}",
        text=text or f"{ticker} multibagger, upper circuit tomorrow {n}",
        is_pump_signal=flagged,
        pump_score=score,
        channel="multibagger_calls",
        timestamp=day_start(DAY) + dt.timedelta(hours=10, minutes=n),
        metadata=metadata,
        lake_object_id=lake_object_id,
    )


def _bar(ticker, day, close, prev_close, volume, high=None):
    DailyBar.objects.create(
        ticker=ticker,
        date=day,
        source="nse_bhavcopy",
        high=Decimal(high) if high else None,
        close=Decimal(close),
        prev_close=Decimal(prev_close),
        volume=volume,
    )


@pytest.fixture
def pumped_day():
    obj = raw_batch_store(source="telegram", data=[{"text": "hype"}])
    for back in range(1, 15):  # IRFC: 2 mentions a day for 14 days, then 40
        _social("IRFC", DAY - dt.timedelta(days=back), 2, 0.1)
    _social("IRFC", DAY, 30, 0.91, signals=24)
    _social("IRFC", DAY, 10, 0.55, signals=2, platform="twitter")
    _social("TCS", DAY, 5, 0.2)
    _social("INFY", DAY, 3, 0.05)
    _social("IRFC", DAY - dt.timedelta(days=1), 1, 0.99, platform="twitter")  # another day: not listed
    for n in range(7):
        _message("IRFC", n, score=0.5 + n / 100, lake_object_id=obj.pk)
    _message("IRFC", 20, score=0.1, flagged=False)
    _message("TCS", 1, score=0.7)
    trading_days = [DAY - dt.timedelta(days=k) for k in range(0, 40) if (DAY - dt.timedelta(days=k)).weekday() < 5]
    for k, day in enumerate(reversed(trading_days[1:21])):
        _bar("IRFC", day, "100", "100", 1_000_000 + k * 0)
    _bar("IRFC", DAY, "112", "100", 4_000_000, high="131.5")  # spiked to +31.5 %, closed +12 %
    return obj


def test_it_ranks_the_days_ticker_days_by_pump_score_with_their_evidence(
    api_client, pumped_day, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        answer = api_client.get(URL, {"date": "2026-05-19"})
    assert answer.status_code == 200
    data = answer.json()
    assert (data["date"], data["min_score"]) == ("2026-05-19", 0.0)
    assert [(r["rank"], r["ticker"], r["pump_score"]) for r in data["results"]] == [
        (1, "IRFC", 0.91),
        (2, "TCS", 0.2),
        (3, "INFY", 0.05),
    ]
    irfc = data["results"][0]
    assert (irfc["mentions"], irfc["pump_signals"], irfc["platforms"]) == (40, 26, 2)
    assert irfc["mention_baseline"] == round(29 / 14, 2)  # 14 days of 2, and 1 on twitter the day before
    assert irfc["mention_ratio"] == round(41 / (29 / 14 + 1), 2)
    assert (irfc["price_change"], irfc["volume"], irfc["volume_ratio"]) == (0.12, 4_000_000, 4.0)
    assert irfc["high_change"] == 0.315
    assert irfc["flagged"]["count"] == 7
    top = irfc["flagged"]["top"]
    assert [m["pump_score"] for m in top] == [0.56, 0.55, 0.54, 0.53, 0.52]
    assert top[0]["rules"] == ["upper_circuit", "multibagger"]
    assert top[0]["terms"] == ["tomorrow"]
    assert top[0]["admin_url"] == f"/admin/warehouse/socialmention/{top[0]['id']}/change/"
    assert top[0]["lake_object_url"] == f"/api/data/lake/objects/{pumped_day.pk}"
    assert top[0]["lake_object_page"] == f"/lake/?object={pumped_day.pk}"  # the lake browser, opened on it
    assert (
        irfc["links"]["flagged_rows"]
        == "/api/data/warehouse/social/IRFC?start=2026-05-19&end=2026-05-19&is_pump_signal=true"
    )
    assert irfc["links"]["lake_objects"] == [
        {
            "id": pumped_day.pk,
            "url": f"/api/data/lake/objects/{pumped_day.pk}",
            "page": f"/lake/?object={pumped_day.pk}",
            "download": f"/api/data/lake/objects/{pumped_day.pk}/download",
        }
    ]
    tcs, infy = data["results"][1:]
    assert (tcs["price_change"], tcs["volume_ratio"], tcs["mention_baseline"]) == (None, None, 0.0)
    assert [m["text"] for m in tcs["flagged"]["top"]] == ["TCS multibagger, upper circuit tomorrow 1"]
    assert (infy["flagged"], infy["links"]["lake_objects"]) == ({"count": 0, "top": []}, [])


def test_the_links_lead_to_the_flagged_rows(api_client, pumped_day):
    irfc = api_client.get(URL, {"date": "2026-05-19"}).json()["results"][0]
    rows = api_client.get(irfc["links"]["flagged_rows"]).json()["results"]
    assert len(rows) == 7
    assert {r["is_pump_signal"] for r in rows} == {True}
    download = api_client.get(irfc["links"]["lake_objects"][0]["download"])
    assert download.status_code == 200


def test_min_score_filters_and_the_newest_day_is_the_default(api_client, pumped_day):
    data = api_client.get(URL, {"min_score": "0.5"}).json()
    assert data["date"] == "2026-05-19"
    assert [r["ticker"] for r in data["results"]] == ["IRFC"]
    day_before = api_client.get(URL, {"date": "2026-05-18"}).json()
    assert [(r["ticker"], r["pump_score"]) for r in day_before["results"]] == [("IRFC", 0.99)]
    assert api_client.get(URL, {"date": "2026-05-20"}).json()["results"] == []


def test_the_model_terms_shown_as_evidence_are_words_and_emoji_not_figures_or_punctuation(api_client):
    _social("IRFC", DAY, 30, 0.91, signals=1)
    terms = ["0 days", "0", "days", "#", ". buy", "🚀", "to go"]
    _message(
        "IRFC", 0, score=0.8, text="IRFC 5 days to go 🚀 #buy. buy", metadata={"pump_rules": [], "pump_terms": terms}
    )
    (message,) = api_client.get(URL, {"date": "2026-05-19"}).json()["results"][0]["flagged"]["top"]
    assert message["terms"] == ["days", "🚀", "to go"]


def test_after_midnight_the_list_opens_on_the_last_market_day_not_the_new_days_first_chatter(api_client, pumped_day):
    _social("TRENT", DAY + dt.timedelta(days=1), 11, 0.3)  # 00:30 the next day: chatter, no prices yet
    assert api_client.get(URL).json()["date"] == "2026-05-19"
    assert api_client.get(URL, {"date": "2026-05-20"}).json()["results"][0]["ticker"] == "TRENT"
    _bar("TRENT", DAY + dt.timedelta(days=1), "100", "99", 1000)  # the session has begun
    assert api_client.get(URL).json()["date"] == "2026-05-20"


def test_an_empty_warehouse_answers_no_day_and_no_results(api_client):
    assert api_client.get(URL).json() == {"date": None, "min_score": 0.0, "results": []}


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"date": "19-05-2026"}, "date: "),
        ({"min_score": "2"}, "min_score: "),
        ({"min_score": "x"}, "min_score: "),
        ({"limit": "0"}, "limit: "),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(api_client, params, detail):
    answer = api_client.get(URL, params)
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith(detail)


def test_it_needs_an_authenticated_user(anon_client, pumped_day):
    answer = anon_client.get(URL)
    assert answer.status_code in (401, 403)
    assert "results" not in answer.json()


@pytest.mark.parametrize(
    "metadata", [["pump_rules", "upper_circuit"], "upper_circuit", {"pump_rules": "upper_circuit"}, None]
)
def test_a_flagged_message_with_odd_metadata_is_listed_without_rules(api_client, metadata):
    # Rows stored before the cleaner refused them, or written to the database by hand: the list still answers.
    _social("IRFC", DAY, 30, 0.91, signals=1)
    _message("IRFC", 0, score=0.8, text="IRFC upper circuit", metadata=metadata)
    answer = api_client.get(URL, {"date": "2026-05-19"})
    assert answer.status_code == 200
    (message,) = answer.json()["results"][0]["flagged"]["top"]
    assert (message["text"], message["rules"], message["terms"]) == ("IRFC upper circuit", [], [])
