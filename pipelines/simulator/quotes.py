"""The simulated market's NSE quote answers: the classic quote-equity body, NextApi's meta and symbol data.

Pure builders: a ticker and a moment of its trading day (``SimMarket._moment``: day, minute, live?,
the day's path, its lists, NSE's ``lastUpdateTime``) always make the same answer. ``SimMarket``'s
``quote``, ``meta_data`` and ``symbol_data`` answer with them.
"""

from __future__ import annotations

from pipelines.simulator.universe import SimTicker


def static_sections(ticker: SimTicker) -> dict:
    """The parts of a quote that do not move during the day (the market builds them once per ticker)."""
    symbol = ticker.symbol
    return {
        "info": {
            "symbol": symbol, "companyName": ticker.name, "industry": "", "activeSeries": [ticker.series],
            "debtSeries": [], "tempSuspendedSeries": [], "isFNOSec": True, "isCASec": False, "isSLBSec": True,
            "isDebtSec": False, "isSuspended": False, "isETFSec": False, "isDelisted": False,
            "isin": ticker.isin, "isTop10": False, "identifier": f"{symbol}{ticker.series}N",
        },
        "securityInfo": {
            "boardStatus": "Main", "tradingStatus": "Active", "tradingSegment": "Normal Market",
            "sessionNo": "-", "slb": "Yes", "classOfShare": "Equity", "derivatives": "Yes",
            "surveillance": {"surv": None, "desc": None}, "faceValue": 1, "issuedSize": 1_000_000_000,
        },
        "sddDetails": {"SDDAuditor": "-", "SDDStatus": "-"},
        "industryInfo": {"macro": "", "sector": "", "industry": "", "basicIndustry": ""},
    }  # fmt: skip


def quote_equity(ticker: SimTicker, moment: tuple, static: dict) -> dict:
    """NSE's classic ``/api/quote-equity`` body of ``ticker`` at ``moment`` (``SimMarket._moment``),
    sharing the ``static`` sections (``static_sections``) with every other answer of the ticker."""
    symbol = ticker.symbol
    day, minute, live, path, lists, stamp = moment
    last = lists["prices"][minute]
    volume = lists["cum_volume"][minute]
    value = lists["cum_value"][minute]
    prev = path.prev_close
    change = last - prev  # left unrounded: NSE's answers carry the same float noise
    delivered = int(volume * path.delivery_share)
    return {
        "info": static["info"],
        "metadata": {
            "series": ticker.series, "symbol": symbol, "isin": ticker.isin, "status": "Listed",
            "listingDate": "01-Jan-2000", "industry": "", "lastUpdateTime": stamp,
            "pdSectorPe": 24.1, "pdSymbolPe": 22.7, "pdSectorInd": "NIFTY 50".ljust(50),
        },
        "securityInfo": static["securityInfo"],
        "sddDetails": static["sddDetails"],
        "priceInfo": {
            "lastPrice": last, "change": change, "pChange": change / prev * 100 if prev else 0.0,
            "previousClose": prev, "open": path.open, "close": path.close if not live else 0,
            "vwap": round(value / volume, 2) if volume else last,
            "lowerCP": f"{prev * 0.9:.2f}", "upperCP": f"{prev * 1.1:.2f}",
            "pPriceBand": "No Band", "basePrice": prev,
            "intraDayHighLow": {"min": lists["low"][minute], "max": lists["high"][minute], "value": last},
            "weekHighLow": {"min": round(prev * 0.8, 2), "minDate": "17-Apr-2025", "max": round(prev * 1.25, 2),
                            "maxDate": "01-Dec-2024", "value": last},
            "iNavValue": None, "checkINAV": False,
        },
        "industryInfo": static["industryInfo"],
        "preOpenMarket": {"preopen": [], "ato": {"buy": 0, "sell": 0}, "IEP": path.open, "totalTradedVolume": 0,
                          "finalPrice": path.open, "finalQuantity": 0, "lastUpdateTime": f"{day:%d-%b-%Y} 09:07:30",
                          "totalBuyQuantity": 0, "totalSellQuantity": 0, "atoBuyQty": 0, "atoSellQty": 0},
        "securityWiseDP": {
            "quantityTraded": volume, "deliveryQuantity": delivered,
            "deliveryToTradedQuantity": round(delivered / volume * 100, 2) if volume else 0.0,
            "seriesRemarks": None, "secWiseDelPosDate": f"{day:%d-%b-%Y} EOD".upper(),
        },
    }  # fmt: skip


def meta_data(ticker: SimTicker) -> dict:
    """NextApi ``functionName=getMetaData``: a symbol's active series and market type."""
    symbol = ticker.symbol
    return {
        "symbol": symbol, "activeSeries": [ticker.series], "companyName": ticker.name, "debtSeries": [],
        "isFNOSec": "true", "isCASec": "false", "isSLBSec": "true", "isDebtSec": "false",
        "tempSuspendedSeries": [], "isSuspended": "false", "isETFSec": "false", "isDelisted": "false",
        "isin": ticker.isin, "isMunicipalBond": "false", "isHybridSymbol": "false", "marketType": "N",
        "parentSymbol": symbol,
    }  # fmt: skip


def symbol_data(ticker: SimTicker, moment: tuple) -> dict:
    """NextApi ``functionName=getSymbolData``: ``{"equityResponse": [one quote]}`` of ``ticker`` at
    ``moment`` (``SimMarket._moment``), in the shape of NSE's answer since 2026."""
    symbol = ticker.symbol
    day, minute, live, path, lists, stamp = moment
    last = lists["prices"][minute]
    volume, value = lists["cum_volume"][minute], lists["cum_value"][minute]
    prev = path.prev_close
    change = round(last - prev, 2)
    delivered = int(volume * path.delivery_share)
    deliv_pct = round(delivered / volume * 100, 2) if volume else 0.0
    book = {f"{side}{kind}{n}": 0 for side in ("buy", "sell") for n in range(1, 6) for kind in ("Price", "Quantity")}
    book.update(lastPrice=last, totalBuyQuantity=0, totalSellQuantity=0, perBuyQty=0, perSellQty=0)
    element = {
        "orderBook": book,
        "metaData": {
            "identifier": f"{symbol}{ticker.series}N", "companyName": ticker.name.upper(), "isinCode": ticker.isin,
            "symbol": symbol, "series": ticker.series, "marketType": "N", "open": path.open,
            "dayHigh": lists["high"][minute], "dayLow": lists["low"][minute], "previousClose": prev,
            "averagePrice": round(value / volume, 2) if volume else last, "change": change,
            "pChange": round(change / prev * 100, 2) if prev else 0.0, "basePrice": prev,
            # As in NSE's answer: 0 until the close is struck.
            "closePrice": 0 if live else path.close, "indicativeClose": 0, "ic_change": 0, "ic_pchange": 0,
            "spoChange": 0, "spoPchange": 0, "symbolStatus": "NM", "adjPrice": 0, "iep": 0, "ieq": 0,
        },
        "tradeInfo": {
            "totalTradedVolume": volume, "totalTradedValue": round(value, 2), "series": ticker.series,
            "lastPrice": last, "issuedSize": 1_000_000_000, "basePrice": prev, "ffmc": round(last * 6e8, 2),
            "faceValue": 1, "impactCost": 0.02, "deliveryToTradedQuantity": deliv_pct, "applicableMargin": 18.5,
            "marketLot": None, "quantitytraded": volume, "deliveryquantity": delivered,
            "totalMarketCap": round(last * 1e9, 2), "secwisedelposdate": f"{day:%d-%b-%Y} 00:00:00",
        },
        "priceInfo": {
            "yearHightDt": "01-Dec-2025 00:00:00", "yearLowDt": "17-Apr-2025 00:00:00",
            "yearHigh": round(prev * 1.25, 2), "yearLow": round(prev * 0.8, 2),
            "priceBand": f"{prev * 0.9:.2f}-{prev * 1.1:.2f}", "cmDailyVolatility": "2.1",
            "cmAnnualVolatility": "40.2", "tickSize": 0.05, "inav": 0, "isINav": "False", "ppriceBand": "No Band",
        },
        "secInfo": {
            # Strings where NSE writes strings, numbers included.
            "secStatus": "Listed", "listingDate": "01-Jan-2000 00:00:00", "pdSectorInd": "-",
            "pdSectorPe": "24.1", "pdSymbolPe": "22.7", "isSuspended": "Active", "basicIndustry": "",
            "index": "Nifty 50", "deliveryQuantity": str(delivered), "deliveryTotradedQuantity": str(deliv_pct),
            "securityvar": "12.5", "indexvar": "0", "extremelossMargin": "3.5", "varMargin": "12.5",
            "adhocMargin": "0", "applicableMargin": "18.5", "bondType": None, "issueDesc": None, "issueDate": None,
            "maturityDate": None, "couponRate": None, "nxtIpDate": None, "creditRating": None, "macro": "",
            "sector": "", "industryInfo": "", "indexList": ["NIFTY 50"], "boardStatus": "Main",
            "tradingSegment": "Normal Market", "sessionNo": None, "classShare": "Equity",
            "nameOfComplianceOfficer": None, "sddcompliance": None,
        },
        "lastUpdateTime": stamp,
    }  # fmt: skip
    return {"equityResponse": [element]}
