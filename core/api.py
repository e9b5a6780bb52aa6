"""API plumbing shared by every app: JSON errors with a ``detail``, and JSON 404/500 under /api/."""

import logging

from django.http import JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


def _flatten(errors, prefix: str = "") -> list[str]:
    """Turn DRF's nested validation errors into ``"field: message"`` lines."""
    if isinstance(errors, dict):
        lines = []
        for key, value in errors.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors":
                name = prefix
            lines.extend(_flatten(value, name))
        return lines
    if isinstance(errors, list):
        return [line for item in errors for line in _flatten(item, prefix)]
    return [f"{prefix}: {errors}" if prefix else str(errors)]


def exception_handler(exc, context):
    """Every API error is JSON ``{"detail": ...}`` with its 4xx status; never an HTML trace."""
    if isinstance(exc, ValueError) and not isinstance(exc, exceptions.APIException):
        # Services raise ValueError for bad input (a malformed ticker, an unknown source).
        exc = exceptions.ValidationError({"detail": str(exc)})
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled API error", exc_info=exc)
        return Response({"detail": "Internal error; it has been logged."}, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    data = response.data
    if isinstance(data, dict) and set(data) == {"detail"}:
        detail = data["detail"]
        if isinstance(detail, list):
            response.data = {"detail": "; ".join(_flatten(detail))}
        return response
    lines = _flatten(data)
    response.data = {"detail": "; ".join(lines) or "Invalid request.", "errors": data}
    return response


def json_404(request, exception=None):
    return JsonResponse({"detail": "Not found."}, status=404)


def json_500(request):
    return JsonResponse({"detail": "Internal error; it has been logged."}, status=500)


def json_404_or_page(request, exception=None):
    """JSON under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return json_404(request, exception)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def json_500_or_page(request):
    if request.path.startswith("/api/"):
        return json_500(request)
    from django.views.defaults import server_error

    return server_error(request)


def schema_without_slash_twins(endpoints):
    """drf-spectacular hook: drop the trailing-slash copy of routes that also exist without it."""
    paths = {path for path, *_ in endpoints}
    return [e for e in endpoints if not (e[0].endswith("/") and e[0].rstrip("/") in paths)]
