"""The pipelines page (home) in real headless Chromium."""

import pytest

from pipelines.services import pipeline_run
from warehouse.models import SocialMention

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def with_runs(sim):
    pipeline_run(pipeline="nse_api")
    pipeline_run(pipeline="twitter")
    return sim


def test_the_home_page_shows_stats_pipelines_charts_and_recent_runs(with_runs, logged_in_page, live_server):
    page = logged_in_page
    page.goto(f"{live_server.url}/")
    page.wait_for_selector("#runs tbody tr td:has-text('nse_api')")
    assert page.locator("#sim-badge").is_visible()
    assert page.locator("#st-stock").inner_text() not in ("", "\u2013", "0")
    cards = page.locator(".pipeline-card")
    assert cards.count() == 4
    quotes = page.locator(".pipeline-card[data-pipeline=nse_api]")
    assert "success" in quotes.inner_text()
    assert "rows loaded" in quotes.inner_text()
    assert "Next run" in quotes.inner_text()
    assert page.locator(".pipeline-card button").count() == 0  # not staff: no run-now buttons
    page.wait_for_function("() => document.getElementById('timeline-ticker').textContent !== '…'")
    assert page.locator("#timeline-ticker").inner_text() != "no data yet"
    assert page.evaluate("() => typeof Chart") == "function"
    assert page.locator("#loaded-chart").bounding_box()["height"] > 50
    assert page.external_requests == []


def test_a_tweet_with_markup_is_shown_as_text_and_runs_nothing(with_runs, logged_in_page, live_server):
    page = logged_in_page
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    SocialMention.objects.update(channel="<img src=x onerror=alert(1)>")
    page.goto(f"{live_server.url}/")
    page.wait_for_selector("#runs tbody tr td:has-text('twitter')")
    assert page.locator("img").count() == 0
    assert dialogs == []


def test_staff_see_run_now_and_a_second_click_is_reported_as_already_running(
    sim, page, live_server, client, staff_user
):
    from django.conf import settings

    client.force_login(staff_user)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page.goto(f"{live_server.url}/")
    button = page.locator(".pipeline-card[data-pipeline=telegram] button")
    button.wait_for()
    button.click()
    page.wait_for_function(
        "() => document.querySelector('.pipeline-card[data-pipeline=telegram] button').textContent.startsWith('Queued run #')"
    )
    # the run is queued (no worker here), so another request from the page is refused with the reason
    answer = page.evaluate(
        """async () => {
            const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
            const res = await fetch('/api/pipelines/telegram/run', {method: 'POST', headers: {'X-CSRFToken': token}});
            return {status: res.status, body: await res.json()};
        }"""
    )
    assert answer["status"] == 409
    assert "queued or running" in answer["body"]["detail"]
