"""Builders for the quality tests: the real NSE samples as warehouse record keys, small batches, a webhook."""

import csv
import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from quality.rules import default_rules
from quality.validation import DataValidator


def _num(text):
    text = (text or "").strip()
    return None if text in ("", "-") else float(text)


def _int(text):
    value = _num(text)
    return None if value is None else int(value)


def bars_from_legacy(path: Path) -> list[dict]:
    """cm06JAN2021bhav.csv (13 columns and a trailing comma) as daily bar records."""
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [
        {
            "ticker": r["SYMBOL"], "series": r["SERIES"], "exchange": "NSE", "source": "nse_bhavcopy",
            "date": dt.datetime.strptime(r["TIMESTAMP"], "%d-%b-%Y").date(), "isin": r["ISIN"],
            "open": _num(r["OPEN"]), "high": _num(r["HIGH"]), "low": _num(r["LOW"]), "close": _num(r["CLOSE"]),
            "last": _num(r["LAST"]), "prev_close": _num(r["PREVCLOSE"]), "volume": _int(r["TOTTRDQTY"]),
            "value": _num(r["TOTTRDVAL"]), "trades": _int(r["TOTALTRADES"]),
        }
        for r in rows
    ]  # fmt: skip


def bars_from_udiff(path: Path) -> list[dict]:
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [
        {
            "ticker": r["TckrSymb"], "series": r["SctySrs"] or None, "exchange": "NSE", "source": "nse_bhavcopy",
            "date": dt.date.fromisoformat(r["TradDt"]), "isin": r["ISIN"],
            "open": _num(r["OpnPric"]), "high": _num(r["HghPric"]), "low": _num(r["LwPric"]),
            "close": _num(r["ClsPric"]), "last": _num(r["LastPric"]), "prev_close": _num(r["PrvsClsgPric"]),
            "volume": _int(r["TtlTradgVol"]), "value": _num(r["TtlTrfVal"]), "trades": _int(r["TtlNbOfTxsExctd"]),
        }
        for r in rows
    ]  # fmt: skip


def bars_from_full(path: Path) -> list[dict]:
    """sec_bhavdata_full: a space after every comma; DELIV_* are "-" on non-EQ rows; turnover in lakhs."""
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh, skipinitialspace=True))
    return [
        {
            "ticker": r["SYMBOL"], "series": r["SERIES"], "exchange": "NSE", "source": "nse_bhavcopy",
            "date": dt.datetime.strptime(r["DATE1"], "%d-%b-%Y").date(),
            "open": _num(r["OPEN_PRICE"]), "high": _num(r["HIGH_PRICE"]), "low": _num(r["LOW_PRICE"]),
            "close": _num(r["CLOSE_PRICE"]), "last": _num(r["LAST_PRICE"]), "prev_close": _num(r["PREV_CLOSE"]),
            "volume": _int(r["TTL_TRD_QNTY"]), "value": _num(r["TURNOVER_LACS"]) * 100_000,
            "trades": _int(r["NO_OF_TRADES"]), "delivery_qty": r["DELIV_QTY"], "delivery_pct": r["DELIV_PER"],
        }
        for r in rows
    ]  # fmt: skip


def quote_from_infy(path: Path) -> dict:
    payload = json.loads(path.read_text())
    price = payload["priceInfo"]
    return {
        "ticker": payload["info"]["symbol"], "series": payload["metadata"]["series"], "exchange": "NSE",
        "source": "nse_api", "timestamp": "2023-10-16T16:00:00+05:30", "price": price["lastPrice"],
        "volume": payload["preOpenMarket"]["totalTradedVolume"], "change_percent": round(price["pChange"], 2),
        "prev_close": price["previousClose"], "raw_data": payload,
    }  # fmt: skip


def quote(**overrides) -> dict:
    record = {
        "ticker": "RELIANCE", "series": "EQ", "exchange": "NSE", "source": "nse_api",
        "timestamp": "2026-05-19T10:00:00+05:30", "price": 2890.5, "volume": 120000, "change_percent": 1.25,
        "raw_data": {"lastPrice": 2890.5},
    }  # fmt: skip
    record.update(overrides)
    return record


def mention(**overrides) -> dict:
    record = {
        "ticker": "TCS", "platform": "twitter", "external_id": "1790000000000000001", "text": "$TCS results beat",
        "sentiment": "positive", "sentiment_score": 0.62, "is_pump_signal": False, "pump_score": 0.1,
        "channel": "", "author": "someone", "views": 42, "timestamp": "2026-05-19T10:00:00Z", "metadata": {},
    }  # fmt: skip
    record.update(overrides)
    return record


def bar(**overrides) -> dict:
    record = {
        "ticker": "INFY", "series": "EQ", "exchange": "NSE", "source": "nse_bhavcopy",
        "date": dt.date(2026, 5, 19), "open": 1500.0, "high": 1520.0, "low": 1490.0, "close": 1510.0,
        "last": 1511.0, "prev_close": 1495.0, "volume": 1000, "value": 1510000.0, "trades": 50,
        "delivery_qty": 500, "delivery_pct": 50.0,
    }  # fmt: skip
    record.update(overrides)
    return record


@pytest.fixture
def validator():
    """A validator on the shipped rules (no database needed), at a fixed 'now'."""
    now = dt.datetime(2026, 5, 19, 12, 0, tzinfo=dt.UTC)

    def make(dataset):
        return DataValidator(dataset, rules=default_rules(dataset), now=now)

    return make


class _Hook(BaseHTTPRequestHandler):
    received: list

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path.startswith("/missing/"):  # a webhook that has been deleted upstream
            self.send_response(404)
            self.end_headers()
            return
        self.server.received.append((self.headers["Content-Type"], json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook(settings):
    """A local HTTP server standing in for the alert webhook (Slack, PagerDuty …)."""
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.ALERT_WEBHOOK_URL = f"http://127.0.0.1:{server.server_port}/hook"
    yield server.received
    server.shutdown()
