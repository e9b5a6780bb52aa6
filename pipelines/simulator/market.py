"""A deterministic NSE market: minute prices and volumes per ticker, pump campaigns, quotes, bhavcopies.

Everything is a pure function of (seed, symbol, trading day, minute): the same question always gets
the same answer, in any process. A trading day runs 09:15-15:30 IST (375 minutes) on the days of the
trading calendar (``warehouse.calendar``: no trading on NSE holidays); outside it the market answers
the last close. Each trading day has pump campaigns on a few tickers: hype on social
media first, then a price and volume spike, then a dump below where it started.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np

from pipelines.simulator.universe import SimTicker, stable_unit, universe
from warehouse.calendar import IST, is_trading_day, previous_trading_day

OPEN_TIME = time(9, 15)
MINUTES = 375  # 09:15 … 15:29
# Campaign phases, in minutes from the campaign start: hype, then spike, then dump.
HYPE, SPIKE, DUMP = 45, 60, 60


def rng(*parts) -> np.random.Generator:
    return np.random.default_rng(int(stable_unit(*parts) * 2**63))


@dataclass(frozen=True)
class Campaign:
    """One pump-and-dump: who hypes which ticker when, and how far the price is pushed."""

    symbol: str
    day: date
    start: int  # minute of the trading day the hype starts
    gain: float  # peak price move, e.g. 0.12 for +12 %
    accounts: tuple[str, ...]
    channels: tuple[int, ...]
    target: float

    @property
    def spike_start(self) -> int:
        return self.start + HYPE

    @property
    def dump_start(self) -> int:
        return self.start + HYPE + SPIKE

    @property
    def end(self) -> int:
        return self.start + HYPE + SPIKE + DUMP

    def phase(self, minute: int) -> str | None:
        """``hype``, ``spike``, ``dump`` or None for a minute of the trading day."""
        if self.start <= minute < self.spike_start:
            return "hype"
        if self.spike_start <= minute < self.dump_start:
            return "spike"
        if self.dump_start <= minute < self.end:
            return "dump"
        return None

    def at(self, when: datetime) -> str | None:
        local = when.astimezone(IST)
        if local.date() != self.day:
            return None
        return self.phase(int((local - datetime.combine(self.day, OPEN_TIME, IST)).total_seconds() // 60))

    def starts_at(self) -> datetime:
        return datetime.combine(self.day, OPEN_TIME, IST) + timedelta(minutes=self.start)


@dataclass
class DayPath:
    prices: np.ndarray  # last traded price at the end of each minute
    volumes: np.ndarray  # shares traded in each minute
    cum_volume: np.ndarray
    cum_value: np.ndarray
    high: np.ndarray  # running high / low of the day
    low: np.ndarray
    open: float
    prev_close: float
    delivery_share: float  # share of the day's volume taken to delivery

    @property
    def close(self) -> float:
        return float(self.prices[-1])

    def lists(self) -> dict:
        # Plain Python numbers: indexing them is several times faster than numpy scalars.
        cached = self.__dict__.get("_lists")
        if cached is None:
            cached = self.__dict__["_lists"] = {
                "prices": self.prices.tolist(),
                "cum_volume": self.cum_volume.tolist(),
                "cum_value": self.cum_value.tolist(),
                "high": self.high.tolist(),
                "low": self.low.tolist(),
            }
        return cached


PUMP_ACCOUNTS = tuple(f"{name}" for name in (
    "RocketStocksIN", "MultibaggerGuru", "UpperCircuitKing", "OperatorTipsPro", "SmallcapSniper",
    "DalalBullRun", "JackpotShares", "TargetHitCalls",
))  # fmt: skip
PUMP_CHANNELS = (-1001600000003, -1001600000004)


class SimMarket:
    def __init__(self, *, seed: int = 42, tickers: list[SimTicker] | None = None, campaigns_per_day: int = 1):
        self.seed = seed
        self.tickers = tickers if tickers is not None else universe()
        self.by_symbol = {t.symbol: t for t in self.tickers}
        self.campaigns_per_day = campaigns_per_day
        self._paths: dict = {}
        self._static: dict = {}

    # ---- campaigns ---------------------------------------------------------------------------
    def campaigns(self, day: date) -> list[Campaign]:
        if not is_trading_day(day) or not self.tickers:
            return []
        r = rng(self.seed, "campaign", day.isoformat())
        count = min(self.campaigns_per_day, len(self.tickers))
        picks = r.choice(len(self.tickers), size=count, replace=False)
        out = []
        for n, index in enumerate(sorted(int(i) for i in picks)):
            ticker = self.tickers[index]
            start = int(r.integers(30, 150)) + 20 * n
            gain = float(r.uniform(0.08, 0.18))
            accounts = tuple(PUMP_ACCOUNTS[int(i)] for i in r.choice(len(PUMP_ACCOUNTS), size=4, replace=False))
            level = self.level(ticker.symbol, day)
            out.append(
                Campaign(
                    symbol=ticker.symbol,
                    day=day,
                    start=start,
                    gain=gain,
                    accounts=accounts,
                    channels=PUMP_CHANNELS,
                    target=float(round(level * (1.3 + gain), -1 if level > 100 else 0)),
                )
            )
        return out

    def campaign_for(self, symbol: str, day: date) -> Campaign | None:
        return next((c for c in self.campaigns(day) if c.symbol == symbol), None)

    # ---- prices ------------------------------------------------------------------------------
    def level(self, symbol: str, day: date) -> float:
        """The day's opening level: the base price moved by a stable, mean-reverting daily factor."""
        ticker = self.by_symbol.get(symbol)
        base = ticker.base_price if ticker else 50 * 100 ** stable_unit("price", symbol)
        z = rng(self.seed, "level", symbol, day.isoformat()).standard_normal()
        return round(base * float(np.exp(0.03 * z)), 2)

    def day_path(self, symbol: str, day: date) -> DayPath:
        key = (symbol, day)
        path = self._paths.get(key)
        if path is None:
            if len(self._paths) > 20_000:
                self._paths.clear()
            path = self._paths[key] = self._build_path(symbol, day)
        return path

    def _build_path(self, symbol: str, day: date, *, with_prev: bool = True) -> DayPath:
        r = rng(self.seed, "path", symbol, day.isoformat())
        opening = self.level(symbol, day)
        log_returns = r.normal(0.0, 0.0009, MINUTES)
        minutes = np.arange(MINUTES)
        # U-shaped intraday volume: busy at the open and the close.
        shape = 1.0 + 1.5 * np.exp(-minutes / 25) + 1.0 * np.exp(-(MINUTES - 1 - minutes) / 25)
        base_volume = 2_000 + 40_000 * stable_unit(self.seed, "volume", symbol)
        volumes = base_volume * shape * r.lognormal(0.0, 0.35, MINUTES)
        factor = np.ones(MINUTES)
        campaign = self.campaign_for(symbol, day)
        if campaign is not None:
            up = np.clip((minutes - campaign.spike_start) / SPIKE, 0, 1)
            down = np.clip((minutes - campaign.dump_start) / DUMP, 0, 1)
            # Up by `gain` during the spike, then down to 5 % below where it started.
            factor = 1 + campaign.gain * up - (campaign.gain + 0.05) * down
            volume_boost = np.ones(MINUTES)
            volume_boost[campaign.start : campaign.spike_start] = 1.5
            volume_boost[campaign.spike_start : campaign.dump_start] = 8.0
            volume_boost[campaign.dump_start : campaign.end] = 5.0
            volumes = volumes * volume_boost
        prices = np.round(opening * np.exp(np.cumsum(log_returns)) * factor, 2)
        prices[0] = opening
        volumes = np.maximum(np.round(volumes), 1).astype(np.int64)
        cum_volume = np.cumsum(volumes)
        # The previous close comes from the previous day's own path (one level deep, no recursion).
        prev_close = self.close(symbol, previous_trading_day(day)) if with_prev else opening
        return DayPath(
            prices=prices,
            volumes=volumes,
            cum_volume=cum_volume,
            cum_value=np.cumsum(prices * volumes),
            high=np.maximum.accumulate(prices),
            low=np.minimum.accumulate(prices),
            open=opening,
            prev_close=prev_close,
            delivery_share=0.35 + 0.3 * stable_unit(self.seed, "deliv", symbol, day),
        )

    def close(self, symbol: str, day: date) -> float:
        """The close of ``day`` without building its neighbours (no recursion into earlier days)."""
        key = (symbol, day)
        if key in self._paths:
            return self._paths[key].close
        return self._build_path(symbol, day, with_prev=False).close

    # ---- clock -------------------------------------------------------------------------------
    @staticmethod
    def session_at(when: datetime) -> tuple[date, int, bool]:
        """(trading day, minute index, live?) of the market at ``when``: the last close when shut."""
        local = when.astimezone(IST)
        day = local.date()
        opened = datetime.combine(day, OPEN_TIME, IST)
        minute = int((local - opened).total_seconds() // 60)
        if is_trading_day(day) and 0 <= minute < MINUTES:
            return day, minute, True
        if not is_trading_day(day) or minute < 0:
            day = previous_trading_day(day)
        return day, MINUTES - 1, False

    def _moment(self, symbol: str, when: datetime) -> tuple[date, int, bool, DayPath, dict, str]:
        """(day, minute, live?, the day's path, its lists, NSE's lastUpdateTime) of a quote at ``when``."""
        day, minute, live = self.session_at(when)
        path = self.day_path(symbol, day)
        if live:
            stamp = (datetime.combine(day, OPEN_TIME) + timedelta(minutes=minute + 1)).strftime("%d-%b-%Y %H:%M:%S")
        else:
            stamp = f"{day:%d-%b-%Y} 16:00:00"
        return day, minute, live, path, path.lists(), stamp

    # ---- NSE quote-equity -----------------------------------------------------------------------
    def _static_sections(self, ticker: SimTicker) -> dict:
        """The parts of a quote that do not move during the day (built once per ticker, then shared)."""
        sections = self._static.get(ticker.symbol)
        if sections is None:
            symbol = ticker.symbol
            sections = self._static[symbol] = {
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
        return sections

    def quote(self, symbol: str, when: datetime) -> dict:
        """NSE's classic ``/api/quote-equity`` body for ``symbol`` at ``when`` ({} for an unknown symbol).

        The sections that never change (info, securityInfo …) are shared between answers: treat the
        result as read-only, as a decoded JSON answer would be.
        """
        ticker = self.by_symbol.get(symbol)
        if ticker is None:
            return {}
        day, minute, live, path, lists, stamp = self._moment(symbol, when)
        last = lists["prices"][minute]
        volume = lists["cum_volume"][minute]
        value = lists["cum_value"][minute]
        prev = path.prev_close
        change = last - prev  # left unrounded: NSE's answers carry the same float noise
        delivered = int(volume * path.delivery_share)
        static = self._static_sections(ticker)
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

    # ---- NSE NextApi (GetQuoteApi) --------------------------------------------------------------
    def meta_data(self, symbol: str) -> dict:
        """NextApi ``functionName=getMetaData``: a symbol's active series and market type ({} if unknown)."""
        ticker = self.by_symbol.get(symbol)
        if ticker is None:
            return {}
        return {
            "symbol": symbol, "activeSeries": [ticker.series], "companyName": ticker.name, "debtSeries": [],
            "isFNOSec": "true", "isCASec": "false", "isSLBSec": "true", "isDebtSec": "false",
            "tempSuspendedSeries": [], "isSuspended": "false", "isETFSec": "false", "isDelisted": "false",
            "isin": ticker.isin, "isMunicipalBond": "false", "isHybridSymbol": "false", "marketType": "N",
            "parentSymbol": symbol,
        }  # fmt: skip

    def symbol_data(self, symbol: str, when: datetime) -> dict:
        """NextApi ``functionName=getSymbolData``: ``{"equityResponse": [one quote]}`` for ``symbol`` at
        ``when``, in the shape of NSE's answer since 2026 (an empty list for an unknown symbol)."""
        ticker = self.by_symbol.get(symbol)
        if ticker is None:
            return {"equityResponse": []}
        day, minute, live, path, lists, stamp = self._moment(symbol, when)
        last = lists["prices"][minute]
        volume, value = lists["cum_volume"][minute], lists["cum_value"][minute]
        prev = path.prev_close
        change = round(last - prev, 2)
        delivered = int(volume * path.delivery_share)
        deliv_pct = round(delivered / volume * 100, 2) if volume else 0.0
        book = {
            f"{side}{kind}{n}": 0 for side in ("buy", "sell") for n in range(1, 6) for kind in ("Price", "Quantity")
        }
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

    # ---- bhavcopies --------------------------------------------------------------------------
    def bhav_rows(self, day: date) -> list[dict]:
        rows = []
        for ticker in sorted(self.tickers, key=lambda t: t.symbol):
            path = self.day_path(ticker.symbol, day)
            volume = int(path.cum_volume[-1])
            value = float(path.cum_value[-1])
            rows.append(
                {
                    "ticker": ticker, "open": path.open, "high": float(path.high[-1]), "low": float(path.low[-1]),
                    "close": path.close, "last": path.close, "prev_close": path.prev_close, "volume": volume,
                    "value": value, "trades": max(1, volume // 37),
                    "delivery": int(volume * path.delivery_share),
                }
            )  # fmt: skip
        return rows

    def bhavcopy_udiff(self, day: date) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(UDIFF_HEADER)
        for r in self.bhav_rows(day):
            t = r["ticker"]
            writer.writerow([
                day.isoformat(), day.isoformat(), "CM", "NSE", "STK", abs(hash_int(t.symbol)) % 100000, t.isin,
                t.symbol, t.series, "", "", "", "", t.name.upper(), f"{r['open']:.2f}", f"{r['high']:.2f}",
                f"{r['low']:.2f}", f"{r['close']:.2f}", f"{r['last']:.2f}", f"{r['prev_close']:.2f}", "",
                f"{r['close']:.2f}", "", "", r["volume"], f"{r['value']:.2f}", r["trades"], "F1", 1, "", "", "", "", "",
            ])  # fmt: skip
        return out.getvalue()

    def bhavcopy_full(self, day: date) -> str:
        lines = [", ".join(FULL_HEADER)]
        for r in self.bhav_rows(day):
            t = r["ticker"]
            deliv_pct = r["delivery"] / r["volume"] * 100 if r["volume"] else 0
            avg = r["value"] / r["volume"] if r["volume"] else r["close"]
            lines.append(", ".join([
                t.symbol, t.series, f"{day:%d-%b-%Y}", f"{r['prev_close']:.2f}", f"{r['open']:.2f}", f"{r['high']:.2f}",
                f"{r['low']:.2f}", f"{r['last']:.2f}", f"{r['close']:.2f}", f"{avg:.2f}", str(r["volume"]),
                f"{r['value'] / 100_000:.2f}", str(r["trades"]), str(r["delivery"]), f"{deliv_pct:.2f}",
            ]))  # fmt: skip
        # NSE writes this file with CRLF line ends.
        return "\r\n".join(lines) + "\r\n"

    def bhavcopy_legacy(self, day: date) -> str:
        lines = [",".join(LEGACY_HEADER) + ","]
        for r in self.bhav_rows(day):
            t = r["ticker"]
            lines.append(",".join([
                t.symbol, t.series, _g(r["open"]), _g(r["high"]), _g(r["low"]), _g(r["close"]), _g(r["last"]),
                _g(r["prev_close"]), str(r["volume"]), _g(round(r["value"], 2)), f"{day:%d-%b-%Y}".upper(),
                str(r["trades"]), t.isin,
            ]) + ",")  # fmt: skip
        return "\n".join(lines) + "\n"


def zipped(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 18, 0, 0))  # fixed: same bytes on every call
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, text)
    return buffer.getvalue()


def hash_int(text: str) -> int:
    return int(stable_unit("id", text) * 10**9)


def _g(value: float) -> str:
    # The legacy file writes prices without trailing zeros (41.8, not 41.80).
    return f"{value:.2f}".rstrip("0").rstrip(".")


UDIFF_HEADER = [
    "TradDt",
    "BizDt",
    "Sgmt",
    "Src",
    "FinInstrmTp",
    "FinInstrmId",
    "ISIN",
    "TckrSymb",
    "SctySrs",
    "XpryDt",
    "FininstrmActlXpryDt",
    "StrkPric",
    "OptnTp",
    "FinInstrmNm",
    "OpnPric",
    "HghPric",
    "LwPric",
    "ClsPric",
    "LastPric",
    "PrvsClsgPric",
    "UndrlygPric",
    "SttlmPric",
    "OpnIntrst",
    "ChngInOpnIntrst",
    "TtlTradgVol",
    "TtlTrfVal",
    "TtlNbOfTxsExctd",
    "SsnId",
    "NewBrdLotQty",
    "Rmks",
    "Rsvd1",
    "Rsvd2",
    "Rsvd3",
    "Rsvd4",
]
FULL_HEADER = [
    "SYMBOL",
    "SERIES",
    "DATE1",
    "PREV_CLOSE",
    "OPEN_PRICE",
    "HIGH_PRICE",
    "LOW_PRICE",
    "LAST_PRICE",
    "CLOSE_PRICE",
    "AVG_PRICE",
    "TTL_TRD_QNTY",
    "TURNOVER_LACS",
    "NO_OF_TRADES",
    "DELIV_QTY",
    "DELIV_PER",
]
LEGACY_HEADER = [
    "SYMBOL",
    "SERIES",
    "OPEN",
    "HIGH",
    "LOW",
    "CLOSE",
    "LAST",
    "PREVCLOSE",
    "TOTTRDQTY",
    "TOTTRDVAL",
    "TIMESTAMP",
    "TOTALTRADES",
    "ISIN",
]


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)
