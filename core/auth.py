"""API token authentication that throttles guessing: DRF checks throttles only after authentication
succeeds, so a wrong token is never throttled by the rates; this counts wrong tokens per client IP."""

from django.conf import settings
from django.core.cache import cache
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

WINDOW_SECONDS = 600


def _client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


class ThrottledTokenAuthentication(TokenAuthentication):
    """``Authorization: Token …``; after API_BAD_TOKEN_LIMIT wrong tokens from one IP within ten
    minutes, that IP gets 429 for any token until the window passes."""

    def authenticate(self, request):
        key = f"bad-token:{_client_ip(request)}"
        limit = int(getattr(settings, "API_BAD_TOKEN_LIMIT", 20))
        if "HTTP_AUTHORIZATION" in request.META and cache.get(key, 0) >= limit:
            raise exceptions.Throttled(WINDOW_SECONDS, detail="Too many bad tokens from this address.")
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            if cache.add(key, 1, WINDOW_SECONDS) is False:
                try:
                    cache.incr(key)
                except ValueError:  # expired between add and incr
                    cache.set(key, 1, WINDOW_SECONDS)
            raise
