"""API plumbing shared by every app: JSON errors with a ``detail``, and JSON 404/500 under /api/."""

import binascii
import datetime as dt
import logging
from base64 import b64decode
from urllib.parse import parse_qs

from django.http import JsonResponse
from rest_framework import exceptions, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import InvalidInput, date_in_range, one_line

logger = logging.getLogger(__name__)


def query_int(params, name: str, *, default: int | None, lo: int, hi: int) -> int | None:
    """Query parameter ``name`` as a whole number from ``lo`` to ``hi`` (``default`` when absent or empty);
    a 400 naming it otherwise. ``params``: a request's ``query_params``."""
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise exceptions.ValidationError({"detail": f"{name}: expected a whole number, got {raw[:40]!r}"}) from None
    if not lo <= value <= hi:
        raise exceptions.ValidationError({"detail": f"{name}: must be between {lo} and {hi}"})
    return value


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
    if isinstance(exc, InvalidInput):
        # Services and selectors raise InvalidInput for input the caller got wrong, and only that is a
        # 400: any other exception (a ValueError from a bug included) is a logged 500.
        exc = exceptions.ValidationError({"detail": one_line(exc)})
    response = drf_exception_handler(exc, context)
    if response is None:
        view = context.get("view")
        logger.error("Unhandled API error in %s", type(view).__name__ if view else "?", exc_info=exc)
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


def json_400_or_page(request, exception=None):
    """A request Django refuses before any view (a Host not in ALLOWED_HOSTS, a bad cookie, too many
    fields): JSON under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Bad request."}, status=400)
    from django.views.defaults import bad_request

    return bad_request(request, exception)


def json_500_or_page(request):
    if request.path.startswith("/api/"):
        return json_500(request)
    from django.views.defaults import server_error

    return server_error(request)


def schema_without_slash_twins(endpoints):
    """drf-spectacular hook: drop the trailing-slash copy of routes that also exist without it."""
    paths = {path for path, *_ in endpoints}
    return [e for e in endpoints if not (e[0].endswith("/") and e[0].rstrip("/") in paths)]


class CheckedPageSize:
    """A pagination mixin: a ``page_size`` that is not a whole number of at least 1 is a 400 naming it (DRF
    silently used the default); one above ``max_page_size`` is cut to it, as DRF does."""

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param) if self.page_size_query_param else None
        if raw is None or raw == "":
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            most = f" to {self.max_page_size}" if self.max_page_size else ""
            raise exceptions.ValidationError({self.page_size_query_param: f"must be a whole number from 1{most}"})
        return min(size, self.max_page_size) if self.max_page_size else size


class CheckedCursorPagination(CheckedPageSize, CursorPagination):
    """Cursor pages whose cursor is checked before it reaches the database: a crafted or damaged
    cursor (bad base64, a position that is no date) is a 400, never a 500 from the query."""

    # The type of the first ordering field, which the cursor's position holds: "datetime" or "date".
    position_type = "datetime"

    def decode_cursor(self, request):
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is not None and encoded != "" and not _cursor_tokens_valid(encoded):
            # DRF skips what is not base64 and reads no fields as the first page: "AAAA" or "%%%" would
            # silently answer page one.
            raise exceptions.ValidationError({"detail": "cursor: not a cursor this endpoint made"})
        try:
            cursor = super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError({"detail": "cursor: not a cursor this endpoint made"}) from None
        if cursor is None or cursor.position is None:
            return cursor
        parse = dt.datetime.fromisoformat if self.position_type == "datetime" else dt.date.fromisoformat
        try:
            date_in_range(parse(cursor.position), "cursor")
        except ValueError:
            raise exceptions.ValidationError({"detail": "cursor: not a cursor this endpoint made"}) from None
        return cursor


def _cursor_tokens_valid(encoded: str) -> bool:
    """Whether ``encoded`` is strict base64 of a query string holding only a cursor's fields (o, r, p)."""
    try:
        querystring = b64decode(encoded.encode("ascii"), validate=True).decode("ascii")
        tokens = parse_qs(querystring, keep_blank_values=True, strict_parsing=True)
    except (UnicodeError, binascii.Error, ValueError):
        return False
    return bool(tokens) and set(tokens) <= {"o", "r", "p"}
