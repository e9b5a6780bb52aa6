"""NSE quotes as NSE serves them today, through whole runs: NextApi answers load, the retired
quote-equity route fails a run in one line, and lake objects of the old shape still replay."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from lake.models import LakeObject
from lake.services import lake_object_read, raw_batch_store
from pipelines.models import PipelineRun
from pipelines.parsers import parse
from tests.pipelines.conftest import Reply
from warehouse.models import StockData, Ticker

pytestmark = pytest.mark.django_db
NEXT = "/api/NextApi/apiClient/GetQuoteApi"


def _rows():
    return sorted(StockData.objects.values_list("ticker", "series", "timestamp", "price", "volume", "change_percent"))


def test_a_run_on_the_simulated_nse_loads_nextapi_quotes_and_learns_market_types(sim):
    call_command("run_pipeline", "nse_api", "--tickers", "INFY", "TCS")
    run = PipelineRun.objects.latest("pk")
    assert (run.status, run.fetched, run.inserted) == (PipelineRun.Status.SUCCESS, 2, 2)
    obj = LakeObject.objects.get(run_id=run.pk)
    payload = lake_object_read(obj)["data"]
    assert [body["equityResponse"][0]["metaData"]["symbol"] for body in payload] == ["INFY", "TCS"]
    assert sorted(StockData.objects.values_list("ticker", flat=True)) == ["INFY", "TCS"]
    assert all(row.volume and row.raw_data["shape"] == "getSymbolData" for row in StockData.objects.all())
    assert set(Ticker.objects.filter(symbol__in=["INFY", "TCS"]).values_list("market_type", flat=True)) == {"N"}


def test_a_403_page_fails_the_run_in_one_line_keeps_the_page_and_counts_nothing(upstream):
    Ticker.objects.filter(symbol__in=["INFY", "TCS"]).update(market_type="N")
    deny = "<HTML><HEAD><TITLE>Access Denied</TITLE></HEAD><BODY><H1>Access Denied</H1></BODY></HTML>"
    upstream.script(NEXT, Reply(403, body=deny, content_type="text/html"))
    line = f"NSE answered 403 with an HTML page at {upstream.url}{NEXT}: the endpoint is retired or blocked"
    with pytest.raises(CommandError) as caught:
        call_command("run_pipeline", "nse_api", "--tickers", "INFY", "TCS")
    run = PipelineRun.objects.latest("pk")
    assert str(caught.value) == f"run {run.pk} failed: {line}"
    assert (run.status, run.error) == (PipelineRun.Status.FAILED, line)
    assert (run.fetched, run.valid, run.rejected, run.inserted, run.stored) == (0, 0, 0, 0, 1)
    kept = LakeObject.objects.get(run_id=run.pk)
    assert kept.source == "nse_api"
    assert lake_object_read(kept)["data"]["body"] == deny
    assert StockData.objects.count() == 0


def test_lake_objects_of_the_retired_quote_equity_shape_still_replay_to_the_same_rows(samples):
    body = json.loads((samples / "nse/quote-equity_INFY_2023-10-16.json").read_text())
    obj = raw_batch_store(source="nse_api", data=[body])
    today = timezone.now().date()
    window = ("--from", str(today - timedelta(days=1)), "--to", str(today + timedelta(days=1)), "--local")
    call_command("reprocess", "nse_api", *window)
    [expected] = parse("nse_api", [body]).stock_rows
    assert _rows() == [("INFY", "EQ", expected["timestamp"], Decimal("1432.95"), None, Decimal("0.13"))]
    assert StockData.objects.get().lake_object_id == obj.pk
    call_command("reprocess", "nse_api", *window)  # twice: nothing changes
    assert StockData.objects.count() == 1
