"""NSE connectors: the quote API (`nse_api`) and the daily bhavcopy (`nse_bhavcopy`).

Quotes come from the API behind NSE's quote page since its 2026 site migration (``/api/quote-equity``
was retired then, and answers an Akamai 403 page): ``GET /api/NextApi/apiClient/GetQuoteApi?
functionName=getSymbolData&marketType=N&series=EQ&symbol=SYM``. It needs the symbol's series and
market type: both come from the ticker master, and are learnt once from ``functionName=getMetaData``
(``activeSeries``, ``marketType``) for a symbol whose market type is not known yet. It answers without
the cookie warm-up the old route needed; calls are still spaced at about 3 a second, NSE's pace.
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

from pipelines.connectors.base import (
    Answer,
    Connector,
    ConnectorError,
    FetchedBatch,
    answer_body,
    decode_text,
    describe_status,
    now_utc,
)
from pipelines.connectors.limits import zip_members_read
from pipelines.simulator.universe import universe_symbols
from warehouse.calendar import IST, holiday_name, is_trading_day, previous_trading_day
from warehouse.models import Ticker

logger = logging.getLogger(__name__)
BROWSER_HEADERS = {
    "User-Agent": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Safari/537.36"
    ),
    "Accept": "application/json, text/plain, */*",
    "Accept-Language": "en-US,en;q=0.9,hi;q=0.8",
    "Accept-Encoding": "gzip, deflate",
    "Connection": "keep-alive",
}
NEXT_API_PATH = "/api/NextApi/apiClient/GetQuoteApi"
# NSE switched the CM bhavcopy to UDiFF on this day; older days are in the legacy archive.
UDIFF_SINCE = date(2024, 7, 8)
QUOTES_PER_BATCH = 200


def active_symbols() -> list[str]:
    """Symbols of the active NSE tickers in the ticker master (empty when the table is empty)."""
    return list(Ticker.objects.filter(active=True, exchange="NSE").order_by("symbol").values_list("symbol", flat=True))


def refused(answer: Answer, url: str) -> str | None:
    """The one line for an answer that means the endpoint itself is gone or blocked (a 403, or an HTML
    page where JSON was due); None for any other answer."""
    if answer.status is None:
        return None
    html = answer.body[:200].lstrip().lower().startswith((b"<!doctype", b"<html", b"<"))
    if answer.status in (401, 403) or (html and answer.ok and not answer.truncated):
        page = " with an HTML page" if html else ""
        return f"NSE answered {answer.status}{page} at {url}: the endpoint is retired or blocked"
    return None


class NseQuoteConnector(Connector):
    """``nse_api``: one NextApi ``getSymbolData`` answer per ticker; a batch's payload is a list of them."""

    source = "nse_api"
    base_url_settings = ("NSE_BASE_URL",)
    headers = BROWSER_HEADERS

    @property
    def api_url(self) -> str:
        return self.base_url("NSE_BASE_URL") + NEXT_API_PATH

    def _get(self, params: dict, label: str) -> Answer:
        symbol = params["symbol"]
        referer = f"{self.base_url('NSE_BASE_URL')}/get-quotes/equity?symbol={symbol}"
        return self.client.get(self.api_url, params=params, headers={"Referer": referer}, label=label)

    def quote_params(self, symbols: list[str]) -> Iterator[tuple[str, str, str, Answer | None]]:
        """(symbol, series, market type, refusing answer or None) per symbol, learning unknown ones."""
        from warehouse.services.quote_params import ticker_quote_params, ticker_quote_params_save

        known = ticker_quote_params(symbols=symbols)
        for symbol in symbols:
            series, market = known.get(symbol, ("", ""))
            if market:
                yield symbol, series or "EQ", market, None
                continue
            answer = self._get({"functionName": "getMetaData", "symbol": symbol}, f"meta data {symbol}")
            if refused(answer, self.api_url):
                yield symbol, series, market, answer
                return
            body, error = answer_body(answer)
            active = body.get("activeSeries") if isinstance(body, dict) else None
            if error or not isinstance(active, list) or not body.get("marketType"):
                # Not learnt this time: ask with the usual values and try to learn again next run.
                logger.warning("nse_api: no meta data for %s (%s); asking for series EQ, market N", symbol, error)
                yield symbol, series or "EQ", "N", None
                continue
            active = [str(a) for a in active]
            series = series if series in active else ("EQ" if "EQ" in active or not active else active[0])
            market = str(body["marketType"])
            ticker_quote_params_save(symbol=symbol, series=series, market_type=market)
            yield symbol, series, market, None

    def fetch(self, *, tickers: list[str] | None = None, since: dict | None = None) -> Iterator[FetchedBatch]:
        symbols = list(tickers or active_symbols())
        if not symbols and self.simulated:
            symbols = universe_symbols()
        if not symbols:
            raise ConnectorError("nse_api: no tickers to fetch: mark tickers active in admin or pass --tickers")
        failures: list[str] = []
        quotes: list = []
        fetched_at = now_utc()
        for symbol, series, market, refusal in self.quote_params(symbols):
            answer = refusal or self._get(
                {"functionName": "getSymbolData", "marketType": market, "series": series, "symbol": symbol},
                f"quote {symbol}",
            )
            line = refused(answer, self.api_url)
            if line:
                # The endpoint is gone or blocked for us: asking for the other symbols would only
                # collect more deny pages. Keep the page, say it in one line, stop.
                if quotes:
                    yield self.batch(quotes, fetched_at=fetched_at, records=len(quotes), url=self.api_url)
                yield self.batch(answer.text_payload(), url=answer.url, status=answer.status, error=line, records=0)
                raise ConnectorError(line, failures=[line])
            body, error = answer_body(answer)
            if error is None:
                quotes.append(body)
                if len(quotes) >= QUOTES_PER_BATCH:
                    yield self.batch(quotes, fetched_at=fetched_at, records=len(quotes), url=self.api_url)
                    quotes, fetched_at = [], now_utc()
                continue
            failures.append(f"{symbol}: {error}")
            if answer.status is not None:
                kept = body if body is not None else answer.text_payload()
                yield self.batch(kept, url=answer.url, status=answer.status, error=f"{symbol}: {error}", records=0)
        if quotes:
            yield self.batch(quotes, fetched_at=fetched_at, records=len(quotes), url=self.api_url)
        if failures:
            raise ConnectorError(
                f"nse_api: {len(failures)} of {len(symbols)} quotes failed: "
                + "; ".join(failures[:5])
                + (" …" if len(failures) > 5 else ""),
                failures=failures,
            )


def bhavcopy_urls(day: date, archives: str) -> list[tuple[str, str]]:
    """Where NSE publishes the CM bhavcopy of ``day``, most likely first: (url, layout)."""
    mon = day.strftime("%b").upper()
    full = (f"{archives}/products/content/sec_bhavdata_full_{day:%d%m%Y}.csv", "sec_bhavdata_full")
    if day >= UDIFF_SINCE:
        return [(f"{archives}/content/cm/BhavCopy_NSE_CM_0_0_0_{day:%Y%m%d}_F_0000.csv.zip", "udiff"), full]
    legacy = f"{archives}/content/historical/EQUITIES/{day:%Y}/{mon}/cm{day:%d}{mon}{day:%Y}bhav.csv.zip"
    return [(legacy, "legacy"), full]


def latest_bhavcopy_day(now: datetime | None = None) -> date:
    """The newest trading day whose bhavcopy should be out (NSE publishes it in the evening, IST)."""
    local = (now or now_utc()).astimezone(IST)
    day = local.date() if local.hour >= 19 else local.date() - timedelta(days=1)
    return day if is_trading_day(day) else previous_trading_day(day)


# A big CSV becomes batches of this many rows (each with the header), each transformed and loaded on its
# own: memory then grows with the batch, not with the file (a file is at most MAX_PAYLOAD_BYTES).
CSV_BATCH_ROWS = 10_000


def csv_parts(content: str, *, filename: str, rows: int = CSV_BATCH_ROWS) -> list[dict]:
    """One CSV payload per ``rows`` data rows of ``content``, each starting with its header line."""
    header_end = content.find("\n") + 1
    if not header_end or content.count("\n", header_end) <= rows:
        return [{"format": "csv", "filename": filename, "content": content}]
    header, parts, start = content[:header_end], [], header_end
    while start < len(content):
        end = start
        for _ in range(rows):
            end = content.find("\n", end) + 1
            if not end:
                end = len(content)
                break
        parts.append(header + content[start:end])
        start = end
    return [
        {"format": "csv", "filename": filename, "part": f"{n}/{len(parts)}", "content": part}
        for n, part in enumerate(parts, start=1)
    ]


def csv_payloads(data: bytes, *, filename: str) -> tuple[list[dict], str | None]:
    """CSV payloads from a CSV file or a zip of them: ``{"format": "csv", "filename", "content"}``.

    A zip's CSV members may hold at most MAX_PAYLOAD_BYTES together (checked before reading them).
    """
    if data[:2] == b"PK":
        members, error = zip_members_read(data, filename=filename, want=lambda m: m.filename.lower().endswith(".csv"))
        if error:
            return [], error
        if not members:
            try:
                names = ", ".join(zipfile.ZipFile(io.BytesIO(data)).namelist()) or "nothing"
            except (zipfile.BadZipFile, OSError) as exc:
                return [], f"{filename}: not a readable zip: {exc}"
            return [], f"{filename}: the zip holds no CSV file (it holds {names[:200]})"
        return [
            part for name, member in members for part in csv_parts(decode_text(member), filename=Path(name).name)
        ], None
    return csv_parts(decode_text(data), filename=filename), None


class NseBhavcopyConnector(Connector):
    """``nse_bhavcopy``: the CM bhavcopy of a day (or a range of days), from NSE's archives or files.

    ``since``: ``{"date": "YYYY-MM-DD"}`` or ``{"from": …, "to": …}`` (at most 366 days); by default the
    newest trading day. Weekends and the holidays of the trading calendar are not asked for (a holiday
    is not a missing file); a trading day NSE did not publish is an error, not a crash.
    """

    source = "nse_bhavcopy"
    base_url_settings = ("NSE_ARCHIVES_URL", "NSE_BASE_URL")
    headers = {**BROWSER_HEADERS, "Accept": "*/*"}

    @staticmethod
    def days(since: dict | None) -> list[date]:
        """The trading days asked for (weekends and NSE holidays left out)."""
        since = since or {}
        try:
            if since.get("date"):
                days = [date.fromisoformat(str(since["date"]))]
            elif since.get("from"):
                start = date.fromisoformat(str(since["from"]))
                end = date.fromisoformat(str(since.get("to") or start))
                if end < start or (end - start).days > 366:
                    raise ConnectorError("nse_bhavcopy: the date range must run forward and span at most 366 days")
                days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
            else:
                return [latest_bhavcopy_day()]
        except ValueError as exc:
            raise ConnectorError(f"nse_bhavcopy: bad date: {exc}") from exc
        closed = [day for day in days if not is_trading_day(day)]
        for day in closed:
            reason = holiday_name(day) or "a weekend"
            logger.info("nse_bhavcopy: %s is not a trading day (%s): no bhavcopy to fetch", day, reason)
        return [day for day in days if is_trading_day(day)]

    def fetch(self, *, tickers: list[str] | None = None, since: dict | None = None) -> Iterator[FetchedBatch]:
        archives = self.base_url("NSE_ARCHIVES_URL")
        days = self.days(since)
        failures = []
        for day in days:
            misses = []
            for url, layout in bhavcopy_urls(day, archives):
                answer = self.client.get(url, label=f"bhavcopy {day}")
                if answer.status == 404:
                    misses.append(layout)
                    continue
                error = answer.error or (None if answer.ok else describe_status(answer))
                if error is None and answer.truncated:
                    error = f"answer over the {answer.cap:,} bytes size cap"
                if error is None and answer.body[:200].lstrip().lower().startswith((b"<!doctype", b"<html")):
                    error = f"an HTML page instead of a bhavcopy ({describe_status(answer)})"
                if error is None and not answer.body.strip():
                    error = f"empty body ({describe_status(answer)})"
                if error is None:
                    payloads, error = csv_payloads(answer.body, filename=url.rsplit("/", 1)[-1].removesuffix(".zip"))
                    for payload in payloads:
                        yield self.batch(payload, url=answer.url, layout=layout, date=day.isoformat())
                    if error is None:
                        break
                failures.append(f"{day}: {error}")
                if answer.status is not None:
                    yield self.batch(
                        answer.text_payload(), url=answer.url, status=answer.status, error=f"{day}: {error}"
                    )
                break
            else:
                failures.append(
                    f"{day}: NSE has no bhavcopy for this day ({', '.join(misses)}: 404), though the trading "
                    "calendar has no holiday on it"
                )
        if failures:
            raise ConnectorError(
                f"nse_bhavcopy: {len(failures)} of {len(days)} days failed: " + "; ".join(failures[:5]),
                failures=failures,
            )

    def file_batches(self, path: Path, data: bytes, fetched_at: datetime) -> Iterator[FetchedBatch]:
        payloads, error = csv_payloads(data, filename=path.name)
        for payload in payloads:
            yield FetchedBatch(self.source, payload, fetched_at, False, {"file": str(path)})
        if error:
            # The file's bytes are kept beside the envelope (FetchedBatch.raw): nothing is lost.
            text = {"format": "text", "filename": path.name, "bytes": len(data), "error": error, "body": ""}
            yield FetchedBatch(self.source, text, fetched_at, False, {"file": str(path), "error": error})


HOLIDAY_PATH = "/api/holiday-master"


class NseHolidayConnector(Connector):
    """NSE's trading holidays, ``GET /api/holiday-master?type=trading`` (every segment; ``CM`` is the
    equity calendar). Reference data for ``warehouse.calendar``, not a pipeline: one answer, one batch."""

    source = "nse_holidays"
    base_url_settings = ("NSE_BASE_URL",)
    headers = BROWSER_HEADERS

    def fetch(self, *, tickers: list[str] | None = None, since: dict | None = None) -> Iterator[FetchedBatch]:
        base = self.base_url("NSE_BASE_URL")
        url = base + HOLIDAY_PATH
        answer = self.client.get(
            url,
            params={"type": "trading"},
            headers={"Referer": base + "/resources/exchange-communication-holidays"},
            label="NSE holiday master",
        )
        body, error = answer_body(answer)
        error = refused(answer, url) or error
        if error:
            raise ConnectorError(
                f"nse holidays: {error}", payload=answer.text_payload() if answer.status is not None else None
            )
        yield self.batch(body, url=answer.url, status=answer.status)
