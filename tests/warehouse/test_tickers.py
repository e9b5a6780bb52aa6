import pytest

from warehouse.tickers import ticker_normalize


@pytest.mark.parametrize(
    ("raw", "symbol"),
    [
        ("$TCS", "TCS"),
        ("#tcs", "TCS"),
        ("TCS.NS", "TCS"),
        (" tcs ", "TCS"),
        ("J&KBANK", "J&KBANK"),
        ("bajaj-auto", "BAJAJ-AUTO"),
        ("NSE:INFY", "INFY"),
        ("M&M", "M&M"),
    ],
)
def test_it_normalises_every_spelling_of_a_ticker_one_way(raw, symbol):
    assert ticker_normalize(raw) == symbol


@pytest.mark.parametrize("raw", ["", "   ", "$", "TOO-LONG-SYMBOL-NAME-123", "RELIANCE;DROP", "<script>", 42])
def test_it_rejects_what_cannot_be_a_symbol_with_a_clear_error(raw):
    with pytest.raises(ValueError, match="ticker"):
        ticker_normalize(raw)
