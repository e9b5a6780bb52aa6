"""The suspicious-tickers page in real headless Chromium: linked from home, ranked, escaped, filterable."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from warehouse.days import day_start
from warehouse.models import DailyBar, DailySocial, SocialMention

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
MARKUP = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


@pytest.fixture
def ranked_day():
    day = timezone.localdate()
    for ticker, score in (("IRFC", 0.83), ("TCS", 0.31), ("INFY", 0.12)):
        DailySocial.objects.create(
            ticker=ticker, platform="twitter", date=day, mentions=9, pump_signals=3, pump_score=score
        )
    SocialMention.objects.create(
        ticker="IRFC",
        platform="twitter",
        external_id="1",
        text=f"IRFC upper circuit tomorrow {MARKUP}",
        is_pump_signal=True,
        pump_score=0.9,
        channel=MARKUP,
        timestamp=day_start(day) + dt.timedelta(hours=11),
        metadata={"pump_rules": ["upper_circuit"], "pump_terms": ["<b>tomorrow</b>"]},
    )
    DailyBar.objects.create(
        ticker="IRFC", date=day, source="nse_bhavcopy", prev_close=100, close=112, high=131.5, volume=10
    )
    return day


def test_the_home_page_links_to_the_ranked_list_with_its_evidence(ranked_day, logged_in_page, live_server):
    page = logged_in_page
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{live_server.url}/")
    page.click("#suspicious-link")
    page.wait_for_selector("#suspicious tbody tr")
    assert page.url == f"{live_server.url}/suspicious/"
    rows = page.locator("#suspicious tbody tr")
    assert [rows.nth(i).get_attribute("data-ticker") for i in range(rows.count())] == ["IRFC", "TCS", "INFY"]
    first = rows.nth(0)
    assert first.locator("td.score").inner_text() == "0.830"
    assert MARKUP in first.locator(".msg-text").inner_text()  # shown as text
    assert "rules: upper_circuit" in first.inner_text()
    assert "terms: <b>tomorrow</b>" in first.inner_text()
    assert page.locator("#suspicious img, #suspicious script, #suspicious b").count() == 0
    assert first.locator("a", has_text="flagged rows").get_attribute("href") == (
        f"/api/data/warehouse/social/IRFC?start={ranked_day}&end={ranked_day}&is_pump_signal=true"
    )
    assert page.locator("#f-date").input_value() == ranked_day.isoformat()
    # The price move: close to close, and the day's high a pump spiked to.
    assert first.locator("td.num").nth(4).inner_text().split() == ["12.0", "%", "high", "31.5", "%"]
    assert dialogs == []
    assert page.external_requests == []


def test_a_minimum_score_narrows_the_list(ranked_day, logged_in_page, live_server):
    page = logged_in_page
    page.goto(f"{live_server.url}/suspicious/")
    page.wait_for_selector("#suspicious tbody tr")
    page.fill("#f-min", "0.3")
    page.click("#filters button")
    page.wait_for_function("() => document.querySelectorAll('#suspicious tbody tr').length === 2")
    assert page.locator("#s-status").inner_text() == f"2 ticker-days on {ranked_day} with a score of at least 0.3."


def test_an_anonymous_visitor_is_asked_to_log_in(client):
    response = client.get("/suspicious/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/suspicious/"


def test_a_flagged_message_links_to_its_lake_object_opened_in_the_lake_browser(ranked_day, logged_in_page, live_server):
    from lake.services import raw_batch_store

    stored = raw_batch_store(source="twitter", data=[{"id": "7", "text": "IRFC upper circuit tomorrow"}])
    SocialMention.objects.filter(external_id="1").update(lake_object_id=stored.pk)
    page = logged_in_page
    page.goto(f"{live_server.url}/suspicious/")
    page.wait_for_selector("#suspicious tbody tr")
    first = page.locator("#suspicious tbody tr").nth(0)
    assert first.locator("a", has_text="download").get_attribute("href") == (
        f"/api/data/lake/objects/{stored.pk}/download"
    )
    first.locator(".msg-text + .tags a", has_text=f"lake object {stored.pk}").click()
    page.wait_for_url(f"{live_server.url}/lake/?object={stored.pk}")
    expect(page.locator("#lake-viewer-title")).to_have_text(stored.key)
    expect(page.locator("#lake-viewer")).to_contain_text('text: "IRFC upper circuit tomorrow"')
    assert page.locator("#lake-source").input_value() == "twitter"
    expect(page.locator("#lake-objects tbody tr.selected")).to_have_attribute("data-id", str(stored.pk))
    assert page.external_requests == []
