"""Two "run now" clicks at once, with a real worker running: one run executes, the other is recorded
as skipped (409), every time.

The clicks are two real HTTP requests to the live server, sent together from two threads (released by
a barrier), three rounds in a row; the worker is a real Celery worker on the configured broker.
"""

import re
import threading

import pytest
import requests
from rest_framework.authtoken.models import Token

from pipelines.models import PipelineLock, PipelineRun
from tests.faults.conftest import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.worker]

ROUNDS = 3


def lock_free() -> bool:
    return not PipelineLock.objects.filter(pipeline="nse_api", holder_run_id__isnull=False).exists()


def clicks_at_once(url: str, token: str, count: int = 2) -> list[requests.Response]:
    barrier = threading.Barrier(count)
    answers: list = [None] * count

    def click(n: int) -> None:
        barrier.wait(timeout=10)
        answers[n] = requests.post(url, headers={"Authorization": f"Token {token}"}, timeout=30)

    threads = [threading.Thread(target=click, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_two_run_now_clicks_at_once_make_one_run_and_one_skipped_run(live_server, celery_worker_process, staff_user):
    token = Token.objects.create(user=staff_user).key
    url = f"{live_server.url}/api/pipelines/nse_api/run"
    executed = []
    for _ in range(ROUNDS):
        answers = clicks_at_once(url, token)
        assert sorted(a.status_code for a in answers) == [202, 409], [a.text for a in answers]
        accepted = next(a.json() for a in answers if a.status_code == 202)
        refused = next(a.json() for a in answers if a.status_code == 409)
        assert accepted["status"] == "queued"
        assert refused["status"] == "skipped"
        assert refused["detail"] == "another run of this pipeline is queued or running"
        finished = PipelineRun.objects.filter(pk=accepted["id"], status__in=["success", "partial", "failed"])
        done = wait_for(finished.first, timeout=60)
        assert done, celery_worker_process.log.read_text()[-3000:]
        assert done.status == "success", done.error
        assert PipelineRun.objects.get(pk=refused["id"]).status == "skipped"
        executed.append(done.pk)
        # The run row is finished before the run's quality pass ends and its lock is let go: the next
        # round's clicks come once the lock is free, as a person's would after the page shows the run done.
        assert wait_for(lock_free, timeout=30)

    runs = PipelineRun.objects.filter(pipeline="nse_api")
    assert runs.count() == 2 * ROUNDS
    assert sorted(runs.filter(status="success").values_list("pk", flat=True)) == sorted(executed)
    assert runs.filter(status="skipped").count() == ROUNDS

    # The skipped clicks never reached the worker: it executed exactly one task per round. (A run row is
    # finished before its task returns and the worker logs "succeeded": wait for the last round's line.)
    def succeeded():
        return re.findall(r"Task pipelines\.run\[([0-9a-f-]+)\] succeeded", celery_worker_process.log.read_text())

    wait_for(lambda: len(succeeded()) >= ROUNDS, timeout=30)
    tasks = succeeded()
    assert len(tasks) == len(set(tasks)) == ROUNDS
    assert sorted(PipelineRun.objects.filter(pk__in=executed).values_list("celery_task_id", flat=True)) == sorted(tasks)
    assert PipelineLock.objects.get(pipeline="nse_api").holder_run_id is None
