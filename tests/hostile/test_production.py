"""Issue 11, item 9: production-safe defaults. DEBUG is off unless DJANGO_DEBUG=1, `check --deploy` is
clean with the README's production variables, debug pages mask secrets, and every page passes its
Content-Security-Policy in Chromium."""

import os
import subprocess
import sys

import pytest
from django.test import RequestFactory
from django.views.debug import technical_500_response

from tests.conftest import ROOT

CSP_PAGES = ["/", "/lake/", "/quality/", "/suspicious/", "/admin/", "/admin/lake/lakeobject/", "/api/docs/"]


def _python(code: str, **env) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    environ.update(DJANGO_SETTINGS_MODULE="config.settings", **env)
    return subprocess.run(
        [sys.executable, *code], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120, check=False
    )


def test_debug_is_off_unless_asked_for():
    code = ["-c", "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"]
    assert _python(code).stdout.strip() == "False"
    assert _python(code, DJANGO_DEBUG="1").stdout.strip() == "True"


def test_check_deploy_is_clean_with_the_production_variables():
    production = {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "k" * 20 + "QWERTYUIOPasdfghjkl0123456789zxcvbnm!@#$%^&*",
        "DJANGO_ALLOWED_HOSTS": "tickerlake.example.com",
        "DJANGO_BEHIND_TLS": "1",
    }
    done = _python(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **production)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "System check identified no issues (0 silenced)."


# Secrets in settings a forged Host header could show on a debug page (module level: a debug page
# shows the source around the failing line, and these must not be there by accident).
SECRET_SETTINGS = {
    "CELERY_BROKER_URL": ("redis://:{}@redis.internal:6379/0", "hunter2"),
    "ALERT_WEBHOOK_URL": ("https://hooks.example.com/T000/{}", "secret-path"),
    "LAKE_STORAGE_OPTIONS_JSON": ('{{"key": "{}"}}', "AKIAEXAMPLE"),
    "TELEGRAM_BOT_TOKEN": ("123:{}", "bot-token"),
}


def _debug_page() -> str:
    request = RequestFactory().get("/boom", HTTP_HOST="evil.example")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        return technical_500_response(request, *sys.exc_info()).content.decode()


def test_debug_pages_mask_urls_brokers_tokens_keys_and_options(settings):
    settings.DEBUG = True
    for name, (template, secret) in SECRET_SETTINGS.items():
        setattr(settings, name, template.format(secret))
    shown = _debug_page().split('<h3 id="settings-info">', 1)[1]  # the settings table of the page
    for name, (_template, secret) in SECRET_SETTINGS.items():
        assert name in shown
        assert secret not in shown


@pytest.mark.django_db(transaction=True)
def test_every_page_passes_its_content_security_policy_in_chromium(page, live_server, client, admin_user, settings):
    client.force_login(admin_user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}])
    violations = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "console.error('Content Security Policy violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    for path in CSP_PAGES:
        response = page.goto(live_server.url + path)
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"], path
        page.wait_for_load_state("networkidle")
    # Swagger UI's starter ran (a file, not an inline script): the operations are on the page.
    assert page.locator(".opblock").count() > 10
    assert violations == []
    assert page.external_requests == []
