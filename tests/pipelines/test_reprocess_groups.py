"""Reprocess and replay through the grouped path: keyset batches, groups, one gold refresh, ranges."""

import os
from datetime import date, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from lake.models import LakeObject
from lake.services import raw_batch_store
from lake.storage import lake_storage
from pipelines import tasks
from pipelines.models import PipelineRun
from pipelines.services import replay as replay_module
from pipelines.services import reprocess_execute, reprocess_plan, schema_watch
from pipelines.simulator import quote_payloads
from tests.warehouse.conftest import requires_postgres, rows_per_partition
from warehouse.days import local_tz
from warehouse.models import DailyBar, StockData
from warehouse.services.partitions import partitions_list

pytestmark = pytest.mark.django_db

DAY = date(2025, 3, 5)
PER_OBJECT = 50


def _store_quotes(objects: int) -> list[LakeObject]:
    start = datetime(2025, 3, 5, 9, 15, tzinfo=local_tz())
    return [
        raw_batch_store(source="nse_api", data=batch, timestamp=start, simulated=True)
        for batch in quote_payloads(count=objects * PER_OBJECT, start=start, per_batch=PER_OBJECT)
    ]


@pytest.fixture
def calls(monkeypatch):
    """Counts of the drift checks and gold refreshes a replay makes (each still does its work)."""
    seen = {"drift": 0, "gold": []}
    drift, gold = schema_watch.schema_drift_check, replay_module.gold_refresh_for

    def drift_spy(**kwargs):
        seen["drift"] += 1
        return drift(**kwargs)

    def gold_spy(spec, dates):
        seen["gold"].append(sorted(dates))
        return gold(spec, dates)

    monkeypatch.setattr(schema_watch, "schema_drift_check", drift_spy)
    monkeypatch.setattr(replay_module, "gold_refresh_for", gold_spy)
    return seen


def test_a_reprocess_loads_keyset_batches_in_groups_with_one_gold_refresh(monkeypatch, calls):
    objects = _store_quotes(12)
    # Small batches and groups, to see the keyset walk and the grouping: 3 batches of 4 objects,
    # grouped across the batches' edges into groups of 5, 5 and 2.
    monkeypatch.setattr(replay_module, "REPLAY_BATCH", 4)
    monkeypatch.setattr(replay_module, "GROUP_OBJECTS", 5)
    plan = reprocess_plan(source="nse_api", start=DAY, end=DAY)
    assert plan.object_ids == [obj.pk for obj in objects]
    assert plan.records == 12 * PER_OBJECT
    progress = []

    run = reprocess_execute(plan, workers=False, progress=lambda n, records: progress.append((n, records)))

    assert (run.status, run.trigger, run.fetched, run.inserted, run.duplicates) == (
        "success",
        "backfill",
        600,
        600,
        0,
    )
    assert StockData.objects.count() == 600
    assert set(LakeObject.objects.values_list("status", flat=True)) == {"loaded"}
    assert progress == [(5, 250), (5, 250), (2, 100)]
    assert calls["drift"] == 3  # one per group, not one per object
    assert calls["gold"] == [[DAY]]  # one refresh for the whole replay
    assert DailyBar.objects.filter(source="nse_api", date=DAY).count() == len(
        set(StockData.objects.values_list("ticker", flat=True))
    )

    again = reprocess_execute(reprocess_plan(source="nse_api", start=DAY, end=DAY), workers=False)
    assert (again.inserted, again.duplicates) == (0, 600)
    assert StockData.objects.count() == 600


@requires_postgres
def test_a_backfill_of_a_past_month_writes_into_that_months_partition_not_the_default(capsys):
    with connection.cursor() as cursor:  # (a transactional test that ran first may have left that month's)
        cursor.execute('DROP TABLE IF EXISTS "stock_data_warehouse_p2025_03"')
    _store_quotes(3)  # 5 March 2025: no partition of that month exists, its rows would go to the default
    assert "stock_data_warehouse_p2025_03" not in {p.name for p in partitions_list("stock_data_warehouse")}

    call_command("reprocess", "nse_api", "--from", str(DAY), "--to", str(DAY), "--local")

    assert "created 1 monthly partition(s) for these days: stock_data_warehouse_p2025_03" in capsys.readouterr().out
    assert rows_per_partition("stock_data_warehouse") == {"stock_data_warehouse_p2025_03": 3 * PER_OBJECT}
    run = PipelineRun.objects.get(trigger="backfill")
    assert run.params["partitions_created"] == ["stock_data_warehouse_p2025_03"]
    # The social table got none (not this pipeline's), and a second backfill creates nothing again.
    assert "social_mentions_warehouse_p2025_03" not in {p.name for p in partitions_list("social_mentions_warehouse")}
    second = reprocess_execute(reprocess_plan(source="nse_api", start=DAY, end=DAY), workers=False)
    assert (second.status, second.duplicates, "partitions_created" in second.params) == ("success", 150, False)


def test_a_replay_reads_each_group_once_the_next_while_the_server_loads_this_one(monkeypatch):
    objects = _store_quotes(12)
    monkeypatch.setattr(replay_module, "GROUP_OBJECTS", 5)
    reads = []
    read = replay_module.lake_objects_read

    def spy(objs):
        copying = connection.vendor == "postgresql" and connection.connection.info.transaction_status == 1
        reads.append(([o.pk for o in objs], copying))  # 1: TransactionStatus.ACTIVE, a COPY in progress
        return read(objs)

    monkeypatch.setattr(replay_module, "lake_objects_read", spy)
    run = reprocess_execute(reprocess_plan(source="nse_api", start=DAY, end=DAY), workers=False)
    assert (run.status, run.inserted) == ("success", 600)
    ids = [o.pk for o in objects]
    assert [pks for pks, _ in reads] == [ids[:5], ids[5:10], ids[10:]]  # once each, in order
    if connection.vendor == "postgresql":
        # The first group is read before any load; each next one inside the load of the group before it.
        assert [copying for _, copying in reads] == [False, True, True]


def test_one_unreadable_object_does_not_stop_the_rest_of_its_group():
    objects = _store_quotes(5)
    lake_storage().delete(objects[2].key)

    run = reprocess_execute(reprocess_plan(source="nse_api", start=DAY, end=DAY), workers=False)

    assert run.status == "partial"
    assert run.inserted == 4 * PER_OBJECT
    assert objects[2].key in run.error
    assert StockData.objects.filter(lake_object_id=objects[2].pk).count() == 0
    assert StockData.objects.count() == 4 * PER_OBJECT


def test_a_range_task_run_twice_loads_its_objects_once():
    objects = _store_quotes(6)
    run = PipelineRun.objects.create(pipeline="nse_api", source="nse_api", trigger="backfill", status="running")
    first, last = objects[1].pk, objects[3].pk

    answer = tasks.reprocess_range_task.apply(args=["nse_api", first, last, run.pk]).get()
    assert (answer["fetched"], answer["inserted"], answer["duplicates"]) == (150, 150, 0)
    again = tasks.reprocess_range_task.apply(args=["nse_api", first, last, run.pk]).get()
    assert (again["fetched"], again["inserted"], again["duplicates"]) == (150, 0, 150)
    assert set(StockData.objects.values_list("lake_object_id", flat=True)) == {o.pk for o in objects[1:4]}


class _Answered:
    """A range task's result that is in (what ``send_task`` gives back, without a worker)."""

    def __init__(self, value):
        self.value = value

    def ready(self):
        return True

    def get(self, propagate=True):
        return self.value


def test_a_fan_out_refreshes_gold_for_the_days_in_and_for_a_failed_ranges_days(monkeypatch, calls):
    objects = _store_quotes(4)
    answers = iter([{"fetched": 100, "inserted": 100, "dates": [DAY.isoformat()]}, RuntimeError("worker lost")])
    monkeypatch.setattr(replay_module.celery_app, "send_task", lambda *args, **kwargs: _Answered(next(answers)))
    run = reprocess_execute(reprocess_plan(source="nse_api", start=DAY, end=DAY), workers=True, chunk=2)
    assert "worker lost" in run.error
    assert run.fetched == 100
    # The failed range named no dates: its objects' partition day and the day either side are refreshed.
    assert objects[2].partition_date == DAY
    assert calls["gold"] == [[DAY - timedelta(days=1), DAY, DAY + timedelta(days=1)]]


def test_a_fan_out_notes_the_days_it_owes_gold_until_it_refreshed_them(monkeypatch):
    """Should the dispatcher be killed before its one gold refresh, closing its run refreshes these."""
    _store_quotes(4)
    answers = iter([{"fetched": 100, "inserted": 100, "dates": [DAY.isoformat()]}] * 2)
    monkeypatch.setattr(replay_module.celery_app, "send_task", lambda *args, **kwargs: _Answered(next(answers)))
    owed_at_refresh = []
    refresh = replay_module.replay_gold_refresh

    def spy(source, dates, outcome):
        run = PipelineRun.objects.get(trigger="backfill")
        owed_at_refresh.append(run.params.get("gold_pending"))
        return refresh(source, dates, outcome)

    monkeypatch.setattr(replay_module, "replay_gold_refresh", spy)
    run = reprocess_execute(reprocess_plan(source="nse_api", start=DAY, end=DAY), workers=True, chunk=2)
    assert owed_at_refresh == [{"nse_api": [DAY.isoformat()]}]
    run.refresh_from_db()
    assert "gold_pending" not in run.params
    assert run.params["pid"] == os.getpid()  # a killed dispatcher's run is closed as soon as it is seen dead


def test_a_failed_ranges_days_are_those_of_its_objects_in_the_plans_dates(monkeypatch, calls):
    """A range of ids can hold objects of other days than the plan's (stored late, or a file of another
    day): its task replays the plan's days only, and so only those are refreshed when it fails."""
    objects = _store_quotes(2)
    later = datetime(2025, 3, 20, 9, 15, tzinfo=local_tz())
    stray = raw_batch_store(source="nse_api", data=next(quote_payloads(count=5, start=later)), timestamp=later)
    objects.append(_store_quotes(1)[0])
    assert objects[0].pk < stray.pk < objects[-1].pk
    assert stray.partition_date != DAY
    monkeypatch.setattr(
        replay_module.celery_app, "send_task", lambda *args, **kwargs: _Answered(RuntimeError("worker lost"))
    )
    reprocess_execute(reprocess_plan(source="nse_api", start=DAY, end=DAY), workers=True, chunk=10)
    assert calls["gold"] == [[DAY - timedelta(days=1), DAY, DAY + timedelta(days=1)]]


def test_a_gold_refresh_that_fails_is_the_replays_error_and_its_loads_stand(monkeypatch):
    _store_quotes(2)

    def broken(spec, dates):
        raise RuntimeError("gold is down")

    monkeypatch.setattr(replay_module, "gold_refresh_for", broken)
    run = reprocess_execute(reprocess_plan(source="nse_api", start=DAY, end=DAY), workers=False)
    assert run.status == "partial"
    assert "gold refresh of 2025-03-05..2025-03-05 failed: RuntimeError: gold is down" in run.error
    assert StockData.objects.count() == 2 * PER_OBJECT


def test_the_plan_splits_into_ranges_of_consecutive_objects():
    assert replay_module.reprocess_ranges([3, 5, 8, 9, 12], 2) == [(3, 5, 2), (8, 9, 2), (12, 12, 1)]


@pytest.mark.parametrize("chunk", ["0", "-5", "ten"])
def test_a_chunk_that_is_no_positive_number_is_refused_before_anything_runs(chunk):
    # Fanned out with a chunk of 0 or less, no range task was sent and the run said "success" with nothing loaded.
    _store_quotes(2)
    with pytest.raises(CommandError, match=r"argument --chunk: (at least 1 object per task|a whole number)"):
        call_command("reprocess", "nse_api", "--from", str(DAY), "--to", str(DAY), "--chunk", chunk)
    assert not PipelineRun.objects.filter(trigger="backfill").exists()
    with pytest.raises(ValueError, match="at least 1 object per range"):
        replay_module.reprocess_ranges([3, 5], 0)


@pytest.mark.worker
@pytest.mark.slow
def test_a_reprocess_fans_out_ranges_to_a_real_worker(celery_worker_process, capsys, calls):
    _store_quotes(9)
    call_command("reprocess", "nse_api", "--from", str(DAY), "--to", str(DAY), "--chunk", "4")
    out = capsys.readouterr()
    assert "fanned out 3 range tasks to the Celery workers" in out.out
    run = PipelineRun.objects.get(trigger="backfill")
    assert (run.status, run.fetched, run.inserted) == ("success", 450, 450)
    assert StockData.objects.count() == 450
    assert "rec/s" in out.err  # the progress bar's rate is in records per second
    # The ranges leave gold to the fan-out, which refreshes the day once when every range is in.
    assert calls["gold"] == [[DAY]]
    assert DailyBar.objects.filter(source="nse_api", date=DAY).count() == len(
        set(StockData.objects.values_list("ticker", flat=True))
    )


def test_a_range_task_of_a_fan_out_leaves_gold_and_names_its_dates():
    _store_quotes(2)
    objects = LakeObject.objects.order_by("pk")
    answer = tasks.reprocess_range_task.apply(
        args=["nse_api", objects[0].pk, objects[1].pk], kwargs={"refresh_gold": False}
    ).get()
    assert (answer["inserted"], answer["dates"]) == (100, [DAY.isoformat()])
    assert not DailyBar.objects.exists()
