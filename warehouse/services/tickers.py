"""The ticker master learns from bhavcopies: new symbols, their ISINs and their main series."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

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
    fill in or correct the ISIN and main series of known ones, in bulk. Returns the counts."""
    best: dict[str, dict] = {}
    for bar in bars:
        symbol = _text(bar.get("ticker"))
        if not symbol:
            continue
        series = _text(bar.get("series")) or "EQ"
        isin = _text(bar.get("isin"))[:12]
        known = best.get(symbol)
        if known is None or SERIES_RANK.get(series, 99) < SERIES_RANK.get(known["series"], 99):
            best[symbol] = {"series": series, "isin": isin or (known or {}).get("isin", "")}
        elif not known["isin"] and isin:
            known["isin"] = isin
    result = TickerLearnResult()
    if not best:
        return result
    # Plain tuples, not model instances: a bhavcopy day reads a few thousand known tickers.
    existing = {
        row[1]: row
        for row in Ticker.objects.filter(exchange=exchange, symbol__in=list(best)).values_list(
            "pk", "symbol", "isin", "series"
        )
    }
    changed, created = [], []
    now = timezone.now()
    for symbol, facts in best.items():
        known = existing.get(symbol)
        if known is None:
            created.append(
                Ticker(symbol=symbol, exchange=exchange, isin=facts["isin"], series=facts["series"], active=False)
            )
            continue
        pk, _, isin, series = known
        dirty = False
        if facts["isin"] and isin != facts["isin"]:
            isin, dirty = facts["isin"], True
        if series != facts["series"] and SERIES_RANK.get(facts["series"], 99) <= SERIES_RANK.get(series, 99):
            series, dirty = facts["series"], True
        if dirty:
            changed.append((isin, series, pk))
        else:
            result.unchanged += 1
    Ticker.objects.bulk_create(created, batch_size=1000, ignore_conflicts=True)
    if changed:
        _tickers_update(changed, updated=now)
    result.created, result.updated = len(created), len(changed)
    return result


def _tickers_update(changed: list[tuple], *, updated) -> None:
    """One plain UPDATE per changed ticker ``(isin, series, pk)``, all stamped ``updated``, sent as one
    batch (``executemany``: pipelined on psycopg 3).

    ``bulk_update`` builds a CASE WHEN per column over the whole batch: for a bhavcopy day that moves a
    few thousand ISINs that cost seconds to build in Python and to evaluate in PostgreSQL."""
    ops, meta = connection.ops, Ticker._meta
    sql = (
        f"UPDATE {ops.quote_name(meta.db_table)} SET isin = %s, series = %s, updated = %s "
        f"WHERE {ops.quote_name(meta.pk.column)} = %s"
    )
    with connection.cursor() as cursor:
        stamp = ops.adapt_datetimefield_value(updated)
        cursor.executemany(sql, [(isin, series, stamp, pk) for isin, series, pk in changed])


def _text(value) -> str:
    """Text of a cell that may be None or NaN (rows coming back from a DataFrame)."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()
