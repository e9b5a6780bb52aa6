#!/usr/bin/env python
"""Backfill bench (issue 14, items 1-2): reprocess from the lake and quotes end to end, beside a baseline.

Usage: python bench/backfill/run.py [--quick] [--baseline REF [--baseline-first]] [--rounds N] [--no-workers]
       [--database-url URL] [--quotes N --posts M] [--quote-shape next|quote-equity]

One run measures, on PostgreSQL, with the same input:
1. ``pipeline_run("nse_api")`` on 100,000 simulated quotes in batches of 200 (lake store → parse →
   validate → load → gold → quality). Target ≥ 30,000 records/s. The quotes are NextApi ``getSymbolData``
   answers, what the NSE connector fetches today (``--quote-shape quote-equity``: the retired
   ``/api/quote-equity`` bodies that older lake objects hold, the bench's input before 2026-12-04).
2. ``reprocess`` of those quotes from the lake (the warehouse emptied first), in this process. Target
   ≥ 30,000 records/s from one worker.
3. ``reprocess`` of 50,000 simulated posts (X and Telegram, with enrichment). Target ≥ 5,000 posts/s.
4. ``reprocess`` of the three real bhavcopy days of tests/data/samples/nse. Target ≥ 20,000 rows/s.
5. the quote reprocess fanned out to 1, then 2 Celery workers in tasks of ``WORKER_CHUNK`` objects
   (real worker processes, one process each, on the broker of CELERY_BROKER_URL or a filesystem broker
   in a temporary folder).

``--baseline REF`` runs 1-4 again on the code of git revision REF (``git archive`` into a temporary
folder; same payloads, same server, in a database of its own migrated by that code: ``<name>_baseline``)
and prints it beside ours. ``--rounds N`` measures both N times, alternating which goes first, and prints
each figure's median and range (one run's figures swing 10-20 % on a 2-core machine). The database
(``--database-url``, else BACKFILL_BENCH_DATABASE_URL, else ``tickerlake_bench_backfill`` on
DATABASE_URL's server) is made afresh (dropped and created) for every round, migrated and TRUNCATEd: its
name must contain "bench". Each run has a lake folder of its own. Before the replays, the monthly partitions of the
bench's past days are made (``partitions_made``), as the nightly maintenance would have made them.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SAMPLES = ROOT / "tests" / "data" / "samples" / "nse"
BHAVCOPY_DAYS = ["sec_bhavdata_full_30122024.csv", "cm06JAN2021bhav.csv", "BhavCopy_NSE_CM_0_0_0_20260519_F_0000.csv"]
TARGETS = {"quotes_e2e": 30_000, "quotes": 30_000, "posts": 5_000, "bhavcopy": 20_000}
# Objects per worker task in the fan-out: the `reprocess` command's default (200: eight groups of 25, so a
# task reads its next group while the server takes in one; three tasks for the bench's 500 objects). Tasks of
# one group read nothing ahead (14,200-15,400 records/s on one worker, 2026-12-04, against 18,700-22,400 in
# tasks of 100); each task also reads its first group with nothing to overlap. One worker, 2026-12-04 night,
# same lake, three runs each (scratch script): tasks of 100 28,255-31,167 records/s (Redis and RabbitMQ alike),
# of 200 30,695-31,845 (RabbitMQ), of 250 31,978-32,239 (Redis). (RabbitMQ, not the filesystem broker: the
# script's empty CELERY_BROKER_URL selected Celery's default amqp://, which this machine runs.)
WORKER_CHUNK = 200


def log(message: str) -> None:
    print(f"  … {message}", file=sys.stderr, flush=True)


def _pipelines_bench():
    """bench/pipelines/run.py (payload makers, the prepared upstream), loaded by path."""
    spec = importlib.util.spec_from_file_location("bench_pipelines_run", HERE.parent / "pipelines" / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def database_url(given: str | None) -> str:
    if given or os.environ.get("BACKFILL_BENCH_DATABASE_URL"):
        return given or os.environ["BACKFILL_BENCH_DATABASE_URL"]
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        base = "postgres://postgres@127.0.0.1:5432/postgres"
    return urlunsplit(urlsplit(base)._replace(path="/tickerlake_bench_backfill"))


def warehouse_empty() -> None:
    """Empty what a reprocess writes (the lake and its catalog stay)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE stock_data_warehouse, social_mentions_warehouse, daily_bars, daily_social, "
            "quality_quarantinedrecord, quality_qualitymetric, quality_qualityincident"
        )
        cur.execute("ANALYZE")


def reprocess(source: str, *, workers: bool = False, chunk: int = 200) -> tuple[int, float, object]:
    """One backfill of every lake object of ``source``; (records, seconds, run)."""
    from datetime import date

    from pipelines.services import reprocess_execute, reprocess_plan

    warehouse_empty()
    plan = reprocess_plan(source=source, start=date(2000, 1, 1), end=date(2100, 1, 1))
    started = time.perf_counter()
    run = reprocess_execute(plan, workers=workers, chunk=chunk)
    seconds = time.perf_counter() - started
    if run.status != "success" or run.inserted + run.duplicates + run.rejected != run.fetched:
        raise SystemExit(f"reprocess {source}: run {run.pk} {run.status}: {run.error[:300]}")
    return run.fetched, seconds, run


def measure(quick: bool, with_workers: bool, sizes: tuple[int, int] | None = None, quote_shape: str = "next") -> dict:
    """Every figure of this bench on the code importable here (ours, or the baseline's)."""
    pb = _pipelines_bench()
    n_quotes, n_posts = sizes or ((10_000, 5_000) if quick else (100_000, 50_000))
    pb.truncate_all()
    pb.ticker_master_seed()
    from pipelines.services import enrichers

    enrichers()
    out: dict = {}
    pb.vacuum()
    # The prepared answers stand in for the upstream: hundreds of thousands of objects made before the clock
    # starts. A live run holds a batch or two of its own source and nothing else, so each source's answers are
    # made just before its run and dropped after it: the posts' answers held through the quotes' run, and both
    # through the replays, made the replays slower (the bhavcopy days 20 % slower in one process, 2026-12-06).
    quote_batches = _frozen(pb.make_quote_batches(n_quotes, shape=quote_shape))
    m = pb.run_pipeline("nse_api", batches=quote_batches)
    del quote_batches
    pb.check_run(m.runs[0], label="quotes")
    out["quotes_e2e"] = (n_quotes, m.seconds, m.runs[0].stage_seconds)
    log(f"quotes end to end: {n_quotes / m.seconds:,.0f} records/s, stages {m.runs[0].stage_seconds}")
    x_pages, tg_pages, _tweets, _updates = _frozen(pb.make_social_pages(n_posts))
    for source, pages in (("twitter", x_pages), ("telegram", tg_pages)):
        pb.check_run(pb.run_pipeline(source, batches=pages).runs[0], label=source)
    del x_pages, tg_pages, pages
    _frozen(None)  # the answers are gone: what is left frozen is the process's own (Django, the enrichers)
    for name in BHAVCOPY_DAYS:
        pb.check_run(pb.run_pipeline("nse_bhavcopy", files=[str(SAMPLES / name)]).runs[0], label=name)
    partitions_made()

    records, seconds, _ = reprocess("nse_api")
    out["quotes"] = (records, seconds)
    log(f"reprocess quotes: {records / seconds:,.0f} records/s")
    posts = seconds_posts = 0
    for source in ("twitter", "telegram"):
        n, s, _ = reprocess(source)
        posts, seconds_posts = posts + n, seconds_posts + s
    out["posts"] = (posts, seconds_posts)
    log(f"reprocess posts: {posts / seconds_posts:,.0f} posts/s")
    records, seconds, _ = reprocess("nse_bhavcopy")
    out["bhavcopy"] = (records, seconds)
    log(f"reprocess bhavcopy: {records / seconds:,.0f} rows/s")
    if with_workers:
        for count in (1, 2):
            with Workers(count):
                records, seconds, _ = reprocess("nse_api", workers=True, chunk=WORKER_CHUNK)
            out[f"quotes_{count}w"] = (records, seconds)
            log(f"reprocess quotes on {count} worker(s): {records / seconds:,.0f} records/s")
    return out


def _frozen(prepared):
    """Collect, then freeze what is alive (``gc.freeze``: the collector no longer walks it during the runs);
    returns ``prepared``, the answers just made."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    return prepared


def partitions_made() -> None:
    """The monthly partitions of the bench's past days, made as the nightly maintenance makes them (it moves
    the rows the runs above left in the default partition into their months). A reprocess creates the
    partitions of its days itself; made here, before any clock, they are no one-off DDL inside the timed
    replays, for ours and a baseline alike (a real backfill pays it once a month, not per 8,000 rows)."""
    try:
        from warehouse.services.partitions import partitions_maintain
    except ImportError:  # a baseline from before the partitioned warehouse
        return
    made = partitions_maintain()
    log(f"partitions: {len(made.created)} created, {sum(made.moved.values()):,} rows moved out of the default")


class Workers:
    """``count`` Celery worker processes (one task at a time each) for the duration of a block."""

    def __init__(self, count: int):
        self.count = count
        self.procs: list[subprocess.Popen] = []

    def __enter__(self):
        for k in range(self.count):
            self.procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "config",
                        "worker",
                        "-c",
                        "1",
                        "-P",
                        "prefork",
                        "-n",
                        f"bench{k}-{os.getpid()}@%h",
                        "--loglevel",
                        "WARNING",
                        "--without-gossip",
                        "--without-mingle",
                    ],
                    cwd=os.getcwd(),
                    env=os.environ.copy(),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
        deadline = time.monotonic() + 60
        from config.celery import app

        while time.monotonic() < deadline:
            if len(app.control.ping(timeout=1.0) or []) >= self.count:
                return self
        raise SystemExit("the bench's Celery workers did not answer within 60 s")

    def __exit__(self, *exc):
        for proc in self.procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def child(args) -> int:
    """Measure on the code of ``--code`` (or ours) and print the figures as JSON on stdout."""
    code = Path(args.code).resolve() if args.code else ROOT
    sys.path.insert(0, str(code))
    os.chdir(code)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0", "--skip-checks"], check=True
    )
    import django

    django.setup()
    sizes = (args.quotes, args.posts) if args.quotes else None
    figures = measure(args.quick, with_workers=not args.no_workers, sizes=sizes, quote_shape=args.quote_shape)
    print(json.dumps(figures))
    return 0


def run_child(code: Path | None, env: dict, args) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--quote-shape", args.quote_shape]
    cmd += ["--quick"] if args.quick else []
    if args.quotes:
        cmd += ["--quotes", str(args.quotes), "--posts", str(args.posts)]
    if code is not None:
        cmd += ["--code", str(code), "--no-workers"]
    elif args.no_workers:
        cmd += ["--no-workers"]
    result = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True)
    if result.returncode:
        raise SystemExit(f"bench child failed ({'baseline' if code else 'ours'}), exit {result.returncode}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 quotes and 5,000 posts (a smoke run)")
    parser.add_argument("--baseline", default=os.environ.get("BACKFILL_BASELINE"), help="a git revision")
    parser.add_argument(
        "--baseline-first",
        action="store_true",
        help="measure the baseline before ours (the second of two runs in a row tends to find the server warmer)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure ours and the baseline this many times, alternating who goes first",
    )
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--no-workers", action="store_true", help="skip the 1- and 2-worker fan-out")
    parser.add_argument("--quotes", type=int, default=0, help="quotes to run and replay (default 100,000)")
    parser.add_argument("--posts", type=int, default=50_000, help="posts to run and replay (with --quotes)")
    parser.add_argument(
        "--quote-shape",
        choices=["next", "quote-equity"],
        default="next",
        help="the quotes' payloads: NextApi answers (today's), or the retired quote-equity bodies",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--code", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    url = database_url(args.database_url)
    if "bench" not in urlsplit(url).path:
        print("refusing to TRUNCATE a database whose name lacks 'bench'")
        return 2
    parts = urlsplit(url)
    # The baseline gets a database of its own, made afresh: its code predates our migrations (and our
    # columns without database defaults), so it must run on its own schema. Same server, same payloads.
    base_url = urlunsplit(parts._replace(path=parts.path + "_baseline"))
    work = Path(tempfile.mkdtemp(prefix="tl-bench-backfill-"))
    broker = os.environ.get("CELERY_BROKER_URL", "filesystem://")
    env = dict(
        os.environ,
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(40),
        LOG_LEVEL="ERROR",
        TICKERLAKE_VAR_DIR=str(work / "var"),
        LAKE_STORAGE_OPTIONS="",
        CELERY_BROKER_URL=broker,
        CELERY_BROKER_DIR=str(work / "broker"),
    )
    rounds: list[dict] = []
    try:
        tree = None
        if args.baseline:
            tree = work / "baseline"
            tree.mkdir()
            archive = subprocess.run(["git", "archive", args.baseline], cwd=ROOT, stdout=subprocess.PIPE, check=True)
            subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
        for k in range(args.rounds):
            databases_afresh(url, baseline=bool(args.baseline))
            # Rounds alternate which code goes first (the second of two runs in a row finds the server warmer).
            base_first = args.baseline_first != (k % 2 == 1)
            order = ["base", "ours"] if base_first else ["ours", "base"]
            figures: dict = {}
            for which in order:
                if which == "base" and tree is None:
                    continue
                run_env = {**env, "LAKE_URL": str(work / f"lake-{k}-{which}")}  # a lake of its own, like its database
                if which == "base":
                    run_env["DATABASE_URL"] = base_url
                log(f"round {k + 1} of {args.rounds}: {'baseline ' + args.baseline if which == 'base' else 'ours'}")
                figures[which] = run_child(tree if which == "base" else None, run_env, args)
            rounds.append(figures)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(rounds, args)
    return 0


def databases_afresh(url: str, *, baseline: bool) -> None:
    """Drop and create ours (and the baseline's) database: one that earlier runs filled and emptied (dead
    tuples, grown indexes and catalogs) made the same code ~10 % slower on the bhavcopy days."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        for db in [name, f"{name}_baseline"] if baseline else [name]:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}"')
            conn.execute(f'CREATE DATABASE "{db}"')


def _rates(rounds: list[dict], which: str, key: str) -> list[float]:
    return [r[which][key][0] / r[which][key][1] for r in rounds if which in r and key in r[which]]


def _shown(rates: list[float], unit: str) -> str:
    """The median, and the range when there are several rounds."""
    if not rates:
        return "-"
    middle = f"{statistics.median(rates):,.0f} {unit}"
    return middle if len(rates) == 1 else f"{middle} ({min(rates):,.0f}-{max(rates):,.0f})"


def report(rounds: list[dict], args) -> None:
    rows = [
        ("quotes_e2e", 'pipeline_run("nse_api"), lake → … → quality', "records/s"),
        ("quotes", "reprocess nse_api, this process", "records/s"),
        ("posts", "reprocess twitter + telegram (enrichment)", "posts/s"),
        ("bhavcopy", "reprocess nse_bhavcopy (3 real days)", "rows/s"),
        ("quotes_1w", "reprocess nse_api on 1 worker", "records/s"),
        ("quotes_2w", "reprocess nse_api on 2 workers", "records/s"),
    ]
    label = f"baseline {args.baseline}" if args.baseline else "baseline"
    many = f", median of {len(rounds)} rounds (range)" if len(rounds) > 1 else ""
    print(f"\nbench/backfill on PostgreSQL{' (--quick: smoke sizes, not figures)' if args.quick else ''}{many}")
    print(f"quotes: {'NextApi getSymbolData answers' if args.quote_shape == 'next' else 'quote-equity bodies'}")
    width = 34 if len(rounds) > 1 else 22
    print(f"{'figure':<46} {'records':>8} {'ours':>{width}} {label:>{width}}  target")
    first = rounds[0]["ours"]
    for key, name, unit in rows:
        if key not in first:
            continue
        ours, theirs = _shown(_rates(rounds, "ours", key), unit), _shown(_rates(rounds, "base", key), unit)
        target = f"≥ {TARGETS[key]:,} {unit}" if key in TARGETS else ""
        print(f"{name:<46} {first[key][0]:>8,} {ours:>{width}} {theirs:>{width}}  {target}")
    one, two = _rates(rounds, "ours", "quotes_1w"), _rates(rounds, "ours", "quotes_2w")
    if one and two:
        print(f"2 workers against 1: {statistics.median(two) / statistics.median(one):.2f}x")
    for k, figures in enumerate(rounds, 1):
        for which, name in (("ours", "ours"), ("base", "baseline")):
            if which in figures:
                print(f"round {k}, quotes end to end, seconds per stage ({name}): {figures[which]['quotes_e2e'][2]}")


if __name__ == "__main__":
    sys.exit(main())
