#!/usr/bin/env python
"""Warehouse loader and query bench on PostgreSQL, beside the baselines of issue 4, in one run.

Usage: python bench/warehouse/run.py [--quick] [--force] [--rows N]

Reads DATABASE_URL (default postgres://postgres@127.0.0.1:5432/tickerlake_bench); creates the database
when missing and migrates it. It TRUNCATEs the warehouse tables there, so it refuses a database whose
name does not contain "bench" unless --force is given.

All loads go into the real `stock_data_warehouse` (the seed's columns, unique key and indexes), emptied
before each run; each figure is the median of 3 runs. The raw COPY and staging baselines are fed the
rows exactly as the loader writes them (its cleaning and bulk conversion run once, before the clock),
so "insert_stock_data / raw COPY" is what the loader's cleaning, probe and bookkeeping cost on top of
the COPY itself (target ≥ 0.9x). The slow baselines (pandas to_sql, execute_values)
run on a smaller batch, since their rows/s do not depend on the batch size and 1,000,000 rows would take
minutes each. `execute_values` is psycopg2's (`psycopg2-binary` when installed; otherwise psycopg 3's
`executemany` stands in and the table says so). `to_sql` needs SQLAlchemy (skipped when absent).
"""

from __future__ import annotations

import os
import secrets
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tickerlake_bench"
COLUMNS = ["ticker", "series", "exchange", "source", "timestamp", "price", "volume", "change_percent", "processed_at"]
TABLE = "stock_data_warehouse"


def log(message: str) -> None:
    print(f"  … {message}", flush=True)


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            log(f"created database {name}")
    env = dict(os.environ, DATABASE_URL=url)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0", "--skip-checks"],
        cwd=ROOT,
        env=env,
        check=True,
    )


def make_frame(n: int, tickers: int = 1000, start: datetime | None = None) -> pd.DataFrame:
    """n quotes: `tickers` symbols, one quote per symbol per minute, as the quote pipeline hands them over."""
    start = start or datetime(2025, 1, 1, 3, 45, tzinfo=UTC)
    i = np.arange(n)
    rng = np.random.default_rng(7)
    symbols = np.array([f"SYM{k:04d}" for k in range(tickers)], dtype=object)
    return pd.DataFrame(
        {
            "ticker": symbols[i % tickers],
            "series": "EQ",
            "exchange": "NSE",
            "source": "nse_api",
            "timestamp": pd.Timestamp(start) + pd.to_timedelta(i // tickers, unit="min"),
            "price": np.round(rng.uniform(10, 5000, n), 2),
            "volume": rng.integers(0, 10_000_000, n),
            "change_percent": np.round(rng.uniform(-9.99, 9.99, n), 2),
            "processed_at": pd.Timestamp.now(tz="UTC"),
        }
    )


def timed(prepare, run, repeats: int) -> float:
    """Median seconds of `run()` over `repeats`, calling `prepare()` (untimed) before each."""
    times = []
    for _ in range(repeats):
        prepare()
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


class Bench:
    def __init__(self, url: str, quick: bool, rows: int | None = None):
        import psycopg

        self.url = url
        self.quick = quick
        self.n = rows or (50_000 if quick else 1_000_000)
        self.n_slow = 10_000 if quick else 100_000
        self.n_to_sql = 5_000 if quick else 20_000  # ~8,000 rows/s: 20,000 rows is already 2-3 s
        self.query_tickers, self.query_per_ticker = (100, 2_000) if quick else (1_000, 5_000)
        self.repeats = 3
        self.conn = psycopg.connect(url)
        self.rows: list[list] = []

    # helpers -------------------------------------------------------------------------------------
    def truncate(self) -> None:
        self.conn.execute(f"TRUNCATE {TABLE}")
        self.conn.commit()

    def copy_frame(self, frame: pd.DataFrame, table: str = TABLE) -> None:
        """The plain way to COPY a DataFrame with psycopg 3: itertuples → write_row."""
        with self.conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in frame[COLUMNS].itertuples(index=False, name=None):
                copy.write_row(row)
        self.conn.commit()

    def converted(self, frame: pd.DataFrame) -> tuple[list[str], list[tuple]]:
        """The loader's own columns and rows for ``frame``: its cleaning and bulk conversion, done once
        and untimed, so a baseline that COPYs them measures the COPY, not a per-row conversion."""
        from warehouse.services.cleaning import STOCK, batch_prepare, sql_rows

        prepared, _ = batch_prepare(STOCK, frame)
        return STOCK.columns, sql_rows(STOCK, prepared.frame)

    def copy_rows(self, columns: list[str], rows: list[tuple]) -> None:
        """Raw psycopg 3 COPY of ready rows straight into the table (nothing else)."""
        names = ", ".join(f'"{c}"' for c in columns)
        with self.conn.cursor() as cur, cur.copy(f"COPY {TABLE} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        self.conn.commit()

    def staging_upsert(self, columns: list[str], rows: list[tuple]) -> None:
        """The hand-written staging upsert of ready rows: COPY into a TEMP table, INSERT … ON CONFLICT DO NOTHING."""
        cols = ", ".join(f'"{c}"' for c in columns)
        with self.conn.cursor() as cur:
            cur.execute(f"CREATE TEMP TABLE stage ON COMMIT DROP AS SELECT {cols} FROM {TABLE} WITH NO DATA")
            with cur.copy(f"COPY stage ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cur.execute(f"INSERT INTO {TABLE} ({cols}) SELECT {cols} FROM stage ON CONFLICT DO NOTHING")
        self.conn.commit()

    def snapshot(self, name: str, frame: pd.DataFrame) -> str:
        """An unindexed copy of `frame` in the database, to reset the table from quickly (server-side)."""
        self.conn.execute(f"DROP TABLE IF EXISTS {name}")
        self.conn.execute(f"CREATE UNLOGGED TABLE {name} AS SELECT {', '.join(COLUMNS)} FROM {TABLE} WITH NO DATA")
        self.conn.commit()
        self.copy_frame(frame, table=name)
        return name

    def preload(self, snapshot: str):
        def prepare():
            self.truncate()
            cols = ", ".join(COLUMNS)
            self.conn.execute(f"INSERT INTO {TABLE} ({cols}) SELECT {cols} FROM {snapshot}")
            self.conn.commit()

        return prepare

    def record(self, name: str, rows: int, seconds: float, note: str = "") -> float:
        rate = rows / seconds if seconds else float("nan")
        self.rows.append([name, rows, seconds, rate, note])
        log(f"{name}: {rate:,.0f} rows/s")
        return rate

    # baselines -----------------------------------------------------------------------------------
    def baseline_to_sql(self, frame: pd.DataFrame) -> float | None:
        try:
            import sqlalchemy
        except ImportError:
            self.rows.append(["pandas to_sql(method='multi', chunksize=1000)", 0, 0, float("nan"), "SQLAlchemy absent"])
            return None
        engine = sqlalchemy.create_engine(self.url.replace("postgres://", "postgresql+psycopg://", 1))
        part = frame.iloc[: self.n_to_sql]
        seconds = timed(
            self.truncate,
            lambda: part[COLUMNS].to_sql(
                TABLE, engine, if_exists="append", index=False, method="multi", chunksize=1000
            ),
            self.repeats,
        )
        engine.dispose()
        return self.record("pandas to_sql(method='multi', chunksize=1000)", len(part), seconds)

    def baseline_execute_values(self, frame: pd.DataFrame) -> float:
        part = frame.iloc[: self.n_slow]
        rows = list(part[COLUMNS].itertuples(index=False, name=None))
        cols = ", ".join(COLUMNS)
        try:
            import psycopg2
            from psycopg2.extras import execute_values

            def run():
                with psycopg2.connect(self.url) as conn, conn.cursor() as cur:
                    values = [(*r[:4], r[4].to_pydatetime(), *r[5:8], r[8].to_pydatetime()) for r in rows]
                    execute_values(cur, f"INSERT INTO {TABLE} ({cols}) VALUES %s", values, page_size=1000)
                conn.close()

            name, note = "psycopg2 execute_values(page_size=1000)", ""
        except ImportError:
            marks = ", ".join(["%s"] * len(COLUMNS))

            def run():
                with self.conn.cursor() as cur:
                    cur.executemany(f"INSERT INTO {TABLE} ({cols}) VALUES ({marks})", rows)
                self.conn.commit()

            name, note = "psycopg 3 executemany", "stand-in for execute_values (psycopg2 absent)"
        return self.record(name, len(part), timed(self.truncate, run, self.repeats), note)

    # the run -------------------------------------------------------------------------------------
    def loads(self) -> dict:
        from warehouse.services import warehouse

        frame = make_frame(self.n)
        half = frame.iloc[: self.n // 2]
        figures = {}
        full_snap = self.snapshot("bench_snapshot_full", frame)
        half_snap = self.snapshot("bench_snapshot_half", half)
        log(f"batch of {self.n:,} rows; execute_values on {self.n_slow:,}, to_sql on {self.n_to_sql:,}")
        figures["to_sql"] = self.baseline_to_sql(frame)
        figures["execute_values"] = self.baseline_execute_values(frame)
        # The baselines get the rows exactly as the loader writes them (converted before the clock).
        columns, rows = self.converted(frame)
        figures["copy"] = self.record(
            "psycopg 3 COPY straight into the table (the loader's rows)",
            self.n,
            timed(self.truncate, lambda: self.copy_rows(columns, rows), self.repeats),
        )
        figures["staging_new"] = self.record(
            "staging upsert (hand-written), new rows",
            self.n,
            timed(self.truncate, lambda: self.staging_upsert(columns, rows), self.repeats),
        )
        # An all-duplicate load changes nothing, so one preload serves every repeat of both loaders.
        self.preload(full_snap)()
        figures["staging_dup"] = self.record(
            "staging upsert (hand-written), all duplicates",
            self.n,
            timed(lambda: None, lambda: self.staging_upsert(columns, rows), self.repeats),
        )
        figures["staging_half"] = self.record(
            "staging upsert (hand-written), half new",
            self.n,
            timed(self.preload(half_snap), lambda: self.staging_upsert(columns, rows), self.repeats),
        )
        results = []

        def ours():
            results.append(warehouse.insert_stock_data(frame))

        figures["ours_new"] = self.record(
            "insert_stock_data, new rows", self.n, timed(self.truncate, ours, self.repeats)
        )
        assert results[-1].inserted == self.n, results[-1]
        self.preload(full_snap)()
        figures["ours_dup"] = self.record(
            "insert_stock_data, all duplicates", self.n, timed(lambda: None, ours, self.repeats)
        )
        assert results[-1].duplicates == self.n, results[-1]
        figures["ours_half"] = self.record(
            "insert_stock_data, half new", self.n, timed(self.preload(half_snap), ours, self.repeats)
        )
        assert (results[-1].inserted, results[-1].duplicates) == (self.n - len(half), len(half)), results[-1]
        for name in (full_snap, half_snap):
            self.conn.execute(f"DROP TABLE {name}")
        self.conn.commit()
        return figures

    def build_query_table(self) -> int:
        total = self.query_tickers * self.query_per_ticker
        span = timedelta(days=104)
        step = span / self.query_per_ticker
        log(
            f"building a {total:,}-row table ({self.query_tickers} tickers, one quote per {step} over {span.days} days)"
        )
        started = time.perf_counter()
        self.truncate()
        self.conn.execute(
            f"""
            INSERT INTO {TABLE} (ticker, series, exchange, source, timestamp, price, volume, change_percent,
                                 processed_at)
            SELECT 'SYM' || lpad(t::text, 4, '0'), 'EQ', 'NSE', 'nse_api',
                   now() - (r * %s::interval), round((100 + random() * 4000)::numeric, 2),
                   (random() * 1e7)::bigint, round((random() * 19.98 - 9.99)::numeric, 2), now()
            FROM generate_series(0, %s - 1) AS t, generate_series(0, %s - 1) AS r
            """,
            [step, self.query_tickers, self.query_per_ticker],
        )
        self.conn.commit()
        self.conn.autocommit = True
        self.conn.execute(f"VACUUM ANALYZE {TABLE}")
        self.conn.autocommit = False
        log(f"built in {time.perf_counter() - started:.0f} s")
        return total

    def queries(self) -> dict:
        from django.contrib.auth import get_user_model
        from rest_framework.authtoken.models import Token
        from rest_framework.test import APIClient

        from warehouse.services import warehouse

        total = self.build_query_table()
        symbols = [f"SYM{k:04d}" for k in range(0, self.query_tickers, max(1, self.query_tickers // 50))]
        calls = 200
        for s in symbols[:5]:
            warehouse.get_historical_stock_data(s, days=30)  # warm the connection and caches
        times, sizes = [], []
        for k in range(calls):
            started = time.perf_counter()
            frame = warehouse.get_historical_stock_data(symbols[k % len(symbols)], days=30)
            times.append(time.perf_counter() - started)
            sizes.append(len(frame))
        p50_df = statistics.median(times) * 1000
        self.rows.append(
            [
                f"get_historical_stock_data(days=30), {total:,}-row table",
                int(statistics.median(sizes)),
                p50_df / 1000,
                float("nan"),
                f"p50 {p50_df:.1f} ms",
            ]
        )
        log(f"get_historical_stock_data p50 {p50_df:.1f} ms ({int(statistics.median(sizes))} rows per frame)")

        user, _ = get_user_model().objects.get_or_create(username="bench")
        token, _ = Token.objects.get_or_create(user=user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        api_times = []
        p50_api = None
        try:
            for k in range(calls + 5):
                started = time.perf_counter()
                response = client.get(f"/api/data/warehouse/historical/{symbols[k % len(symbols)]}", {"days": 30})
                elapsed = time.perf_counter() - started
                assert response.status_code == 200, response.content[:300]
                if k >= 5:
                    api_times.append(elapsed)
            p50_api = statistics.median(api_times) * 1000
            self.rows.append(
                [
                    "GET /api/data/warehouse/historical/{ticker}?days=30 (first page, in-process)",
                    100,
                    p50_api / 1000,
                    float("nan"),
                    f"p50 {p50_api:.1f} ms",
                ]
            )
            log(f"API p50 {p50_api:.1f} ms")
        except Exception as exc:  # report the failure beside the other figures
            self.rows.append(["GET /api/data/warehouse/historical/{ticker}", 0, 0, float("nan"), f"failed: {exc}"])
        self.truncate()
        return {"p50_df_ms": p50_df, "p50_api_ms": p50_api}


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    if not url.startswith(("postgres://", "postgresql://")):
        print(f"bench/warehouse needs PostgreSQL; DATABASE_URL is {url.split(':', 1)[0]}://…")
        return 2
    name = urlsplit(url).path.lstrip("/")
    if "bench" not in name and "--force" not in argv:
        print(f"refusing to TRUNCATE the warehouse of {name!r}: use a *bench* database or pass --force")
        return 2
    ensure_database(url)
    os.environ.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="0",  # production-like: no query log kept per request
        DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(40),
        LOG_LEVEL="WARNING",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    rows = int(argv[argv.index("--rows") + 1]) if "--rows" in argv else None
    bench = Bench(url, quick, rows)
    started = time.perf_counter()
    loads = bench.loads()
    queries = bench.queries()
    print_table(bench, loads, queries, quick, time.perf_counter() - started)
    return 0


def print_table(bench: Bench, f: dict, q: dict, quick: bool, seconds: float) -> None:
    print()
    print(f"bench/warehouse on PostgreSQL {'(--quick: smoke sizes, not figures)' if quick else ''}")
    print(f"{'what':<78} {'rows':>10} {'median s':>9} {'rows/s':>10}  note")
    for name, rows, secs, rate, note in bench.rows:
        rate_text = f"{rate:>10,.0f}" if rate == rate else f"{'':>10}"
        print(f"{name:<78} {rows:>10,} {secs:>9.3f} {rate_text}  {note}")
    print("seed's to_sql(method='multi') without chunksize: not run (one statement; ran PostgreSQL out of memory)")
    print()
    print("issue 4 targets (measured here, this run):")

    def check(label: str, value: float | None, target: float, unit: str, higher: bool = True) -> None:
        if value is None:
            print(f"  {label}: n/a")
            return
        ok = value >= target if higher else value <= target
        print(
            f"  {label}: {value:,.2f}{unit} (target {'≥' if higher else '<'} {target:,.2f}{unit}) {'PASS' if ok else 'MISS'}"
        )

    # The loader cleans, converts, probes and COPYs; the baseline only COPYs the same converted rows.
    check("insert_stock_data new / raw COPY of the same rows", f["ours_new"] / f["copy"], 0.9, "x")
    check(
        "insert_stock_data all-duplicates / staging upsert all-duplicates", f["ours_dup"] / f["staging_dup"], 0.85, "x"
    )
    check("insert_stock_data half new / staging upsert half new", f["ours_half"] / f["staging_half"], 0.85, "x")
    check("get_historical_stock_data p50", q["p50_df_ms"], 10, " ms", higher=False)
    check("API historical p50", q["p50_api_ms"], 40, " ms", higher=False)
    print(
        f"issue's figures on its machine: to_sql 8,300/s, execute_values 27,000/s, COPY 91,000/s, staging 47,000/s"
        f" (62,000/s half new). Total bench time {seconds:.0f} s."
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
