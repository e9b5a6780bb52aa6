"""Response hardening shared by every page: a Content-Security-Policy, and masked settings on debug pages.

The policy is a small middleware rather than django-csp: one fixed header for every response, with
nothing per view to configure, needs no dependency. Scripts come only from our own origin (no inline
script anywhere: Swagger UI's starter is served as a file by drf-spectacular's split view, data for
charts travels in json_script blocks). Styles allow 'unsafe-inline' because Swagger UI's page and
Django admin's templates carry inline styles; style injection cannot run code.
"""

import re

from django.conf import settings
from django.utils.regex_helper import _lazy_re_compile
from django.views.debug import SafeExceptionReporterFilter

DEFAULT_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    """Adds ``Content-Security-Policy`` (settings.CONTENT_SECURITY_POLICY) to every response."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = getattr(settings, "CONTENT_SECURITY_POLICY", DEFAULT_POLICY)

    def __call__(self, request):
        response = self.get_response(request)
        if self.policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy
        return response


class MaskingExceptionReporterFilter(SafeExceptionReporterFilter):
    """Debug pages show settings whose names hold URL, WEBHOOK, BROKER, OPTIONS, TOKEN or KEY (and
    Django's own list: API, SECRET, PASS, SIGNATURE, cookies) as stars: a broker URL carries its
    password (redis://:password@host)."""

    hidden_settings = _lazy_re_compile(
        "API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|URL|WEBHOOK|BROKER|OPTIONS|LOCATION", flags=re.IGNORECASE
    )
