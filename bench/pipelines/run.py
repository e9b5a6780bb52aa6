#!/usr/bin/env python
"""Pipelines bench: whole runs (lake → parse → validate → enrich → load → gold → quality) beside the seed's path.

Usage: python bench/pipelines/run.py [--quick] [--profile] [--database-url URL] [--force]

Three measurements, in one run, each beside the seed's naive path (one gzip JSON lake file per
record, written atomically with fsync; then pandas ``to_sql(method='multi', chunksize=1000)`` through
SQLAlchemy into the warehouse table):

1. 100,000 simulated quotes (``quote_payloads``: the NIFTY 50 of the simulator, minute after minute
   over successive trading sessions, so every quote is a new row), handed to ``pipeline_run("nse_api")``
   in batches of 200 (the connector's ``QUOTES_PER_BATCH``): lake store → parse → validate → load →
   gold refresh → quality evaluate. Target ≥ 30,000 records/s.
2. 50,000 simulated posts (``social_payloads``), regrouped into pages of 100 (X's ``max_results`` and
   getUpdates' ``limit``) and run through ``pipeline_run("twitter")`` then ``pipeline_run("telegram")``:
   lake → parse → dedupe → tickers, sentiment, pump rules → validate → load → gold → daily pump
   scores → quality. Target ≥ 5,000 posts/s (both runs together).
3. One real bhavcopy day (``sec_bhavdata_full_30122024.csv``) through
   ``pipeline_run(pipeline="nse_bhavcopy", files=[…])``. Target < 1 s (median of 3; the first,
   cold, run is shown too).

Beside those, the quotes bench loads later sessions (half as many quotes) into the warehouse that
already holds the first ones (not truncated: indexes and the clash probe see a real history), and
reprocesses every quote lake object (``reprocess_plan`` + ``reprocess_execute``, all duplicates).

Payloads are generated before the clock starts; the runs get them through a stand-in connector that
yields them as ``FetchedBatch``es (no HTTP), so what is timed is ``pipelines.services.pipeline_run`` with its
PipelineRun row, lock, lake catalog and quality evaluation. The enrichers (VADER, the ticker matcher)
are built once before the clock, as a worker holds them. The ticker master holds the simulator's
NIFTY 50 (with company names) throughout.

PostgreSQL only: ``--database-url``, else ``PIPELINES_BENCH_DATABASE_URL``, else
``postgres://postgres@127.0.0.1:5432/tickerlake_bench_pipelines`` (created and migrated when missing).
It TRUNCATEs the warehouse, lake catalog, quality and run tables there before every measurement, so
it refuses a database whose name lacks "bench" unless ``--force``. The lake and var folders are
temporary and removed at the end. ``--quick`` runs 10 % sizes (a smoke run, not figures);
``--profile`` prints the top of a cProfile of each pipeline measurement.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

# The bench's own modules, beside this script (also when another bench loads this one by path).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from inputs import make_quote_batches, make_social_pages
from naive import naive_bhavcopy, naive_quotes, naive_social

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tickerlake_bench_pipelines"
BHAVCOPY = ROOT / "tests" / "data" / "samples" / "nse" / "sec_bhavdata_full_30122024.csv"


def log(message: str) -> None:
    print(f"  … {message}", flush=True)


# ---- setup --------------------------------------------------------------------------------------
def ensure_database(url: str, env: dict) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            log(f"created database {name}")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0", "--skip-checks"],
        cwd=ROOT,
        env=env,
        check=True,
    )


def truncate_all() -> None:
    """Empty what a run writes: warehouse (silver, gold), lake catalog, quality outputs, run rows."""
    from django.db import connection

    from lake.models import LakeObject, LakeSourceDay
    from pipelines.models import ConnectorState, PipelineLock, PipelineRun
    from quality.models import LearnedSchema, QualityIncident, QualityMetric, QuarantinedRecord
    from warehouse.models import DailyBar, DailySocial, SocialMention, StockData

    models = [StockData, SocialMention, DailyBar, DailySocial, LakeObject, LakeSourceDay]
    models += [QuarantinedRecord, QualityMetric, QualityIncident, LearnedSchema]
    models += [PipelineRun, PipelineLock, ConnectorState]
    tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
    with connection.cursor() as cur:
        cur.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


def ticker_master_seed() -> int:
    """The ticker master as a fresh install has it: the simulator's NIFTY 50, active, with names."""
    from pipelines.services import enrichers_reset
    from pipelines.simulator.universe import builtin_universe
    from warehouse.models import Ticker

    Ticker.objects.all().delete()
    Ticker.objects.bulk_create(
        [Ticker(symbol=t.symbol, name=t.name, exchange="NSE", series="EQ", active=True) for t in builtin_universe()]
    )
    enrichers_reset()
    return Ticker.objects.count()


def vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ANALYZE")


# ---- payloads (made before any clock starts) -----------------------------------------------------
class PreparedUpstream:
    """A connector that yields batches made in advance, as ``FetchedBatch``es (no HTTP in the clock)."""

    pulls_acknowledge = False  # as the NSE and X connectors it stands in for (plain GETs)

    def __init__(self, source: str, batches: list[tuple[datetime, object]]):
        self.source = source
        self.batches = batches

    def fetch(self, *, tickers=None, since=None):
        from pipelines.connectors import FetchedBatch

        for fetched_at, payload in self.batches:
            records = len(payload) if isinstance(payload, list) else None
            yield FetchedBatch(self.source, payload, fetched_at, True, {"records": records})

    def read_files(self, paths):  # pragma: no cover - not used by the bench
        raise NotImplementedError


@dataclass
class Measured:
    seconds: float
    runs: list = field(default_factory=list)
    profile: str = ""


def run_pipeline(pipeline: str, *, batches=None, files=None, profile: bool = False) -> Measured:
    """One ``pipeline_run`` (with a prepared upstream when ``batches`` are given), timed."""
    from pipelines import connectors
    from pipelines.services import pipeline_run

    saved = connectors.CONNECTORS[pipeline]
    if batches is not None:
        upstream = PreparedUpstream(pipeline, batches)
        connectors.CONNECTORS[pipeline] = lambda **options: upstream
    profiler = cProfile.Profile() if profile else None
    try:
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        run = pipeline_run(pipeline=pipeline, files=files)
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - started
    finally:
        connectors.CONNECTORS[pipeline] = saved
        if batches is not None:
            # A live run's batches are gone with it. Whatever outlives the run (an exception Django keeps on the
            # connection keeps the frames it passed through) must not keep every prepared answer alive.
            upstream.batches = []
    return Measured(seconds, [run], profile_text(profiler) if profiler else "")


# Where a run's time goes: (label, file suffix, function) summed as cumulative seconds in the profile.
HOTSPOTS = [
    ("lake store (JSON, gzip, fsync, catalog row)", "lake/services/store.py", "raw_batch_store"),
    ("parse", "pipelines/parsers/__init__.py", "parse"),
    ("schema drift watch", "quality/services.py", "schema_drift_check"),
    ("repost dedupe", "pipelines/enrich/text.py", "dedupe_reposts"),
    ("enrich (tickers, sentiment, pump rules)", "pipelines/enrich/records.py", "enrich_messages"),
    ("validate", "quality/validation.py", "validate"),
    ("quarantine rejects", "quality/services.py", "rejects_quarantine"),
    ("warehouse load", "warehouse/services/loader.py", "rows_load"),
    ("  of which JSON text of raw_data/metadata", "warehouse/services/cleaners.py", "_json_text"),
    ("  of which COPY into the table", "warehouse/services/loader.py", "_pg_copy"),
    ("ticker master learn", "warehouse/services/tickers.py", "ticker_master_learn"),
    ("gold refresh", "warehouse/services/gold.py", "gold_refresh"),
    ("daily pump scores", "warehouse/services/daily_social.py", "daily_social_pump_scores_write"),
    ("quality evaluate", "quality/services.py", "quality_evaluate"),
]


def profile_text(profiler: cProfile.Profile, top: int = 15) -> str:
    """The run's time per step (cumulative, under cProfile), then the top functions by own time."""
    stats = pstats.Stats(profiler)
    total = sum(tt for _cc, _nc, tt, _ct, _callers in stats.stats.values())
    lines = [f"    {'where the time goes (under cProfile)':<46} {'s':>7} {'share':>6}"]
    for label, suffix, name in HOTSPOTS:
        seconds = sum(
            ct
            for (path, _line, func), (_cc, _nc, _tt, ct, _c) in stats.stats.items()
            if func == name and path.endswith(suffix)
        )
        if seconds:
            lines.append(f"    {label:<46} {seconds:>7.2f} {seconds / total:>6.0%}")
    lines.append(f"    {'total':<46} {total:>7.2f}")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    listing = out.getvalue()
    return "\n".join(lines) + "\n" + listing[listing.find("   ncalls") :]


def check_run(run, *, label: str) -> None:
    """A bench figure only counts when the run succeeded and accounted for every record."""
    accounted = run.valid + run.rejected + run.duplicates
    if run.status != "success" or run.fetched != accounted:
        raise SystemExit(
            f"{label}: run {run.pk} {run.status}: fetched {run.fetched} != valid {run.valid} + rejected "
            f"{run.rejected} + duplicates {run.duplicates}; error: {run.error[:500]}"
        )


# ---- main ---------------------------------------------------------------------------------------
def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 %% sizes: a smoke run, not figures")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of each pipeline measurement")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--force", action="store_true", help="allow a database whose name lacks 'bench'")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    url = args.database_url or os.environ.get("PIPELINES_BENCH_DATABASE_URL") or DEFAULT_URL
    if not url.startswith(("postgres://", "postgresql://")):
        print(f"bench/pipelines needs PostgreSQL; got {url.split(':', 1)[0]}://…")
        return 2
    name = urlsplit(url).path.lstrip("/")
    if "bench" not in name and not args.force:
        print(f"refusing to TRUNCATE the tables of {name!r}: use a *bench* database or pass --force")
        return 2
    if not BHAVCOPY.exists():
        print(f"the bhavcopy sample is missing: {BHAVCOPY}")
        return 2
    n_quotes = 10_000 if args.quick else 100_000
    n_posts = 5_000 if args.quick else 50_000
    naive_quotes_n = 2_000 if args.quick else 10_000
    naive_posts_n = 1_000 if args.quick else 5_000
    repeats = 1 if args.quick else 3

    work = Path(tempfile.mkdtemp(prefix="tl-bench-pipelines-"))
    env = dict(
        os.environ,
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="0",  # production-like: no query log
        DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(40),
        LOG_LEVEL="ERROR",  # quality alerts about the old simulated dates are expected
        TICKERLAKE_VAR_DIR=str(work / "var"),
        LAKE_URL=str(work / "lake"),
        LAKE_STORAGE_OPTIONS="",
    )
    ensure_database(url, env)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import sqlalchemy

    engine = sqlalchemy.create_engine(
        url.replace("postgres://", "postgresql+psycopg://", 1).replace("postgresql://", "postgresql+psycopg://", 1)
    )
    total_started = time.perf_counter()
    try:
        results = measure(args, work, engine, n_quotes, n_posts, naive_quotes_n, naive_posts_n, repeats)
    finally:
        engine.dispose()
        shutil.rmtree(work, ignore_errors=True)
    return report(results, quick=args.quick, seconds=time.perf_counter() - total_started)


def measure(args, work, engine, n_quotes, n_posts, naive_quotes_n, naive_posts_n, repeats) -> dict:
    from pipelines.services import enrichers

    truncate_all()
    ticker_master_seed()
    n_history = n_quotes // 2
    log(f"generating {n_quotes + n_history:,} quotes and {n_posts:,} posts (before the clock)")
    started = time.perf_counter()
    quote_batches, later_batches = split_batches(make_quote_batches(n_quotes + n_history), n_quotes)
    x_pages, tg_pages, n_tweets, n_updates = make_social_pages(n_posts)
    log(
        f"made in {time.perf_counter() - started:.1f} s: {len(quote_batches)} + {len(later_batches)} quote batches; "
        f"{n_tweets:,} tweets in {len(x_pages)} pages, {n_updates:,} Telegram updates in {len(tg_pages)} pages"
    )
    enrichers()  # VADER and the ticker matcher, as a worker holds them
    out: dict = {}
    measure_quotes(args, out, quote_batches, later_batches, n_quotes, n_history)
    measure_social(args, out, x_pages, tg_pages, n_tweets + n_updates)
    measure_bhavcopy(args, out, repeats)
    measure_naive(
        out, work, engine, quote_batches, x_pages, tg_pages, naive_quotes_n, naive_posts_n, n_tweets, n_updates
    )
    truncate_all()
    ticker_master_seed()
    return out


def split_batches(batches: list, first: int) -> tuple[list, list]:
    """The batches holding the first ``first`` quotes, and the rest."""
    have = 0
    for k, (_, batch) in enumerate(batches):
        if have >= first:
            return batches[:k], batches[k:]
        have += len(batch)
    return batches, []


def measure_quotes(args, out: dict, batches, later, n_quotes: int, n_history: int) -> None:
    """Quotes into an empty warehouse; then later sessions into the warehouse holding those (history,
    not truncated); then the reprocess of every quote lake object (all duplicates by then)."""
    from pipelines.services import reprocess_execute, reprocess_plan

    truncate_all()
    vacuum()
    quotes = run_pipeline("nse_api", batches=batches, profile=args.profile)
    run = quotes.runs[0]
    check_run(run, label="quotes")
    assert run.inserted == n_quotes, (run.inserted, n_quotes)
    out["quotes"] = (n_quotes, quotes.seconds, run)
    log(f"quotes: {n_quotes / quotes.seconds:,.0f} records/s ({quotes.seconds:.2f} s) stages {run.stage_seconds}")
    if quotes.profile:
        print(quotes.profile)

    history = run_pipeline("nse_api", batches=later)
    run = history.runs[0]
    check_run(run, label="quotes with history")
    assert run.inserted == n_history, (run.inserted, n_history)
    out["quotes_history"] = (n_history, history.seconds, run)
    log(f"quotes on a warehouse holding {n_quotes:,}: {n_history / history.seconds:,.0f} records/s")

    plan = reprocess_plan(source="nse_api", start=date(2000, 1, 1), end=date(2100, 1, 1))
    started = time.perf_counter()
    run = reprocess_execute(plan, workers=False)
    seconds = time.perf_counter() - started
    assert (run.status, run.inserted, run.duplicates) == ("success", 0, n_quotes + n_history), run
    out["reprocess"] = (plan.records, seconds, run)
    log(f"reprocess of {len(plan.object_ids):,} lake objects: {plan.records / seconds:,.0f} records/s")


def measure_social(args, out: dict, x_pages, tg_pages, posts: int) -> None:
    from warehouse.models import DailySocial

    truncate_all()
    vacuum()
    x = run_pipeline("twitter", batches=x_pages, profile=args.profile)
    tg = run_pipeline("telegram", batches=tg_pages, profile=args.profile)
    for m, label in ((x, "twitter"), (tg, "telegram")):
        check_run(m.runs[0], label=label)
        log(
            f"{label}: {m.seconds:.2f} s, stages {m.runs[0].stage_seconds}, rows {m.runs[0].inserted:,} "
            f"(rejected {m.runs[0].rejected:,}, duplicates {m.runs[0].duplicates:,})"
        )
    scored = DailySocial.objects.filter(pump_score__isnull=False).count()
    assert scored == DailySocial.objects.count() > 0, scored
    out["social"] = (posts, x.seconds + tg.seconds, x.runs[0], tg.runs[0])
    log(f"social: {posts / (x.seconds + tg.seconds):,.0f} posts/s; {scored} daily pump scores")
    for m in (x, tg):
        if m.profile:
            print(m.profile)


def measure_bhavcopy(args, out: dict, repeats: int) -> None:
    times = []
    for k in range(repeats):
        truncate_all()
        ticker_master_seed()
        vacuum()
        m = run_pipeline("nse_bhavcopy", files=[str(BHAVCOPY)], profile=args.profile and k == repeats - 1)
        check_run(m.runs[0], label="bhavcopy")
        times.append(m.seconds)
        if m.profile:
            print(m.profile)
    bhav_run = m.runs[0]
    out["bhavcopy"] = (bhav_run.fetched, statistics.median(times), times[0], bhav_run)
    log(f"bhavcopy: {bhav_run.fetched:,} rows, median {statistics.median(times):.3f} s (cold {times[0]:.3f} s)")


def measure_naive(out, work, engine, quote_batches, x_pages, tg_pages, quotes_n, posts_n, n_tweets, n_updates) -> None:
    """The seed's naive path on a part of the same input."""
    naive_root = work / "naive"
    truncate_all()
    part, have = [], 0
    for fetched, batch in quote_batches:
        take = batch[: quotes_n - have]
        part.append((fetched, take))
        have += len(take)
        if have >= quotes_n:
            break
    secs = naive_quotes(part, naive_root, engine)
    out["naive_quotes"] = (have, secs)
    log(f"naive quotes: {have / secs:,.0f} records/s on {have:,}")

    truncate_all()
    pages, have = [], 0
    for source, source_pages in (("twitter", x_pages), ("telegram", tg_pages)):
        share = posts_n * (n_tweets if source == "twitter" else n_updates) // (n_tweets + n_updates)
        got = 0
        for fetched, page in source_pages:
            if got >= share:
                break
            pages.append((source, fetched, page))
            got += len(page["data"] if source == "twitter" else page["result"])
        have += got
    secs = naive_social(pages, naive_root, engine)
    out["naive_social"] = (have, secs)
    log(f"naive social: {have / secs:,.0f} posts/s on {have:,}")

    truncate_all()
    secs, rows = naive_bhavcopy(BHAVCOPY, naive_root, engine)
    out["naive_bhavcopy"] = (rows, secs)
    log(f"naive bhavcopy: {secs:.2f} s for {rows:,} rows")


def stages(*runs) -> str:
    """A run's seconds per stage (summed over ``runs``), in the order the ETL spends them."""
    total: dict[str, float] = {}
    for run in runs:
        for name, value in (run.stage_seconds or {}).items():
            total[name] = total.get(name, 0.0) + value
    return " · ".join(f"{name.replace('_', '+')} {value:.2f}" for name, value in total.items() if value >= 0.005)


def report(r: dict, *, quick: bool, seconds: float) -> int:
    n_q, s_q, q_run = r["quotes"]
    n_s, s_s, x_run, tg_run = r["social"]
    n_b, s_b, cold_b, bhav_run = r["bhavcopy"]
    nq_n, nq_s = r["naive_quotes"]
    ns_n, ns_s = r["naive_social"]
    nb_n, nb_s = r["naive_bhavcopy"]
    checks = [
        ("simulated quotes, lake → … → quality", n_q, s_q, nq_n, nq_s, "records/s", 30_000),
        ("simulated posts, … sentiment, pump scores", n_s, s_s, ns_n, ns_s, "posts/s", 5_000),
        ("real bhavcopy day (sec_bhavdata_full)", n_b, s_b, nb_n, nb_s, "s", 1.0),
    ]
    print()
    print(f"bench/pipelines on PostgreSQL{' (--quick: smoke sizes, not figures)' if quick else ''}")
    print(
        f"{'end to end, one run each':<42} {'records':>8} {'ours s':>7} {'ours /s':>8} {'naive /s':>9} "
        f"{'(naive on)':>10} {'x naive':>8}  target"
    )
    missed = 0
    for label, n, secs, naive_n, naive_s, unit, target in checks:
        rate, naive = n / secs, naive_n / naive_s
        ok = secs < target if unit == "s" else rate >= target
        missed += not ok
        goal = f"< {target:g} s" if unit == "s" else f"≥ {target:,} {unit}"
        print(
            f"{label:<42} {n:>8,} {secs:>7.2f} {rate:>8,.0f} {naive:>9,.0f} {f'({naive_n:,})':>10} "
            f"{rate / naive:>7.1f}x  {goal:<20} {'PASS' if ok else 'MISS'}"
        )
    print(
        f"naive = the seed's path: one gzip JSON file per record (fsync, atomic rename), then pandas "
        f"to_sql(method='multi', chunksize=1000); the bhavcopy naive day took {nb_s:.2f} s. "
        f"Bhavcopy: median of runs, the first (cold) took {cold_b:.2f} s."
    )
    n_h, s_h, h_run = r["quotes_history"]
    n_r, s_r, r_run = r["reprocess"]
    print(
        f"quotes into a warehouse already holding {n_q:,} (not truncated): {n_h:,} in {s_h:.2f} s, "
        f"{n_h / s_h:,.0f} records/s ({n_h / s_h / (n_q / s_q):.2f}x the empty warehouse's rate)"
    )
    print(
        f"reprocess of every quote lake object (idempotent, all {r_run.duplicates:,} duplicates): "
        f"{n_r:,} records in {s_r:.2f} s, {n_r / s_r:,.0f} records/s"
    )
    print("seconds per stage (the runs' own stage_seconds):")
    print(f"  quotes:   {stages(q_run)}")
    print(f"  history:  {stages(h_run)}")
    print(f"  posts:    {stages(x_run, tg_run)}  (twitter and telegram runs together)")
    print(f"  bhavcopy: {stages(bhav_run)}")
    print(f"Total bench time {seconds:.0f} s.")
    return 0 if quick or not missed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
