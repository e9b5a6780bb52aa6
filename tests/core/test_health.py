import pytest


@pytest.mark.django_db
def test_healthz_answers_200_when_database_broker_and_lake_are_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["failed"] == []
    assert {name for name, check in body["checks"].items() if check["ok"]} == {"database", "broker", "lake"}


@pytest.mark.django_db
def test_healthz_answers_503_naming_the_lake_when_it_cannot_be_written(client, settings, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the lake folder should be")
    settings.LAKE_URL = str(blocker / "lake")
    response = client.get("/healthz/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["failed"] == ["lake"]
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.django_db
def test_healthz_answers_503_naming_the_broker_when_it_is_unreachable(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["broker"]
    # The probe is public: why it failed (a host and port here) is for the log and for staff.
    assert response.json()["checks"]["broker"]["detail"] == "failed (the reason is in the server log)"
    assert "127.0.0.1" not in response.content.decode()


@pytest.mark.django_db
def test_staff_see_why_a_health_check_failed(client, settings, staff_user, caplog):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    client.force_login(staff_user)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "127.0.0.1" in response.json()["checks"]["broker"]["detail"]
    assert "health check broker failed" in caplog.text
