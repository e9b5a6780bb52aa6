"""The simulated market's tickers: the active NSE tickers of the ticker master, else NIFTY 50."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from warehouse.models import Ticker

# NIFTY 50 constituents (2025) with their company names and a rough price level in rupees.
NIFTY50: tuple[tuple[str, str, float], ...] = (
    ("ADANIENT", "Adani Enterprises Limited", 2400), ("ADANIPORTS", "Adani Ports and Special Economic Zone Limited", 1400),
    ("APOLLOHOSP", "Apollo Hospitals Enterprise Limited", 7000), ("ASIANPAINT", "Asian Paints Limited", 2400),
    ("AXISBANK", "Axis Bank Limited", 1150), ("BAJAJ-AUTO", "Bajaj Auto Limited", 8500),
    ("BAJFINANCE", "Bajaj Finance Limited", 900), ("BAJAJFINSV", "Bajaj Finserv Limited", 2000),
    ("BEL", "Bharat Electronics Limited", 400), ("BHARTIARTL", "Bharti Airtel Limited", 1900),
    ("CIPLA", "Cipla Limited", 1500), ("COALINDIA", "Coal India Limited", 390),
    ("DRREDDY", "Dr. Reddy's Laboratories Limited", 1250), ("EICHERMOT", "Eicher Motors Limited", 6500),
    ("ETERNAL", "Eternal Limited", 300), ("GRASIM", "Grasim Industries Limited", 2700),
    ("HCLTECH", "HCL Technologies Limited", 1500), ("HDFCBANK", "HDFC Bank Limited", 980),
    ("HDFCLIFE", "HDFC Life Insurance Company Limited", 750), ("HEROMOTOCO", "Hero MotoCorp Limited", 5000),
    ("HINDALCO", "Hindalco Industries Limited", 700), ("HINDUNILVR", "Hindustan Unilever Limited", 2400),
    ("ICICIBANK", "ICICI Bank Limited", 1400), ("INDUSINDBK", "IndusInd Bank Limited", 800),
    ("INFY", "Infosys Limited", 1500), ("ITC", "ITC Limited", 410),
    ("JIOFIN", "Jio Financial Services Limited", 300), ("JSWSTEEL", "JSW Steel Limited", 1050),
    ("KOTAKBANK", "Kotak Mahindra Bank Limited", 2100), ("LT", "Larsen & Toubro Limited", 3600),
    ("M&M", "Mahindra & Mahindra Limited", 3300), ("MARUTI", "Maruti Suzuki India Limited", 12500),
    ("NESTLEIND", "Nestle India Limited", 1200), ("NTPC", "NTPC Limited", 340),
    ("ONGC", "Oil & Natural Gas Corporation Limited", 240), ("POWERGRID", "Power Grid Corporation of India Limited", 290),
    ("RELIANCE", "Reliance Industries Limited", 1400), ("SBILIFE", "SBI Life Insurance Company Limited", 1800),
    ("SBIN", "State Bank of India", 800), ("SHRIRAMFIN", "Shriram Finance Limited", 650),
    ("SUNPHARMA", "Sun Pharmaceutical Industries Limited", 1650), ("TATACONSUM", "Tata Consumer Products Limited", 1100),
    ("TATAMOTORS", "Tata Motors Limited", 700), ("TATASTEEL", "Tata Steel Limited", 160),
    ("TCS", "Tata Consultancy Services Limited", 3100), ("TECHM", "Tech Mahindra Limited", 1500),
    ("TITAN", "Titan Company Limited", 3500), ("TRENT", "Trent Limited", 5000),
    ("ULTRACEMCO", "UltraTech Cement Limited", 12000), ("WIPRO", "Wipro Limited", 250),
)  # fmt: skip


@dataclass(frozen=True)
class SimTicker:
    symbol: str
    name: str
    base_price: float
    isin: str = ""
    series: str = "EQ"


def stable_unit(*parts) -> float:
    """A number in [0, 1) fixed by ``parts`` (Python's hash() changes between processes; this does not)."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def builtin_universe() -> list[SimTicker]:
    return [SimTicker(symbol, name, float(price)) for symbol, name, price in NIFTY50]


def universe() -> list[SimTicker]:
    """Active NSE tickers from ``warehouse.models.Ticker`` when there are any, else the built-in NIFTY 50."""
    try:
        rows = list(
            Ticker.objects.filter(active=True, exchange="NSE")
            .order_by("symbol")
            .values_list("symbol", "name", "isin", "series")[:500]
        )
    except Exception:  # no database (or not allowed here): the simulator still answers
        rows = []
    if not rows:
        return builtin_universe()
    known = {symbol: price for symbol, _, price in NIFTY50}
    return [
        SimTicker(
            symbol=symbol,
            name=name or symbol,
            # A symbol we have no price for gets a stable level between ₹50 and ₹5,000.
            base_price=float(known.get(symbol) or round(50 * 100 ** stable_unit("price", symbol), 1)),
            isin=isin or "",
            series=series or "EQ",
        )
        for symbol, name, isin, series in rows
    ]


def universe_symbols() -> list[str]:
    return [t.symbol for t in universe()]
