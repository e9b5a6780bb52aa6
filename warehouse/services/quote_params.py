"""The ticker master's quote parameters: the series and market type NSE's quote API wants per symbol."""

from __future__ import annotations

from warehouse.models import Ticker


def ticker_quote_params(*, symbols: list[str], exchange: str = "NSE") -> dict[str, tuple[str, str]]:
    """``{symbol: (series, market_type)}`` of the symbols in the ticker master (market type "" when unknown)."""
    rows = Ticker.objects.filter(exchange=exchange, symbol__in=symbols).values_list("symbol", "series", "market_type")
    return {symbol: (series or "", market_type or "") for symbol, series, market_type in rows}


def ticker_quote_params_save(*, symbol: str, series: str, market_type: str, exchange: str = "NSE") -> bool:
    """Remember what NSE said about ``symbol`` (learnt once); False when the symbol is not in the master."""
    return bool(Ticker.objects.filter(symbol=symbol, exchange=exchange).update(series=series, market_type=market_type))
