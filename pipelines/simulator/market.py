"""A deterministic NSE market: minute prices and volumes per ticker, pump campaigns, quotes, bhavcopies.

Everything is a pure function of (seed, symbol, trading day, minute): the same question always gets
the same answer, in any process. A trading day runs 09:15-15:30 IST (375 minutes) on the days of the
trading calendar (``warehouse.calendar``: no trading on NSE holidays); outside it the market answers
the last close. Each trading day has pump campaigns on a few tickers: hype on social
media first, then a price and volume spike, then a dump below where it started.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np

from pipelines.simulator.bhavcopies import FULL_HEADER as FULL_HEADER
from pipelines.simulator.bhavcopies import LEGACY_HEADER as LEGACY_HEADER
from pipelines.simulator.bhavcopies import UDIFF_HEADER as UDIFF_HEADER
from pipelines.simulator.bhavcopies import full_csv, legacy_csv, udiff_csv
from pipelines.simulator.bhavcopies import hash_int as hash_int
from pipelines.simulator.bhavcopies import zipped as zipped
from pipelines.simulator.quotes import meta_data, quote_equity, static_sections, symbol_data
from pipelines.simulator.universe import SimTicker, stable_unit, universe
from warehouse.calendar import IST, is_trading_day, previous_trading_day

OPEN_TIME = time(9, 15)
MINUTES = 375  # 09:15 … 15:29
# After the close NSE stamps a quote 16:00:00, once the closing price is struck.
CLOSING_STRUCK = time(16, 0)
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
        if live or when.astimezone(IST) < datetime.combine(day, CLOSING_STRUCK, IST):
            # The end of the minute; between the close and 16:00, the last minute's (15:30:00): a stamp is
            # never far ahead of its answer (30 minutes ahead, a quote is refused as a future timestamp).
            stamp = (datetime.combine(day, OPEN_TIME) + timedelta(minutes=minute + 1)).strftime("%d-%b-%Y %H:%M:%S")
        else:
            stamp = f"{day:%d-%b-%Y} 16:00:00"
        return day, minute, live, path, path.lists(), stamp

    # ---- NSE quote-equity -----------------------------------------------------------------------
    def _static_sections(self, ticker: SimTicker) -> dict:
        """The parts of a quote that do not move during the day (built once per ticker, then shared)."""
        sections = self._static.get(ticker.symbol)
        if sections is None:
            sections = self._static[ticker.symbol] = static_sections(ticker)
        return sections

    def quote(self, symbol: str, when: datetime) -> dict:
        """NSE's classic ``/api/quote-equity`` body for ``symbol`` at ``when`` ({} for an unknown symbol).

        The sections that never change (info, securityInfo …) are shared between answers: treat the
        result as read-only, as a decoded JSON answer would be.
        """
        ticker = self.by_symbol.get(symbol)
        if ticker is None:
            return {}
        return quote_equity(ticker, self._moment(symbol, when), self._static_sections(ticker))

    # ---- NSE NextApi (GetQuoteApi) --------------------------------------------------------------
    def meta_data(self, symbol: str) -> dict:
        """NextApi ``functionName=getMetaData``: a symbol's active series and market type ({} if unknown)."""
        ticker = self.by_symbol.get(symbol)
        if ticker is None:
            return {}
        return meta_data(ticker)

    def symbol_data(self, symbol: str, when: datetime) -> dict:
        """NextApi ``functionName=getSymbolData``: ``{"equityResponse": [one quote]}`` for ``symbol`` at
        ``when``, in the shape of NSE's answer since 2026 (an empty list for an unknown symbol)."""
        ticker = self.by_symbol.get(symbol)
        if ticker is None:
            return {"equityResponse": []}
        return symbol_data(ticker, self._moment(symbol, when))

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
        return udiff_csv(day, self.bhav_rows(day))

    def bhavcopy_full(self, day: date) -> str:
        return full_csv(day, self.bhav_rows(day))

    def bhavcopy_legacy(self, day: date) -> str:
        return legacy_csv(day, self.bhav_rows(day))


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)
