"""`simulate_history`: the simulated market's last trading days, filled through the real pipelines."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from lake.models import LakeObject
from pipelines.connectors import connector_state_get, connector_state_set
from pipelines.models import PipelineRun
from pipelines.services import HistoryRefused, enrichers_reset, history_days, simulate_history
from pipelines.simulator import world
from warehouse.models import DailyBar, DailySocial, SocialMention, StockData

pytestmark = pytest.mark.django_db

# A Monday morning: the newest published bhavcopy is Friday's (2025-03-07); the weekend is no trading day.
NOW = "2025-03-10T10:00:00+05:30"
THREE_DAYS = [date(2025, 3, 5), date(2025, 3, 6), date(2025, 3, 7)]


@pytest.fixture(autouse=True)
def _simulated_clock(settings):
    settings.SIMULATE_UPSTREAMS = True
    settings.SIMULATOR_NOW = NOW
    enrichers_reset()
    yield
    enrichers_reset()


def counts() -> dict:
    return {
        "runs": PipelineRun.objects.count(),
        "objects": LakeObject.objects.count(),
        "prices": StockData.objects.count(),
        "mentions": SocialMention.objects.count(),
        "bars": DailyBar.objects.count(),
    }


def test_the_history_is_the_last_trading_days_whose_bhavcopy_is_out():
    # Saturday 8 and Sunday 9 March are skipped; Monday 10's bhavcopy is not out at 10:00.
    assert history_days(days=3) == THREE_DAYS
    assert history_days(days=5) == [date(2025, 3, 3), date(2025, 3, 4), *THREE_DAYS]


def test_the_history_skips_exchange_holidays(settings):
    # Monday 17 March 2025: the newest bhavcopy is Thursday's, as Friday 14 March was Holi (no trading).
    settings.SIMULATOR_NOW = "2025-03-17T10:00:00+05:30"
    assert history_days(days=3) == [date(2025, 3, 11), date(2025, 3, 12), date(2025, 3, 13)]


def test_it_fills_each_trading_day_with_quotes_chatter_and_the_bhavcopy_marked_simulated():
    result = simulate_history(days=3)

    assert result.filled == THREE_DAYS
    assert result.already == []
    assert result.problems == []
    universe = {t.symbol for t in world()[0].tickers}
    assert len(universe) == 50
    bar_days = sorted(DailyBar.objects.filter(source="nse_bhavcopy").values_list("date", flat=True).distinct())
    assert bar_days == THREE_DAYS
    for day in THREE_DAYS:
        eq_bars = DailyBar.objects.filter(source="nse_bhavcopy", date=day, series="EQ")
        assert set(eq_bars.values_list("ticker", flat=True)) == universe
        quotes = StockData.objects.filter(source="nse_api", timestamp__date=day)
        assert set(quotes.values_list("ticker", flat=True)) == universe
        # The day's pump-and-dump campaign shows in the chatter: flagged messages about its ticker, on
        # Telegram and on X (X cannot cashtag BAJAJ-AUTO, the 6 March campaign's: it is searched as a phrase).
        (campaign,) = world()[0].campaigns(day)
        flagged = SocialMention.objects.filter(ticker=campaign.symbol, is_pump_signal=True, timestamp__date=day)
        assert flagged.filter(platform="telegram").exists()
        assert flagged.filter(platform="twitter").exists()
        assert DailySocial.objects.filter(ticker=campaign.symbol, date=day, pump_signals__gt=0).exists()
    # Nothing on the weekend.
    assert not StockData.objects.filter(timestamp__date__in=[date(2025, 3, 8), date(2025, 3, 9)]).exists()

    # Marked simulated everywhere: the lake objects, the runs, and so every warehouse row's object.
    runs = PipelineRun.objects.all()
    assert runs.count() == len(result.runs) == 3 * 4
    assert set(runs.values_list("trigger", "simulated", "status")) == {("backfill", True, "success")}
    assert sorted(runs.values_list("pipeline", flat=True)) == sorted(
        ["nse_api", "twitter", "telegram", "nse_bhavcopy"] * 3
    )
    assert LakeObject.objects.count() > 0
    assert not LakeObject.objects.filter(simulated=False).exists()
    for model in (StockData, SocialMention, DailyBar):
        assert model.objects.exists()
        assert not model.objects.exclude(lake_object__simulated=True).exists()


def test_the_live_schedules_resume_where_they_were():
    connector_state_set("telegram", {"offset": 123})
    simulate_history(days=1)
    assert connector_state_get("telegram") == {"offset": 123}
    assert connector_state_get("twitter") == {}


def test_a_second_call_changes_nothing():
    simulate_history(days=2)
    before = counts()

    again = simulate_history(days=2)

    assert again.filled == []
    assert again.already == THREE_DAYS[1:]
    assert again.runs == []
    assert counts() == before


def test_it_fills_only_the_missing_days():
    simulate_history(days=1)
    assert sorted(DailyBar.objects.values_list("date", flat=True).distinct()) == [THREE_DAYS[-1]]
    runs = PipelineRun.objects.count()

    result = simulate_history(days=2)

    assert result.filled == [THREE_DAYS[1]]
    assert result.already == [THREE_DAYS[2]]
    assert PipelineRun.objects.count() == runs + 4
    assert sorted(DailyBar.objects.values_list("date", flat=True).distinct()) == THREE_DAYS[1:]


def test_it_refuses_when_the_warehouse_holds_real_data(samples):
    call_command("run_pipeline", "nse_bhavcopy", "--file", str(samples / "nse" / "sec_bhavdata_full_30122024.csv"))
    before = counts()

    with pytest.raises(HistoryRefused, match="the warehouse holds real price rows"):
        simulate_history(days=2)
    with pytest.raises(CommandError, match="the warehouse holds real price rows"):
        call_command("simulate_history", "--days", "2", stdout=StringIO(), stderr=StringIO())

    assert counts() == before
    assert not LakeObject.objects.filter(simulated=True).exists()


def test_it_does_nothing_when_the_upstreams_are_real(settings):
    settings.SIMULATE_UPSTREAMS = False
    out = StringIO()

    call_command("simulate_history", "--days", "2", stdout=out, stderr=StringIO())

    assert simulate_history(days=2).off is True
    assert out.getvalue() == "SIMULATE_UPSTREAMS is off: no simulated history (nothing done)\n"
    assert counts() == {"runs": 0, "objects": 0, "prices": 0, "mentions": 0, "bars": 0}


def test_the_command_shows_a_progress_bar_and_a_summary():
    out, err = StringIO(), StringIO()

    call_command("simulate_history", "--days", "2", stdout=out, stderr=err)

    assert "simulated history: 100%" in err.getvalue()
    assert "2/2" in err.getvalue()
    assert out.getvalue().startswith(
        "simulated history 2025-03-06 to 2025-03-07 (2 trading days): 2 filled with 8 pipeline runs, "
        "0 already there, in "
    )
    with pytest.raises(CommandError, match="--days: 1 to 1,000 trading days"):
        call_command("simulate_history", "--days", "0", stdout=StringIO(), stderr=StringIO())


def test_days_beyond_four_years_are_refused_before_anything_runs():
    """A million days ran the calendar past year 1 (OverflowError, a traceback) after counting them all."""
    with pytest.raises(CommandError, match=r"--days: 1 to 1,000 trading days \(about four years\); got 1,000,000"):
        call_command("simulate_history", "--days", "1000000", stdout=StringIO(), stderr=StringIO())
    with pytest.raises(ValueError, match="days: 1 to 1,000; got 1,001"):
        simulate_history(days=1001)
    assert not PipelineRun.objects.exists()
