#!/usr/bin/env python
"""Lake bench: the seed's one-file-per-record writer beside the batched, catalogued lake.

Usage: python bench/lake/run.py [--quick] [--records N] [--database-url URL]

Everything happens in a temporary folder (both lakes, and by default a temporary SQLite catalog with
the project's settings: WAL, synchronous=NORMAL). ``--database-url postgres://…/tickerlake_bench``
puts the catalog in PostgreSQL instead (that database is migrated and its lake tables emptied).
Payloads are shaped like NSE quotes (~1.5 KB), tweets (1-3 KB) and Telegram posts (~1 KB).
"""

import argparse
import datetime as dt
import gzip
import json
import os
import random
import statistics
import string
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BATCH = 1000
sys.path.insert(0, str(ROOT / "bench"))  # the seed's lake, shared with bench/pipelines
from seed_lake import naive_store  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run (not for figures)")
    parser.add_argument("--records", type=int, default=None, help="records to write (default 100,000; quick 6,000)")
    parser.add_argument("--database-url", default=None, help="catalog database (default: a temporary SQLite file)")
    return parser.parse_args()


# ---- realistic payloads ------------------------------------------------------------------------
WORDS = [
    "nifty",
    "sensex",
    "breakout",
    "rally",
    "bullish",
    "bearish",
    "target",
    "stoploss",
    "results",
    "dividend",
    "buy",
    "sell",
    "hold",
    "moon",
    "upper",
    "circuit",
]
SYMBOLS = ["RELIANCE", "TCS", "INFY", "HDFCBANK", "ICICIBANK", "SBIN", "ITC", "LT", "BAJAJ-AUTO", "J&KBANK"]


def _text(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n))


def nse_quote(rng, i):
    sym = rng.choice(SYMBOLS)
    price = round(rng.uniform(100, 4000), 2)
    return {
        "info": {
            "symbol": sym,
            "companyName": f"{sym} Limited",
            "industry": "Computers - Software",
            "isFNOSec": True,
            "isin": "INE" + "".join(rng.choices(string.digits + string.ascii_uppercase, k=9)),
            "series": "EQ",
        },
        "metadata": {
            "series": "EQ",
            "symbol": sym,
            "status": "Listed",
            "listingDate": "08-Feb-1995",
            "pdSectorInd": "NIFTY 50                                          ",
            "lastUpdateTime": "16-Oct-2023 16:00:00",
        },
        "priceInfo": {
            "lastPrice": price,
            "change": round(rng.uniform(-50, 50), 12),
            "pChange": round(rng.uniform(-5, 5), 6),
            "previousClose": price - 3.2,
            "open": price - 1.1,
            "close": price,
            "vwap": price + 0.4,
            "lowerCP": f"{price * 0.9:.2f}",
            "upperCP": f"{price * 1.1:.2f}",
            "pPriceBand": "No Band",
            "basePrice": price - 3.2,
            "intraDayHighLow": {"min": price - 20, "max": price + 15, "value": price},
            "weekHighLow": {"min": price * 0.7, "minDate": "28-Mar-2023", "max": price * 1.2, "maxDate": "19-Jul-2023"},
        },
        "industryInfo": {
            "macro": "Information Technology",
            "sector": "Information Technology",
            "industry": "IT - Software",
            "basicIndustry": "Computers - Software & Consulting",
        },
        "preOpenMarket": {
            "preopen": [
                {"price": price + k, "buyQty": rng.randint(0, 900), "sellQty": rng.randint(0, 900)} for k in range(5)
            ],
            "ato": {"buy": 0, "sell": 0},
            "IEP": price,
            "totalTradedVolume": rng.randint(1, 10**6),
            "finalPrice": price,
            "finalQuantity": rng.randint(1, 10**5),
            "lastUpdateTime": "16-Oct-2023 09:07:21",
        },
        "securityInfo": {
            "boardStatus": "Main",
            "tradingStatus": "Active",
            "sessionNo": "-",
            "slb": "Yes",
            "classOfShare": "Equity",
            "derivatives": "Yes",
            "faceValue": 5,
            "issuedSize": rng.randint(10**8, 10**10),
        },
        "seq": i,
    }


def tweet(rng, i):
    sym = rng.choice(SYMBOLS)
    return {
        "id": str(1_700_000_000_000_000_000 + i),
        "text": f"${sym} {_text(rng, rng.randint(20, 70))} #{sym.lower()}",
        "author_id": str(rng.randint(10**8, 10**9)),
        "created_at": "2024-12-19T10:30:00.000Z",
        "lang": "en",
        "edit_history_tweet_ids": [str(1_700_000_000_000_000_000 + i)],
        "public_metrics": {
            "retweet_count": rng.randint(0, 500),
            "reply_count": rng.randint(0, 90),
            "like_count": rng.randint(0, 3000),
            "quote_count": rng.randint(0, 40),
            "impression_count": rng.randint(0, 10**5),
        },
        "entities": {
            "cashtags": [{"start": 0, "end": len(sym) + 1, "tag": sym}],
            "hashtags": [{"start": 10, "end": 20, "tag": sym.lower()}],
            "annotations": [
                {"start": 1, "end": 8, "probability": 0.61, "type": "Organization", "normalized_text": sym}
            ],
        },
        "context_annotations": [
            {
                "domain": {"id": "46", "name": "Business Taxonomy", "description": "Categories within Brand Verticals"},
                "entity": {"id": "1557696940178935808", "name": "Stock market"},
            }
        ]
        * rng.randint(2, 9),
    }


def telegram_post(rng, i):
    return {
        "update_id": 800_000_000 + i,
        "channel_post": {
            "message_id": i,
            "date": 1734604200 + i,
            "chat": {"id": -1001094499146, "title": "Stock Pumps India", "username": "stockpumps", "type": "channel"},
            "text": _text(rng, rng.randint(70, 130)) + " 🚀🚀",
            "entities": [{"offset": 0, "length": 6, "type": "cashtag"}],
            "views": rng.randint(100, 90000),
        },
    }


SHAPES = {"nse_api": nse_quote, "twitter": tweet, "telegram": telegram_post}


# ---- helpers ------------------------------------------------------------------------------------
def du(path: Path) -> int:
    """Allocated bytes, as `du` counts them (st_blocks of 512 bytes)."""
    return sum(p.lstat().st_blocks * 512 for p in path.rglob("*"))


def p50_ms(fn, repeat: int) -> float:
    fn()  # warm
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> int:
    args = parse_args()
    n_records = args.records or (6_000 if args.quick else 100_000)
    catalog_sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    work = Path(tempfile.mkdtemp(prefix="tl-bench-lake-"))
    os.environ["TICKERLAKE_VAR_DIR"] = str(work / "var")
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{work / 'catalog.sqlite3'}"
    os.environ["LAKE_URL"] = str(work / "lake")
    os.environ["LAKE_STORAGE_OPTIONS"] = ""
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from rest_framework.test import APIClient

    from lake.models import LakeObject, LakeSourceDay
    from lake.services import data_lake, summary_rebuild

    call_command("migrate", verbosity=0)
    LakeObject.objects.all().delete()
    LakeSourceDay.objects.all().delete()
    print(f"catalog: {connection.vendor} ({'temporary file' if not args.database_url else args.database_url})")
    print(f"work folder: {work}")

    rng = random.Random(42)
    ts = dt.datetime(2024, 12, 19, 10, 30, tzinfo=dt.UTC)
    per_source = n_records // len(SHAPES)
    data = {src: [make(rng, i) for i in range(per_source)] for src, make in SHAPES.items()}
    total = per_source * len(SHAPES)
    raw_json = sum(len(json.dumps(r).encode()) for rows in data.values() for r in rows)
    print(
        f"{total:,} records, {raw_json / 1e6:.1f} MB of JSON ({raw_json / total / 1000:.2f} KB a record on average)\n"
    )

    rows = []
    # -- naive ------------------------------------------------------------------------------------
    naive_root = work / "naive"
    started = time.perf_counter()
    i = 0
    for src, records in data.items():
        for rec in records:
            naive_store(naive_root, src, rec, ts, i)
            i += 1
    naive_secs = time.perf_counter() - started
    naive_du = du(naive_root)

    # -- batched, catalogued ----------------------------------------------------------------------
    started = time.perf_counter()
    for src, records in data.items():
        for start in range(0, len(records), BATCH):
            data_lake.store_raw_data(src, records[start : start + BATCH], ts)
    batched_secs = time.perf_counter() - started
    batched_du = du(work / "lake")

    # -- one day of one source --------------------------------------------------------------------
    day_dir = naive_root / "twitter" / "2024/12/19"
    started = time.perf_counter()
    naive_read = 0
    for path in sorted(day_dir.iterdir()):
        if path.name.endswith(".json.gz"):
            json.loads(gzip.decompress(path.read_bytes()))
            naive_read += 1
    naive_read_secs = time.perf_counter() - started
    started = time.perf_counter()
    batched_read = sum(len(obj["data"]) for obj in data_lake.retrieve_raw_data("twitter", "2024-12-19"))
    batched_read_secs = time.perf_counter() - started
    assert naive_read == batched_read == per_source

    rows.append(
        ("write records/s (fsync on)", f"{total / naive_secs:,.0f}", f"{total / batched_secs:,.0f}", "≥ 60,000 batched")
    )
    rows.append(("disk allocated (du)", f"{naive_du / 1e6:,.1f} MB", f"{batched_du / 1e6:,.1f} MB", ""))
    rows.append(
        (
            "… as % of raw JSON",
            f"{100 * naive_du / raw_json:.0f}%",
            f"{100 * batched_du / raw_json:.0f}%",
            "≤ 20% batched",
        )
    )
    rows.append(("files", f"{total:,}", f"{LakeObject.objects.count():,}", ""))
    rows.append(
        (
            "read one day of one source, records/s",
            f"{naive_read / naive_read_secs:,.0f}",
            f"{batched_read / batched_read_secs:,.0f}",
            "",
        )
    )

    # -- stats at catalog sizes -------------------------------------------------------------------
    user = get_user_model().objects.get_or_create(username="bench-lake")[0]
    client = APIClient()
    client.force_authenticate(user)
    sources = ["nse_api", "nse_bhavcopy", "twitter", "telegram"]
    stats_rows = []
    have = LakeObject.objects.count()
    for size in catalog_sizes:
        batch = []
        for n in range(have, size):
            day = dt.date(2024, 1, 1) + dt.timedelta(days=n % 365)
            batch.append(
                LakeObject(
                    source=sources[n % 4],
                    partition_date=day,
                    key=f"bench/{n}.json.gz",
                    timestamp=dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC),
                    bytes=30_000,
                    raw_bytes=160_000,
                    records=1000,
                    sha256="0" * 64,
                )
            )
            if len(batch) == 5000:
                LakeObject.objects.bulk_create(batch)
                batch = []
        LakeObject.objects.bulk_create(batch)
        have = size
        summary_rebuild()
        stats_p50 = p50_ms(data_lake.get_stats, 30)
        api_p50 = p50_ms(lambda: client.get("/api/data/lake/stats"), 30)
        assert data_lake.get_stats()["objects"] == size
        stats_rows.append((f"{size:,}", f"{stats_p50:.2f} ms", f"{api_p50:.2f} ms"))

    width = 40
    print(f"{'':{width}} {'naive (seed)':>16} {'batched lake':>16}   target")
    for label, naive, batched, target in rows:
        print(f"{label:{width}} {naive:>16} {batched:>16}   {target}")
    print(f"\n{'catalogued objects':>20} {'get_stats p50':>16} {'stats API p50':>16}   target: < 50 ms, flat")
    for size, a, b in stats_rows:
        print(f"{size:>20} {a:>16} {b:>16}")
    import shutil

    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
