"""The simulated pump campaigns come out on top of the suspicious-tickers list on the days they run."""

import json
from datetime import date, datetime, time

import pytest

from pipelines.services import pipeline_run
from pipelines.simulator import world
from pipelines.simulator.chatter import minute_index
from pipelines.simulator.market import IST
from quality.models import PumpAlert, PumpAlertSetting
from warehouse.selectors import suspicious_tickers

pytestmark = pytest.mark.django_db
DAYS = [date(2025, 3, 3), date(2025, 3, 4), date(2025, 3, 5)]  # Monday to Wednesday


def _day_of_tweets(chatter, day: date) -> dict:
    """Every simulated tweet of the session (09:15-15:30 IST), as one X API v2 search page."""
    start = minute_index(datetime.combine(day, time(9, 15), IST))
    tweets = [
        {k: v for k, v in tweet.items() if not k.startswith("_")}
        for index in range(start, start + 375)
        for tweet in chatter.tweets_at(index)
    ]
    return {"data": tweets, "meta": {"result_count": len(tweets)}}


def test_each_days_campaign_ranks_first_and_alerts_once(sim, tmp_path):
    # Chatter only (no quotes loaded): price and volume add nothing, so a day scores at most 0.70.
    PumpAlertSetting.objects.create(threshold=0.5)
    market, chatter = world()
    campaigns = {day: market.campaigns(day)[0].symbol for day in DAYS}
    assert len(set(campaigns.values())) == 3  # a different ticker each day
    for day in DAYS:
        path = tmp_path / f"tweets-{day}.json"
        path.write_text(json.dumps(_day_of_tweets(chatter, day)))
        run = pipeline_run(pipeline="twitter", files=[str(path)])
        assert run.status == "success", run.error

    for day, symbol in campaigns.items():
        ranked = suspicious_tickers(day=day)["results"]
        top = ranked[0]
        assert top["ticker"] == symbol, [(r["ticker"], r["pump_score"]) for r in ranked[:3]]
        assert top["pump_score"] >= 0.5 > ranked[1]["pump_score"]
        assert top["flagged"]["count"] >= 10
        assert top["flagged"]["top"][0]["rules"]  # the evidence says which rules fired
        assert all(m["lake_object_id"] for m in top["flagged"]["top"])
        assert top["mentions"] > 5 * top["mention_baseline"]

    # One alert per campaign day, none for the ordinary chatter.
    assert sorted((a.date, a.ticker) for a in PumpAlert.objects.all()) == sorted(campaigns.items())
    # Running a day again (a replay) alerts nothing new.
    again = tmp_path / "again.json"
    again.write_text(json.dumps(_day_of_tweets(chatter, DAYS[0])))
    pipeline_run(pipeline="twitter", files=[str(again)])
    assert PumpAlert.objects.count() == 3
