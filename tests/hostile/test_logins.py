"""Issue 11, item 6: both login forms lock out by username and by IP after AXES_FAILURE_LIMIT wrong
passwords (django-axes), bad API tokens are throttled per IP, and authenticated API users are throttled."""

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.throttling import UserRateThrottle

pytestmark = pytest.mark.django_db

FORMS = ["/admin/login/", "/accounts/login/"]


@pytest.fixture(autouse=True)
def axes_on(settings):
    from axes.handlers.proxy import AxesProxyHandler
    from axes.models import AccessAttempt

    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 5
    cache.clear()
    AxesProxyHandler.implementation = None  # re-read the settings above
    yield
    AccessAttempt.objects.all().delete()
    cache.clear()


def _try(client, url, username, password, ip="10.1.1.1"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.parametrize("url", FORMS)
def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(client, staff_user, url):
    for _ in range(4):
        assert _try(client, url, "ops", "wrong").status_code == 200  # the form again, with its error
    assert _try(client, url, "ops", "wrong").status_code == 429
    locked = _try(client, url, "ops", "ops-pass-123", ip="10.9.9.9")  # another IP: the username is locked
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("url", FORMS)
def test_one_ip_trying_many_usernames_is_locked_out(client, staff_user, url):
    for n in range(5):
        _try(client, url, f"guess{n}", "wrong", ip="10.2.2.2")
    assert _try(client, url, "ops", "ops-pass-123", ip="10.2.2.2").status_code == 429
    # The account itself is fine from elsewhere.
    assert _try(client, url, "ops", "ops-pass-123", ip="10.3.3.3").status_code == 302


def test_a_right_password_before_the_limit_logs_in_and_resets_the_count(client, staff_user):
    for _ in range(4):
        _try(client, "/accounts/login/", "ops", "wrong")
    assert _try(client, "/accounts/login/", "ops", "ops-pass-123").status_code == 302
    client.logout()
    for _ in range(4):
        assert _try(client, "/accounts/login/", "ops", "wrong").status_code == 200


def test_bad_tokens_are_throttled_per_ip(settings):
    settings.API_BAD_TOKEN_LIMIT = 10
    client = APIClient(REMOTE_ADDR="10.4.4.4")
    answers = [
        client.get("/api/data/lake/stats", HTTP_AUTHORIZATION=f"Token bad{n:036d}").status_code for n in range(12)
    ]
    assert answers == [401] * 10 + [429] * 2
    other = APIClient(REMOTE_ADDR="10.5.5.5")
    assert other.get("/api/data/lake/stats", HTTP_AUTHORIZATION="Token x" * 1).status_code == 401


def test_authenticated_users_are_throttled_at_the_user_rate(user, monkeypatch):
    monkeypatch.setitem(UserRateThrottle.THROTTLE_RATES, "user", "3/minute")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    answers = [client.get("/api/data/lake/stats").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    assert "throttled" in client.get("/api/data/lake/stats").json()["detail"].lower()
