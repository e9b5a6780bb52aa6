import re

import pytest

pytestmark = pytest.mark.django_db

PAGES = ["/", "/lake/", "/quality/", "/suspicious/", "/accounts/login/", "/admin/login/", "/api/docs/"]


@pytest.mark.parametrize("url", PAGES)
def test_no_page_loads_a_script_or_stylesheet_from_outside_the_server(client, user, url):
    client.force_login(user)
    response = client.get(url, follow=True)
    assert response.status_code == 200, url
    html = response.content.decode()
    for tag in re.findall(r"<(?:script|link)\b[^>]*>", html):
        for ref in re.findall(r'(?:src|href)="([^"]*)"', tag):
            assert ref.startswith("/"), f"{url}: {tag}"
            assert not ref.startswith("//"), f"{url}: {tag}"


def test_the_home_page_asks_an_anonymous_visitor_to_log_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.browser
def test_a_user_logs_in_in_chromium_and_sees_the_home_page(page, live_server, user):
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    page.fill("input[name=username]", "analyst")
    page.fill("input[name=password]", "analyst-pass-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("h1").first.inner_text().startswith("Pipelines")
    assert page.locator("header .user").inner_text().startswith("analyst")
    nav = page.locator("header nav").inner_text()
    for item in ("Pipelines", "Lake", "Quality", "API docs"):
        assert item in nav
    assert page.external_requests == []


@pytest.mark.browser
def test_a_wrong_password_shows_a_readable_error_in_chromium(page, live_server, user):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "analyst")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    assert "didn't match" in page.locator("[role=alert]").inner_text()
