"""The ticker master learns from bhavcopies: new symbols, their ISINs and their main series."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd
from django.db import connection, transaction
from django.utils import timezone

from core.pgarray import pg_text_array
from warehouse.models import Ticker

# When a symbol trades in several series the day's main one is the first of these it has.
SERIES_RANK = {"EQ": 0, "BE": 1, "BZ": 2, "SM": 3, "ST": 4}


@dataclass
class TickerLearnResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@transaction.atomic
def ticker_master_learn(bars: list[dict], *, exchange: str = "NSE") -> TickerLearnResult:
    """Create tickers unknown to the master (inactive: following them is a choice made in admin) and
    fill in or correct the ISIN and main series of known ones, in bulk. Returns the counts.

    Each symbol learns from its newest day in ``bars`` (a bar's ``date``), its main series that day. A
    day older than the one the master last learnt from (a replayed old bhavcopy) changes nothing, and an
    ISIN is taken only from a series that ranks at least as high as the stored one: a symbol's bond
    rows (N1, N2 …: their own ISINs) never replace its equity's ISIN.
    """
    best: dict[str, dict] = {}
    for bar in bars:
        symbol = _text(bar.get("ticker"))
        if not symbol:
            continue
        series = _text(bar.get("series")) or "EQ"
        isin = _text(bar.get("isin"))[:12]
        day = _day(bar.get("date"))
        known = best.get(symbol)
        if known is not None and day is not None and known["day"] is not None:
            if day < known["day"]:
                continue  # an older day of the same batch
            if day > known["day"]:
                known = None  # a newer day: learn from it alone
        if known is None or SERIES_RANK.get(series, 99) < SERIES_RANK.get(known["series"], 99):
            isin = isin or (known or {}).get("isin", "")
            best[symbol] = {"series": series, "isin": isin, "day": day if known is None else known["day"] or day}
        elif not known["isin"] and isin:
            known["isin"] = isin
    result = TickerLearnResult()
    if not best:
        return result
    # Plain tuples, not model instances: a bhavcopy day reads a few thousand known tickers.
    existing = {row[1]: row for row in _known(exchange, list(best))}
    changed, created = [], []
    now = timezone.now()
    for symbol, facts in best.items():
        known = existing.get(symbol)
        if known is None:
            created.append(
                Ticker(
                    symbol=symbol,
                    exchange=exchange,
                    isin=facts["isin"],
                    series=facts["series"],
                    learned_on=facts["day"],
                    active=False,
                )
            )
            continue
        pk, _, isin, series, learned_on = known
        if facts["day"] is not None and learned_on is not None and facts["day"] < learned_on:
            result.unchanged += 1  # an older bhavcopy than the one the master knows
            continue
        dirty = False
        ranks_as_high = SERIES_RANK.get(facts["series"], 99) <= SERIES_RANK.get(series, 99)
        if facts["isin"] and isin != facts["isin"] and ranks_as_high:
            isin, dirty = facts["isin"], True
        if series != facts["series"] and ranks_as_high:
            series, dirty = facts["series"], True
        # The day goes with the facts: stamped when they change, and once on a ticker that has none yet
        # (a later day with the same facts writes nothing: a bhavcopy day touches thousands of tickers).
        day = learned_on
        if facts["day"] is not None and (dirty or learned_on is None):
            day, dirty = facts["day"], True
        if dirty:
            changed.append((isin, series, day, pk))
        else:
            result.unchanged += 1
    Ticker.objects.bulk_create(created, batch_size=1000, ignore_conflicts=True)
    if changed:
        _tickers_update(changed, updated=now)
    result.created, result.updated = len(created), len(changed)
    return result


def _known(exchange: str, symbols: list[str]) -> list[tuple]:
    """``(pk, symbol, isin, series, learned_on)`` of the master's tickers among ``symbols``. On PostgreSQL
    the symbols travel as one array literal (``= ANY``, ``core.pgarray``): an ``IN`` of a bhavcopy day's ~3,000
    parameters took three times as long, most of it quoting them one by one in Python."""
    if connection.vendor != "postgresql":
        return list(
            Ticker.objects.filter(exchange=exchange, symbol__in=symbols).values_list(
                "pk", "symbol", "isin", "series", "learned_on"
            )
        )
    quote = connection.ops.quote_name
    table, pk = quote(Ticker._meta.db_table), quote(Ticker._meta.pk.column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {pk}, symbol, isin, series, learned_on FROM {table} "
            "WHERE exchange = %s AND symbol = ANY(%s::text[])",
            [exchange, pg_text_array(symbols)],
        )
        return cursor.fetchall()


def _tickers_update(changed: list[tuple], *, updated) -> None:
    """One plain UPDATE per changed ticker ``(isin, series, learned_on, pk)``, all stamped ``updated``, sent
    as one batch (``executemany``: pipelined on psycopg 3).

    ``bulk_update`` builds a CASE WHEN per column over the whole batch: for a bhavcopy day that moves a
    few thousand ISINs that cost seconds to build in Python and to evaluate in PostgreSQL."""
    ops, meta = connection.ops, Ticker._meta
    sql = (
        f"UPDATE {ops.quote_name(meta.db_table)} SET isin = %s, series = %s, learned_on = %s, updated = %s "
        f"WHERE {ops.quote_name(meta.pk.column)} = %s"
    )
    with connection.cursor() as cursor:
        stamp = ops.adapt_datetimefield_value(updated)
        cursor.executemany(
            sql, [(isin, series, ops.adapt_datefield_value(day), stamp, pk) for isin, series, day, pk in changed]
        )


def _text(value) -> str:
    """Text of a cell that may be None or NaN (rows coming back from a DataFrame)."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


def _day(value) -> date | None:
    """A bar's trading day from a date, a datetime or Timestamp, or ISO text; None when it has none."""
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
