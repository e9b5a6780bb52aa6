"""A group's loads commit without waiting for the disk; what the lake needs to replay them never does."""

import copy
import json
from datetime import UTC, datetime

import pytest
from django.db import connection, transaction

from core.commits import commits_unflushed
from lake.models import LakeObject
from lake.services import raw_batch_store
from pipelines import connectors
from pipelines.connectors import FetchedBatch
from pipelines.services import handlers, lake_objects_reprocess, pipeline_run, process, runs
from tests.warehouse.conftest import requires_postgres
from warehouse.models import StockData

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]
FETCHED = datetime(2023, 10, 16, 10, 31, tzinfo=UTC)


def _setting() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


@pytest.fixture
def quotes(samples):
    body = json.loads((samples / "nse" / "quote-equity_INFY_2023-10-16.json").read_text())

    def make(*symbols: str) -> list[dict]:
        out = []
        for symbol in symbols:
            quote = copy.deepcopy(body)
            quote["info"]["symbol"] = quote["metadata"]["symbol"] = symbol
            out.append(quote)
        return out

    return make


@pytest.fixture
def seen(monkeypatch):
    """The session's synchronous_commit where a group loads, and where its run catalogs and finishes."""
    seen: dict[str, list[str]] = {"load": [], "catalog": [], "finish": []}
    load, catalog, finish = handlers.group_validate_and_load, process.lake_objects_catalog, runs.run_finish

    def load_spy(*args, **kwargs):
        seen["load"].append(_setting())
        return load(*args, **kwargs)

    def catalog_spy(objects):
        seen["catalog"].append(_setting())
        return catalog(objects)

    def finish_spy(*args, **kwargs):
        seen["finish"].append(_setting())
        return finish(*args, **kwargs)

    monkeypatch.setattr(handlers, "group_validate_and_load", load_spy)
    monkeypatch.setattr(process, "lake_objects_catalog", catalog_spy)
    monkeypatch.setattr("pipelines.services.pipeline.run_finish", finish_spy)
    return seen


def test_a_replayed_group_loads_with_unflushed_commits_and_the_session_gets_its_setting_back(quotes, seen):
    stored = [raw_batch_store(source="nse_api", data=quotes("INFY", "TCS"), timestamp=FETCHED, simulated=True)]

    outcome = lake_objects_reprocess(object_ids=[obj.pk for obj in stored])

    assert outcome.inserted == 2
    assert StockData.objects.count() == 2
    assert seen["load"] == ["off"]
    assert _setting() == "on"  # the next user of this connection commits as usual


def test_a_run_catalogs_its_objects_and_finishes_with_flushed_commits(monkeypatch, quotes, seen):
    class Upstream:
        def fetch(self, *, tickers=None, since=None):
            for symbols in (("INFY",), ("TCS", "WIPRO")):
                yield FetchedBatch("nse_api", quotes(*symbols), FETCHED, False, {"records": len(symbols)})

    monkeypatch.setattr(process, "GROUP_WAIT_SECONDS", 60.0)  # both batches in one group
    monkeypatch.setitem(connectors.CONNECTORS, "nse_api", lambda **options: Upstream())

    run = pipeline_run(pipeline="nse_api")

    assert (run.status, run.inserted) == ("success", 3)
    # The objects' catalog rows (what a replay starts from) and the run's verdict wait for the disk; the
    # group's load between them does not.
    assert seen == {"catalog": ["on"], "load": ["off"], "finish": ["on"]}
    assert list(LakeObject.objects.values_list("status", flat=True)) == ["loaded", "loaded"]


def test_a_group_that_fails_gives_the_session_its_setting_back(monkeypatch, quotes):
    stored = raw_batch_store(source="nse_api", data=quotes("INFY"), timestamp=FETCHED, simulated=True)

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the load")

    monkeypatch.setattr(handlers, "group_validate_and_load", broken)
    with pytest.raises(RuntimeError):
        process.lake_objects_process(objects=[stored])

    assert _setting() == "on"


def test_inside_a_callers_transaction_the_caller_decides():
    with transaction.atomic(), commits_unflushed():
        assert _setting() == "on"
    with commits_unflushed():
        assert _setting() == "off"
    assert _setting() == "on"
