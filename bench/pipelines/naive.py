"""The seed's naive path for bench/pipelines: one gzip JSON lake file per record (fsync, atomic
rename), then pandas ``to_sql(method='multi', chunksize=1000)`` into the warehouse tables.

Imported by ``run.py`` after Django is set up (the functions import the project lazily).
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: the seed's lake, shared with bench/lake
from seed_lake import naive_store


def to_sql(frame, table: str, engine) -> None:
    """The seed's load; JSON columns typed as JSONB so their dicts go in as JSON (the table's own type)."""
    from sqlalchemy.dialects.postgresql import JSONB

    dtype = {c: JSONB for c in ("raw_data", "metadata") if c in frame}
    frame.to_sql(table, engine, if_exists="append", index=False, method="multi", chunksize=1000, dtype=dtype)


def naive_quotes(batches, root: Path, engine) -> float:
    """Per quote: a lake file; then the parsed rows (raw body kept, as ours keeps it) through to_sql."""
    import pandas as pd

    from pipelines.parsers import parse
    from warehouse.schema import STOCK_COLUMNS

    started = time.perf_counter()
    i = 0
    rows = []
    for fetched, batch in batches:
        for quote in batch:
            naive_store(root, "nse_api", quote, fetched, i)
            i += 1
            rows.extend(parse("nse_api", quote).stock_rows)
    frame = pd.DataFrame(rows)
    frame["processed_at"] = pd.Timestamp.now(tz="UTC")
    to_sql(frame[[*STOCK_COLUMNS, "raw_data", "processed_at"]], "stock_data_warehouse", engine)
    return time.perf_counter() - started


def naive_social(pages: list[tuple[str, datetime, dict]], root: Path, engine) -> float:
    """Per post: a lake file; then parse, the project's enrichment, and to_sql into the mentions table."""
    import pandas as pd

    from pipelines.enrich import dedupe_reposts, enrich_messages
    from pipelines.parsers import parse
    from pipelines.services import enrichers
    from warehouse.schema import SOCIAL_COLUMNS

    matcher, scorer, detector = enrichers()
    started = time.perf_counter()
    i = 0
    messages = []
    for source, fetched, page in pages:
        items = page["data"] if source == "twitter" else page["result"]
        for item in items:
            naive_store(root, source, item, fetched, i)
            i += 1
            single = (
                {"data": [item], "meta": {"result_count": 1}} if source == "twitter" else {"ok": True, "result": [item]}
            )
            messages.extend(parse(source, single, fetched_at=fetched).messages)
    rows = list(enrich_messages(dedupe_reposts(messages), matcher, scorer, detector))
    frame = pd.DataFrame(rows)
    for column in SOCIAL_COLUMNS:
        if column not in frame:
            frame[column] = None
    frame["metadata"] = [json.loads(json.dumps(m, default=str)) for m in frame["metadata"]]
    frame["processed_at"] = pd.Timestamp.now(tz="UTC")
    frame = frame[[*SOCIAL_COLUMNS, "metadata", "processed_at"]].drop_duplicates(["platform", "external_id", "ticker"])
    to_sql(frame, "social_mentions_warehouse", engine)
    return time.perf_counter() - started


def naive_bhavcopy(path: Path, root: Path, engine) -> tuple[float, int]:
    """Per CSV row: a lake file; then the parsed bars and closes through to_sql."""
    import pandas as pd

    from pipelines.parsers import parse
    from warehouse.schema import BAR_COLUMNS, STOCK_COLUMNS

    started = time.perf_counter()
    text = path.read_text()
    lines = text.splitlines()
    header, body = lines[0], [line for line in lines[1:] if line.strip()]
    now = datetime.now(UTC)
    for i, line in enumerate(body):
        naive_store(root, "nse_bhavcopy", {"header": header, "row": line}, now, i)
    parsed = parse("nse_bhavcopy", {"format": "csv", "filename": path.name, "content": text})
    bars = pd.DataFrame(parsed.bars)
    bars["updated"] = pd.Timestamp.now(tz="UTC")
    to_sql(bars[[c for c in BAR_COLUMNS if c in bars] + ["updated"]], "daily_bars", engine)
    closes = pd.DataFrame(parsed.stock_rows)
    closes["raw_data"] = [json.loads(json.dumps(r, default=str)) for r in closes["raw_data"]]
    closes["processed_at"] = pd.Timestamp.now(tz="UTC")
    to_sql(closes[[*STOCK_COLUMNS, "raw_data", "processed_at"]], "stock_data_warehouse", engine)
    return time.perf_counter() - started, len(body)
