"""Gold: daily aggregates recomputed from silver for the dates a load touched (incremental, idempotent)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.postgres.fields import ArrayField
from django.db import connections, transaction
from django.db.models import Avg, Count, DecimalField, F, Func, IntegerField, Max, Min, Q, Sum, Window
from django.db.models.functions import Cast, FirstValue, TruncDate
from django.utils import timezone

from warehouse.days import local_tz
from warehouse.models import DailyBar, DailySocial, SocialMention, StockData, Ticker
from warehouse.services.cleaners import _one_decimal
from warehouse.tickers import ticker_normalize

# Quote-derived bars carry the quote source's name, so a bhavcopy bar of the same day stays apart.
QUOTE_SOURCE = "nse_api"
# PostgreSQL's memory for a refresh's sorts and hashes (work_mem, for the refresh's transaction only). At the
# server's default of 4 MB the quotes of 22 trading days of 1,000 tickers (1.65M rows) were grouped by a sort on
# disk; from 32 MB they are hashed in memory: 1.66 s -> 0.98 s for that query (bench/scale's table at 5M rows).
GOLD_WORK_MEM = "64MB"


@dataclass
class GoldResult:
    daily_social: int  # rows written (created or updated)
    daily_bars: int
    removed: int  # aggregates whose silver rows are gone


def _day_ranges(dates: Iterable[date]) -> list[tuple[datetime, datetime]]:
    """[start, end) instants in India's time, consecutive dates merged into one range."""
    tz = local_tz()
    ranges: list[tuple[date, date]] = []
    for day in sorted(set(dates)):
        if ranges and ranges[-1][1] == day:
            ranges[-1] = (ranges[-1][0], day + timedelta(days=1))
        else:
            ranges.append((day, day + timedelta(days=1)))
    return [(datetime.combine(a, time.min, tz), datetime.combine(b, time.min, tz)) for a, b in ranges]


def _in_days(dates: Iterable[date]) -> Q:
    q = Q(pk__in=[])
    for start, end in _day_ranges(dates):
        q |= Q(timestamp__gte=start, timestamp__lt=end)
    return q


def gold_refresh(*, dates: Iterable[date], tickers: Iterable[str] | None = None) -> GoldResult:
    """Recompute DailySocial and the quote-derived DailyBar rows (source ``nse_api``) for ``dates``.

    Aggregates run in SQL over the silver rows of those IST dates (optionally only ``tickers``);
    rows are upserted on their natural keys, so running it twice changes nothing. DailySocial's
    ``pump_score`` (set by the pipelines) is kept.
    """
    dates = {d.date() if isinstance(d, datetime) else d for d in dates}
    if not dates:
        return GoldResult(0, 0, 0)
    symbols = sorted({ticker_normalize(t) for t in tickers}) if tickers is not None else None
    with transaction.atomic(), _work_mem_raised():
        social, removed_social = _refresh_social(dates, symbols)
        bars, removed_bars = _refresh_bars(dates, symbols)
    return GoldResult(daily_social=social, daily_bars=bars, removed=removed_social + removed_bars)


@contextmanager
def _work_mem_raised():
    """PostgreSQL: ``GOLD_WORK_MEM`` for the refresh's aggregates, inside the refresh only (also when it runs
    inside a caller's transaction; should it fail, rolling the refresh back puts the setting back)."""
    db = connections[DailyBar.objects.db]
    if db.vendor != "postgresql":
        yield
        return
    with db.cursor() as cursor:
        cursor.execute("SELECT current_setting('work_mem'), set_config('work_mem', %s, true)", [GOLD_WORK_MEM])
        before = cursor.fetchone()[0]
    yield
    with db.cursor() as cursor:
        cursor.execute("SELECT set_config('work_mem', %s, true)", [before])


def _refresh_social(dates: set[date], symbols: list[str] | None) -> tuple[int, int]:
    rows = SocialMention.objects.filter(_in_days(dates))
    if symbols is not None:
        rows = rows.filter(ticker__in=symbols)
    aggregates = (
        rows.annotate(day=TruncDate("timestamp", tzinfo=local_tz()))
        .values("ticker", "platform", "day")
        .annotate(
            mentions=Count("id"),
            mean_sentiment=Avg("sentiment_score"),
            pump_signals=Sum(Cast("is_pump_signal", IntegerField())),
            max_pump_score=Max("pump_score"),
        )
        .order_by()
    )
    now = timezone.now()
    objs = [
        DailySocial(
            ticker=a["ticker"],
            platform=a["platform"],
            date=a["day"],
            mentions=a["mentions"],
            mean_sentiment=round(a["mean_sentiment"] or 0.0, 6),
            pump_signals=a["pump_signals"] or 0,
            max_pump_score=a["max_pump_score"] or 0.0,
            updated=now,
        )
        for a in aggregates
        if a["day"] in dates
    ]
    DailySocial.objects.bulk_create(
        objs,
        update_conflicts=True,
        unique_fields=["ticker", "platform", "date"],
        update_fields=["mentions", "mean_sentiment", "pump_signals", "max_pump_score", "updated"],
        batch_size=1000,
    )
    stale = DailySocial.objects.filter(date__in=dates)
    if symbols is not None:
        stale = stale.filter(ticker__in=symbols)
    keep = {(o.ticker, o.platform, o.date) for o in objs}
    gone = [pk for pk, t, p, d in stale.values_list("pk", "ticker", "platform", "date") if (t, p, d) not in keep]
    if gone:
        DailySocial.objects.filter(pk__in=gone).delete()
    return len(objs), len(gone)


BAR_KEY = ["ticker", "series", "exchange", "date", "source"]
BAR_UPDATED = ["isin", "open", "high", "low", "close", "last", "prev_close", "volume", "lake_object", "updated"]


def _refresh_bars(dates: set[date], symbols: list[str] | None) -> tuple[int, int]:
    objs = _bars_of_quotes(_quote_days(dates, symbols))
    db = connections[DailyBar.objects.db]
    if db.vendor == "postgresql":
        _bars_upsert_pg(objs, db)
    else:
        DailyBar.objects.bulk_create(
            objs, update_conflicts=True, unique_fields=BAR_KEY, update_fields=BAR_UPDATED, batch_size=1000
        )
    stale = DailyBar.objects.filter(date__in=dates, source=QUOTE_SOURCE)
    if symbols is not None:
        stale = stale.filter(ticker__in=symbols)
    keep = {(o.ticker, o.series, o.exchange, o.date) for o in objs}
    gone = [
        pk for pk, *key in stale.values_list("pk", "ticker", "series", "exchange", "date") if tuple(key) not in keep
    ]
    if gone:
        DailyBar.objects.filter(pk__in=gone).delete()
    return len(objs), len(gone)


def _bars_upsert_pg(objs: list[DailyBar], db, chunk: int = 5000) -> None:
    """Insert or update the bars, one ``INSERT … SELECT FROM unnest(arrays) ON CONFLICT DO UPDATE`` per
    ``chunk`` bars: ``bulk_create`` spent ~0.15 ms a bar preparing each Decimal in Python (14,000 bars:
    2 s), the arrays travel as one parameter each."""
    fields = [DailyBar._meta.get_field(name) for name in [*BAR_KEY, *BAR_UPDATED]]
    names = ", ".join(f'"{f.column}"' for f in fields)
    arrays = ", ".join(f"%s::{f.db_type(db)}[]" for f in fields)
    updates = ", ".join(f'"{f.column}" = EXCLUDED."{f.column}"' for f in fields if f.name in BAR_UPDATED)
    key = ", ".join(f'"{f.column}"' for f in fields[: len(BAR_KEY)])
    sql = (
        f'INSERT INTO "{DailyBar._meta.db_table}" ({names}) SELECT * FROM unnest({arrays}) '
        f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
    )
    with db.cursor() as cursor:
        for start in range(0, len(objs), chunk):
            part = objs[start : start + chunk]
            cursor.execute(sql, [[getattr(o, f.attname) for o in part] for f in fields])


def _quote_days(dates: set[date], symbols: list[str] | None) -> list[dict]:
    """One row per (ticker, series, exchange, day) of the quotes of ``dates``: the day's first and last
    price, the last change, high, low, volume, the newest lake object and the last quote's id (keys
    suffixed ``_``)."""
    rows = StockData.objects.filter(_in_days(dates), source=QUOTE_SOURCE)
    if symbols is not None:
        rows = rows.filter(ticker__in=symbols)
    day = TruncDate("timestamp", tzinfo=local_tz())
    if connections[rows.db].vendor == "postgresql":
        bars = _quote_days_grouped(rows, day)
    else:
        bars = _quote_days_windowed(rows, day)
    return [b for b in bars if b["day"] in dates]


class _Stamped(Func):
    """PostgreSQL: a quote as ``ARRAY[epoch of its timestamp, id, price, change %]``. Arrays compare element by
    element, so a group's MIN of them is its first quote and its MAX its last (the timestamp first, the id
    breaking ties, as the window functions order them)."""

    output_field = ArrayField(DecimalField())

    def __init__(self):
        super().__init__(F("timestamp"), F("id"), F("price"), F("change_percent"))

    def as_sql(self, compiler, connection, **extra_context):
        parts, params = [], []
        for expression in self.get_source_expressions():
            sql, more = compiler.compile(expression)
            parts.append(sql)
            params.extend(more)
        return f"ARRAY[EXTRACT(EPOCH FROM {parts[0]}), {', '.join(parts[1:])}]", params


class _Element(Func):
    """An element of an array (PostgreSQL arrays count from 1)."""

    template = "(%(expressions)s)[%(index)s]"


def _quote_days_grouped(rows, day):
    """PostgreSQL: one GROUP BY; the first and last quote of each group are the MIN and MAX of ``_Stamped``.
    Plain aggregates: PostgreSQL may hash the groups instead of sorting them, where the ordered ``array_agg``s
    this replaced sorted each group once per figure (100,000 quotes of one week: 184 to 290 ms → 101 ms with the
    table's statistics; 196 to 205 → 171 ms without)."""
    price, change = rows.model._meta.get_field("price"), rows.model._meta.get_field("change_percent")
    first, last = Min(_Stamped()), Max(_Stamped())
    return (
        rows.annotate(day=day)
        .values("ticker", "series", "exchange", "day")
        .annotate(
            open_=_Element(first, index=3, output_field=price),
            close_=_Element(last, index=3, output_field=price),
            change_=_Element(last, index=4, output_field=change),
            last_id_=Cast(_Element(last, index=2, output_field=DecimalField()), rows.model._meta.pk),
            high_=Max("price"),
            low_=Min("price"),
            # NSE's quote volume is the day's running total: the day's volume is its largest value.
            volume_=Max("volume"),
            lake_=Max("lake_object_id"),
        )
        .order_by()
    )


def _quote_days_windowed(rows, day):
    """Other databases (SQLite): window functions over each group give the first and last quote."""
    group = [F("ticker"), F("series"), F("exchange"), day]
    return (
        rows.annotate(
            day=day,
            open_=Window(FirstValue("price"), partition_by=group, order_by=[F("timestamp").asc(), F("id").asc()]),
            close_=Window(FirstValue("price"), partition_by=group, order_by=[F("timestamp").desc(), F("id").desc()]),
            change_=Window(
                FirstValue("change_percent"), partition_by=group, order_by=[F("timestamp").desc(), F("id").desc()]
            ),
            last_id_=Window(FirstValue("id"), partition_by=group, order_by=[F("timestamp").desc(), F("id").desc()]),
            high_=Window(Max("price"), partition_by=group),
            low_=Window(Min("price"), partition_by=group),
            # NSE's quote volume is the day's running total: the day's volume is its largest value.
            volume_=Window(Max("volume"), partition_by=group),
            lake_=Window(Max("lake_object_id"), partition_by=group),
        )
        .values(
            "ticker",
            "series",
            "exchange",
            "day",
            "open_",
            "close_",
            "change_",
            "last_id_",
            "high_",
            "low_",
            "volume_",
            "lake_",
        )
        .distinct()
        .order_by()
    )


def _bars_of_quotes(bars: list[dict]) -> list[DailyBar]:
    """The quote-derived ``DailyBar`` of each day's quotes.

    NSE's answer carries the day's own figures (open, high, low, previous close and, after the close, the
    official closing price), kept in each quote's ``raw_data``: the last quote's figures win over what the
    quotes we happened to observe show (polling from 11:00 saw neither the open nor the morning's low).
    Without them (an older payload, a figure of 0 before the open): the observed quotes, and a previous
    close from the previous bar or derived from the last change %. The ISIN is the answer's, else the
    ticker master's (of the bar's exchange) when the bar is of the master's series.
    """
    previous = _previous_closes(bars)
    answered = _answer_figures([b["last_id_"] for b in bars])
    master = {
        (symbol, exchange, series): isin
        for symbol, exchange, series, isin in Ticker.objects.filter(symbol__in={b["ticker"] for b in bars})
        .exclude(isin="")
        .values_list("symbol", "exchange", "series", "isin")
    }
    now = timezone.now()
    objs = []
    for b in bars:
        day = answered.get(b["last_id_"], {})
        prev = day.get("prev_close") or previous.get((b["ticker"], b["series"], b["exchange"], b["day"]))
        if prev is None and b["change_"] is not None and b["change_"] != Decimal(-100):
            # No earlier bar: the last quote's change against the previous close gives that close.
            prev = (b["close_"] / (1 + b["change_"] / 100)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        high, low = b["high_"], b["low_"]
        if high is not None and "high" in day:
            high = max(high, day["high"])
        if low is not None and "low" in day:
            low = min(low, day["low"])
        objs.append(
            DailyBar(
                ticker=b["ticker"],
                series=b["series"],
                exchange=b["exchange"],
                date=b["day"],
                source=QUOTE_SOURCE,
                isin=day.get("isin") or master.get((b["ticker"], b["exchange"], b["series"]), ""),
                open=day.get("open", b["open_"]),
                high=high,
                low=low,
                close=day.get("close", b["close_"]),
                last=b["close_"],
                prev_close=prev,
                volume=b["volume_"],
                lake_object_id=b["lake_"],
                updated=now,
            )
        )
    return objs


# Where each shape of NSE's answer keeps the day's figures in a quote's raw_data (see parsers.nse_quote):
# NextApi's metaData keys, or the retired quote-equity's priceInfo.
_NEXT_FIGURES = {
    "open": "open",
    "high": "dayHigh",
    "low": "dayLow",
    "close": "closePrice",
    "prev_close": "previousClose",
}


_ISIN_RE = re.compile(r"[A-Z]{2}[A-Z0-9]{9}[0-9]")


def _answer_figures(ids: list[int]) -> dict[int, dict[str, Decimal | str]]:
    """The day's figures in the raw_data of the quotes ``ids`` (only positive numbers: NSE writes 0 for a
    figure it does not have yet, such as the close during the session), and the answer's ISIN."""
    out: dict[int, dict[str, Decimal | str]] = {}
    ids = [i for i in ids if i is not None]
    for start in range(0, len(ids), 5000):
        rows = StockData.objects.filter(pk__in=ids[start : start + 5000]).values_list("pk", "raw_data")
        for pk, raw in rows:
            if not isinstance(raw, dict):
                continue
            price = raw.get("priceInfo")
            if isinstance(price, dict):
                span = price.get("intraDayHighLow") if isinstance(price.get("intraDayHighLow"), dict) else {}
                values = {
                    "open": price.get("open"),
                    "high": span.get("max"),
                    "low": span.get("min"),
                    "close": price.get("close"),
                    "prev_close": price.get("previousClose"),
                }
            else:
                values = {name: raw.get(key) for name, key in _NEXT_FIGURES.items()}
            figures: dict[str, Decimal | str] = {name: n for name, v in values.items() if (n := _price(v)) is not None}
            isin = raw.get("isin")
            if isinstance(isin, str) and _ISIN_RE.fullmatch(isin):
                figures["isin"] = isin
            if figures:
                out[pk] = figures
    return out


# DailyBar's prices are numeric(14, 4): a figure of 10¹⁰ or more is no price (and would fail the write).
_PRICE_LIMIT = Decimal(10) ** 10


def _price(value) -> Decimal | None:
    """A positive price to the paisa, from a number or a numeric string ("1,432.95"); None otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    number = _one_decimal(value.replace(",", "") if isinstance(value, str) else value)  # the loader's parsing
    if not isinstance(number, Decimal) or number <= 0 or number >= _PRICE_LIMIT:
        return None
    return number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _previous_closes(bars: list[dict]) -> dict[tuple, Decimal]:
    """The close of each bar's previous quote-derived trading day, where the warehouse has one."""
    if not bars:
        return {}
    first = min(b["day"] for b in bars)
    tickers = sorted({b["ticker"] for b in bars})
    history: dict[tuple, list[tuple[date, Decimal]]] = {}
    earlier = (
        DailyBar.objects.filter(source=QUOTE_SOURCE, ticker__in=tickers, date__lt=max(b["day"] for b in bars))
        .filter(date__gte=first - timedelta(days=14))
        .order_by("date")
        .values_list("ticker", "series", "exchange", "date", "close")
    )
    for ticker, series, exchange, day, close in earlier:
        history.setdefault((ticker, series, exchange), []).append((day, close))
    # Bars computed in this same refresh count too (a refresh of several consecutive days).
    for b in bars:
        history.setdefault((b["ticker"], b["series"], b["exchange"]), []).append((b["day"], b["close_"]))
    for days in history.values():
        days.sort(key=lambda pair: pair[0])
    out = {}
    for b in bars:
        key = (b["ticker"], b["series"], b["exchange"])
        before = [close for day, close in history.get(key, []) if day < b["day"] and close is not None]
        if before:
            out[(*key, b["day"])] = before[-1]
    return out
