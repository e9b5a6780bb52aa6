import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from pipelines.models import PipelineLock
from pipelines.services import pipeline_lock, pipeline_lock_acquire, pipeline_lock_release

pytestmark = pytest.mark.django_db


def test_a_second_run_cannot_take_a_held_lock():
    assert pipeline_lock_acquire("nse_api", run_id=1) is True
    assert pipeline_lock_acquire("nse_api", run_id=2) is False
    assert PipelineLock.objects.get(pipeline="nse_api").holder_run_id == 1


def test_the_lock_is_reentrant_for_its_own_run_and_free_after_release():
    assert pipeline_lock_acquire("twitter", run_id=7) is True
    assert pipeline_lock_acquire("twitter", run_id=7) is True
    pipeline_lock_release("twitter", run_id=7)
    assert PipelineLock.objects.get(pipeline="twitter").holder_run_id is None
    assert pipeline_lock_acquire("twitter", run_id=8) is True


def test_an_expired_lock_of_a_killed_run_is_taken_over():
    assert pipeline_lock_acquire("telegram", run_id=1) is True
    PipelineLock.objects.filter(pipeline="telegram").update(expires_at=timezone.now() - timedelta(seconds=1))
    assert pipeline_lock_acquire("telegram", run_id=2) is True
    assert PipelineLock.objects.get(pipeline="telegram").holder_run_id == 2


def test_locks_of_different_pipelines_are_independent():
    with pipeline_lock("nse_api", run_id=1) as first, pipeline_lock("twitter", run_id=2) as second:
        assert (first, second) == (True, True)


def test_the_context_manager_releases_only_what_it_took():
    with pipeline_lock("nse_api", run_id=1) as first:
        with pipeline_lock("nse_api", run_id=2) as second:
            assert second is False
        assert PipelineLock.objects.get(pipeline="nse_api").holder_run_id == 1
    assert PipelineLock.objects.get(pipeline="nse_api").holder_run_id is None
    assert first is True


@pytest.mark.django_db(transaction=True)
def test_concurrent_claimers_get_exactly_one_lock():
    results = []
    barrier = threading.Barrier(8)

    def claim(run_id):
        from django.db import connection as thread_connection

        barrier.wait()
        results.append(pipeline_lock_acquire("nse_bhavcopy", run_id=run_id))
        thread_connection.close()

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]
