"""Redis (the broker) down for a while: the worker and beat reconnect by themselves and runs resume.

The broker is a private ``redis-server`` on a free port (never the machine's shared one), killed with
SIGKILL and started again on the same port after ``OUTAGE_SECONDS``. The issue speaks of a minute; 25
seconds keep the suite short while still spanning five of the schedule's ticks and several of the
worker's reconnection attempts. Beat runs the project's database scheduler with one schedule: a
simulated quote run every 5 seconds.
"""

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from pipelines.models import PipelineRun
from tests.faults.conftest import child_env, manage_json, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

OUTAGE_SECONDS = 25
EVERY_SECONDS = 5


RUN_NOW = """
import json
from rest_framework.test import APIClient
from django.contrib.auth import get_user_model
user, _ = get_user_model().objects.get_or_create(username="faults-ops", defaults={"is_staff": True})
client = APIClient()
client.force_authenticate(user)
response = client.post("/api/pipelines/nse_api/run")
print(json.dumps({"status_code": response.status_code, "body": response.json()}))
"""


def quote_runs(**filters):
    return PipelineRun.objects.filter(pipeline="nse_api", trigger="schedule", **filters)


def test_worker_and_beat_reconnect_by_themselves_after_redis_was_down_and_runs_resume(private_redis, children):
    PeriodicTask.objects.update(enabled=False)  # only this test's schedule ticks
    every, _ = IntervalSchedule.objects.get_or_create(every=EVERY_SECONDS, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(
        name="faults: simulated quotes every 5 s",
        task="pipelines.run",
        interval=every,
        kwargs=json.dumps({"pipeline": "nse_api", "mode": "simulated"}),
    )
    env = child_env(CELERY_BROKER_URL=private_redis.url, SIMULATE_UPSTREAMS="1")
    worker = children.worker(env)
    beat = children.beat(env)
    pids = (worker.pid, beat.pid)
    assert wait_for(lambda: quote_runs(status="success").count() >= 2, timeout=45), worker.output()[-3000:]

    private_redis.kill()
    down = timezone.now()
    # Someone clicks "run now" while the broker is down (a child: this process's broker is another).
    click = manage_json(RUN_NOW, env=env)
    time.sleep(max(0.0, OUTAGE_SECONDS - (timezone.now() - down).total_seconds()))
    # A run that was already executing may finish after the kill; nothing new starts without the broker.
    started_while_down = quote_runs(created__gt=down + timedelta(seconds=3)).count()
    private_redis.start()
    up = timezone.now()

    resumed = wait_for(lambda: quote_runs(created__gt=up, status="success").count() >= 2, timeout=75)
    assert resumed, f"worker:\n{worker.output()[-2500:]}\nbeat:\n{beat.output()[-2500:]}"
    assert worker.alive
    assert beat.alive
    assert (worker.pid, beat.pid) == pids  # the same processes, nobody restarted them
    assert started_while_down == 0
    # Both noticed the outage (so the test did break something) and came back without help.
    assert "Connection to broker lost" in worker.output()
    missed = beat.output().count("Message Error: Couldn't apply scheduled task")
    assert missed >= 3  # 4 or 5 ticks fall in the outage; beat logs each and carries on
    after = quote_runs(created__gt=up).order_by("created")
    print(
        f"\nruns before the outage: {quote_runs(created__lt=down).count()}; started while Redis was down: "
        f"{started_while_down}; ticks beat could not send: {missed}; first run "
        f"{(after.first().created - up).total_seconds():.1f} s after Redis was back; runs since: {after.count()} "
        f"({after.filter(status='success').count()} success); failed runs overall: {quote_runs(status='failed').count()}"
    )
    assert quote_runs(status="failed").count() == 0

    # The click while Redis was down was answered at once, recorded as failed with the reason, and did
    # not keep the pipeline locked: the scheduled runs after the outage ran instead of being skipped.
    assert click["status_code"] == 503, click
    assert click["body"]["status"] == "failed"
    assert click["body"]["detail"].startswith("could not queue the run: the task broker is unavailable")
    assert PipelineRun.objects.get(pk=click["body"]["id"]).status == "failed"
    assert quote_runs(created__gt=up, status="skipped").count() == 0
