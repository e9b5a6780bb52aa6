"""Every page reads right in real Chromium, wide (1400 px) and on a phone (390 px): no console errors or
failed requests, nothing wider than the screen, status badges inside their cards, "no data" where there
is none, and time axes around the data instead of around 1 January 1970."""

import pytest
from django.conf import settings

from pipelines.services import simulate_history
from quality.services import quality_evaluate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1400, 390)
PAGES = ("/", "/lake/", "/quality/", "/admin/", "/admin/pipelines/pipelinerun/", "/admin/lake/lakeobject/")


@pytest.fixture
def staff_page(page, live_server, client, django_user_model):
    """A Chromium page holding an admin's session, recording console errors and failed requests."""
    admin = django_user_model.objects.create_superuser(username="boss", password="boss-pass-123")
    client.force_login(admin)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}])
    page.problems = []
    page.on(
        "console", lambda msg: page.problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None
    )
    page.on("pageerror", lambda exc: page.problems.append(f"page error: {exc}"))
    page.on("requestfailed", lambda req: page.problems.append(f"failed: {req.url} {req.failure}"))
    page.on(
        "response", lambda res: page.problems.append(f"HTTP {res.status}: {res.url}") if res.status >= 400 else None
    )
    return page


def visit(page, url: str, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(url)
    page.wait_for_load_state("networkidle")


@pytest.fixture
def two_simulated_days(settings):
    settings.SIMULATE_UPSTREAMS = True
    settings.SIMULATOR_NOW = ""  # the real clock: the home page's 30 days are the last 30 real days
    result = simulate_history(days=2)
    assert len(result.filled) == 2
    return result


def test_every_page_loads_without_console_errors_and_fits_the_screen(two_simulated_days, staff_page, live_server):
    page = staff_page
    for width in WIDTHS:
        for path in PAGES:
            visit(page, f"{live_server.url}{path}", width)
            if path == "/":
                page.wait_for_selector(".pipeline-card")
            assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{path} is wider than {width} px"
    assert page.problems == []
    assert page.external_requests == []


def test_the_pipeline_cards_keep_their_status_badges_inside(two_simulated_days, staff_page, live_server):
    page = staff_page
    for width in WIDTHS:
        visit(page, f"{live_server.url}/", width)
        page.wait_for_selector(".pipeline-card .badge")
        cards = page.locator(".pipeline-card")
        assert cards.count() == 4
        for n in range(4):
            card = cards.nth(n).bounding_box()
            badge = cards.nth(n).locator(".badge").first.bounding_box()
            inside = (
                card["x"] <= badge["x"],
                badge["x"] + badge["width"] <= card["x"] + card["width"],
                card["y"] <= badge["y"],
                badge["y"] + badge["height"] <= card["y"] + card["height"],
            )
            assert inside == (True, True, True, True), (width, n, card, badge)
    assert page.problems == []


def test_the_home_page_shows_the_simulated_days(two_simulated_days, staff_page, live_server):
    page = staff_page
    visit(page, f"{live_server.url}/", 1400)
    page.wait_for_function("() => document.getElementById('st-days').textContent === '2'")
    page.wait_for_function("() => document.getElementById('timeline-ticker').textContent !== '…'")
    assert page.locator("#timeline-range").input_value() == "days"
    assert page.locator("#timeline-ticker").inner_text() != "no data yet"
    assert page.locator("#timeline-empty").is_hidden()
    assert page.locator("#sim-badge").is_visible()
    assert page.problems == []


def test_a_dataset_without_rows_says_no_data_and_one_measurement_sits_on_a_sensible_axis(staff_page, live_server):
    # One quality pass over an empty warehouse: every check has run once, no dataset has a row.
    quality_evaluate(run_id=1, dataset="stock_quotes", counts={"fetched": 10, "valid": 10, "rejected": 0})
    page = staff_page
    visit(page, f"{live_server.url}/quality/", 1400)
    page.wait_for_function("() => window.qualityCharts && window.qualityCharts.valid_ratio")

    daily_bars = page.locator('.scorecard[data-dataset="daily_bars"] .value')
    assert daily_bars.inner_text() == "no data yet"
    assert "/100" not in page.locator('.scorecard[data-dataset="daily_bars"]').inner_text()
    # A trend with no point at all says so, instead of an empty chart on an epoch axis.
    assert page.locator("#trend-completeness").count() == 0
    assert "No data yet." in page.locator(".trend", has_text="Completeness").inner_text()

    axis = page.evaluate(
        """() => { const c = window.qualityCharts.valid_ratio, x = c.scales.x, p = c.data.datasets[0].data[0];
                  return {min: x.min, max: x.max, point: p.x, labels: x.ticks.map((t) => t.label)}; }"""
    )
    hour = 3600 * 1000
    assert axis["max"] - axis["min"] == hour  # one point: an hour around it
    assert axis["min"] < axis["point"] < axis["max"]
    assert axis["labels"]
    assert [label for label in axis["labels"] if "01 Jan" in label or "1970" in label] == []
    assert page.problems == []
