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


class Fast(Prepared):
    """A fast upstream whose pulls acknowledge nothing (as the NSE quote API); ``fail`` raises at that pull."""

    pulls_acknowledge = False

    def __init__(self, batches, *, fail: tuple[int, Exception] | None = None, **options):
        super().__init__(batches, **options)
        self.fail = fail

    def fetch(self, *, tickers=None, since=None):
        for n, batch in enumerate(super().fetch(tickers=tickers, since=since)):
            if self.fail and n == self.fail[0]:
                raise self.fail[1]
            yield batch


def _minutes(quote, count: int):
    """``count`` batches of one distinct quote each, the connector state naming the batch."""
    return [([quote("INFY", 1400.0 + n, f"16-Oct-2023 10:{n:02d}:00")], {"batch": n}) for n in range(count)]


def _copying(wrapper) -> bool:
    """Whether the test's connection (``wrapper``: the stores run on threads of their own) is inside a COPY
    (PostgreSQL's transaction status ACTIVE)."""
    return wrapper.vendor == "postgresql" and wrapper.connection.info.transaction_status == 1


def test_a_fast_upstream_has_the_next_group_stored_and_parsed_while_the_server_loads_this_one(monkeypatch, quote):
    from django.db import connections

    from pipelines.services import pipeline as pipeline_module

    connection = connections["default"]  # this thread's

    monkeypatch.setattr(process, "GROUP_OBJECTS", 2)
    monkeypatch.setattr(process, "GROUP_WAIT_SECONDS", 60.0)
    stores, parses = [], []
    write, parse = pipeline_module.raw_batch_write, pipeline_module.parse

    def write_spy(**options):
        stores.append((options["data"][0]["priceInfo"]["lastPrice"], _copying(connection)))
        return write(**options)

    def parse_spy(source, payload, **options):
        parses.append((payload[0]["priceInfo"]["lastPrice"], _copying(connection)))
        return parse(source, payload, **options)

    monkeypatch.setattr(pipeline_module, "raw_batch_write", write_spy)
    monkeypatch.setattr(pipeline_module, "parse", parse_spy)
    run = _run_with(monkeypatch, Fast(_minutes(quote, 5)))

    assert (run.status, run.fetched, run.inserted, run.stored) == ("success", 5, 5, 5)
    assert sorted(float(p) for p in StockData.objects.values_list("price", flat=True)) == [1400, 1401, 1402, 1403, 1404]
    assert set(LakeObject.objects.values_list("status", flat=True)) == {"loaded"}
    assert connector_state_get("nse_api") == {"batch": 4}
    # Each batch stored once; the first group's before any load, the others' (on threads) and their parse
    # while the group before them loads.
    assert sorted(stores) == sorted(set(stores))
    assert sorted(price for price, _ in stores) == [1400.0, 1401.0, 1402.0, 1403.0, 1404.0]
    assert [price for price, _ in parses] == [1402.0, 1403.0, 1404.0]
    if connection.vendor == "postgresql":
        assert sorted(stores) == [(1400.0, False), (1401.0, False), (1402.0, True), (1403.0, True), (1404.0, True)]
        assert [copying for _, copying in parses] == [True, True, True]


def test_the_stores_of_every_group_run_on_the_same_few_threads_and_none_outlives_the_run(monkeypatch, quote):
    import threading

    from pipelines.services import pipeline as pipeline_module

    monkeypatch.setattr(process, "GROUP_OBJECTS", 2)
    monkeypatch.setattr(process, "GROUP_WAIT_SECONDS", 60.0)
    threads = []
    write = pipeline_module.raw_batch_write

    def write_spy(**options):
        threads.append(threading.current_thread())
        return write(**options)

    monkeypatch.setattr(pipeline_module, "raw_batch_write", write_spy)
    run = _run_with(monkeypatch, Fast(_minutes(quote, 11)))

    assert (run.status, run.inserted, run.stored) == ("success", 11, 11)
    pooled = [thread for thread in threads if thread.name.startswith("lake-store")]
    assert len(pooled) == 9  # the first group's two batches are stored by the run itself, the rest ahead
    # Four groups pulled ahead, stored on one pool of threads (a pool per group started new threads each time)
    assert len({id(thread) for thread in pooled}) <= pipeline_module.STORE_THREADS
    assert not any(thread.is_alive() for thread in pooled)


@pytest.mark.parametrize("acknowledge", [True, False], ids=["acknowledging", "plain"])
def test_only_a_connector_whose_pulls_acknowledge_nothing_is_pulled_ahead(monkeypatch, quote, acknowledge):
    monkeypatch.setattr(process, "GROUP_OBJECTS", 2)
    monkeypatch.setattr(process, "GROUP_WAIT_SECONDS", 60.0)
    loaded_before = []
    upstream = Fast(_minutes(quote, 5), before_each=lambda n: loaded_before.append(StockData.objects.count()))
    upstream.pulls_acknowledge = acknowledge
    run = _run_with(monkeypatch, upstream)

    assert (run.status, run.inserted) == ("success", 5)
    # Telegram's getUpdates confirms a page when the next is asked for: nothing is pulled before the
    # batches before it are stored and loaded. A plain upstream's next group is pulled before a load.
    assert loaded_before == ([0, 0, 2, 2, 4] if acknowledge else [0, 0, 0, 0, 2])
    real = (connectors.NseQuoteConnector, connectors.NseBhavcopyConnector, connectors.TwitterConnector)
    assert connectors.TelegramConnector.pulls_acknowledge
    assert not any(cls.pulls_acknowledge for cls in real)


def test_a_connector_failing_in_a_pull_ahead_has_the_batches_before_it_loaded_and_its_error_reported(
    monkeypatch, quote
):
    from pipelines.connectors import ConnectorError

    monkeypatch.setattr(process, "GROUP_OBJECTS", 2)
    monkeypatch.setattr(process, "GROUP_WAIT_SECONDS", 60.0)
    upstream = Fast(_minutes(quote, 6), fail=(3, ConnectorError("nse_api: the upstream went away")))
    run = _run_with(monkeypatch, upstream)

    assert (run.status, run.fetched, run.inserted) == ("partial", 3, 3)
    assert "the upstream went away" in run.error
    assert set(LakeObject.objects.values_list("status", flat=True)) == {"loaded"}
    assert connector_state_get("nse_api") == {"batch": 2}


@pytest.mark.parametrize("where", ["connector", "store"])
def test_a_run_that_breaks_after_a_pull_ahead_still_loads_every_batch_stored_before(monkeypatch, quote, where):
    monkeypatch.setattr(process, "GROUP_OBJECTS", 2)
    monkeypatch.setattr(process, "GROUP_WAIT_SECONDS", 60.0)
    batches = _minutes(quote, 6)
    if where == "store":
        batches[3] = ("not a payload", None)  # the lake refuses it: InvalidInput when the run stores it
        upstream = Fast(batches)
    else:
        upstream = Fast(batches, fail=(3, RuntimeError("the connector broke")))
    run = _run_with(monkeypatch, upstream)

    assert run.status == "partial"  # it failed, after loading some
    assert ("the connector broke" if where == "connector" else "data: expected a dict or a list") in run.error
    assert (run.fetched, run.inserted, run.stored) == (3, 3, 3)
    assert LakeObject.objects.count() == 3
    assert set(LakeObject.objects.values_list("status", flat=True)) == {"loaded"}


def test_a_batch_stored_after_one_that_failed_is_catalogued_and_the_scheduled_replay_loads_it(monkeypatch, quote):
    from datetime import timedelta

    from django.utils import timezone

    from pipelines.services import replay_unloaded

    monkeypatch.setattr(process, "GROUP_OBJECTS", 2)
    monkeypatch.setattr(process, "GROUP_WAIT_SECONDS", 60.0)
    batches = _minutes(quote, 6)
    batches[2] = ("not a payload", None)  # pulled ahead with batch 3, stored beside it: refused
    run = _run_with(monkeypatch, Fast(batches))

    assert run.status == "partial"
    assert "data: expected a dict or a list" in run.error
    assert (run.fetched, run.inserted, run.stored) == (2, 2, 2)
    assert connector_state_get("nse_api") == {"batch": 1}  # the next run fetches again from the failed batch
    # Batch 3 was written by its thread before the run stopped at batch 2: catalogued, not loaded by the run
    # (whose state stays before the failed batch), so nothing it holds is lost and no scan is needed to find it.
    stranded = LakeObject.objects.get(status=LakeObject.Status.STORED)
    assert stranded.records == 1
    assert sorted(float(p) for p in StockData.objects.values_list("price", flat=True)) == [1400, 1401]
    LakeObject.objects.filter(pk=stranded.pk).update(created=timezone.now() - timedelta(minutes=5))
    replay = replay_unloaded()
    assert replay.status == "success"
    assert LakeObject.objects.get(pk=stranded.pk).status == LakeObject.Status.LOADED
    assert sorted(float(p) for p in StockData.objects.values_list("price", flat=True)) == [1400, 1401, 1403]


def test_stranded_batches_the_catalog_cannot_take_are_said_once_and_stay_in_the_lake(monkeypatch, quote, caplog):
    """The database goes away as the run catalogs the batch stored after the failed one: one warning names it
    (the catalog's own), and its file stays in the lake, where the scheduled replay's scan finds it."""
    from django.db import OperationalError

    from lake.services import store
    from lake.storage import lake_storage
    from pipelines.services import pipeline

    monkeypatch.setattr(process, "GROUP_OBJECTS", 2)
    monkeypatch.setattr(process, "GROUP_WAIT_SECONDS", 60.0)
    batches = _minutes(quote, 6)
    batches[2] = ("not a payload", None)  # pulled ahead with batch 3, stored beside it: refused
    stranded, real_keep, real_catalog = [], pipeline._Extraction._ahead_keep, pipeline.lake_objects_catalog

    def keep(extraction):
        stranded.append(extraction.stranded)
        return real_keep(extraction)

    def summaries_gone(objects):
        raise OperationalError("server closed the connection unexpectedly")

    def catalog(objects):
        if stranded and objects is stranded[0]:
            with monkeypatch.context() as patched:
                patched.setattr(store, "summaries_add", summaries_gone)
                return real_catalog(objects)
        return real_catalog(objects)

    monkeypatch.setattr(pipeline._Extraction, "_ahead_keep", keep)
    monkeypatch.setattr(pipeline, "lake_objects_catalog", catalog)
    with caplog.at_level("WARNING"):
        run = _run_with(monkeypatch, Fast(batches))

    assert run.status == "partial"
    assert (run.fetched, run.inserted, run.stored) == (2, 2, 2)
    [kept] = stranded[0]
    said = [r.getMessage() for r in caplog.records if kept.key in r.getMessage() or "stranded" in r.getMessage()]
    assert said == [
        f"1 lake object(s) kept without a catalog row ({kept.key}): the database refused the catalog write or is "
        "unavailable (OperationalError: server closed the connection unexpectedly); the scheduled replay catalogs "
        "and loads them"
    ]
    assert not [r for r in caplog.records if "uncatalogued" in r.getMessage() or "removed" in r.getMessage()]
    assert lake_storage().exists(kept.key)
    assert not LakeObject.objects.filter(key=kept.key).exists()
