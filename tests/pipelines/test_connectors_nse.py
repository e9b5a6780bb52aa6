"""The NSE connectors against a local HTTP server speaking NSE's format."""

import json
import time
from datetime import date

import pytest

from pipelines.connectors import ConnectorError, get_connector
from pipelines.parsers import parse
from tests.pipelines.conftest import Reply

QUOTE = "/api/quote-equity"
COOKIES = {"Set-Cookie": "nseappid=abc123; Path=/"}


@pytest.fixture
def quote_body(samples):
    return json.loads((samples / "nse/quote-equity_INFY_2023-10-16.json").read_text())


@pytest.fixture
def nse(upstream):
    upstream.script("/", Reply(200, body="<html>NSE</html>", content_type="text/html", headers=COOKIES))
    upstream.script("/get-quotes/equity", Reply(200, body="<html>quote</html>", content_type="text/html"))
    return upstream


def fetch_all(source, **kwargs):
    batches, error = [], None
    try:
        for batch in get_connector(source).fetch(**kwargs):
            batches.append(batch)
    except ConnectorError as exc:
        error = exc
    return batches, error


def test_it_warms_up_cookies_then_asks_for_quotes_like_a_browser(nse, quote_body):
    nse.script(QUOTE, Reply(200, json=quote_body))
    batches, error = fetch_all("nse_api", tickers=["INFY"])
    assert error is None
    assert [r.path for r in nse.requests] == ["/", "/get-quotes/equity", QUOTE]
    api = nse.calls(QUOTE)[0]
    assert api.query == {"symbol": "INFY"}
    assert "nseappid=abc123" in api.headers["Cookie"]
    assert api.headers["User-Agent"].startswith("Mozilla/5.0")
    assert api.headers["Referer"].endswith("/get-quotes/equity?symbol=INFY")
    assert len(batches) == 1
    assert batches[0].payload == [quote_body]
    assert batches[0].simulated is False
    assert batches[0].error is None
    rows = parse("nse_api", batches[0].payload).stock_rows
    assert [(r["ticker"], r["price"]) for r in rows] == [("INFY", 1432.95)]


def test_it_retries_500s_then_takes_the_answer(nse, quote_body):
    nse.script(QUOTE, Reply(500, body="oops"), Reply(502, body="bad gateway"), Reply(200, json=quote_body))
    batches, error = fetch_all("nse_api", tickers=["INFY"])
    assert error is None
    assert len(nse.calls(QUOTE)) == 3
    assert batches[0].payload == [quote_body]


def test_it_waits_as_long_as_retry_after_says_on_a_429(nse, quote_body):
    nse.script(QUOTE, Reply(429, body="slow down", headers={"Retry-After": "1"}), Reply(200, json=quote_body))
    batches, error = fetch_all("nse_api", tickers=["INFY"])
    calls = nse.calls(QUOTE)
    assert error is None
    assert len(calls) == 2
    assert calls[1].at - calls[0].at >= 0.95
    assert batches[0].payload == [quote_body]


def test_it_does_not_wait_for_a_retry_after_beyond_the_cap(nse):
    nse.script(QUOTE, Reply(429, body="come back tomorrow", headers={"Retry-After": "3600"}))
    started = time.monotonic()
    batches, error = fetch_all("nse_api", tickers=["INFY"])
    assert time.monotonic() - started < 2
    assert len(nse.calls(QUOTE)) == 1
    assert "asks to wait 3600 s, more than the 5 s cap" in error.message
    assert batches[0].payload["body"] == "come back tomorrow"


def test_a_timeout_is_retried_a_bounded_number_of_times_then_reported(nse):
    nse.script(QUOTE, Reply(200, json={}, delay=1.0))
    batches, error = fetch_all("nse_api", tickers=["INFY"])
    assert len(nse.calls(QUOTE)) == 3
    assert batches == []
    assert error.failures == ["INFY: timed out after 0.5 s (3 attempts)"]


def test_an_html_error_page_is_kept_as_text_with_a_clear_error(nse):
    page = "<!DOCTYPE html><html><body><h1>Service Unavailable</h1></body></html>"
    nse.script(QUOTE, Reply(503, body=page, content_type="text/html"))
    batches, error = fetch_all("nse_api", tickers=["INFY"])
    assert len(nse.calls(QUOTE)) == 3  # 5xx: retried, bounded
    assert len(batches) == 1
    kept = batches[0].payload
    assert kept["format"] == "text"
    assert kept["status"] == 503
    assert kept["content_type"] == "text/html"
    assert kept["body"] == page
    assert batches[0].error == "INFY: HTTP 503 (text/html) after 3 attempts"
    assert "1 of 1 quotes failed" in error.message
    assert parse("nse_api", kept).errors == ["nse_api: quote: the upstream answered text, not a quote (503)"]


def test_an_html_page_with_200_is_not_mistaken_for_data(nse):
    nse.script(QUOTE, Reply(200, body="<html><body>Access Denied</body></html>", content_type="text/html"))
    batches, error = fetch_all("nse_api", tickers=["INFY"])
    assert len(nse.calls(QUOTE)) == 1
    assert batches[0].error == "INFY: an HTML/XML page instead of JSON (HTTP 200 (text/html))"
    assert batches[0].payload["body"] == "<html><body>Access Denied</body></html>"
    assert error is not None


def test_truncated_json_is_kept_and_reported(nse):
    nse.script(QUOTE, Reply(200, body='{"info": {"symbol": "INFY", "isin"', content_type="application/json"))
    batches, error = fetch_all("nse_api", tickers=["INFY"])
    assert len(nse.calls(QUOTE)) == 1
    assert batches[0].error.startswith("INFY: malformed or truncated JSON (HTTP 200 (application/json))")
    assert batches[0].payload["body"] == '{"info": {"symbol": "INFY", "isin"'
    assert error.failures == [batches[0].error]


def test_an_empty_body_is_an_error(nse):
    nse.script(QUOTE, Reply(200, body=b"", content_type="application/json"))
    batches, _ = fetch_all("nse_api", tickers=["INFY"])
    assert batches[0].error == "INFY: empty body (HTTP 200 (application/json))"
    assert batches[0].payload["body"] == ""


def test_a_10_mb_answer_is_refused_and_only_its_head_kept(nse):
    huge = b'{"pad": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    nse.script(QUOTE, Reply(200, body=huge, content_type="application/json"))
    batches, error = fetch_all("nse_api", tickers=["INFY"])
    assert len(nse.calls(QUOTE)) == 1
    kept = batches[0].payload
    assert kept["truncated"] is True
    assert len(kept["body"]) == 64 * 1024
    assert "over the 8,388,608 bytes size cap" in batches[0].error
    assert error is not None


def test_a_4xx_is_not_retried(nse):
    nse.script(QUOTE, Reply(404, json={"msg": "no such symbol"}))
    batches, error = fetch_all("nse_api", tickers=["NOPE"])
    assert len(nse.calls(QUOTE)) == 1
    assert batches[0].payload == {"msg": "no such symbol"}
    assert error.failures == ["NOPE: HTTP 404 (application/json)"]


def test_expired_cookies_get_one_more_warm_up(nse, quote_body):
    nse.script(QUOTE, Reply(401, json={}), Reply(200, json=quote_body))
    batches, error = fetch_all("nse_api", tickers=["INFY"])
    assert error is None
    assert [r.path for r in nse.requests] == ["/", "/get-quotes/equity", QUOTE, "/", "/get-quotes/equity", QUOTE]
    assert batches[0].payload == [quote_body]


def test_a_refused_warm_up_stops_before_any_quote_call(upstream):
    upstream.script("/", Reply(403, body="<html>Access Denied</html>", content_type="text/html"))
    batches, error = fetch_all("nse_api", tickers=["INFY"])
    assert batches == []
    assert upstream.calls(QUOTE) == []
    assert error.message == "nse_api: cookie warm-up failed: HTTP 403 (text/html)"
    assert error.payload["body"] == "<html>Access Denied</html>"


def test_one_failing_ticker_does_not_lose_the_others(nse, quote_body):
    nse.script(QUOTE, Reply(200, json=quote_body), Reply(400, body="bad"), Reply(200, json=quote_body))
    batches, error = fetch_all("nse_api", tickers=["INFY", "BAD", "TCS"])
    assert [b.error for b in batches] == ["BAD: HTTP 400 (text/plain)", None]
    assert batches[1].payload == [quote_body, quote_body]
    assert error.failures == ["BAD: HTTP 400 (text/plain)"]


def test_an_unknown_quote_shape_is_schema_drift_naming_the_missing_keys(nse):
    nse.script(QUOTE, Reply(200, json={"data": [{"symbol": "INFY", "ltp": 1432.95}]}))
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
    nse.script(QUOTE, Reply(200, json=quote_body))
    fetch_all("nse_api", tickers=["INFY", "TCS", "SBIN"])
    calls = nse.calls(QUOTE)
    assert len(calls) == 3
    assert calls[2].at - calls[0].at >= 0.38


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


def test_a_day_without_a_bhavcopy_is_a_clear_error(upstream):
    batches, error = fetch_all("nse_bhavcopy", since={"date": "2024-12-25"})
    assert batches == []
    assert len(upstream.requests) == 2
    assert error.failures == [
        "2024-12-25: NSE has no bhavcopy for this day (udiff, sec_bhavdata_full: 404; a holiday?)"
    ]


def test_a_date_range_skips_weekends(upstream):
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
