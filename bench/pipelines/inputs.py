"""Inputs of bench/pipelines, generated before the clock: simulated quote batches and social pages.

Imported by ``run.py`` after Django is set up (the functions import the simulator lazily).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo

FIRST_DAY = date(2025, 6, 2)  # a Monday; the quotes fill sessions from here on, the chatter starts here
QUOTES_PER_BATCH = 200  # pipelines.connectors.nse.QUOTES_PER_BATCH
SOCIAL_PAGE = 100  # X's max_results and getUpdates' limit


def trading_days(first: date):
    from pipelines.simulator.market import is_trading_day

    day = first
    while True:
        if is_trading_day(day):
            yield day
        day += timedelta(days=1)


def make_quote_batches(count: int, *, shape: str = "quote-equity") -> list[tuple[datetime, list[dict]]]:
    """``count`` distinct quotes in batches of 200, each with its fetch time: whole sessions, day after day.

    ``shape``: "quote-equity", the retired ``/api/quote-equity`` bodies (what the lake holds from before
    2026), or "next", NextApi ``getSymbolData`` answers (``{"equityResponse": [quote]}``), what the NSE
    connector fetches and stores today.
    """
    IST = ZoneInfo("Asia/Kolkata")  # not core.time: the baseline revisions predate it
    from pipelines.simulator import SimMarket, quote_payloads
    from pipelines.simulator.market import MINUTES, OPEN_TIME

    if shape not in ("quote-equity", "next"):
        raise ValueError(f"shape: expected quote-equity or next, got {shape!r}")
    per_session = len(SimMarket(seed=42).tickers) * MINUTES
    batches: list[tuple[datetime, list[dict]]] = []
    made = 0
    for day in trading_days(FIRST_DAY):
        if made >= count:
            break
        start = datetime.combine(day, OPEN_TIME, IST)
        n = min(per_session, count - made)
        if shape == "next":
            payloads = _next_payloads(count=n, start=start)
        else:
            payloads = quote_payloads(count=n, start=start, per_batch=QUOTES_PER_BATCH)
        for batch in payloads:
            last = batch[-1]["equityResponse"][0] if shape == "next" else batch[-1]["metadata"]
            fetched = datetime.strptime(last["lastUpdateTime"], "%d-%b-%Y %H:%M:%S").replace(tzinfo=IST).astimezone(UTC)
            batches.append((fetched, batch))
        made += n
    return batches


def _next_payloads(*, count: int, start: datetime) -> list[list[dict]]:
    """``pipelines.simulator.quote_payloads`` in NextApi's shape: each quote asked for as a
    ``getSymbolData`` answer (the simulator's ``symbol_data``) instead of a quote-equity body. Done by
    swapping the method for the call, so that a baseline revision's simulator gives the same batches."""
    from pipelines.simulator import SimMarket, quote_payloads

    equity = SimMarket.quote
    SimMarket.quote = SimMarket.symbol_data
    try:
        return list(quote_payloads(count=count, start=start, per_batch=QUOTES_PER_BATCH))
    finally:
        SimMarket.quote = equity


def make_social_pages(count: int) -> tuple[list[tuple[datetime, dict]], list[tuple[datetime, dict]], int, int]:
    """At least ``count`` posts, as X search pages and getUpdates answers of 100 each (fetch time, page)."""
    IST = ZoneInfo("Asia/Kolkata")  # not core.time: the baseline revisions predate it
    from pipelines.simulator import social_payloads

    tweets: list[dict] = []
    updates: list[dict] = []
    start = datetime.combine(FIRST_DAY, dtime(9, 0), IST)
    for source, payload in social_payloads(count=count, start=start):
        if len(tweets) + len(updates) >= count:
            break
        (tweets.extend(payload["data"]) if source == "twitter" else updates.extend(payload["result"]))
    x_pages = []
    for k in range(0, len(tweets), SOCIAL_PAGE):
        page = tweets[k : k + SOCIAL_PAGE]
        fetched = datetime.fromisoformat(page[-1]["created_at"].replace("Z", "+00:00")) + timedelta(seconds=30)
        body = {
            "data": page,
            "meta": {"result_count": len(page), "newest_id": page[-1]["id"], "oldest_id": page[0]["id"]},
        }
        x_pages.append((fetched, body))
    tg_pages = []
    for k in range(0, len(updates), SOCIAL_PAGE):
        page = updates[k : k + SOCIAL_PAGE]
        last = page[-1].get("channel_post") or page[-1].get("message") or {}
        fetched = datetime.fromtimestamp(last.get("date", 0), UTC) + timedelta(seconds=30)
        tg_pages.append((fetched, {"ok": True, "result": page}))
    return x_pages, tg_pages, len(tweets), len(updates)


# ---- the measured path --------------------------------------------------------------------------
