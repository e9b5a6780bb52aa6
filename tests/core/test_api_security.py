"""Every /api/ data path needs authentication, and every API error is JSON with a detail."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

PAGES = {"api/docs/"}  # Swagger UI: a page, which sends an anonymous visitor to the login page
SAMPLE_ARGS = {
    "int": "1",
    "str": "RELIANCE",
    "slug": "nse_api",
    "path": "x",
    "uuid": "00000000-0000-0000-0000-000000000000",
}


def _api_routes(patterns=None, prefix=""):
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _api_routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and route.startswith("api/") and route not in PAGES:
            yield route


def _concrete(route: str) -> str:
    return "/" + re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLE_ARGS.get(m.group(1) or "str", "x"), route)


def test_the_url_walk_finds_the_api():
    routes = list(_api_routes())
    assert routes, "no /api/ route found"


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_every_api_data_path_refuses_an_anonymous_caller_with_json(anon_client, method):
    for route in _api_routes():
        url = _concrete(route)
        response = getattr(anon_client, method)(url)
        assert response.status_code in (401, 403, 405), f"{method.upper()} {url} answered {response.status_code}"
        if response.status_code == 405:
            continue
        assert response["Content-Type"].startswith("application/json"), url
        assert "detail" in response.json(), url


@pytest.mark.django_db
def test_the_schema_and_its_docs_need_a_login(anon_client, client):
    schema = anon_client.get("/api/schema/")
    assert schema.status_code == 401
    assert schema.json() == {"detail": "Authentication credentials were not provided."}
    for url in ("/api/docs/", "/api/docs/?script="):
        docs = client.get(url)
        assert docs.status_code == 302
        assert docs["Location"].startswith("/accounts/login/?next=/api/docs/"), docs["Location"]


@pytest.mark.django_db
def test_the_schema_and_its_docs_are_served_to_a_user_without_a_cdn(api_client, client, user):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    assert "/api/data/warehouse/suspicious" in schema.json()["paths"]
    client.force_login(user)
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert url.startswith("/"), f"docs page loads {url} from outside the server"


@pytest.mark.django_db
def test_an_unknown_api_path_answers_json_404(api_client):
    response = api_client.get("/api/does-not-exist")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


@pytest.mark.django_db
def test_a_host_not_allowed_answers_json_400_under_api_and_a_page_elsewhere(api_client):
    response = api_client.get("/api/data/warehouse/stats", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response.json() == {"detail": "Bad request."}
    page = api_client.get("/lake/", HTTP_HOST="evil.example")
    assert page.status_code == 400
    assert page["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_a_bad_token_answers_401_json(anon_client):
    anon_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = anon_client.get("/api/whoami")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


@pytest.mark.django_db
def test_a_token_identifies_its_user(api_client):
    response = api_client.get("/api/whoami")
    assert response.status_code == 200
    assert response.json() == {"username": "analyst", "is_staff": False}
