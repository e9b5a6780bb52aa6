"""REST API of the lake (DESIGN.md): stats, sources, dates, a day's objects, one object, downloads.

Storage paths come only from catalog rows; request input only selects rows.
"""

import posixpath

from django.conf import settings
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import CheckedPageSize
from core.errors import one_line
from lake import selectors
from lake.models import LakeObject
from lake.services import LakeReadError, data_lake, date_parse, lake_object_read, source_validate
from lake.storage import lake_storage


def _known_source(source: str) -> str:
    source_validate(source)  # ValueError -> 400 naming the parameter
    if not selectors.lake_source_exists(source):
        raise NotFound(f"source: the lake holds no objects of source '{source}'")
    return source


def _object_or_404(pk: int) -> LakeObject:
    obj = LakeObject.objects.filter(pk=pk).first()
    if obj is None:
        raise NotFound(f"id: no lake object with id {pk}")
    return obj


def _object_meta(obj: LakeObject) -> dict:
    return {
        "id": obj.pk,
        "key": obj.key,
        "source": obj.source,
        "date": obj.partition_date.isoformat(),
        "timestamp": obj.timestamp.isoformat(),
        "created": obj.created.isoformat(),
        "records": obj.records,
        "bytes": obj.bytes,
        "raw_bytes": obj.raw_bytes,
        "sha256": obj.sha256,
        "simulated": obj.simulated,
        "status": obj.status,
        "attempts": obj.attempts,
        "last_error": obj.last_error,
        "raw_sha256": obj.raw_sha256 or None,
        "raw_size": obj.raw_size,
        "run_id": obj.run_id,
        "download_url": f"/api/data/lake/objects/{obj.pk}/download",
        "original_url": f"/api/data/lake/objects/{obj.pk}/download?original=1" if obj.raw_key else None,
    }


def _too_big(obj: LakeObject, item: dict, budget: int) -> bool:
    """Objects decoding to more than ``budget`` bytes are not shown inline: their metadata says where."""
    if obj.raw_bytes <= budget:
        return False
    item["inline"] = False
    item["detail"] = (
        f"{obj.raw_bytes:,} bytes decoded is over the {budget:,} bytes shown inline "
        "(LAKE_INLINE_MAX_BYTES): use download_url"
    )
    return True


def _with_data(obj: LakeObject, budget: int | None = None) -> dict:
    item = _object_meta(obj)
    if _too_big(obj, item, settings.LAKE_INLINE_MAX_BYTES if budget is None else budget):
        item["data"] = None
        item["error"] = None
        return item
    try:
        item["data"] = lake_object_read(obj)["data"]
        item["error"] = None
    except LakeReadError as exc:
        item["data"] = None
        item["error"] = str(exc)
    return item


class ObjectsPagination(CheckedPageSize, PageNumberPagination):
    # Objects hold whole batches (up to thousands of records), so pages are small.
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class LakeStatsApi(APIView):
    """Objects, bytes, raw bytes, records and compression ratio of the whole lake and per source."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response(data_lake.get_stats())


class LakeSourcesApi(APIView):
    """The sources with their object counts, sizes and first and last dates."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        sources = selectors.lake_sources()
        return Response({"count": len(sources), "results": sources})


class LakeSourceDatesApi(APIView):
    """Dates (YYYY-MM-DD, UTC) holding objects of the source, newest first, with each day's totals."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, source: str):
        _known_source(source)
        days = selectors.lake_source_dates(source=source)
        return Response({"source": source, "dates": [d["date"] for d in days], "days": days})


class LakeSourceDataApi(APIView):
    """The objects of one source and UTC day, oldest first, paginated, each with its decoded data."""

    class Query(serializers.Serializer):
        include_data = serializers.BooleanField(default=True, required=False)

    @extend_schema(
        parameters=[
            OpenApiParameter("date", str, required=True, description="UTC date, YYYY-MM-DD"),
            OpenApiParameter("include_data", bool, description="false lists the objects without their data"),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="objects per page (at most 100, default 20)"),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request, source: str):
        source_validate(source)
        day = date_parse(request.query_params.get("date", ""), "date")
        _known_source(source)
        query = self.Query(data=request.query_params)
        query.is_valid(raise_exception=True)
        paginator = ObjectsPagination()
        page = paginator.paginate_queryset(selectors.lake_objects_of_day(source=source, day=day), request, view=self)
        if query.validated_data["include_data"]:
            # A page shows at most LAKE_INLINE_MAX_BYTES of decoded data: the objects past that budget
            # come with their metadata and download_url only.
            budget, items = settings.LAKE_INLINE_MAX_BYTES, []
            for obj in page:
                items.append(_with_data(obj, budget=max(budget, 0)))
                if items[-1].get("inline", True):
                    budget -= obj.raw_bytes
        else:
            items = [_object_meta(obj) for obj in page]
        response = paginator.get_paginated_response(items)
        response.data = {"source": source, "date": day.isoformat(), **response.data}
        return response


class LakeObjectApi(APIView):
    """One object's catalog row and its decoded envelope."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk: int):
        obj = _object_or_404(pk)
        item = _object_meta(obj)
        if _too_big(obj, item, settings.LAKE_INLINE_MAX_BYTES):
            item["envelope"] = None
            item["error"] = None
            return Response(item)
        try:
            item["envelope"] = lake_object_read(obj)
            item["error"] = None
        except LakeReadError as exc:
            item["envelope"] = None
            item["error"] = str(exc)
        return Response(item)


class LakeObjectDownloadApi(APIView):
    """The original .json.gz of one catalogued object, streamed; ``?original=1``: the bytes as received
    (a file, an upstream answer), gzip-compressed, when the object keeps them."""

    class Query(serializers.Serializer):
        original = serializers.BooleanField(default=False, required=False)

    @extend_schema(
        parameters=[OpenApiParameter("original", bool, description="the original bytes (.raw.gz) instead")],
        responses={(200, "application/gzip"): OpenApiTypes.BINARY},
    )
    def get(self, request, pk: int):
        query = self.Query(data=request.query_params)
        query.is_valid(raise_exception=True)  # "yes", "on", "True" are true; "maybe" is a 400 naming it
        obj = _object_or_404(pk)
        key = obj.key
        if query.validated_data["original"]:
            if not obj.raw_key:
                raise NotFound(f"id: lake object {pk} keeps no original bytes (it was built in memory)")
            key = obj.raw_key
        try:
            handle = lake_storage().open(key)
        except FileNotFoundError as exc:
            raise NotFound(f"id: lake object {pk} is missing from storage (run lake_verify)") from exc
        except ValueError as exc:  # a tampered catalog key: refused, never followed
            raise ValidationError({"detail": one_line(exc)}) from exc
        return FileResponse(
            handle, as_attachment=True, filename=posixpath.basename(key), content_type="application/gzip"
        )
