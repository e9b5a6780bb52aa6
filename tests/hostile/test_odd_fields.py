"""One odd field in one record never costs the rest of its payload.

Every field of the first records of the real samples (an X page, a getUpdates answer, both NSE quote
shapes) and every cell of a bhavcopy row is set in turn to values no upstream sends (wrong types, huge
and infinite numbers, NUL, empty and very long texts …). Whatever the parser makes of it, it never fails
the whole payload ("the parser failed on this payload"), and the other records of the payload are still
read, with the same ids.
"""

import copy
import json
from datetime import UTC, datetime

import pytest

from pipelines.parsers import parse

FETCHED = datetime(2024, 1, 1, tzinfo=UTC)
ODD = [None, True, 0, -1, 2**63, 10**30, 1e308, -1e308, float("nan"), "", " ", "x" * 100_000, "\x00", [], {},
       [1, 2], {"a": 1}, "9999-99-99", "2026-13-45T99:99:99Z", "1e400", "null", "\u202e"]  # fmt: skip
SAMPLES = [
    ("twitter", "twitter/search_recent_minimal.json", "data"),
    ("telegram", "telegram/getUpdates_channel_post.json", "result"),
    ("nse_api", "nse/GetQuoteApi_getSymbolData_ETERNAL_2026-02-20.json", None),
    ("nse_api", "nse/quote-equity_INFY_2023-10-16.json", None),
]


def _paths(value, path=()):
    """Every key and list position under ``value`` (the first two items of a list)."""
    items = value.items() if isinstance(value, dict) else enumerate(value[:2]) if isinstance(value, list) else ()
    for key, child in items:
        yield (*path, key)
        yield from _paths(child, (*path, key))


def _ids(result) -> set:
    return {m["external_id"] for m in result.messages} | {(r["ticker"], r["timestamp"]) for r in result.stock_rows}


@pytest.mark.parametrize(("source", "name", "records"), SAMPLES, ids=[name for _, name, _ in SAMPLES])
def test_an_odd_field_is_at_most_its_records_error(samples, source, name, records):
    payload = json.loads((samples / name).read_text())
    whole = _ids(parse(source, payload, fetched_at=FETCHED))
    assert whole
    tried = 0
    for path in list(_paths(payload)):
        for odd in ODD:
            changed = copy.deepcopy(payload)
            target = changed
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = odd
            result = parse(source, changed, fetched_at=FETCHED)
            tried += 1
            failed = [e for e in result.errors if "the parser failed" in e]
            assert not failed, (path, odd, failed)
            if records and len(path) >= 3 and path[0] == records and path[1] == 0:
                # Inside the first record: every other record reads as before.
                others = _ids(parse(source, {**payload, records: payload[records][1:]}, fetched_at=FETCHED))
                assert others <= _ids(result), (path, odd)
    assert tried > 300  # (every field of the first two records, each set to every odd value)


def test_an_odd_bhavcopy_cell_is_at_most_its_rows_error(samples):
    header = (samples / "nse" / "cm06JAN2021bhav.csv").read_text().splitlines()[0]
    good = ["GOOD", "EQ", "1", "2", "1", "1.5", "1.5", "1.4", "10", "15", "06-JAN-2021", "3", "INE000000014", ""]
    texts = [str(v) for v in ODD if not isinstance(v, list | dict)] + ["1,2", '"', "1.2.3", "१२", "-0", "1e5", "0x1F"]
    for column in range(len(good) - 1):
        for text in texts:
            cells = list(good)
            cells[column] = '"' + text.replace('"', '""') + '"'
            other = ",".join(good).replace("GOOD", "OTHER")
            payload = {"format": "csv", "filename": "cm.csv", "content": f"{header}\n{','.join(cells)}\n{other}\n"}
            result = parse("nse_bhavcopy", payload)
            assert not [e for e in result.errors if "the parser failed" in e], (column, text)
            assert "OTHER" in [bar["ticker"] for bar in result.bars], (column, text)
