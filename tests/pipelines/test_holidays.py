"""The trading calendar's refresh from NSE's holiday master, and the readers of that one calendar:
the bhavcopy connector (a holiday is not a missing file), the simulated market and quality."""

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django_celery_beat.models import PeriodicTask

from pipelines.connectors import ConnectorError, get_connector
from pipelines.simulator import SimMarket
from pipelines.simulator.adapter import SimulatedUpstreamAdapter
from pipelines.tasks import holidays_refresh_task
from quality.metrics import DataQualityMetrics
from tests.pipelines.conftest import Reply
from warehouse.calendar import IST, is_trading_day
from warehouse.models import DailyBar, MarketHoliday

pytestmark = pytest.mark.django_db
WRITTEN = "written/holiday-master_trading_2027.json"
CM_2027 = 9


@pytest.fixture
def holidays_2027(samples):
    return json.loads((samples.parent / WRITTEN).read_text())


def _table(year):
    return dict(MarketHoliday.objects.filter(date__year=year).values_list("date", "source"))


def test_the_command_loads_the_cm_segment_from_nses_holiday_master(upstream, holidays_2027, capsys):
    upstream.script("/api/holiday-master", Reply(200, json=holidays_2027))
    call_command("holidays_refresh")
    [request] = upstream.requests
    assert (request.path, request.query) == ("/api/holiday-master", {"type": "trading"})
    assert capsys.readouterr().out.strip() == (
        "NSE trading holidays: 9 for 2027 (9 added, 0 updated, 0 removed, 0 kept as entered in admin)"
    )
    table = _table(2027)
    assert len(table) == CM_2027
    assert set(table.values()) == {"nse"}
    assert dt.date(2027, 1, 1) not in table  # the commodity segment's New Year is not an equity holiday
    assert is_trading_day(dt.date(2027, 3, 22)) is False  # Holi 2027, a Monday
    assert MarketHoliday.objects.get(date=dt.date(2027, 10, 28)).description == "Diwali Laxmi Pujan*"
    assert len(_table(2026)) == 16  # the built-in list stays for the years NSE did not answer


def test_a_refused_answer_is_one_line_and_changes_nothing(upstream):
    before = sorted(MarketHoliday.objects.values_list("date", "description", "source"))
    upstream.script("/api/holiday-master", Reply(403, body="<HTML><BODY>Access Denied</BODY></HTML>"))
    with pytest.raises(CommandError) as caught:
        call_command("holidays_refresh")
    assert str(caught.value) == (
        f"nse holidays: NSE answered 403 with an HTML page at {upstream.url}/api/holiday-master: "
        "the endpoint is retired or blocked"
    )
    assert sorted(MarketHoliday.objects.values_list("date", "description", "source")) == before


def test_an_answer_without_the_cm_segment_is_one_line_and_changes_nothing(upstream):
    upstream.script("/api/holiday-master", Reply(200, json={"FO": [{"tradingDate": "26-Jan-2027"}]}))
    with pytest.raises(CommandError, match=r"^holiday master: no CM segment \(segments: FO\)$"):
        call_command("holidays_refresh")
    assert _table(2027) == {}


def test_a_saved_answer_loads_from_a_file(samples, capsys):
    call_command("holidays_refresh", "--file", str(samples.parent / WRITTEN))
    assert len(_table(2027)) == CM_2027
    assert capsys.readouterr().out.startswith("NSE trading holidays: 9 for 2027 (9 added")


@pytest.mark.parametrize("name", ["/dev/zero", "nope.json"])
def test_a_file_that_is_no_saved_answer_is_one_line(tmp_path, name):
    # /dev/zero, read to its end, never ends: the command hung.
    path = name if name.startswith("/") else str(tmp_path / name)
    said = "not a regular file" if name.startswith("/") else "no such file"
    with pytest.raises(CommandError, match=rf"^{re.escape(path)}: {said}$"):
        call_command("holidays_refresh", "--file", path)


def test_a_file_is_read_no_further_than_the_payload_cap(tmp_path, settings):
    from pipelines.connectors.base import ConnectorError, read_file_bytes

    settings.MAX_PAYLOAD_BYTES = 100
    with pytest.raises(ConnectorError, match="more bytes are over the MAX_PAYLOAD_BYTES cap of 100 bytes"):
        read_file_bytes(Path("/proc/self/status"))  # says 0 bytes, holds more: the size alone let it through
    big = tmp_path / "big.json"
    big.write_bytes(b"[" + b"1," * 100 + b"1]")
    with pytest.raises(ConnectorError, match=r"big\.json: 203 bytes is over the MAX_PAYLOAD_BYTES cap of 100 bytes"):
        read_file_bytes(big)


def test_the_monthly_schedule_refreshes_from_the_simulated_nse(sim):
    task = PeriodicTask.objects.get(name="NSE trading holidays (monthly)")
    assert (task.task, task.enabled, task.crontab.day_of_month, task.crontab.hour) == (
        "pipelines.holidays_refresh",
        True,
        "1",
        "6",
    )
    result = holidays_refresh_task.apply().get()
    # The simulated NSE (its clock in 2025) answers the calendar's own 2025 list: now marked as NSE's.
    assert (result["holidays"], result["years"]) == (14, [2025])
    assert set(_table(2025).values()) == {"nse"}


# ---- the readers of the calendar -----------------------------------------------------------------


def test_the_bhavcopy_connector_does_not_ask_for_a_holiday(upstream):
    batches = list(get_connector("nse_bhavcopy").fetch(since={"date": "2024-12-25"}))  # Christmas
    assert batches == []
    assert upstream.requests == []  # nothing asked, and no error: a holiday is not a missing file


def test_a_date_range_skips_weekends_and_holidays_the_table_knows(upstream, samples):
    from pipelines.connectors.nse import NseBhavcopyConnector

    call_command("holidays_refresh", "--file", str(samples.parent / WRITTEN))
    assert NseBhavcopyConnector.days({"from": "2027-03-19", "to": "2027-03-23"}) == [
        dt.date(2027, 3, 19),  # Friday; the weekend and Holi (Monday 22) are left out
        dt.date(2027, 3, 23),
    ]


def test_a_trading_day_without_a_bhavcopy_is_still_an_error(upstream):
    with pytest.raises(ConnectorError) as caught:
        list(get_connector("nse_bhavcopy").fetch(since={"date": "2024-12-24"}))
    assert caught.value.failures == [
        "2024-12-24: NSE has no bhavcopy for this day (udiff, sec_bhavdata_full: 404), though the trading "
        "calendar has no holiday on it"
    ]


def test_the_simulated_market_does_not_trade_on_an_nse_holiday(sim):
    market = SimMarket(seed=42)
    diwali = dt.date(2025, 10, 21)  # a Tuesday
    assert market.campaigns(diwali) == []
    day, _minute, live = market.session_at(dt.datetime(2025, 10, 21, 11, 0, tzinfo=IST))
    assert (day, live) == (dt.date(2025, 10, 20), False)
    quote = market.symbol_data("INFY", dt.datetime(2025, 10, 21, 11, 0, tzinfo=IST))
    assert quote["equityResponse"][0]["lastUpdateTime"] == "20-Oct-2025 16:00:00"
    sim.SIMULATOR_NOW = "2025-10-22T20:00:00+05:30"  # both days' files would be out by now
    session = get_connector("nse_bhavcopy").client.session
    archive = "https://nsearchives.nseindia.com/products/content/sec_bhavdata_full_{}.csv"
    assert session.get(archive.format("21102025")).status_code == 404
    assert session.get(archive.format("20102025")).status_code == 200
    assert isinstance(session.get_adapter(archive), SimulatedUpstreamAdapter)


def test_a_holiday_nse_announced_for_2027_raises_no_freshness_alarm(samples):
    DailyBar.objects.create(ticker="INFY", date=dt.date(2027, 3, 19), source="nse_bhavcopy", close=1500)
    evening = dt.datetime(2027, 3, 22, 20, 0, tzinfo=IST)  # Holi 2027, after the bhavcopy hour
    assert DataQualityMetrics("daily_bars", now=evening).freshness().details["missing_days"] == ["2027-03-22"]
    call_command("holidays_refresh", "--file", str(samples.parent / WRITTEN))
    metric = DataQualityMetrics("daily_bars", now=evening).freshness()
    assert (metric.value, metric.details["missing_days"]) == (0.0, [])
