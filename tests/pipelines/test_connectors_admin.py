"""The Telegram channels to follow and the connector state are edited in admin."""

import pytest

from pipelines.models import ConnectorState, TelegramChannel

pytestmark = pytest.mark.django_db


def test_staff_list_and_add_telegram_channels_in_admin(admin_client, django_assert_max_num_queries):
    TelegramChannel.objects.create(chat_id=-1001241558182, title="VVV talk")
    with django_assert_max_num_queries(10):
        page = admin_client.get("/admin/pipelines/telegramchannel/")
    assert page.status_code == 200
    assert "VVV talk" in page.content.decode()
    response = admin_client.post(
        "/admin/pipelines/telegramchannel/add/",
        {"chat_id": "-1001600000003", "username": "multibagger_calls_india", "title": "Multibagger Calls", "active": "on",
         "notes": "", "created_0": "2025-03-05", "created_1": "11:20:00"},
    )  # fmt: skip
    assert response.status_code == 302
    added = TelegramChannel.objects.get(chat_id=-1001600000003)
    assert (added.username, added.active) == ("multibagger_calls_india", True)


def test_connector_state_is_visible_in_admin(admin_client):
    ConnectorState.objects.create(source="twitter", value={"since_id": {"($INFY)": "1897162513242390533"}})
    page = admin_client.get("/admin/pipelines/connectorstate/")
    assert page.status_code == 200
    assert "1897162513242390533" in page.content.decode()


def test_a_non_staff_user_cannot_see_the_channels(client, user):
    client.force_login(user)
    response = client.get("/admin/pipelines/telegramchannel/")
    assert response.status_code == 302
    assert TelegramChannel.objects.count() == 0
