"""REST API of the warehouse (DESIGN.md): stats, historical prices, social mentions, daily bars, tickers.

Views stay thin: validate the query parameters, call one selector, page and shape the rows.
"""

from __future__ import annotations

import csv
from datetime import date, datetime

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import CheckedCursorPagination, CheckedPageSize
from core.errors import date_in_range
from warehouse import selectors
from warehouse.days import local_tz
from warehouse.models import DailyBar, SocialMention, StockData
from warehouse.schema import BAR_COLUMNS, SOCIAL_COLUMNS, STOCK_COLUMNS
from warehouse.tickers import ticker_normalize

# --- query parameters ------------------------------------------------------------------------------


class IsoInstantField(serializers.Field):
    """An ISO date (a whole day in IST) or an ISO date-time; returned as given, parsed."""

    default_error_messages = {
        "invalid": "expected an ISO date (YYYY-MM-DD) or date-time from 1990 to 2100, got {value!r}"
    }

    def to_internal_value(self, data):
        text = str(data).strip()
        try:
            # 1990-01-01..2100-12-31: a year like 0001 or 9999 overflows on the way to UTC.
            return date_in_range(date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text))
        except ValueError:
            self.fail("invalid", value=text[:40])

    def to_representation(self, value):
        return value.isoformat()


class WindowParams(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=selectors.MAX_DAYS, required=False)
    start = IsoInstantField(required=False)
    end = IsoInstantField(required=False)

    def validate(self, attrs):
        try:
            selectors.time_window(days=attrs.get("days", 30), start=attrs.get("start"), end=attrs.get("end"))
        except ValueError as exc:
            raise serializers.ValidationError({"end": str(exc)}) from exc
        return attrs


class SocialParams(WindowParams):
    platform = serializers.ChoiceField(choices=["twitter", "telegram"], required=False)
    sentiment = serializers.ChoiceField(choices=sorted(SocialMention.Sentiment.values), required=False)
    is_pump_signal = serializers.BooleanField(required=False, allow_null=True)


class RangedDateField(serializers.DateField):
    """A date from 1990-01-01 to 2100-12-31."""

    def to_internal_value(self, value):
        day = super().to_internal_value(value)
        try:
            return date_in_range(day, self.field_name)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class DailyParams(serializers.Serializer):
    start = RangedDateField(required=False)
    end = RangedDateField(required=False)
    source = serializers.CharField(required=False, max_length=32)
    series = serializers.CharField(required=False, max_length=8)


class TickerParams(serializers.Serializer):
    active = serializers.BooleanField(required=False, allow_null=True)
    search = serializers.CharField(required=False, max_length=64)


def _params(serializer_class, request):
    # The DRF `format` override and paging keys are not filters.
    data = {k: v for k, v in request.query_params.items() if k not in {"format", "cursor", "page", "page_size"}}
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _symbol(ticker: str) -> str:
    try:
        return ticker_normalize(ticker)
    except ValueError as exc:
        raise serializers.ValidationError({"ticker": str(exc)}) from exc


# --- output ----------------------------------------------------------------------------------------


class StockRowSerializer(serializers.ModelSerializer):
    price = serializers.FloatField()
    change_percent = serializers.FloatField(allow_null=True)
    lake_object_id = serializers.IntegerField(allow_null=True, read_only=True)

    class Meta:
        model = StockData
        fields = ["id", *STOCK_COLUMNS, "lake_object_id"]


class SocialRowSerializer(serializers.ModelSerializer):
    lake_object_id = serializers.IntegerField(allow_null=True, read_only=True)

    class Meta:
        model = SocialMention
        fields = ["id", *SOCIAL_COLUMNS, "lake_object_id"]


class DailyBarSerializer(serializers.ModelSerializer):
    class Meta:
        model = DailyBar
        fields = BAR_COLUMNS


class TickerRowSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    name = serializers.CharField()
    exchange = serializers.CharField()
    series = serializers.CharField()
    isin = serializers.CharField()
    active = serializers.BooleanField()
    latest_price = serializers.FloatField(allow_null=True)
    latest_change_percent = serializers.FloatField(allow_null=True)
    latest_at = serializers.DateTimeField(allow_null=True)
    mentions_today = serializers.IntegerField()


class NewestFirst(CheckedCursorPagination):
    """Cursor pages (stable under inserts), newest first; ``page_size`` up to 1000."""

    ordering = ("-timestamp", "-id")
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class DailyPages(CheckedCursorPagination):
    position_type = "date"
    ordering = ("-date", "series", "source")
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class TickerPages(CheckedPageSize, PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


def _window_parameters(default_days: int) -> list[OpenApiParameter]:
    return [
        OpenApiParameter("days", int, description=f"the last N days (1-{selectors.MAX_DAYS}; default {default_days})"),
        OpenApiParameter("start", str, description="ISO date or date-time (a date means 00:00 IST)"),
        OpenApiParameter("end", str, description="ISO date (inclusive) or date-time (exclusive)"),
        OpenApiParameter("page_size", int, description="rows per page (max 1000)"),
    ]


# --- views -----------------------------------------------------------------------------------------


class StatsApi(APIView):
    """Record counts per table, distinct tickers, newest and oldest times, and the storage type."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response(selectors.warehouse_stats())


class HistoricalApi(APIView):
    """Price rows of one ticker, newest first, cursor-paged; ``?format=csv`` streams every row as CSV."""

    def perform_content_negotiation(self, request, force=False):
        # DRF reads `format` as a renderer override and would 404 on "csv": CSV is streamed by
        # get() itself, and any error on the way is JSON.
        if "format" in request.query_params:
            return (JSONRenderer(), JSONRenderer.media_type)
        return super().perform_content_negotiation(request, force)

    @extend_schema(
        parameters=[*_window_parameters(30), OpenApiParameter("format", str, enum=["json", "csv"])],
        responses=StockRowSerializer(many=True),
    )
    def get(self, request, ticker: str):
        symbol = _symbol(ticker)
        params = _params(WindowParams, request)
        fmt = request.query_params.get("format", "json")
        if fmt not in {"json", "csv"}:
            raise serializers.ValidationError({"format": "expected json or csv"})
        rows = selectors.stock_rows(
            ticker=symbol, days=params.get("days", 30), start=params.get("start"), end=params.get("end")
        )
        if fmt == "csv":
            return _csv_response(rows, symbol)
        paginator = NewestFirst()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(StockRowSerializer(page, many=True).data)


class _Echo:
    def write(self, value):
        return value


CSV_COLUMNS = STOCK_COLUMNS


def _csv_response(rows, symbol: str) -> StreamingHttpResponse:
    tz = local_tz()

    def lines():
        writer = csv.writer(_Echo())
        yield writer.writerow(CSV_COLUMNS)
        for row in rows.values_list(*CSV_COLUMNS).iterator(chunk_size=5000):
            yield writer.writerow([timezone.localtime(row[0], tz).isoformat(), *row[1:]])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{symbol}-prices.csv"'
    return response


class SocialApi(APIView):
    """Mentions of one ticker, newest first; filters platform, sentiment, is_pump_signal."""

    @extend_schema(
        parameters=[
            *_window_parameters(7),
            OpenApiParameter("platform", str, enum=["twitter", "telegram"]),
            OpenApiParameter("sentiment", str, enum=sorted(SocialMention.Sentiment.values)),
            OpenApiParameter("is_pump_signal", bool),
        ],
        responses=SocialRowSerializer(many=True),
    )
    def get(self, request, ticker: str):
        symbol = _symbol(ticker)
        params = _params(SocialParams, request)
        rows = selectors.social_rows(
            ticker=symbol,
            days=params.get("days", 7),
            start=params.get("start"),
            end=params.get("end"),
            platform=params.get("platform"),
            sentiment=params.get("sentiment"),
            is_pump_signal=params.get("is_pump_signal"),
        )
        paginator = NewestFirst()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(SocialRowSerializer(page, many=True).data)


class DailyApi(APIView):
    """Daily bars (gold) of one ticker, newest day first; ``start``/``end`` dates (inclusive)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("start", OpenApiTypes.DATE),
            OpenApiParameter("end", OpenApiTypes.DATE),
            OpenApiParameter("source", str, description="e.g. nse_bhavcopy or nse_api"),
            OpenApiParameter("series", str, description="e.g. EQ"),
            OpenApiParameter("page_size", int),
        ],
        responses=DailyBarSerializer(many=True),
    )
    def get(self, request, ticker: str):
        symbol = _symbol(ticker)
        params = _params(DailyParams, request)
        if params.get("start") and params.get("end") and params["end"] < params["start"]:
            raise serializers.ValidationError({"end": "end must not be before start"})
        rows = selectors.bar_rows(ticker=symbol, **params)
        paginator = DailyPages()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(DailyBarSerializer(page, many=True).data)


class TickersApi(APIView):
    """The ticker master with each ticker's latest price and today's (IST) mention count."""

    @extend_schema(
        parameters=[
            OpenApiParameter("active", bool),
            OpenApiParameter("search", str, description="part of a symbol or company name"),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses=inline_serializer("TickerPage", {"results": TickerRowSerializer(many=True)}),
    )
    def get(self, request):
        params = _params(TickerParams, request)
        rows = selectors.ticker_overview(active=params.get("active"), search=params.get("search"))
        paginator = TickerPages()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(TickerRowSerializer(page, many=True).data)


class SuspiciousParams(serializers.Serializer):
    date = RangedDateField(required=False)
    min_score = serializers.FloatField(required=False, min_value=0.0, max_value=1.0)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200)


class SuspiciousApi(APIView):
    """Ticker-days ranked by daily pump score, with their evidence (flagged messages with the rules and
    terms that fired, mentions against the 14-day baseline, price move, volume against its 20-day
    average) and links to their rows and lake objects. ``date`` defaults to the newest scored day."""

    @extend_schema(
        parameters=[
            OpenApiParameter("date", OpenApiTypes.DATE),
            OpenApiParameter("min_score", float, description="0 to 1 (default 0)"),
            OpenApiParameter("limit", int, description="at most this many ticker-days (default 50, ≤ 200)"),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        params = _params(SuspiciousParams, request)
        return Response(
            selectors.suspicious_tickers(
                day=params.get("date"), min_score=params.get("min_score", 0.0), limit=params.get("limit", 50)
            )
        )
