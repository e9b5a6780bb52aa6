"""The replay's JSON reader of NextApi lake objects: the dict parser's rows, or nothing (the dict parser then)."""

import copy
import json
from datetime import UTC, datetime

import orjson
import pytest

from lake.services import lake_object_read, raw_batch_store
from pipelines.parsers import parse, parse_json
from pipelines.parsers.nse_quote import NEXT_META_KEEP, NEXT_TRADE_KEEP, _Meta, _Trade
from pipelines.services import process as process_module
from pipelines.services import schema_watch
from pipelines.services.process import lake_objects_read
from pipelines.simulator import SimMarket
from quality.models import QuarantinedRecord
from warehouse.models import StockData

NEXT_SAMPLE = "nse/GetQuoteApi_getSymbolData_ETERNAL_2026-02-20.json"
WHEN = datetime(2025, 3, 5, 6, 0, tzinfo=UTC)  # 11:30 IST


@pytest.fixture
def next_body(samples):
    return json.loads((samples / NEXT_SAMPLE).read_text())


def simulated_round(count: int = 60) -> list[dict]:
    market = SimMarket(seed=11)
    return [market.symbol_data(t.symbol, WHEN) for t in market.tickers[:count]]


def same_as_dict_parser(data) -> None:
    expected = parse("nse_api", data)
    assert (expected.drift, expected.errors) == ([], [])
    got = parse_json("nse_api", orjson.dumps(data))
    assert got is not None
    assert got.stock_rows == expected.stock_rows
    assert got.layout == expected.layout == "getSymbolData"
    # the raw_data keeps its keys in the same order (SQLite keeps the JSON text as written)
    assert [list(r["raw_data"]) for r in got.stock_rows] == [list(r["raw_data"]) for r in expected.stock_rows]


def test_the_real_answer_and_a_simulated_round_read_from_json_give_the_dict_parsers_rows(next_body):
    same_as_dict_parser([next_body])
    same_as_dict_parser(simulated_round())


def test_the_quirks_the_dict_parser_takes_give_the_same_rows_from_json(next_body):
    """Numbers as text with commas, the order book's price, a change computed from the previous close,
    the day's figures absent or null, no series (EQ), several elements in one answer."""
    quirky = copy.deepcopy(next_body)
    element = quirky["equityResponse"][0]
    element["tradeInfo"]["lastPrice"] = " -"
    element["orderBook"]["lastPrice"] = "1,270.50"
    del element["metaData"]["pChange"]
    element["metaData"]["previousClose"] = "1,250"
    del element["metaData"]["open"], element["tradeInfo"]["totalTradedValue"]
    element["metaData"]["closePrice"] = None
    element["metaData"]["series"] = None
    element["tradeInfo"]["series"] = ""
    element["tradeInfo"]["totalTradedVolume"] = "19,317,167"
    no_trade = copy.deepcopy(next_body)
    no_trade["equityResponse"][0]["tradeInfo"] = None
    two = copy.deepcopy(next_body)
    two["equityResponse"].append(copy.deepcopy(element))
    same_as_dict_parser([quirky, no_trade, two, next_body])
    row = parse_json("nse_api", orjson.dumps([quirky])).stock_rows[0]
    assert (row["price"], row["series"], row["volume"]) == (1270.5, "EQ", 19317167)
    assert row["change_percent"] == round((1270.5 - 1250) / 1250 * 100, 2)
    assert "open" not in row["raw_data"]
    assert row["raw_data"]["closePrice"] is None


def _drop(body, *path):
    body = copy.deepcopy(body)
    where = body
    for key in path[:-1]:
        where = where[key]
    del where[path[-1]]
    return body


def _set(body, value, *path):
    body = copy.deepcopy(body)
    where = body
    for key in path[:-1]:
        where = where[key]
    where[path[-1]] = value
    return body


IRREGULAR = {
    "the retired quote-equity shape": lambda s, b: json.loads(
        (s / "nse/quote-equity_INFY_2023-10-16.json").read_text()
    ),
    "an empty answer (unknown symbol)": lambda s, b: {},
    "no quote for the symbol": lambda s, b: {"equityResponse": []},
    "a text answer": lambda s, b: {"format": "text", "status": 503, "equityResponse": b["equityResponse"]},
    "no symbol": lambda s, b: _drop(b, "equityResponse", 0, "metaData", "symbol"),
    "an empty time": lambda s, b: _set(b, "", "equityResponse", 0, "lastUpdateTime"),
    "no price anywhere": lambda s, b: _drop(
        _drop(b, "equityResponse", 0, "tradeInfo", "lastPrice"), "equityResponse", 0, "orderBook", "lastPrice"
    ),
    "a price that is no number": lambda s, b: _set(
        _set(b, "n/a", "equityResponse", 0, "tradeInfo", "lastPrice"), None, "equityResponse", 0, "orderBook"
    ),
    "a symbol that is no NSE symbol": lambda s, b: _set(b, "NOT A SYMBOL!", "equityResponse", 0, "metaData", "symbol"),
    "a time that is no NSE time": lambda s, b: _set(b, "yesterday", "equityResponse", 0, "lastUpdateTime"),
    "metaData that is text": lambda s, b: _set(b, "ETERNAL", "equityResponse", 0, "metaData"),
    "an element that is text": lambda s, b: {"equityResponse": ["ETERNAL"]},
    "equityResponse that is no list": lambda s, b: {"equityResponse": {"0": b["equityResponse"][0]}},
    "an element saved alone": lambda s, b: b["equityResponse"][0],
}


@pytest.mark.parametrize("case", IRREGULAR)
def test_an_irregular_answer_is_left_to_the_dict_parser(samples, next_body, case):
    """Anything but a regular answer (another shape, or one the dict parser reports) gives None, in a
    round of otherwise good answers too: the replay then parses the whole payload as before."""
    odd = IRREGULAR[case](samples, next_body)
    assert parse_json("nse_api", orjson.dumps([next_body, odd])) is None
    assert parse_json("nse_api", orjson.dumps(odd)) is None  # not even a list


def test_no_json_reader_for_other_sources_and_garbage_is_none():
    assert parse_json("twitter", b'{"data": []}') is None
    for text in (b"", b"[", b"null", b"[]", b'"x"', b"\xff\xfe"):
        assert parse_json("nse_api", text) is None


def test_the_json_reader_decodes_every_figure_a_row_keeps():
    """A key added to the figures a NextApi row keeps must be decoded by the JSON reader as well."""
    assert set(NEXT_META_KEEP) <= set(_Meta.__struct_fields__)
    assert set(NEXT_TRADE_KEEP) <= set(_Trade.__struct_fields__)


# ---- the replay's read of lake objects ----------------------------------------------------------


@pytest.mark.django_db
def test_a_replay_reads_regular_objects_from_json_and_a_drifted_one_whole_with_the_same_verdicts(
    next_body, monkeypatch
):
    from pipelines.services import lake_objects_reprocess

    good = simulated_round(40)
    drifted = [*good[:3], _drop(next_body, "equityResponse", 0, "metaData", "symbol")]
    objects = [
        raw_batch_store(source="nse_api", data=data, timestamp=WHEN, simulated=True)
        for data in (good[:20], drifted, good[20:])
    ]
    decoded_whole, sampled = [], []
    decode = process_module.envelope_json_decode

    def decode_spy(text):
        decoded_whole.append(text)
        return decode(text)

    check = schema_watch.schema_drift_check

    def check_spy(**kwargs):
        sampled.extend(kwargs["records"])
        return check(**kwargs)

    monkeypatch.setattr(process_module, "envelope_json_decode", decode_spy)
    monkeypatch.setattr(schema_watch, "schema_drift_check", check_spy)

    read = lake_objects_read(objects)
    assert len(decoded_whole) == 1  # only the drifted object is decoded whole
    for obj, (payload, parsed) in zip(objects, read, strict=True):
        whole = lake_object_read(obj)["data"]
        assert parsed == parse("nse_api", whole)  # rows, drift and errors alike
        # the payload handed on is what the group's drift check samples: its first two records, whole
        assert payload == (whole if obj.pk == objects[1].pk else whole[:2])

    outcome = lake_objects_reprocess(object_ids=[obj.pk for obj in objects])
    assert (outcome.inserted, outcome.rejected) == (40, 1)
    assert StockData.objects.count() == 40
    [reject] = QuarantinedRecord.objects.filter(lake_object_id=objects[1].pk)
    [message] = parse("nse_api", drifted).drift
    assert reject.reasons[0]["rule"] == "schema_drift"
    assert reject.reasons[0]["message"] == message
    # the drift check saw two whole answers of each object, all their keys (not only those a row needs)
    assert len(sampled) == 6
    assert all("priceInfo" in answer["equityResponse"][0] for answer in sampled)
