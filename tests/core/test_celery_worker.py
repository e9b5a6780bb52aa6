import pytest

pytestmark = [pytest.mark.worker, pytest.mark.slow]


def test_a_task_goes_through_the_real_broker_to_a_real_worker_and_back(celery_worker_process):
    from core.tasks import ping

    result = ping.delay("hello tickerlake")
    assert result.get(timeout=60)["echo"] == "hello tickerlake"
    assert result.status == "SUCCESS"
