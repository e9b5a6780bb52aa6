"""NSE quote and bhavcopy parsers on the real sample files, quirks included."""

import json
import warnings
from datetime import UTC, date, datetime

import pytest

from pipelines.connectors import get_connector
from pipelines.parsers import parse
from warehouse.models import Ticker
from warehouse.services import ticker_master_learn

LEGACY = "nse/cm06JAN2021bhav.csv"
UDIFF = "nse/BhavCopy_NSE_CM_0_0_0_20260519_F_0000.csv"
FULL = "nse/sec_bhavdata_full_30122024.csv"


def csv_payload(samples, name, content=None):
    path = samples / name
    return {"format": "csv", "filename": path.name, "content": content if content is not None else path.read_text()}


def by_key(rows, ticker, series="EQ"):
    return next(r for r in rows if r["ticker"] == ticker and r["series"] == series)


# ---- quote-equity ------------------------------------------------------------------------------


def test_the_classic_quote_equity_answer_becomes_one_stock_row(samples):
    body = json.loads((samples / "nse/quote-equity_INFY_2023-10-16.json").read_text())
    result = parse("nse_api", body)
    assert (result.drift, result.errors) == ([], [])
    row = result.stock_rows[0]
    assert {k: v for k, v in row.items() if k != "raw_data"} == {
        "ticker": "INFY",
        "series": "EQ",
        "exchange": "NSE",
        "source": "nse_api",
        # 16-Oct-2023 16:00:00 IST
        "timestamp": datetime(2023, 10, 16, 10, 30, tzinfo=UTC),
        "price": 1432.95,
        "volume": None,  # the classic answer has no traded quantity without the trade_info section
        "change_percent": 0.13,
    }
    # the quote's own figures; the whole body stays in the lake object the row links to
    assert row["raw_data"]["priceInfo"] is body["priceInfo"]
    assert row["raw_data"]["symbol"] == "INFY"
    assert row["raw_data"]["lastUpdateTime"] == "16-Oct-2023 16:00:00"


def test_a_round_of_quotes_is_a_list_and_each_is_checked_on_its_own(samples):
    body = json.loads((samples / "nse/quote-equity_INFY_2023-10-16.json").read_text())
    broken = json.loads(json.dumps(body))
    broken["priceInfo"]["lastPrice"] = "n/a"
    result = parse("nse_api", [body, {}, broken, "oops"])
    assert [r["ticker"] for r in result.stock_rows] == ["INFY"]
    assert result.errors == [
        "nse_api: quote #1 is empty: NSE answers {} for an unknown symbol",
        "nse_api: quote #2 (INFY): lastPrice 'n/a' is not a number",
        "nse_api: quote #3 is a str, not a quote-equity or NextApi object",
    ]
    assert result.drift == []


def test_a_reshaped_quote_is_schema_drift_with_the_missing_keys(samples):
    body = json.loads((samples / "nse/quote-equity_INFY_2023-10-16.json").read_text())
    body["priceInfo"] = {"ltp": 1432.95}
    result = parse("nse_api", body)
    assert result.stock_rows == []
    assert result.drift == [
        "nse_api: unknown quote shape for INFY: missing priceInfo.lastPrice (top-level keys: industryInfo, info, "
        "metadata, preOpenMarket, priceInfo, sddDetails, securityInfo)"
    ]


def test_the_parser_never_raises_on_garbage():
    for payload in (None, 3, [], {"format": "text", "status": 500}, {"info": "x", "priceInfo": [], "metadata": 1}):
        result = parse("nse_api", payload)
        assert result.stock_rows == []
    assert parse("nope", {}).errors == [
        "no parser for source 'nope': expected one of nse_api, nse_bhavcopy, twitter, telegram"
    ]


# ---- NextApi getSymbolData (NSE's quote API since 2026) ----------------------------------------

NEXT_SAMPLE = "nse/GetQuoteApi_getSymbolData_ETERNAL_2026-02-20.json"
ETERNAL_ROW = {
    "ticker": "ETERNAL",
    "series": "EQ",
    "exchange": "NSE",
    "source": "nse_api",
    "timestamp": datetime(2026, 2, 20, 10, 30, tzinfo=UTC),  # 20-Feb-2026 16:00:00 IST
    "price": 268.2,  # tradeInfo.lastPrice
    "volume": 19317167,  # tradeInfo.totalTradedVolume
    "change_percent": -1.31,  # metaData.pChange
}


@pytest.fixture
def next_body(samples):
    return json.loads((samples / NEXT_SAMPLE).read_text())


def test_the_nextapi_answer_becomes_the_same_kind_of_stock_row(next_body):
    result = parse("nse_api", next_body)
    assert (result.drift, result.errors, result.layout) == ([], [], "getSymbolData")
    [row] = result.stock_rows
    assert {k: v for k, v in row.items() if k != "raw_data"} == ETERNAL_ROW
    # The day's other figures are kept with the row; the whole answer stays in the lake object.
    assert row["raw_data"] == {
        "shape": "getSymbolData", "symbol": "ETERNAL", "isin": "INE758T01015", "series": "EQ", "marketType": "N",
        "lastUpdateTime": "20-Feb-2026 16:00:00", "open": 270.8, "dayHigh": 272.5, "dayLow": 267.85,
        "previousClose": 271.75, "closePrice": 269.45, "averagePrice": 269.86, "change": -3.55, "pChange": -1.31,
        "totalTradedValue": 5212930686.62, "deliveryquantity": 9081038, "deliveryToTradedQuantity": 47.01,
        "secwisedelposdate": "20-Feb-2026 00:00:00",
    }  # fmt: skip


def test_one_element_of_equity_response_saved_alone_parses_the_same(next_body):
    element = next_body["equityResponse"][0]
    rows = parse("nse_api", element).stock_rows
    assert [{k: v for k, v in r.items() if k != "raw_data"} for r in rows] == [ETERNAL_ROW]
    assert rows == parse("nse_api", next_body).stock_rows
    # …and a fetch round mixes nothing up: a list of whole answers
    assert len(parse("nse_api", [next_body, element]).stock_rows) == 2


def test_the_order_book_price_is_the_fallback_and_change_is_computed_when_absent(next_body):
    element = next_body["equityResponse"][0]
    del element["tradeInfo"]["lastPrice"]
    del element["metaData"]["pChange"]
    element["orderBook"]["lastPrice"] = 270.0
    [row] = parse("nse_api", element).stock_rows
    assert row["price"] == 270.0
    assert row["change_percent"] == round((270.0 - 271.75) / 271.75 * 100, 2) == -0.64


def test_a_nextapi_answer_without_a_quote_is_an_error_and_a_reshaped_one_is_drift(next_body):
    assert parse("nse_api", {"equityResponse": []}).errors == [
        "nse_api: quote: equityResponse is empty: NSE has no quote for this symbol"
    ]
    element = next_body["equityResponse"][0]
    del element["lastUpdateTime"]
    del element["tradeInfo"]["lastPrice"]
    del element["orderBook"]["lastPrice"]
    result = parse("nse_api", next_body)
    assert result.stock_rows == []
    assert result.drift == [
        "nse_api: unknown quote shape for ETERNAL: missing lastUpdateTime, tradeInfo.lastPrice (top-level keys: "
        "metaData, orderBook, priceInfo, secInfo, tradeInfo)"
    ]


def test_both_shapes_of_one_simulated_moment_make_the_same_row():
    from pipelines.simulator import SimMarket

    market = SimMarket(seed=7)
    when = datetime(2025, 3, 5, 6, 0, tzinfo=UTC)  # 11:30 IST, mid-session
    old = parse("nse_api", market.quote("INFY", when)).stock_rows[0]
    new = parse("nse_api", market.symbol_data("INFY", when)).stock_rows[0]
    assert old["volume"] > 0
    assert {k: v for k, v in old.items() if k != "raw_data"} == {k: v for k, v in new.items() if k != "raw_data"}


# ---- bhavcopy ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "layout", "rows", "series"),
    [(LEGACY, "legacy", 2057, 73), (UDIFF, "udiff", 3359, 57), (FULL, "sec_bhavdata_full", 2799, None)],
)
def test_every_row_of_each_bhavcopy_layout_is_kept_with_its_series(samples, name, layout, rows, series):
    result = parse("nse_bhavcopy", csv_payload(samples, name))
    assert result.layout == layout
    assert (len(result.stock_rows), len(result.bars)) == (rows, rows)
    assert (result.errors, result.drift) == ([], [])
    if series:
        assert len({r["series"] for r in result.stock_rows}) == series


def test_the_legacy_layout_with_its_trailing_comma_and_upper_case_months(samples):
    result = parse("nse_bhavcopy", csv_payload(samples, LEGACY))
    row = by_key(result.stock_rows, "J&KBANK")
    assert {k: v for k, v in row.items() if k != "raw_data"} == {
        "ticker": "J&KBANK",
        "series": "EQ",
        "exchange": "NSE",
        "source": "nse_bhavcopy",
        "timestamp": datetime(2021, 1, 6, 10, 0, tzinfo=UTC),  # 15:30 IST
        "price": 23.9,
        "volume": 5263834,
        "change_percent": -1.44,
    }
    assert "Unnamed: 13" not in row["raw_data"]
    assert row["raw_data"]["TIMESTAMP"] == "06-JAN-2021"
    bar = by_key(result.bars, "BAJAJ-AUTO")
    assert bar == {
        "ticker": "BAJAJ-AUTO", "series": "EQ", "exchange": "NSE", "date": date(2021, 1, 6), "source": "nse_bhavcopy",
        "isin": "INE917I01010", "open": 3492.65, "high": 3527.0, "low": 3435.9, "close": 3462.7, "last": 3462.35,
        "prev_close": 3492.65, "volume": 591620, "value": 2065819356.5, "trades": 43881,
        "delivery_qty": None, "delivery_pct": None,
    }  # fmt: skip


def test_the_udiff_layout_keeps_isin_and_rupee_turnover(samples):
    bar = by_key(parse("nse_bhavcopy", csv_payload(samples, UDIFF)).bars, "INFY")
    assert (bar["isin"], bar["close"], bar["last"], bar["prev_close"]) == ("INE009A01021", 1196.9, 1194.0, 1142.5)
    assert (bar["volume"], bar["value"], bar["trades"], bar["date"]) == (
        32175705,
        38306860777.5,
        377426,
        date(2026, 5, 19),
    )


def test_the_full_layout_converts_lakhs_and_reads_dash_as_missing(samples):
    result = parse("nse_bhavcopy", csv_payload(samples, FULL))
    infy = by_key(result.bars, "INFY")
    assert (infy["value"], infy["delivery_qty"], infy["delivery_pct"], infy["isin"]) == (
        14824705000.0,
        5788727,
        74.32,
        "",
    )
    be = by_key(result.bars, "20MICRONS", "BE")
    assert (be["value"], be["delivery_qty"], be["delivery_pct"]) == (16858000.0, None, None)
    assert by_key(result.stock_rows, "INFY")["change_percent"] == -0.56


def test_crlf_line_ends_parse_the_same(samples):
    text = (samples / FULL).read_text()
    plain = parse("nse_bhavcopy", csv_payload(samples, FULL, text))
    crlf = parse("nse_bhavcopy", csv_payload(samples, FULL, text.replace("\n", "\r\n")))
    assert crlf.bars == plain.bars


def test_the_zip_parses_exactly_like_the_csv(samples):
    connector = get_connector("nse_bhavcopy")
    zipped = next(connector.read_files([samples / "nse/cm06JAN2021bhav.csv.zip"]))
    assert parse("nse_bhavcopy", zipped.payload).bars == parse("nse_bhavcopy", csv_payload(samples, LEGACY)).bars


def test_an_unknown_layout_is_rejected_naming_the_layouts_expected():
    result = parse(
        "nse_bhavcopy", {"format": "csv", "filename": "x.csv", "content": "Date,Open,Close\n2024-01-01,1,2\n"}
    )
    assert result.stock_rows == []
    assert len(result.errors) == 1
    assert result.errors[0].startswith(
        "nse_bhavcopy: x.csv: unknown bhavcopy layout (columns: Date, Open, Close); expected"
    )
    assert "legacy (SYMBOL, SERIES" in result.errors[0]
    assert "UDiFF (TradDt, TckrSymb" in result.errors[0]
    assert "sec_bhavdata_full (SYMBOL, SERIES, DATE1" in result.errors[0]


def _legacy_rows(samples, *rows: str):
    """``rows`` under the real legacy bhavcopy's header, parsed as the file ``cm.csv``."""
    header = (samples / LEGACY).read_text().splitlines()[0]
    content = "\n".join([header, *rows])
    return parse("nse_bhavcopy", {"format": "csv", "filename": "cm.csv", "content": content})


def test_bad_rows_are_rejected_one_by_one_with_reasons(samples):
    result = _legacy_rows(
        samples,
        "GOOD,EQ,1,2,1,1.5,1.5,1.4,10,15,06-JAN-2021,3,INE000000001,",
        "BAD SYMBOL!,EQ,1,2,1,1.5,1.5,1.4,10,15,06-JAN-2021,3,INE000000002,",
        "NODATE,EQ,1,2,1,1.5,1.5,1.4,10,15,someday,3,INE000000003,",
        "NOCLOSE,EQ,1,2,1,,1.5,1.4,10,15,06-JAN-2021,3,INE000000004,",
    )
    assert [r["ticker"] for r in result.stock_rows] == ["GOOD"]
    assert result.errors == [
        "nse_bhavcopy: cm.csv line 3: invalid ticker 'BAD SYMBOL!': expected an NSE symbol of 1-20 letters, digits, '&', '-' or '_'",
        "nse_bhavcopy: cm.csv line 4 (NODATE): date 'someday' is not %d-%b-%Y",
        "nse_bhavcopy: cm.csv line 5 (NOCLOSE): no close price",
    ]


def test_bhavcopy_cells_are_read_as_nse_writes_them(samples):
    result = _legacy_rows(
        samples,
        '  COMMA , eq ,"1,234.5",2,1,1.5,1.5,1.4,"10,000",15, 06-jan-2021 ,3,INE000000005,',
        "WORD,EQ,abc,2,1,1.5,1.5,0,nil,15,06-JAN-2021,3,INE000000006,",
        "MARKS,EQ,-,NA,n/a,1.5,,1.4,-,15,06-JAN-2021,3,,",
    )
    assert result.errors == []
    comma, word, marks = result.bars
    # spaces around cells dropped, thousands separators read, the month's case ignored
    assert (comma["ticker"], comma["series"], comma["open"], comma["volume"]) == ("COMMA", "eq", 1234.5, 10000)
    assert comma["date"] == date(2021, 1, 6)
    assert result.stock_rows[0]["raw_data"]["OPEN"] == "1,234.5"
    # a word where a number belongs stays as written (validation refuses it, naming the column) ...
    assert (word["open"], word["volume"]) == ("abc", None)
    assert result.stock_rows[1]["change_percent"] is None  # (no previous close to compare with)
    # ... while NSE's marks for "no value" are missing values
    assert (marks["open"], marks["high"], marks["low"], marks["last"], marks["volume"]) == (None,) * 5


def test_bhavcopy_numbers_only_in_the_digits_nse_writes(samples):
    # Python's float() reads "1_000" and Arabic-Indic digits; NSE writes neither, so they stay as written
    # (validation refuses them, naming the column) beside a column of plain numbers read as numbers.
    result = _legacy_rows(
        samples,
        "PLAIN,EQ,12.5,2,1,1.5,1.5,1.4,10,15,06-JAN-2021,3,INE000000007,",
        "UNDER,EQ,1_000,2,1,1.5,1.5,1.4,10,15,06-JAN-2021,3,INE000000008,",
        "ARABIC,EQ,١٢,2,1,1.5,1.5,1.4,10,15,06-JAN-2021,3,INE000000009,",
        "EXP,EQ,1e3,2.25,1,1.5,1.5,1.4,10,15,06-JAN-2021,3,INE000000010,",
    )
    assert [bar["open"] for bar in result.bars] == [12.5, "1_000", "١٢", 1000.0]
    assert [bar["high"] for bar in result.bars] == [2.0, 2.0, 2.0, 2.25]
    assert [bar["volume"] for bar in result.bars] == [10] * 4


def test_a_bhavcopy_figure_at_floats_limit_gives_no_warning():
    # A turnover of 1e308 overflows when scaled to rupees, and a change from a previous close of 1e-307
    # overflows too: the cell is no number (validation refuses it), and numpy says nothing in the log.
    header = "SYMBOL,SERIES,DATE1,PREV_CLOSE,OPEN_PRICE,HIGH_PRICE,LOW_PRICE,LAST_PRICE,CLOSE_PRICE,AVG_PRICE,"
    header += "TTL_TRD_QNTY,TURNOVER_LACS,NO_OF_TRADES,DELIV_QTY,DELIV_PER"
    row = "BIG, EQ, 30-Dec-2024, 1e-307, 1, 2, 1, 1.5, 1.5, 1.4, 10, 1e308, 3, -, -"
    payload = {"format": "csv", "filename": "sec_bhavdata_full_30122024.csv", "content": f"{header}\n{row}\n"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = parse("nse_bhavcopy", payload)
    assert result.errors == []
    [bar] = result.bars
    assert (bar["value"], result.stock_rows[0]["change_percent"]) == ("1e308", None)


def test_empty_and_non_csv_payloads_are_errors():
    assert "is empty" in parse("nse_bhavcopy", {"format": "csv", "filename": "e.csv", "content": ""}).errors[0]
    assert parse("nse_bhavcopy", {"format": "text", "body": "<html>"}).errors == [
        "nse_bhavcopy: expected a CSV payload ({format: csv, content}), got text"
    ]


@pytest.mark.django_db
def test_the_ticker_master_learns_symbols_isins_and_series_in_bulk(samples, django_assert_max_num_queries):
    Ticker.objects.filter(symbol__in=["INFY", "20MICRONS"]).delete()
    Ticker.objects.create(symbol="INFY", name="Infosys", isin="", series="EQ", active=True)
    before = Ticker.objects.count()
    bars = parse("nse_bhavcopy", csv_payload(samples, UDIFF)).bars
    symbols = {b["ticker"] for b in bars}
    known = Ticker.objects.filter(symbol__in=symbols).count()
    # Bulk: a handful of statements for ~2,900 symbols (SQLite caps parameters, so it needs ~35 batches).
    with django_assert_max_num_queries(45):
        result = ticker_master_learn(bars)
    assert result.created == len(symbols) - known
    assert Ticker.objects.count() == before + result.created
    infy = Ticker.objects.get(symbol="INFY")
    assert (infy.isin, infy.series, infy.active, infy.name) == ("INE009A01021", "EQ", True, "Infosys")
    gold = Ticker.objects.get(symbol="SGBJUN28")
    assert (gold.isin, gold.series, gold.active) == ("IN0020200104", "GB", False)
    again = ticker_master_learn(bars)
    assert (again.created, again.updated, again.unchanged) == (0, 0, len(symbols))
    # A day that moves every ISIN (a re-listing, a corrected file): all rows updated, still in bulk.
    moved = [{**bar, "isin": f"INX{bar['ticker']}"[:12]} for bar in bars]
    with django_assert_max_num_queries(40):
        shifted = ticker_master_learn(moved)
    assert (shifted.created, shifted.updated) == (0, len(symbols))
    assert Ticker.objects.get(symbol="INFY").isin == "INXINFY"
    assert Ticker.objects.get(symbol="SGBJUN28").isin == "INXSGBJUN28"
    assert Ticker.objects.get(symbol="INFY").updated > infy.updated


@pytest.mark.django_db
def test_an_older_bhavcopy_or_a_bond_row_never_replaces_an_equity_isin(samples):
    # Learnt from the 2026-05-19 UDiFF day, then the 2021-01-06 day replayed: by then TATASTEEL had its
    # pre-split ISIN, and IREDA (listed 2023) traded only bonds (series N2, their own ISINs).
    ticker_master_learn(parse("nse_bhavcopy", csv_payload(samples, UDIFF)).bars)
    now = dict(Ticker.objects.filter(symbol__in=["TATASTEEL", "IREDA"]).values_list("symbol", "isin"))
    assert now == {"TATASTEEL": "INE081A01020", "IREDA": "INE202E01016"}
    assert Ticker.objects.get(symbol="TATASTEEL").learned_on == date(2026, 5, 19)
    learnt = {t.symbol: (t.isin, t.series) for t in Ticker.objects.filter(learned_on=date(2026, 5, 19))}
    old = parse("nse_bhavcopy", csv_payload(samples, LEGACY)).bars
    assert {b["isin"] for b in old if b["ticker"] == "TATASTEEL"} == {"INE081A01012"}
    ticker_master_learn(old)
    after = {t.symbol: (t.isin, t.series) for t in Ticker.objects.filter(symbol__in=list(learnt))}
    assert [symbol for symbol in learnt if after[symbol] != learnt[symbol]] == []  # (173 of them changed before)
    assert dict(Ticker.objects.filter(symbol__in=["TATASTEEL", "IREDA"]).values_list("symbol", "isin")) == now
    # A seeded ticker the newer day did not list (TATAMOTORS) learns from the old day: it knew nothing.
    assert Ticker.objects.get(symbol="TATAMOTORS").isin == "INE155A01022"
    # On its own, the old day teaches a fresh master; a bond row does not replace the equity's ISIN.
    Ticker.objects.filter(symbol="IREDA").update(learned_on=None)
    ireda_bonds = [b for b in old if b["ticker"] == "IREDA"]
    assert ireda_bonds
    assert {b["series"] for b in ireda_bonds} <= {"N1", "N2", "N3", "N4", "N5", "N6", "N7", "N8", "N9"}
    ticker_master_learn(ireda_bonds)
    assert Ticker.objects.get(symbol="IREDA").isin == "INE202E01016"


@pytest.mark.django_db
def test_the_ticker_master_reads_rows_back_from_a_dataframe_with_nans(samples):
    import pandas as pd

    bars = parse("nse_bhavcopy", csv_payload(samples, FULL)).bars[:5]
    frame = pd.DataFrame(bars).assign(isin=float("nan"))
    ticker_master_learn(frame.to_dict("records"))
    assert set(Ticker.objects.filter(symbol__in=[b["ticker"] for b in bars]).values_list("isin", flat=True)) <= {""}


def test_odd_symbols_and_times_are_errors_of_their_quote_and_spaced_times_read_the_same(next_body):
    """The parser remembers tickers and times by the text as written: a symbol that is a list (unhashable)
    is still that quote's error, not the payload's, and a time with doubled spaces reads as the plain one."""
    odd = json.loads(json.dumps(next_body))
    odd["equityResponse"][0]["metaData"]["symbol"] = ["ETERNAL"]
    spaced = json.loads(json.dumps(next_body))
    spaced["equityResponse"][0]["lastUpdateTime"] = " 20-Feb-2026   16:00:00 "
    result = parse("nse_api", [odd, spaced, next_body])
    [error] = result.errors
    assert error.startswith("nse_api: quote #0: invalid ticker")
    assert [row["timestamp"] for row in result.stock_rows] == [ETERNAL_ROW["timestamp"]] * 2
    assert parse("nse_api", [next_body, next_body]).stock_rows[0]["timestamp"] == ETERNAL_ROW["timestamp"]
