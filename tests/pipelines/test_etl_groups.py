"""Batches that arrive quickly are loaded in groups, with the verdicts of loading them one after another."""

import copy
import json
import time
from datetime import UTC, date, datetime

import pytest

from lake.models import LakeObject
from pipelines import connectors
from pipelines.connectors import FetchedBatch, connector_state_get
from pipelines.services import pipeline_run, process
from quality.models import QuarantinedRecord
from warehouse.models import DailyBar, StockData

pytestmark = pytest.mark.django_db
FETCHED = datetime(2023, 10, 16, 10, 31, tzinfo=UTC)


class Prepared:
    """A connector answering batches made in advance, optionally pausing before each (a slow upstream)."""

    def __init__(self, batches, *, pause: float = 0.0, before_each=None):
        self.batches, self.pause, self.before_each = batches, pause, before_each

    def fetch(self, *, tickers=None, since=None):
        for n, (payload, state) in enumerate(self.batches):
            if self.before_each:
                self.before_each(n)
            time.sleep(self.pause)
            yield FetchedBatch("nse_api", payload, FETCHED, False, {"records": len(payload), "state": state})


@pytest.fixture
def quote(samples):
    body = json.loads((samples / "nse" / "quote-equity_INFY_2023-10-16.json").read_text())

    def make(symbol: str, price: float, stamp: str = "16-Oct-2023 16:00:00") -> dict:
        out = copy.deepcopy(body)
        out["info"]["symbol"] = out["metadata"]["symbol"] = symbol
        out["metadata"]["lastUpdateTime"] = stamp
        out["priceInfo"]["lastPrice"] = price
        return out

    return make


def _run_with(monkeypatch, upstream):
    monkeypatch.setitem(connectors.CONNECTORS, "nse_api", lambda **options: upstream)
    return pipeline_run(pipeline="nse_api")


@pytest.mark.parametrize("wait", [60.0, 0.0], ids=["grouped", "one_by_one"])
def test_a_group_of_batches_gets_the_counts_rejects_and_rows_of_loading_them_one_by_one(monkeypatch, quote, wait):
    monkeypatch.setattr(process, "GROUP_WAIT_SECONDS", wait)
    first = [quote("INFY", 1432.95), quote("TCS", -1)]
    second = [quote("INFY", 1432.95), quote("TCS", 3500.5), quote("WIPRO", 390.1), quote("WIPRO", 391.0)]
    run = _run_with(monkeypatch, Prepared([(first, {"round": 1}), (second, {"round": 2})]))

    # WIPRO twice in one batch at two prices: a conflict, rejected (an exact repeat is a duplicate).
    assert (run.status, run.fetched, run.inserted, run.rejected, run.duplicates) == ("success", 6, 3, 2, 1)
    prices = sorted((ticker, str(price)) for ticker, price in StockData.objects.values_list("ticker", "price"))
    assert prices == [("INFY", "1432.95"), ("TCS", "3500.50"), ("WIPRO", "390.10")]
    objects = list(LakeObject.objects.order_by("pk").values_list("pk", "status"))
    assert [status for _, status in objects] == ["loaded", "loaded"]
    rejects = sorted(QuarantinedRecord.objects.values_list("lake_object_id", "rule_names"))
    assert rejects == [(objects[0][0], "|price_range|"), (objects[1][0], "|quote_unique|")]
    assert connector_state_get("nse_api") == {"round": 2}
    bars = DailyBar.objects.filter(source="nse_api", date=date(2023, 10, 16))
    assert sorted(bars.values_list("ticker", flat=True)) == ["INFY", "TCS", "WIPRO"]


def test_a_slow_upstream_has_each_batch_loaded_before_the_next_is_fetched(monkeypatch, quote):
    monkeypatch.setattr(process, "GROUP_WAIT_SECONDS", 0.05)
    loaded_before = []
    batches = [([quote("INFY", 1400.0, f"16-Oct-2023 10:0{n}:00")], None) for n in range(3)]
    upstream = Prepared(batches, pause=0.06, before_each=lambda n: loaded_before.append(StockData.objects.count()))
    run = _run_with(monkeypatch, upstream)

    assert (run.status, run.inserted) == ("success", 3)
    assert loaded_before == [0, 1, 2]
