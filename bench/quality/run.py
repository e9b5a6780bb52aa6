#!/usr/bin/env python
"""Quality benchmarks, each beside its baseline (issue 6):

1. DataValidator on 1,000,000 stock records with the full stock rule set (vectorised masks) against a
   per-record pydantic model enforcing the same rules, in the same run. Target: ≥ 2,000,000 records/s.
2. DataQualityMetrics over a 5,000,000-row stock_data_warehouse in SQL on PostgreSQL. Target: < 2 s.
   Uses its own database, tickerlake_bench_quality (created if missing; rows generated only when the
   table holds fewer than needed), on the host of DATABASE_URL when that points at PostgreSQL.

Usage: python bench/quality/run.py [--quick]
"""

import datetime as dt
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
QUICK = "--quick" in sys.argv
VALIDATE_ROWS = 100_000 if QUICK else 1_000_000
PYDANTIC_ROWS = 20_000 if QUICK else 1_000_000
TABLE_ROWS = 200_000 if QUICK else 5_000_000
BENCH_DB = "tickerlake_bench_quality"


def bench_database_url() -> str:
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        base = "postgres://postgres@127.0.0.1:5432/postgres"
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{BENCH_DB}", "", ""))


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", [BENCH_DB]).fetchone():
            conn.execute(f'create database "{BENCH_DB}"')


os.environ["DATABASE_URL"] = bench_database_url()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("TICKERLAKE_VAR_DIR", str(ROOT / "var" / "bench-quality"))


def stock_frame(n: int):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(42)
    tickers = np.array([f"SYM{i}" for i in range(2000)], dtype=object)
    start = pd.Timestamp("2026-05-19 03:45", tz="UTC")
    df = pd.DataFrame(
        {
            "ticker": tickers[np.arange(n) % 2000],
            "series": "EQ",
            "exchange": "NSE",
            "source": "nse_api",
            "timestamp": start + pd.to_timedelta(np.arange(n) // 2000, unit="s"),
            "price": rng.uniform(1, 150_000, n).round(2),
            "volume": rng.integers(0, 10**7, n),
            "change_percent": rng.normal(0, 2, n).round(2),
        }
    )
    # One fault in a thousand rows, spread over the rules: negative prices, nulls, future times.
    bad = rng.choice(n, n // 1000, replace=False)
    df.loc[bad[0::3], "price"] = -1.0
    df.loc[bad[1::3], "price"] = np.nan
    df.loc[bad[2::3], "timestamp"] = pd.Timestamp("2030-01-01", tz="UTC")
    return df, len(bad)


def pydantic_model(now):
    from pydantic import BaseModel, Field, ValidationError, field_validator

    from quality.rules import TICKER_REGEX

    class StockRecord(BaseModel):
        ticker: str = Field(pattern=f"^{TICKER_REGEX}$")
        series: str = Field(pattern=r"^[A-Z0-9]{1,3}$")
        exchange: str
        source: str = Field(min_length=1, max_length=32)
        timestamp: dt.datetime
        price: float = Field(gt=0, le=10_000_000)
        volume: int | None = Field(default=None, ge=0)
        change_percent: float | None = Field(default=None, ge=-100, le=1000)

        @field_validator("exchange")
        @classmethod
        def known_exchange(cls, v):
            if v not in ("NSE", "BSE"):
                raise ValueError("unknown exchange")
            return v

        @field_validator("timestamp")
        @classmethod
        def sane(cls, v):
            if v > now + dt.timedelta(minutes=10) or v.year < 1990:
                raise ValueError("timestamp out of range")
            return v

    return StockRecord, ValidationError


def bench_validation() -> list[tuple]:
    import math

    from quality.rules import default_rules
    from quality.validation import DataValidator

    now = dt.datetime(2026, 5, 19, 12, 0, tzinfo=dt.UTC)
    df, faults = stock_frame(VALIDATE_ROWS)
    validator = DataValidator("stock_quotes", rules=default_rules("stock_quotes"), now=now)
    validator.validate(df.head(1000))  # warm-up (imports, regex compile)
    best = math.inf
    for _ in range(3):
        started = time.perf_counter()
        result = validator.validate(df)
        best = min(best, time.perf_counter() - started)
    assert len(result.rejected) == faults, (len(result.rejected), faults)
    rate = VALIDATE_ROWS / best

    model, error = pydantic_model(now)
    records = df.head(PYDANTIC_ROWS).to_dict("records")
    seen = set()
    started = time.perf_counter()
    rejected = 0
    for rec in records:
        try:
            model.model_validate(rec)
            key = (rec["ticker"], rec["series"], rec["exchange"], rec["source"], rec["timestamp"])
            if key in seen:
                rejected += 1
            seen.add(key)
        except error:
            rejected += 1
    p_elapsed = time.perf_counter() - started
    p_rate = PYDANTIC_ROWS / p_elapsed
    return [
        (
            f"validate {VALIDATE_ROWS:,} stock records ({len(validator.rules)} rules)",
            f"{best:.3f} s",
            f"{rate:,.0f} rec/s",
            ">= 2,000,000 rec/s",
            "ok" if rate >= 2_000_000 else "BELOW",
        ),
        (
            f"pydantic per-record model, same rules ({PYDANTIC_ROWS:,} records)",
            f"{p_elapsed:.3f} s",
            f"{p_rate:,.0f} rec/s",
            f"x{rate / p_rate:.1f} slower than vectorised",
            "baseline",
        ),
    ]


def fill_table(rows: int) -> int:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("select count(*) from stock_data_warehouse")
        have = cur.fetchone()[0]
        if have >= rows:
            return have
        print(f"generating {rows - have:,} rows in {BENCH_DB} (once) …", flush=True)
        step = 500_000
        for lo in range(have, rows, step):
            hi = min(rows, lo + step) - 1
            # Unique natural key: 2,000 tickers, one row per ticker per minute, back from now.
            cur.execute(
                """
                insert into stock_data_warehouse
                  (ticker, series, price, volume, change_percent, timestamp, exchange, source, processed_at, raw_data)
                select 'SYM' || (g %% 2000), 'EQ', round((random() * 5000 + 1)::numeric, 2),
                       case when g %% 50 = 0 then null else (random() * 1e6)::bigint end,
                       case when g %% 37 = 0 then null else round((random() * 4 - 2)::numeric, 2) end,
                       now() - ((g / 2000) * interval '1 minute'), 'NSE', 'bench', now(), null
                from generate_series(%s, %s) g
                """,
                [lo, hi],
            )
        cur.execute("analyze stock_data_warehouse")
        return rows


def bench_metrics() -> list[tuple]:
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from quality.metrics import DataQualityMetrics
    from warehouse import calendar as nse

    call_command("migrate", verbosity=0, skip_checks=True)
    rows = fill_table(TABLE_ROWS)
    now = timezone.now()
    # The latest 10:00-11:00 IST hour of a trading day: the anomaly is judged only inside the session.
    day = now.astimezone(nse.IST).date()
    while not nse.is_trading_day(day):
        day -= dt.timedelta(days=1)
    session_hour = dt.datetime.combine(day, dt.time(10), nse.IST)
    dqm = DataQualityMetrics("stock_quotes", now=now)
    out = []

    def best_of(fn, times=3):
        fn()  # warm the cache as a running server would have it
        best = float("inf")
        for _ in range(times):
            started = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - started)
        return best

    # What the hourly evaluation runs per dataset: today's figures, freshness and the volume z-score.
    steps = [
        ("row count + completeness + ratios, today (IST)", lambda: dqm.day_metrics(now.date())),
        ("freshness (newest row, NSE calendar)", lambda: dqm.freshness()),
        ("volume z-score: 1 window + 8 weekly baselines", lambda: dqm.volume_anomaly(window_start=session_hour)),
    ]
    total = 0.0
    for label, fn in steps:
        elapsed = best_of(fn)
        total += elapsed
        out.append((label, f"{elapsed:.3f} s", "", "", ""))
    out.append(
        (
            f"hourly evaluation of one dataset over {rows:,} rows ({connection.vendor})",
            f"{total:.3f} s",
            "",
            "< 2 s",
            "ok" if total < 2 else "ABOVE",
        )
    )
    whole = best_of(lambda: dqm.completeness())
    out.append(
        (
            f"row count + completeness of 5 fields, all {rows:,} rows",
            f"{whole:.3f} s",
            "",
            "< 2 s",
            "ok" if whole < 2 else "ABOVE",
        )
    )
    return out


def main() -> int:
    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    rows = [("what", "time", "rate", "baseline", "")]
    rows += bench_validation()
    rows += bench_metrics()
    widths = [max(len(str(r[i])) for r in rows) for i in range(5)]
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    if QUICK:
        print("(--quick: small sizes, a smoke run; run without --quick for the issue's figures)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
