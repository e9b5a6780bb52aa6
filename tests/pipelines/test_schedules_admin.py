"""Beat schedules edited in admin: a task's arguments are checked where they are written (pipelines.schedules),
and one stored past admin fails its tick in one line, or is recorded as a skipped run saying why."""

import pytest
from django.core.management import CommandError, call_command
from django_celery_beat.models import PeriodicTask

from pipelines.models import PipelineRun
from pipelines.schedules import schedule_problems
from pipelines.tasks import pipeline_run_task, replay_unloaded_task
from warehouse.tasks import warehouse_partitions

pytestmark = pytest.mark.django_db


def _post(admin_client, schedule: PeriodicTask, **changes):
    """The admin change form of ``schedule`` as a browser sends it, with ``changes``."""
    fields = {
        "name": schedule.name,
        "task": schedule.task,
        "crontab": schedule.crontab_id or "",
        "interval": schedule.interval_id or "",
        "args": schedule.args,
        "kwargs": schedule.kwargs,
        "headers": schedule.headers,
        "enabled": "on",
        "description": schedule.description,
        **changes,
    }
    return admin_client.post(f"/admin/django_celery_beat/periodictask/{schedule.pk}/change/", fields)


@pytest.mark.parametrize(
    ("name", "changes", "said"),
    [
        (
            "Replay unloaded lake objects (every 10 minutes)",
            {"kwargs": '{"limt": 100}'},
            "got an unexpected keyword argument &#x27;limt&#x27;",
        ),
        (
            "Replay unloaded lake objects (every 10 minutes)",
            {"kwargs": '{"limit": -1}'},
            "limit: a whole number of objects, 1 or more; got -1",
        ),
        (
            "Replay unloaded lake objects (every 10 minutes)",
            {"kwargs": '{"limit": "100"}'},
            "1 or more; got &quot;100&quot;",
        ),
        ("Replay unloaded lake objects (every 10 minutes)", {"args": "[1, 2]"}, "too many positional arguments"),
        (
            "Replay unloaded lake objects (every 10 minutes)",
            {"args": '{"limit": 5}'},
            "args: a JSON list of positional arguments",
        ),
        ("Warehouse partitions (daily)", {"kwargs": '{"ahead": 1000}'}, "ahead: a whole number of months, 0 to 120"),
        ("Lake retention (daily)", {"kwargs": '{"days": 7.5}'}, "days: a whole number of days, 0 or more (or null)"),
        (
            "Lake retention (daily)",
            {"task": "lake.tasks.lake_retension"},
            "no task named &#x27;lake.tasks.lake_retension&#x27;",
        ),
    ],
    ids=["typo", "negative", "text", "extra-arg", "args-object", "ahead", "fraction", "task-typo"],
)
def test_a_schedule_its_task_could_not_run_is_refused_in_admin(admin_client, name, changes, said):
    task = PeriodicTask.objects.get(name=name)
    before = (task.task, task.args, task.kwargs)
    response = _post(admin_client, task, **changes)
    assert response.status_code == 200
    assert said in response.content.decode()
    task.refresh_from_db()
    assert (task.task, task.args, task.kwargs) == before


@pytest.mark.parametrize(
    ("kwargs", "said"),
    [
        ('{"pipeline": "nse"}', "pipeline: one of nse_api, nse_bhavcopy, twitter, telegram; got &quot;nse&quot;"),
        (
            '{"pipeline": "twitter", "mode": "livee"}',
            "mode: a schedule mode: simulated, live or null; got &quot;livee&quot;",
        ),
        ('{"pipeline": "twitter", "trigger": "cron"}', "trigger: one of schedule, manual, replay, backfill"),
    ],
    ids=["pipeline", "mode", "trigger"],
)
def test_a_pipeline_schedule_with_a_name_no_code_knows_is_refused(admin_client, kwargs, said):
    task = PeriodicTask.objects.filter(task="pipelines.run").order_by("pk").first()
    response = _post(admin_client, task, kwargs=kwargs)
    assert response.status_code == 200
    assert said in response.content.decode()


def test_a_sound_change_is_saved(admin_client):
    task = PeriodicTask.objects.get(name="Replay unloaded lake objects (every 10 minutes)")
    response = _post(admin_client, task, kwargs='{"limit": 50}')
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.kwargs == '{"limit": 50}'


def test_every_shipped_schedule_passes_the_check():
    tasks = list(PeriodicTask.objects.all())
    assert len(tasks) >= 6
    assert {t.name: schedule_problems(t.task, t.args, t.kwargs) for t in tasks} == {t.name: [] for t in tasks}


def test_another_apps_task_is_left_to_its_own_devices():
    assert schedule_problems("celery.backend_cleanup", "[]", '{"whatever": 1}') == []


def test_a_pipeline_tick_with_a_mode_or_trigger_no_code_knows_is_a_skipped_run_saying_why(settings):
    settings.SIMULATE_UPSTREAMS = True
    # Before, "livee" ran the pipeline as if unscheduled, and "cron" was stored as the run's trigger.
    answer = pipeline_run_task.apply(kwargs={"pipeline": "nse_api", "mode": "livee"}).get()
    run = PipelineRun.objects.get(pk=answer["run"])
    assert (run.status, run.trigger) == ("skipped", "schedule")
    assert run.error == 'this schedule\'s mode must be a schedule mode: simulated, live or null; got "livee"'
    answer = pipeline_run_task.apply(kwargs={"pipeline": "nse_api", "trigger": "cron"}).get()
    run = PipelineRun.objects.get(pk=answer["run"])
    assert (run.status, run.trigger) == ("skipped", "schedule")
    assert run.error.startswith(
        'this schedule\'s trigger must be one of schedule, manual, replay, backfill; got "cron"'
    )


@pytest.mark.parametrize("limit", [-1, 0, "100"])
def test_a_replay_tick_with_a_limit_that_is_no_count_fails_in_one_line(limit):
    result = replay_unloaded_task.apply(kwargs={"limit": limit})
    assert result.failed()
    assert str(result.result).startswith("limit: a whole number of objects, 1 or more; got ")
    assert not PipelineRun.objects.exists()


@pytest.mark.parametrize("ahead", [-1, 121, "3"])
def test_a_partitions_tick_with_months_ahead_out_of_range_fails_in_one_line(ahead):
    result = warehouse_partitions.apply(kwargs={"ahead": ahead})
    assert result.failed()
    assert str(result.result).startswith("ahead: a whole number of months, 0 to 120; got ")


def test_the_partitions_command_refuses_too_many_months_ahead():
    with pytest.raises(CommandError, match="--ahead must be 0 to 120 months, got 1000"):
        call_command("warehouse_partitions", "--ahead", "1000")
