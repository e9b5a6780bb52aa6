"""Admin: silver and gold rows read-only (search, filters, dates, a link to the lake object); tickers editable."""

from django import forms
from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from core.admin import ReadOnlyAdmin as CoreReadOnlyAdmin
from warehouse.calendar import calendar_cache_clear
from warehouse.models import DailyBar, DailySocial, MarketHoliday, SocialMention, StockData, Ticker
from warehouse.schema import STOCK_COLUMNS
from warehouse.tickers import ticker_normalize


def lake_object_link(obj) -> str:
    """A link to the lake object's admin page (plain text while the lake admin is not registered)."""
    if not obj.lake_object_id:
        return "-"
    try:
        url = reverse("admin:lake_lakeobject_change", args=[obj.lake_object_id])
    except NoReverseMatch:
        return f"#{obj.lake_object_id}"
    return format_html('<a href="{}">#{}</a>', url, obj.lake_object_id)


lake_object_link.short_description = "lake object"


class ReadOnlyAdmin(CoreReadOnlyAdmin):
    list_per_page = 100


@admin.register(StockData)
class StockDataAdmin(ReadOnlyAdmin):
    list_display = [*STOCK_COLUMNS, "processed_at", lake_object_link]
    search_fields = ["ticker"]
    list_filter = ["exchange", "source", "series"]
    date_hierarchy = "timestamp"
    ordering = ["-timestamp", "-id"]
    readonly_fields = [lake_object_link]


@admin.register(SocialMention)
class SocialMentionAdmin(ReadOnlyAdmin):
    list_display = [
        "ticker",
        "platform",
        "short_text",
        "sentiment",
        "sentiment_score",
        "is_pump_signal",
        "pump_score",
        "channel",
        "timestamp",
        lake_object_link,
    ]
    search_fields = ["ticker", "text"]
    list_filter = ["platform", "sentiment", "is_pump_signal"]
    date_hierarchy = "timestamp"
    ordering = ["-timestamp", "-id"]
    readonly_fields = [lake_object_link]

    @admin.display(description="text")
    def short_text(self, obj) -> str:
        return obj.text if len(obj.text) <= 80 else obj.text[:79] + "…"


@admin.register(DailyBar)
class DailyBarAdmin(ReadOnlyAdmin):
    list_display = ["ticker", "series", "date", "source", "open", "high", "low", "close", "volume", "trades"]
    search_fields = ["ticker", "isin"]
    list_filter = ["source", "series", "exchange"]
    date_hierarchy = "date"
    ordering = ["-date", "ticker"]
    readonly_fields = [lake_object_link]


@admin.register(DailySocial)
class DailySocialAdmin(ReadOnlyAdmin):
    list_display = ["ticker", "platform", "date", "mentions", "mean_sentiment", "pump_signals", "max_pump_score"]
    search_fields = ["ticker"]
    list_filter = ["platform"]
    date_hierarchy = "date"
    ordering = ["-date", "ticker"]


class TickerForm(forms.ModelForm):
    class Meta:
        model = Ticker
        fields = ["symbol", "exchange", "name", "isin", "series", "active", "aliases"]

    def clean_symbol(self):
        # One spelling everywhere: `$tcs`, `TCS.NS` and `tcs` are all stored as TCS.
        try:
            return ticker_normalize(self.cleaned_data["symbol"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_exchange(self):
        return self.cleaned_data["exchange"].strip().upper()

    def clean_series(self):
        return self.cleaned_data["series"].strip().upper()

    def clean_isin(self):
        return self.cleaned_data["isin"].strip().upper()

    def clean_aliases(self):
        aliases = self.cleaned_data["aliases"] or []
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise forms.ValidationError('a JSON list of names, e.g. ["Reliance", "RIL"]')
        return aliases


@admin.register(Ticker)
class TickerAdmin(admin.ModelAdmin):
    form = TickerForm
    list_display = ["symbol", "name", "exchange", "series", "market_type", "isin", "active", "updated"]
    list_editable = ["active"]
    list_filter = ["active", "exchange", "series"]
    search_fields = ["symbol", "name", "isin"]
    ordering = ["symbol"]


@admin.register(MarketHoliday)
class MarketHolidayAdmin(admin.ModelAdmin):
    """The trading calendar: NSE holidays, editable. Rows saved here are marked "entered in admin", so
    the monthly refresh from NSE's holiday master leaves them as they are."""

    list_display = ["date", "weekday", "description", "source", "updated"]
    list_filter = ["source", ("date", admin.DateFieldListFilter)]
    search_fields = ["description"]
    date_hierarchy = "date"
    fields = ["date", "description"]

    @admin.display(description="day")
    def weekday(self, obj):
        return f"{obj.date:%A}"

    def save_model(self, request, obj, form, change):
        obj.source = MarketHoliday.Source.ADMIN
        super().save_model(request, obj, form, change)
        calendar_cache_clear()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        calendar_cache_clear()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        calendar_cache_clear()
