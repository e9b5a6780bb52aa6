import datetime as dt

import pytest

from quality.services import quality_evaluate, rejects_quarantine
from quality.validation import DataValidator

from .conftest import mention

HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


def _seed():
    now = dt.datetime(2026, 5, 19, 12, 0, tzinfo=dt.UTC)
    result = DataValidator("social_mentions", now=now).validate([mention(text=HOSTILE, sentiment="ecstatic")])
    rejects_quarantine(dataset="social_mentions", run_id=3, lake_object_id=None, rejected=result.rejected)
    quality_evaluate(run_id=3, dataset="stock_quotes", counts={"fetched": 10, "valid": 5, "rejected": 5})
    quality_evaluate(run_id=4, dataset="stock_quotes", counts={"fetched": 10, "valid": 6, "rejected": 4})


@pytest.mark.django_db
def test_the_page_needs_a_login(client):
    response = client.get("/quality/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_the_page_renders_hostile_records_escaped(client, user):
    _seed()
    client.force_login(user)
    html = client.get("/quality/").content.decode()
    assert HOSTILE not in html
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in html


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_dashboard_shows_scorecards_trends_checks_incidents_and_rejects_as_text(logged_in_page, live_server):
    _seed()
    page = logged_in_page
    page.goto(f"{live_server.url}/quality/")
    page.wait_for_function("() => window.qualityCharts && window.qualityCharts.valid_ratio")

    card = page.locator('.scorecard[data-dataset="stock_quotes"]')
    # The day's valid share over both runs: 11 of 20 records.
    assert "Valid today55.0 %" in card.inner_text().replace("\n", "").replace("\t", "")
    assert card.locator(".badge.bad").inner_text() == "1"
    assert page.locator("#problem-checks").get_by_text("stock_quotes valid records").count() == 1
    # The check failed on the last run's own ratio (6 of 10), not the card's: the row says which it measured.
    row = page.locator("#problem-checks tr", has_text="stock_quotes valid records").inner_text()
    assert "60.00 percent" in row
    assert "the last run alone" in row
    assert "stock_quotes valid records: stock_quotes valid_ratio is 50" in page.locator("#incidents").inner_text()

    group = page.locator('.reject-group[data-rule="sentiment_known"]')
    assert "1 record" in group.inner_text()
    record_text = group.locator("pre.record").inner_text()
    assert "<script>window.__pwned = 1</script>" in record_text
    assert '<img src=x onerror=\\"window.__pwned = 2\\">' in record_text
    assert page.evaluate("window.__pwned") is None
    assert page.locator(".reject-group img").count() == 0
    assert page.locator("main script").count() == 1  # only the json_script data block

    points = page.evaluate("window.qualityCharts.valid_ratio.data.datasets.map(d => [d.label, d.data.length])")
    assert points == [["stock quotes", 2]]
    assert page.external_requests == []


@pytest.mark.django_db
def test_a_dataset_with_older_rows_but_none_today_says_so_not_no_data(client, user):
    from decimal import Decimal

    from django.utils import timezone

    from warehouse.models import DailyBar

    last_week = timezone.localdate() - dt.timedelta(days=7)
    DailyBar.objects.create(ticker="TCS", date=last_week, source="nse_bhavcopy", close=Decimal("3500.00"))
    quality_evaluate()
    client.force_login(user)
    html = client.get("/quality/").content.decode()
    card = html.split('data-dataset="daily_bars"', 1)[1].split("</dl>", 1)[0]
    assert "no rows today" in card
    assert "no data yet" not in card


@pytest.mark.django_db
def test_an_incident_still_failing_shows_its_latest_value_beside_the_one_it_opened_with(client, user):
    _seed()  # the valid-records check fails at 50 % (run 3), then again at 60 % (run 4)
    client.force_login(user)
    html = client.get("/quality/").content.decode()
    row = html.split('<table id="incidents">', 1)[1].split("</tr>", 2)[1]
    assert "stock_quotes valid_ratio is 50 percent" in row  # what it opened with
    assert "Latest: 60.00 percent" in row
