"""One odd field in one record never costs the rest of its payload.

Every field of the first records of the real samples (an X page and X JSON lines, a getUpdates answer,
scraped Telegram lines, both NSE quote shapes), of a Telegram export and an X v1.1 page written here, and
every cell of a bhavcopy row is set in turn to values no upstream sends (wrong types, huge
and infinite numbers, NUL, empty and very long texts …). Whatever the parser makes of it, it never fails
the whole payload ("the parser failed on this payload"), and the other records of the payload are still
read, with the same ids.
"""

import copy
import json
from datetime import UTC, datetime

import pytest

from pipelines.parsers import parse
from tests.pipelines.test_parsers_nse import _legacy_rows

FETCHED = datetime(2024, 1, 1, tzinfo=UTC)
ODD = [None, True, 0, -1, 2**63, 10**30, 1e308, -1e308, float("nan"), "", " ", "x" * 100_000, "\x00", [], {},
       [1, 2], {"a": 1}, "9999-99-99", "2026-13-45T99:99:99Z", "1e400", "null", "\u202e"]  # fmt: skip
TOP = "(the payload is the list)"
# An export and a v1.1 search page written here in the shapes of the samples' sources (no such sample file).
EXPORT = {
    "name": "Tips",
    "type": "public_channel",
    "id": 5,
    "messages": [
        {"id": 1, "type": "message", "date": "2024-11-06T10:05:00", "date_unixtime": "1730867700", "from": "A",
         "text": ["hi ", {"type": "cashtag", "text": "$TCS"}], "forwarded_from": "X", "reply_to_message_id": 3,
         "text_entities": [{"type": "plain", "text": "hi "}, {"type": "cashtag", "text": "$TCS"}]},
        {"id": 2, "type": "message", "date": "2024-11-06T10:06:00", "text": "plain"},
    ],
}  # fmt: skip
V1_PAGE = {
    "statuses": [
        {"id": 1, "id_str": "1", "created_at": "Wed Oct 10 20:19:24 +0000 2018", "text": "$TCS",
         "user": {"screen_name": "a", "id_str": "9"}, "retweet_count": 1,
         "entities": {"symbols": [{"text": "TCS"}], "hashtags": [], "urls": [], "user_mentions": []}},
        {"id": 2, "id_str": "2", "created_at": "Wed Oct 10 20:19:24 +0000 2018", "text": "$INFY", "user": {}},
    ]
}  # fmt: skip


def _lines(path) -> list:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()][:3]


# (source, how to make the payload from the samples folder, the key of its list of records)
PAYLOADS = {
    "x-page": ("twitter", lambda s: json.loads((s / "twitter/search_recent_minimal.json").read_text()), "data"),
    "x-json-lines": ("twitter", lambda s: _lines(s / "twitter/tweet_lookup_cashtags.jsonl"), None),
    "x-v1-page": ("twitter", lambda s: copy.deepcopy(V1_PAGE), "statuses"),
    "getupdates": ("telegram", lambda s: json.loads((s / "telegram/getUpdates_channel_post.json").read_text()), "result"),
    "scraped-lines": ("telegram", lambda s: _lines(s / "telegram/pump_channel_messages.jsonl"), TOP),
    "export": ("telegram", lambda s: copy.deepcopy(EXPORT), "messages"),
    "nextapi": ("nse_api", lambda s: json.loads((s / "nse/GetQuoteApi_getSymbolData_ETERNAL_2026-02-20.json").read_text()), None),
    "quote-equity": ("nse_api", lambda s: json.loads((s / "nse/quote-equity_INFY_2023-10-16.json").read_text()), None),
}  # fmt: skip


def _paths(value, path=()):
    """Every key and list position under ``value`` (the first two items of a list)."""
    items = value.items() if isinstance(value, dict) else enumerate(value[:2]) if isinstance(value, list) else ()
    for key, child in items:
        yield (*path, key)
        yield from _paths(child, (*path, key))


def _ids(result) -> set:
    return {m["external_id"] for m in result.messages} | {(r["ticker"], r["timestamp"]) for r in result.stock_rows}


def _without_first(payload, records):
    return payload[1:] if records == TOP else {**payload, records: payload[records][1:]}


@pytest.mark.parametrize("kind", list(PAYLOADS))
def test_an_odd_field_is_at_most_its_records_error(samples, kind):
    source, make, records = PAYLOADS[kind]
    payload = make(samples)
    whole = _ids(parse(source, payload, fetched_at=FETCHED))
    assert whole
    tried = checked = 0
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
            inside_first = path[:1] == (0,) and len(path) >= 2 if records == TOP else path[:2] == (records, 0)
            if records and inside_first and len(path) >= (2 if records == TOP else 3):
                # Inside the first record: every other record reads as before.
                others = _ids(parse(source, _without_first(payload, records), fetched_at=FETCHED))
                assert others <= _ids(result), (path, odd)
                checked += 1
    assert checked > 0 or not records
    assert tried > 100  # (every field of the first two records, each set to every odd value)


def test_an_odd_bhavcopy_cell_is_at_most_its_rows_error(samples):
    good = ["GOOD", "EQ", "1", "2", "1", "1.5", "1.5", "1.4", "10", "15", "06-JAN-2021", "3", "INE000000014", ""]
    texts = [str(v) for v in ODD if not isinstance(v, list | dict)] + ["1,2", '"', "1.2.3", "१२", "-0", "1e5", "0x1F"]
    for column in range(len(good) - 1):
        for text in texts:
            cells = list(good)
            cells[column] = '"' + text.replace('"', '""') + '"'
            result = _legacy_rows(samples, ",".join(cells), ",".join(good).replace("GOOD", "OTHER"))
            assert not [e for e in result.errors if "the parser failed" in e], (column, text)
            assert "OTHER" in [bar["ticker"] for bar in result.bars], (column, text)
