from html.parser import HTMLParser

import pytest

pytestmark = pytest.mark.django_db

PAGES = ["/", "/lake/", "/quality/", "/suspicious/", "/accounts/login/", "/admin/login/", "/api/docs/"]


# Tags that make the browser fetch what their attribute names (an <a href> only navigates).
LOADING = {"script": "src", "link": "href", "img": "src", "iframe": "src", "source": "src", "embed": "src"}


class _Resources(HTMLParser):
    """Every (tag, url) a page would load; attributes quoted with ", ' or not at all."""

    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        name = LOADING.get(tag)
        for attr, value in attrs:
            if attr == name and value is not None:
                self.found.append((tag, value.strip()))


def resources(html: str) -> list[tuple[str, str]]:
    parser = _Resources()
    parser.feed(html)
    return parser.found


def test_resources_are_found_however_their_attributes_are_quoted():
    html = """<script src="/a.js"></script><script src='//cdn.example/b.js'></script>
    <link rel=stylesheet href=https://cdn.example/c.css><img src = /d.png><a href="https://example.com">x</a>"""
    assert resources(html) == [
        ("script", "/a.js"),
        ("script", "//cdn.example/b.js"),
        ("link", "https://cdn.example/c.css"),
        ("img", "/d.png"),
    ]


@pytest.mark.parametrize("url", PAGES)
def test_no_page_loads_a_script_or_stylesheet_from_outside_the_server(client, user, url):
    client.force_login(user)
    response = client.get(url, follow=True)
    assert response.status_code == 200, url
    found = resources(response.content.decode())
    assert found, f"{url}: no script or stylesheet found: the check would pass on anything"
    for tag, ref in found:
        assert ref.startswith("/"), f"{url}: <{tag}> loads {ref}"
        assert not ref.startswith("//"), f"{url}: <{tag}> loads {ref}"


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
