import logging

from django.http import JsonResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .health import run_checks

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request):
    """200 when the database, broker and lake all answer; 503 naming what failed.

    Why a check failed (hosts, ports, paths) is logged, and shown to staff only: the probe is public.
    """
    healthy, checks = run_checks()
    failed = [name for name, result in checks.items() if not result["ok"]]
    for name in failed:
        logger.warning("health check %s failed: %s", name, checks[name]["detail"])
    if failed and not (request.user.is_authenticated and request.user.is_staff):
        for name in failed:
            checks[name]["detail"] = "failed (the reason is in the server log)"
    body = {"status": "ok" if healthy else "unhealthy", "failed": failed, "checks": checks}
    return JsonResponse(body, status=200 if healthy else 503)


@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico on every page (admin's too): the site's icon, not a 404."""
    return redirect(static("favicon.svg"), permanent=True)
