"""The NSE connectors against a local HTTP server speaking NSE's formats of today (NextApi quotes,
the Akamai 403 page at the retired quote-equity route, the bhavcopy archives)."""

import json
import os
import time
from datetime import date

import pytest

from pipelines.connectors import ConnectorError, get_connector
from pipelines.parsers import parse
from tests.pipelines.conftest import Reply
from warehouse.models import Ticker

NEXT = "/api/NextApi/apiClient/GetQuoteApi"
SAMPLE = "nse/GetQuoteApi_getSymbolData_ETERNAL_2026-02-20.json"
AKAMAI = (
    "<HTML><HEAD>\n<TITLE>Access Denied</TITLE>\n</HEAD><BODY>\n<H1>Access Denied</H1>\n"
    "You don't have permission to access this server.<P>\n</BODY>\n</HTML>\n"
)


@pytest.fixture
def quote_body(samples):
    return json.loads((samples / SAMPLE).read_text())


@pytest.fixture
def nse(upstream, db):
    """The local NSE, with the series and market type of a few symbols already in the ticker master."""
    Ticker.objects.filter(symbol__in=["ETERNAL", "INFY", "TCS", "SBIN"]).update(market_type="N")
    Ticker.objects.get_or_create(symbol="BAD", defaults={"market_type": "N"})
    Ticker.objects.get_or_create(symbol="NOPE", defaults={"market_type": "N"})
    return upstream


def fetch_all(source, **kwargs):
    batches, error = [], None
    try:
        for batch in get_connector(source).fetch(**kwargs):
            batches.append(batch)
    except ConnectorError as exc:
        error = exc
    return batches, error


def test_it_asks_nextapi_for_the_symbol_in_its_series_and_market_type_like_a_browser(nse, quote_body):
    nse.script(NEXT, Reply(200, json=quote_body))
    batches, error = fetch_all("nse_api", tickers=["ETERNAL"])
    assert error is None
    assert [r.path for r in nse.requests] == [NEXT]  # no cookie warm-up: NextApi answers without one
    call = nse.requests[0]
    assert call.query == {"functionName": "getSymbolData", "marketType": "N", "series": "EQ", "symbol": "ETERNAL"}
    assert call.headers["User-Agent"].startswith("Mozilla/5.0")
    assert call.headers["Referer"].endswith("/get-quotes/equity?symbol=ETERNAL")
    assert len(batches) == 1
    assert batches[0].payload == [quote_body]
    assert batches[0].simulated is False
    assert batches[0].error is None
    rows = parse("nse_api", batches[0].payload).stock_rows
    assert [(r["ticker"], r["series"], r["price"], r["volume"]) for r in rows] == [("ETERNAL", "EQ", 268.2, 19317167)]


def test_an_unknown_market_type_is_learnt_once_from_get_meta_data(nse, quote_body):
    Ticker.objects.filter(symbol="ETERNAL").update(market_type="", series="BE")
    meta = {"symbol": "ETERNAL", "activeSeries": ["EQ", "T0"], "marketType": "N", "isin": "INE758T01015"}
    nse.script(NEXT, Reply(200, json=meta), Reply(200, json=quote_body))
    batches, error = fetch_all("nse_api", tickers=["ETERNAL"])
    assert (error, len(batches)) == (None, 1)
    assert [r.query["functionName"] for r in nse.requests] == ["getMetaData", "getSymbolData"]
    assert nse.requests[0].query == {"functionName": "getMetaData", "symbol": "ETERNAL"}
    # BE is not among NSE's active series for the symbol: EQ is asked for, and remembered.
    assert nse.requests[1].query["series"] == "EQ"
    assert Ticker.objects.filter(symbol="ETERNAL").values_list("series", "market_type").get() == ("EQ", "N")
    nse.script(NEXT, Reply(200, json=quote_body))
    fetch_all("nse_api", tickers=["ETERNAL"])
    assert [r.query["functionName"] for r in nse.requests[2:]] == ["getSymbolData"]


def test_the_retired_quote_equity_route_fails_the_run_in_one_line_and_keeps_the_page(nse):
    nse.script(NEXT, Reply(403, body=AKAMAI, content_type="text/html", headers={"Server": "AkamaiGHost"}))
    batches, error = fetch_all("nse_api", tickers=["ETERNAL", "INFY", "TCS"])
    line = f"NSE answered 403 with an HTML page at {nse.url}{NEXT}: the endpoint is retired or blocked"
    assert error.message == line
    assert error.failures == [line]
    assert len(nse.calls(NEXT)) == 1  # not retried, and no deny page collected for the other symbols
    assert len(batches) == 1
    assert batches[0].error == line
    assert batches[0].meta["records"] == 0
    assert batches[0].payload["status"] == 403
    assert batches[0].payload["body"] == AKAMAI
    assert parse("nse_api", batches[0].payload).stock_rows == []


def test_an_html_page_with_200_is_not_mistaken_for_data(nse, quote_body):
    nse.script(
        NEXT,
        Reply(200, json=quote_body),
        Reply(200, body="<html><body>Access Denied</body></html>", content_type="text/html"),
    )
    batches, error = fetch_all("nse_api", tickers=["ETERNAL", "INFY", "TCS"])
    line = f"NSE answered 200 with an HTML page at {nse.url}{NEXT}: the endpoint is retired or blocked"
    assert len(nse.calls(NEXT)) == 2
    # What came before the page is kept and loads; the page is kept as text, counted as nothing.
    assert [b.error for b in batches] == [None, line]
    assert batches[0].payload == [quote_body]
    assert batches[1].payload["body"] == "<html><body>Access Denied</body></html>"
    assert error.message == line


def test_it_retries_500s_then_takes_the_answer(nse, quote_body):
    nse.script(NEXT, Reply(500, body="oops"), Reply(502, body="bad gateway"), Reply(200, json=quote_body))
    batches, error = fetch_all("nse_api", tickers=["ETERNAL"])
    assert error is None
    assert len(nse.calls(NEXT)) == 3
    assert batches[0].payload == [quote_body]


def test_it_waits_as_long_as_retry_after_says_on_a_429(nse, quote_body):
    nse.script(NEXT, Reply(429, body="slow down", headers={"Retry-After": "1"}), Reply(200, json=quote_body))
    started = time.monotonic()
    batches, error = fetch_all("nse_api", tickers=["ETERNAL"])
    elapsed = time.monotonic() - started
    assert error is None
    assert len(nse.calls(NEXT)) == 2
    assert elapsed >= 1.0  # timed at the client: the local server may note a first call late
    assert batches[0].payload == [quote_body]


def test_it_does_not_wait_for_a_retry_after_beyond_the_cap(nse):
    nse.script(NEXT, Reply(429, body="come back tomorrow", headers={"Retry-After": "3600"}))
    started = time.monotonic()
    batches, error = fetch_all("nse_api", tickers=["ETERNAL"])
    assert time.monotonic() - started < 2
    assert len(nse.calls(NEXT)) == 1
    assert "asks to wait 3600 s, more than the 5 s cap" in error.message
    assert batches[0].payload["body"] == "come back tomorrow"


def test_a_timeout_is_retried_a_bounded_number_of_times_then_reported(nse):
    nse.script(NEXT, Reply(200, json={}, delay=1.0))
    batches, error = fetch_all("nse_api", tickers=["ETERNAL"])
    assert len(nse.calls(NEXT)) == 3
    assert batches == []
    assert error.failures == ["ETERNAL: timed out after 0.5 s (3 attempts)"]


def test_a_5xx_html_page_is_kept_as_text_with_a_clear_error(nse):
    page = "<!DOCTYPE html><html><body><h1>Service Unavailable</h1></body></html>"
    nse.script(NEXT, Reply(503, body=page, content_type="text/html"))
    batches, error = fetch_all("nse_api", tickers=["ETERNAL"])
    assert len(nse.calls(NEXT)) == 3  # 5xx: retried, bounded
    assert len(batches) == 1
    kept = batches[0].payload
    assert (kept["format"], kept["status"], kept["content_type"], kept["body"]) == ("text", 503, "text/html", page)
    assert batches[0].error == "ETERNAL: HTTP 503 (text/html) after 3 attempts"
    assert "1 of 1 quotes failed" in error.message
    assert parse("nse_api", kept).errors == ["nse_api: quote: the upstream answered text, not a quote (503)"]


def test_truncated_json_is_kept_and_reported(nse):
    nse.script(NEXT, Reply(200, body='{"equityResponse": [{"orderBook"', content_type="application/json"))
    batches, error = fetch_all("nse_api", tickers=["ETERNAL"])
    assert len(nse.calls(NEXT)) == 1
    assert batches[0].error.startswith("ETERNAL: malformed or truncated JSON (HTTP 200 (application/json))")
    assert batches[0].payload["body"] == '{"equityResponse": [{"orderBook"'
    assert error.failures == [batches[0].error]


def test_an_empty_body_is_an_error(nse):
    nse.script(NEXT, Reply(200, body=b"", content_type="application/json"))
    batches, _ = fetch_all("nse_api", tickers=["ETERNAL"])
    assert batches[0].error == "ETERNAL: empty body (HTTP 200 (application/json))"
    assert batches[0].payload["body"] == ""


def test_a_10_mb_answer_is_refused_and_only_its_head_kept(nse):
    huge = b'{"pad": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    nse.script(NEXT, Reply(200, body=huge, content_type="application/json"))
    batches, error = fetch_all("nse_api", tickers=["ETERNAL"])
    assert len(nse.calls(NEXT)) == 1
    kept = batches[0].payload
    assert kept["truncated"] is True
    assert len(kept["body"]) == 64 * 1024
    assert "over the 8,388,608 bytes size cap" in batches[0].error
    assert error is not None


def test_a_4xx_is_not_retried(nse):
    nse.script(NEXT, Reply(404, json={"msg": "no such symbol"}))
    batches, error = fetch_all("nse_api", tickers=["NOPE"])
    assert len(nse.calls(NEXT)) == 1
    assert batches[0].payload == {"msg": "no such symbol"}
    assert error.failures == ["NOPE: HTTP 404 (application/json)"]


def test_one_failing_ticker_does_not_lose_the_others(nse, quote_body):
    nse.script(NEXT, Reply(200, json=quote_body), Reply(400, body="bad"), Reply(200, json=quote_body))
    batches, error = fetch_all("nse_api", tickers=["ETERNAL", "BAD", "TCS"])
    assert [b.error for b in batches] == ["BAD: HTTP 400 (text/plain)", None]
    assert batches[1].payload == [quote_body, quote_body]
    assert error.failures == ["BAD: HTTP 400 (text/plain)"]


def test_an_unknown_quote_shape_is_schema_drift_naming_the_missing_keys(nse):
    nse.script(NEXT, Reply(200, json={"data": [{"symbol": "INFY", "ltp": 1432.95}]}))
    batches, error = fetch_all("nse_api", tickers=["INFY"])
    assert error is None
    result = parse("nse_api", batches[0].payload)
    assert result.stock_rows == []
    assert result.drift == [
        "nse_api: unknown quote shape: missing info.symbol, priceInfo.lastPrice, metadata.lastUpdateTime "
        "(top-level keys: data)"
    ]


def test_it_spaces_calls_to_nse(nse, quote_body, settings):
    settings.NSE_API_MIN_INTERVAL = 0.2
    nse.script(NEXT, Reply(200, json=quote_body))
    started = time.monotonic()
    fetch_all("nse_api", tickers=["ETERNAL", "TCS", "SBIN"])
    elapsed = time.monotonic() - started
    assert len(nse.calls(NEXT)) == 3
    # Timed where the calls leave, not where the server notes them: a busy CI machine can start the local
    # server's handler thread late for the first call, which once made two 0.2 s gaps look like one.
    assert elapsed >= 0.4  # two gaps of 0.2 s; without the spacing three local calls take a few ms


# ---- bhavcopy ----------------------------------------------------------------------------------


def test_it_fetches_the_udiff_zip_of_a_day_and_keeps_the_csv_exactly(upstream, samples):
    import io
    import zipfile

    text = (samples / "nse/BhavCopy_NSE_CM_0_0_0_20260519_F_0000.csv").read_text()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("BhavCopy_NSE_CM_0_0_0_20260519_F_0000.csv", text)
    upstream.script(
        "/content/cm/BhavCopy_NSE_CM_0_0_0_20260519_F_0000.csv.zip",
        Reply(200, body=buffer.getvalue(), content_type="application/zip"),
    )
    batches, error = fetch_all("nse_bhavcopy", since={"date": "2026-05-19"})
    assert error is None
    assert len(batches) == 1
    assert batches[0].payload == {
        "format": "csv",
        "filename": "BhavCopy_NSE_CM_0_0_0_20260519_F_0000.csv",
        "content": text,
    }
    assert batches[0].meta["layout"] == "udiff"
    assert len(parse("nse_bhavcopy", batches[0].payload).bars) == 3359


def test_it_falls_back_to_the_full_bhavcopy_when_udiff_is_missing(upstream, samples):
    text = (samples / "nse/sec_bhavdata_full_30122024.csv").read_text()
    upstream.script("/products/content/sec_bhavdata_full_30122024.csv", Reply(200, body=text, content_type="text/csv"))
    batches, error = fetch_all("nse_bhavcopy", since={"date": "2024-12-30"})
    assert error is None
    assert [r.path for r in upstream.requests] == [
        "/content/cm/BhavCopy_NSE_CM_0_0_0_20241230_F_0000.csv.zip",
        "/products/content/sec_bhavdata_full_30122024.csv",
    ]
    assert batches[0].payload["content"] == text
    assert len(parse("nse_bhavcopy", batches[0].payload).stock_rows) == 2799


def test_old_days_come_from_the_legacy_archive(upstream, samples):
    data = (samples / "nse/cm06JAN2021bhav.csv.zip").read_bytes()
    upstream.script(
        "/content/historical/EQUITIES/2021/JAN/cm06JAN2021bhav.csv.zip",
        Reply(200, body=data, content_type="application/zip"),
    )
    batches, error = fetch_all("nse_bhavcopy", since={"date": "2021-01-06"})
    assert error is None
    assert batches[0].payload["filename"] == "cm06JAN2021bhav.csv"
    assert len(parse("nse_bhavcopy", batches[0].payload).stock_rows) == 2057


def test_a_trading_day_without_a_bhavcopy_is_a_clear_error_and_a_holiday_is_not_asked_for(upstream, db):
    batches, error = fetch_all("nse_bhavcopy", since={"date": "2024-12-24"})
    assert batches == []
    assert [r.path for r in upstream.requests] == [
        "/content/cm/BhavCopy_NSE_CM_0_0_0_20241224_F_0000.csv.zip",
        "/products/content/sec_bhavdata_full_24122024.csv",
    ]
    assert error.failures == [
        "2024-12-24: NSE has no bhavcopy for this day (udiff, sec_bhavdata_full: 404), though the trading "
        "calendar has no holiday on it"
    ]
    assert fetch_all("nse_bhavcopy", since={"date": "2024-12-25"}) == ([], None)  # Christmas
    assert len(upstream.requests) == 2


def test_a_date_range_skips_weekends(upstream, db):
    from pipelines.connectors.nse import NseBhavcopyConnector

    days = NseBhavcopyConnector.days({"from": "2024-12-27", "to": "2024-12-30"})
    assert days == [date(2024, 12, 27), date(2024, 12, 30)]
    with pytest.raises(ConnectorError, match="bad date"):
        NseBhavcopyConnector.days({"date": "30-12-2024"})


def test_bhavcopy_files_are_read_as_csv_or_zip_members(samples):
    connector = get_connector("nse_bhavcopy")
    csv_batch = next(connector.read_files([samples / "nse/cm06JAN2021bhav.csv"]))
    zip_batch = next(connector.read_files([samples / "nse/cm06JAN2021bhav.csv.zip"]))
    assert csv_batch.payload == zip_batch.payload
    assert zip_batch.payload["filename"] == "cm06JAN2021bhav.csv"
    assert zip_batch.payload["content"] == (samples / "nse/cm06JAN2021bhav.csv").read_text()


def test_a_zip_without_a_csv_is_an_error_batch(tmp_path):
    import zipfile

    path = tmp_path / "odd.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    batches = list(get_connector("nse_bhavcopy").read_files([path]))
    assert [b.error for b in batches] == ["odd.zip: the zip holds no CSV file (it holds readme.txt)"]


def test_a_missing_file_is_a_connector_error(tmp_path):
    with pytest.raises(ConnectorError, match="no such file"):
        list(get_connector("nse_bhavcopy").read_files([tmp_path / "nope.csv"]))


def test_a_pipe_is_no_saved_file(tmp_path):
    fifo = tmp_path / "bhav.csv"
    os.mkfifo(fifo)  # read to its end, it would wait for a writer for ever
    with pytest.raises(ConnectorError, match=r"bhav\.csv: not a regular file"):
        list(get_connector("nse_bhavcopy").read_files([fifo]))


def test_the_archive_urls_are_nseindiaapis_udiff_from_8_july_2024_legacy_before_and_the_full_file():
    from pipelines.connectors.nse import bhavcopy_urls

    base = "https://nsearchives.nseindia.com"
    assert bhavcopy_urls(date(2024, 7, 8), base) == [
        (f"{base}/content/cm/BhavCopy_NSE_CM_0_0_0_20240708_F_0000.csv.zip", "udiff"),
        (f"{base}/products/content/sec_bhavdata_full_08072024.csv", "sec_bhavdata_full"),
    ]
    assert bhavcopy_urls(date(2024, 7, 5), base) == [
        (f"{base}/content/historical/EQUITIES/2024/JUL/cm05JUL2024bhav.csv.zip", "legacy"),
        (f"{base}/products/content/sec_bhavdata_full_05072024.csv", "sec_bhavdata_full"),
    ]
