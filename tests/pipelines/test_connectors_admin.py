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


def _add_channel(admin_client, username: str):
    fields = {"username": username, "title": "x", "active": "on", "web_preview": "on"}
    return admin_client.post(
        "/admin/pipelines/telegramchannel/add/", {**fields, "created_0": "2026-12-06", "created_1": "10:00:00"}
    )


@pytest.mark.parametrize("username", ["../bot123/getUpdates", "tips?before=1", "nse tips", "abc", "1tips", "a" * 33])
def test_a_channel_username_that_telegram_could_not_have_is_refused(admin_client, username):
    response = _add_channel(admin_client, username)
    assert response.status_code == 200
    assert "a Telegram username: 4 to 32 letters, digits and underscores" in response.content.decode()
    assert not TelegramChannel.objects.exists()


@pytest.mark.parametrize("username", ["@PumpKing_2024", "abcd", "nse_tips_demo"])
def test_a_channel_username_telegram_allows_is_saved(admin_client, username):
    response = _add_channel(admin_client, username)
    assert response.status_code == 302
    assert TelegramChannel.objects.get().username == username


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


@pytest.mark.parametrize(
    ("source", "value", "said"),
    [
        ("twitter", '{"since_id": "1897162513242390533"}', "since_id: an object of search query to the newest"),
        ("twitter", '{"since_id": {"($INFY)": "1897"}, "offset": 3}', "&#x27;offset&#x27; is nothing twitter keeps"),
        ("telegram", '{"offset": 14.5}', "offset: a whole number (the last update_id + 1); got 14.5"),
        ("telegram", "[]", "an object, e.g. {} to start afresh; got []"),
        ("twiter", "{}", "no connector is called &#x27;twiter&#x27;"),
    ],
    ids=["since-text", "twitter-offset", "offset-fraction", "list", "source-typo"],
)
def test_a_state_its_connector_could_not_resume_from_is_refused_in_admin(admin_client, source, value, said):
    response = admin_client.post(
        "/admin/pipelines/connectorstate/add/", {"source": source, "key": "default", "value": value}
    )
    assert response.status_code == 200
    assert said in response.content.decode()
    assert not ConnectorState.objects.exists()


def test_resetting_a_twitter_query_in_admin_is_saved(admin_client):
    value = '{"since_id": {"($INFY)": "1897162513242390533", "($TCS)": 1897162513242390999}}'
    response = admin_client.post(
        "/admin/pipelines/connectorstate/add/", {"source": "twitter", "key": "default", "value": value}
    )
    assert response.status_code == 302
    assert ConnectorState.objects.get().value["since_id"]["($TCS)"] == 1897162513242390999
