"""The simulated upstream: a deterministic, seedable NSE market with social chatter and pump campaigns.

- ``universe()``: the active NSE tickers of the ticker master, else the built-in NIFTY 50.
- ``SimMarket(seed=…)``: minute prices/volumes (``day_path``), ``quote(symbol, when)`` (NSE's
  quote-equity body), ``bhavcopy_udiff/full/legacy(day)``, ``campaigns(day)`` (pump campaigns:
  hype → spike → dump).
- ``Chatter(market)``: ``tweets_at(minute)`` / ``tweets_between`` (X API v2 tweets) and
  ``posts_at(minute)`` / ``updates_between`` (Telegram Bot API updates).
- ``SimulatedUpstreamAdapter``: all of it behind ``requests``, mounted by the connectors when
  ``SIMULATE_UPSTREAMS`` is on (clock: ``SIMULATOR_NOW`` or the real time; world: ``SIMULATOR_SEED``).
- ``quote_payloads`` / ``social_payloads``: bulk generators for benchmarks, in the same shapes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from pipelines.simulator.adapter import SimulatedUpstreamAdapter, sim_now, world
from pipelines.simulator.chatter import Chatter, minute_index
from pipelines.simulator.market import Campaign, SimMarket
from pipelines.simulator.universe import universe, universe_symbols


def quote_payloads(*, count: int, start: datetime, seed: int = 42, per_batch: int = 1000) -> Iterator[list[dict]]:
    """``count`` quote-equity bodies (every ticker, minute after minute from ``start``), in lists of
    ``per_batch``: the payload shape of an ``nse_api`` fetch round."""
    market = SimMarket(seed=seed)
    batch: list[dict] = []
    minute = 0
    made = 0
    while made < count:
        when = start + timedelta(minutes=minute)
        for ticker in market.tickers:
            batch.append(market.quote(ticker.symbol, when))
            made += 1
            if len(batch) >= per_batch or made >= count:
                yield batch
                batch = []
            if made >= count:
                return
        minute += 1


def social_payloads(*, count: int, start: datetime, seed: int = 42) -> Iterator[tuple[str, dict]]:
    """At least ``count`` posts as (source, payload) pairs: X v2 search-like pages and getUpdates answers."""
    market = SimMarket(seed=seed)
    chatter = Chatter(market)
    made, index = 0, minute_index(start)
    while made < count:
        tweets = [{k: v for k, v in t.items() if not k.startswith("_")} for t in chatter.tweets_at(index)]
        updates = list(chatter.posts_at(index))
        if tweets:
            yield "twitter", {"data": tweets, "meta": {"result_count": len(tweets)}}
        if updates:
            yield "telegram", {"ok": True, "result": updates}
        made += len(tweets) + len(updates)
        index += 1


__all__ = [
    "Campaign",
    "Chatter",
    "SimMarket",
    "SimulatedUpstreamAdapter",
    "quote_payloads",
    "sim_now",
    "social_payloads",
    "universe",
    "universe_symbols",
    "world",
]
