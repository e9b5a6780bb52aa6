#!/usr/bin/env python
"""Proof at scale (issue 14): the warehouse at N quote rows, loaded through the loader, on PostgreSQL.

Usage: python bench/scale/run.py [--quick] [--rows 5000000,50000000] [--url postgres://…/NAME]
       python bench/scale/run.py --rows N --selector-baseline REV  (the table as a run left it: our
       30-day query selector beside REV's, interleaved round by round, p50 / p90 / p99)
       SCALE_ROWS=5000000,50000000 make bench BENCH_ARGS=scale

Sizes grow by history, not by density: 1,000 tickers, one quote per ticker every 5 minutes of the
trading session (75 a day, weekdays), ending today, so every size holds the same last 30 days and the
larger sizes add older months. The newest rows are loaded first (the smallest size), then the older
months oldest first, as a backfill would; the figures are taken each time the table reaches a size.
Rows go through ``warehouse.insert_stock_data`` in 100,000-row DataFrames (no ``raw_data``, to keep
50M rows on the disk), into the monthly partitions (created ahead with the partition service).

At each size: the 30-day historical query through the selector, first for each of 100 sampled tickers
once (its pages may come from disk), then p50/p99 over 300 queries of them (targets < 10 ms / < 50 ms),
the API's p50 for the same query, the daily bars selector and the gold refresh of the last 30 days,
``get_stats()`` and the home page's overview API, the hourly quality pass, partition pruning in
EXPLAIN, and BRIN against a b-tree on the timestamp for a one-day all-ticker read. At the end: the load
rate at the largest size against the rate into the empty table (target ≥ 0.8x), both windows started
right after a CHECKPOINT with no autovacuum at work (else the first window, loaded before any
checkpoint, is favoured).

Reads SCALE_DATABASE_URL (default: DATABASE_URL's server, database ``tickerlake_bench_scale``); creates
and migrates it; TRUNCATEs its warehouse tables, so the database name must contain "bench" or "scale".
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import time
import types
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
TICKERS = 1000
PER_DAY = 75  # 09:15 to 15:25 IST every 5 minutes
CHUNK = 100_000
IST = timedelta(hours=5, minutes=30)


def log(message: str) -> None:
    print(f"  … {message}", flush=True)


def database_url(given: str | None) -> str:
    if given:
        return given
    if os.environ.get("SCALE_DATABASE_URL"):
        return os.environ["SCALE_DATABASE_URL"]
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        base = "postgres://postgres@127.0.0.1:5432/postgres"
    return urlunsplit(urlsplit(base)._replace(path="/tickerlake_bench_scale"))


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if "bench" not in name and "scale" not in name:
        sys.exit(f"refusing to TRUNCATE {name!r}: the bench database's name must contain 'bench' or 'scale'")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            log(f"created database {name}")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0", "--skip-checks"],
        cwd=ROOT,
        env=dict(os.environ, DATABASE_URL=url),
        check=True,
    )


def trading_days(end: date, count: int) -> list[date]:
    days, day = [], end
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    return days[::-1]


class Market:
    """The quote stream: slot s (0 = oldest) is one 5-minute mark of one trading day, 1,000 quotes."""

    def __init__(self, rows: int, end: date):
        self.slots = -(-rows // TICKERS)
        self.days = trading_days(end, -(-self.slots // PER_DAY))
        self.offset = len(self.days) * PER_DAY - self.slots  # skip the first marks of the oldest day
        self.symbols = np.array([f"SC{k:04d}" for k in range(TICKERS)], dtype=object)
        base = np.array([datetime(d.year, d.month, d.day, 9, 15) - IST for d in self.days], dtype="datetime64[us]")
        self.day_starts = base

    def frame(self, first_slot: int, slots: int) -> pd.DataFrame:
        s = np.arange(first_slot, first_slot + slots) + self.offset
        stamps = self.day_starts[s // PER_DAY] + (s % PER_DAY) * np.timedelta64(5, "m")
        n = slots * TICKERS
        rng = np.random.default_rng(first_slot)
        return pd.DataFrame(
            {
                "ticker": np.tile(self.symbols, slots),
                "source": "nse_api",
                "timestamp": pd.DatetimeIndex(np.repeat(stamps, TICKERS)).tz_localize(UTC),
                "price": np.round(rng.uniform(10, 5000, n), 2),
                "volume": rng.integers(0, 10_000_000, n),
                "change_percent": np.round(rng.uniform(-9.99, 9.99, n), 2),
            }
        )


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed_ms(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


class Bench:
    def __init__(self, sizes: list[int], quick: bool):
        self.sizes = sorted(sizes)
        self.quick = quick
        self.market = Market(self.sizes[-1], end=datetime.now(UTC).date())
        self.rates: list[tuple[int, int, float]] = []  # (rows in the table before, rows, seconds)
        # The load rate is compared over the first and the last this many rows (at least one batch).
        self.sample = max(1, min(1_000_000, self.sizes[0] // 4) // CHUNK) * CHUNK
        self.last_window: int | None = None  # index in ``rates`` where the last window starts
        self.table: list[list[str]] = []

    # loading --------------------------------------------------------------------------------------
    def prepare(self) -> None:
        from django.db import connection

        from warehouse.services.partitions import partitions_ensure

        with connection.cursor() as cur:
            cur.execute(
                "TRUNCATE stock_data_warehouse, daily_bars, social_mentions_warehouse, daily_social, "
                "quality_qualitymetric, quality_qualityincident"
            )
        months = sorted({d.replace(day=1) for d in self.market.days})
        created = partitions_ensure(months=months, tables=["stock_data_warehouse"]).created
        log(
            f"{self.market.slots * TICKERS:,} rows over {len(self.market.days)} trading days "
            f"({self.market.days[0]} to {self.market.days[-1]}), {len(months)} monthly partitions "
            f"({len(created)} created)"
        )

    def load(self, first_slot: int, last_slot: int, loaded: int) -> int:
        from warehouse.services import warehouse

        per = CHUNK // TICKERS
        for slot in range(first_slot, last_slot, per):
            if loaded == 0 or (self.last_window is None and loaded >= self.market.slots * TICKERS - self.sample):
                # Both measured windows (the first rows and the last) start from the same state: a
                # checkpoint just done (full-page writes begin afresh) and no autovacuum at work.
                self.last_window = None if loaded == 0 else len(self.rates)
                self.quiesce()
            slots = min(per, last_slot - slot)
            frame = self.market.frame(slot, slots)
            started = time.perf_counter()
            result = warehouse.insert_stock_data(frame)
            seconds = time.perf_counter() - started
            if result.inserted != len(frame):
                raise SystemExit(f"the loader inserted {result.inserted} of {len(frame)}: {result.errors[:3]}")
            self.rates.append((loaded, len(frame), seconds))
            loaded += len(frame)
            if loaded % 2_000_000 < CHUNK:
                log(f"{loaded:,} rows loaded ({len(frame) / seconds:,.0f} rows/s for the last batch)")
        return loaded

    def quiesce(self, wait: float = 300.0) -> None:
        """CHECKPOINT, then wait (up to ``wait`` s) until no autovacuum worker runs."""
        from django.db import connection

        with connection.cursor() as cur:
            cur.execute("CHECKPOINT")
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                cur.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'")
                if not cur.fetchone()[0]:
                    return
                time.sleep(1)
        log("autovacuum still at work after the wait: measuring anyway")

    # measuring ------------------------------------------------------------------------------------
    def measure(self, size: int) -> None:
        from django.db import connection

        from quality.tasks import quality_checks_hourly
        from warehouse import selectors
        from warehouse.services import gold_refresh, warehouse

        with connection.cursor() as cur:
            # What autovacuum does after a load (insert-triggered since PostgreSQL 13): statistics, and
            # the visibility map that lets the historical query read the stock key (its INCLUDE columns) alone.
            cur.execute("VACUUM (ANALYZE) stock_data_warehouse")
        label = f"{size / 1e6:g}M"
        tickers = [f"SC{k:04d}" for k in random.Random(size).sample(range(TICKERS), 100)]
        repeats = 60 if self.quick else 300
        warehouse.get_historical_stock_data(tickers[0], days=30)  # warm the connection
        rows_30d = len(warehouse.get_historical_stock_data(tickers[0], days=30))
        # Each sampled ticker's first query reads its index pages from wherever the load left them (the
        # disk, at 50M rows): reported on its own, then the steady state over the same tickers.
        first = [timed_ms(lambda t=t: warehouse.get_historical_stock_data(t, days=30), 1)[0] for t in tickers[1:]]
        self.row(
            label,
            "30-day historical query, first query of a ticker, p50 / max",
            f"{pct(first, 0.5):.1f} / {max(first):.1f} ms",
            "",
        )
        hist = timed_ms(lambda: warehouse.get_historical_stock_data(random.choice(tickers), days=30), repeats)
        self.row(label, "30-day historical query (selector), p50", f"{pct(hist, 0.5):.1f} ms", "< 10 ms")
        self.row(label, "30-day historical query (selector), p99", f"{pct(hist, 0.99):.1f} ms", "< 50 ms")
        self.row(label, "  rows returned per query", f"{rows_30d:,}", "")

        client = self._api_client()
        api = timed_ms(
            lambda: self._ok(client.get(f"/api/data/warehouse/historical/{random.choice(tickers)}?days=30")),
            repeats // 3,
        )
        self.row(label, "API /historical/{ticker}?days=30 (first page), p50", f"{pct(api, 0.5):.1f} ms", "")

        days = self.market.days[-22:]
        started = time.perf_counter()
        gold = gold_refresh(dates=days)
        self.row(
            label,
            f"gold refresh of the last {len(days)} trading days ({gold.daily_bars:,} bars)",
            f"{time.perf_counter() - started:.2f} s",
            "",
        )
        bars = timed_ms(lambda: warehouse.get_daily_bars(random.choice(tickers)), repeats // 3)
        self.row(label, "daily bars query (selector), p50", f"{pct(bars, 0.5):.1f} ms", "")

        stats = timed_ms(warehouse.get_stats, 3)
        self.row(label, "get_stats()", f"{statistics.median(stats):.0f} ms", "")
        overview = timed_ms(lambda: self._ok(client.get("/api/pipelines/overview")), 3)
        self.row(label, "home page's API /api/pipelines/overview", f"{statistics.median(overview):.0f} ms", "")
        quality = timed_ms(quality_checks_hourly, 1)
        self.row(label, "hourly quality pass (metrics + checks)", f"{quality[0] / 1000:.2f} s", "")

        plan = selectors.stock_rows(ticker=tickers[0], days=30).explain()
        scanned = sorted(set(re.findall(r" on (stock_data_warehouse_(?:p\d{4}_\d{2}|default))\b", plan)))
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'stock_data_warehouse'::regclass")
            total = cur.fetchone()[0]
        self.row(label, "EXPLAIN of the 30-day query: partitions scanned", f"{len(scanned)} of {total}", "pruned")
        log("EXPLAIN: " + " | ".join(line.strip() for line in plan.splitlines()[:6]))
        self.brin_against_btree(label)

    def brin_against_btree(self, label: str) -> None:
        """One IST day, every ticker (the gold refresh's read): BRIN, a b-tree, and no timestamp index."""
        from django.db import connection, transaction

        day = self.market.days[-min(5, len(self.market.days))]
        lo = datetime(day.year, day.month, day.day) - IST
        sql = (
            "SELECT ticker, min(price), max(price), sum(volume) FROM stock_data_warehouse "
            "WHERE timestamp >= %s AND timestamp < %s GROUP BY ticker"
        )
        params = [lo.replace(tzinfo=UTC), (lo + timedelta(days=1)).replace(tzinfo=UTC)]

        def run(cur) -> float:
            return statistics.median(timed_ms(lambda: (cur.execute(sql, params), cur.fetchall()), 5))

        size_sql = "SELECT coalesce(sum(pg_relation_size(relid)), 0) FROM pg_partition_tree(%s)"
        with connection.cursor() as cur:
            brin_ms = run(cur)
            cur.execute(size_sql, ["idx_stock_data_warehouse_ts_brin"])
            brin_size = int(cur.fetchone()[0])
        try:
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute("DROP INDEX idx_stock_data_warehouse_ts_brin")
                none_ms = run(cur)
                started = time.perf_counter()
                cur.execute("CREATE INDEX bench_ts_btree ON stock_data_warehouse (timestamp)")
                build = time.perf_counter() - started
                cur.execute("ANALYZE stock_data_warehouse")
                btree_ms = run(cur)
                cur.execute(size_sql, ["bench_ts_btree"])
                btree_size = int(cur.fetchone()[0])
                raise _Rollback
        except _Rollback:
            pass  # DDL is transactional: the BRIN is back, the b-tree gone
        self.row(label, "one day, all tickers: BRIN on timestamp", f"{brin_ms:.0f} ms, {brin_size / 1e6:.1f} MB", "")
        self.row(
            label,
            "  … b-tree on timestamp instead",
            f"{btree_ms:.0f} ms, {btree_size / 1e6:.0f} MB (built in {build:.0f} s)",
            "",
        )
        self.row(label, "  … no timestamp index", f"{none_ms:.0f} ms", "")

    def _api_client(self):
        from django.contrib.auth import get_user_model
        from django.test import Client

        user, _ = get_user_model().objects.get_or_create(username="bench-scale")
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        return client

    @staticmethod
    def _ok(response):
        if response.status_code != 200:
            raise SystemExit(f"API answered {response.status_code}: {response.content[:200]!r}")

    def row(self, size: str, name: str, value: str, target: str) -> None:
        self.table.append([size, name, value, target])
        log(f"{size} {name}: {value}")

    # the run --------------------------------------------------------------------------------------
    def run(self) -> None:
        self.prepare()
        total_slots = self.market.slots
        loaded, done = 0, total_slots
        for size in self.sizes:
            # The newest rows first (the smallest size), then each larger size's older months, oldest first.
            first = total_slots - size // TICKERS
            started = time.perf_counter()
            loaded = self.load(first, done, loaded)
            seconds = time.perf_counter() - started
            rows = (done - first) * TICKERS
            self.row(f"{size / 1e6:g}M", f"load {rows:,} rows through the loader", f"{rows / seconds:,.0f} rows/s", "")
            done = first
            self.measure(size)
        sample = self.sample
        first = self._rate(self.rates[: sample // CHUNK])
        last = self._rate(self.rates[self.last_window :])
        size = f"{self.sizes[-1] / 1e6:g}M"
        self.row(size, f"load rate, first {sample:,} rows (empty table)", f"{first:,.0f} rows/s", "baseline")
        self.row(size, f"load rate, last {sample:,} rows (table at {size})", f"{last:,.0f} rows/s", "")
        self.row(size, "load rate at the largest size ÷ into the empty table", f"{last / first:.2f}x", "≥ 0.8x")

    @staticmethod
    def _rate(samples) -> float:
        return sum(n for _, n, _ in samples) / sum(s for _, _, s in samples)

    def print(self) -> None:
        widths = [max(len(r[i]) for r in [*self.table, ["size", "figure", "measured", "target"]]) for i in range(4)]
        print()
        for r in [["size", "figure", "measured", "target"], *self.table]:
            print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)))


class _Rollback(Exception):
    pass


def selector_against(rev: str, table: list[list[str]], rounds: int = 10, per_round: int = 60) -> None:
    """Our ``historical_prices`` beside the one of git revision ``rev``, on the table as it is.

    The two alternate round by round (``per_round`` queries each, the order swapped every round), so a
    drift in the machine's speed between minutes hits both alike; both frames must be equal.
    """
    from warehouse.selectors import frames

    path = "warehouse/selectors/frames.py"
    source = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=ROOT, capture_output=True, text=True, check=True)
    baseline = types.ModuleType(f"frames_{rev}")
    exec(compile(source.stdout, f"{rev}:{path}", "exec"), baseline.__dict__)  # our own history, by git
    tickers = [f"SC{k:04d}" for k in random.Random(rev).sample(range(TICKERS), 100)]
    for ticker in tickers:  # the same pages in memory for both
        frames.historical_prices(ticker=ticker, days=30)
    pd.testing.assert_frame_equal(
        frames.historical_prices(ticker=tickers[0], days=30), baseline.historical_prices(ticker=tickers[0], days=30)
    )
    times: dict[str, list[float]] = {"ours": [], rev: []}
    sides = [("ours", frames), (rev, baseline)]
    for k in range(rounds):
        for name, module in sides if k % 2 == 0 else sides[::-1]:
            times[name] += timed_ms(
                lambda m=module: m.historical_prices(ticker=random.choice(tickers), days=30), per_round
            )
    for name, values in times.items():
        figures = " / ".join(f"{pct(values, q):.1f}" for q in (0.5, 0.9, 0.99))
        table.append(["now", f"30-day query (selector) of {name}, interleaved, p50 / p90 / p99", f"{figures} ms", ""])
        log(f"selector of {name}: p50 / p90 / p99 {figures} ms")


# The PostgreSQL settings the figures at 50M rows depend on (what stays in memory, how often it writes).
SERVER_SETTINGS = ("shared_buffers", "effective_cache_size", "max_wal_size", "checkpoint_timeout", "work_mem")


def server_settings() -> str:
    """The server's version and memory/checkpoint settings, as one line for the bench's header."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        version = cur.fetchone()[0].split()[0]
        shown = []
        for name in SERVER_SETTINGS:
            cur.execute(f"SHOW {name}")
            shown.append(f"{name} {cur.fetchone()[0]}")
    return f"PostgreSQL {version}: {', '.join(shown)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200,000 and 1,000,000 rows (a smoke run)")
    parser.add_argument("--rows", default=os.environ.get("SCALE_ROWS"), help="sizes, comma-separated")
    parser.add_argument("--url", default=None, help="the bench database (default: tickerlake_bench_scale)")
    parser.add_argument(
        "--measure-only", action="store_true", help="no load: measure the table as it is (after a migration)"
    )
    parser.add_argument(
        "--selector-baseline",
        metavar="REV",
        help="no load: our 30-day query selector beside the one of git revision REV, interleaved, on the table as it is",
    )
    args = parser.parse_args()
    if args.rows:
        sizes = [int(float(s)) for s in args.rows.split(",")]
    else:
        sizes = [200_000, 1_000_000] if args.quick else [5_000_000, 50_000_000]
    url = database_url(args.url)
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("bench/scale needs PostgreSQL (partitions, BRIN, EXPLAIN)")
    ensure_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    print(f"bench/scale: sizes {', '.join(f'{s:,}' for s in sizes)} on {urlsplit(url).path.lstrip('/')}")
    print(server_settings())
    bench = Bench(sizes, args.quick)
    started = time.perf_counter()
    if args.selector_baseline:
        selector_against(args.selector_baseline, bench.table)
    elif args.measure_only:
        from django.db import connection

        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM stock_data_warehouse")
            bench.measure(cur.fetchone()[0])
    else:
        bench.run()
    bench.print()
    print(f"\n(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
