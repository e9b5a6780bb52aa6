"""NSE connectors: the quote API (`nse_api`) and the daily bhavcopy (`nse_bhavcopy`).

NSE's website sits behind a bot shield: API calls without the cookies its pages set, or without a
browser's headers, answer 401/403. So the quote connector first loads the home page and a quote page
(the cookie warm-up), then calls ``/api/quote-equity`` with a Referer, and warms up again once if
the cookies expire mid-run.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote as urlquote
from zoneinfo import ZoneInfo

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

IST = ZoneInfo("Asia/Kolkata")
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
HTML_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
# NSE switched the CM bhavcopy to UDiFF on this day; older days are in the legacy archive.
UDIFF_SINCE = date(2024, 7, 8)
QUOTES_PER_BATCH = 200


def active_symbols() -> list[str]:
    """Symbols of the active NSE tickers in the ticker master (empty when the table is empty)."""
    from warehouse.models import Ticker

    return list(Ticker.objects.filter(active=True, exchange="NSE").order_by("symbol").values_list("symbol", flat=True))


class NseQuoteConnector(Connector):
    """``nse_api``: one ``quote-equity`` answer per ticker; a batch's payload is a list of those answers."""

    source = "nse_api"
    base_url_settings = ("NSE_BASE_URL",)
    headers = BROWSER_HEADERS
    min_interval = 0.35  # about 3 calls a second: NSE blocks faster clients

    def _warm_up(self, symbol: str) -> Answer:
        base = self.base_url("NSE_BASE_URL")
        answer = self.client.get(base + "/", headers={"Accept": HTML_ACCEPT}, label="NSE home page")
        if answer.ok:
            answer = self.client.get(
                f"{base}/get-quotes/equity?symbol={urlquote(symbol)}",
                headers={"Accept": HTML_ACCEPT, "Referer": base + "/"},
                label="NSE quote page",
            )
        return answer

    def quote_url(self, symbol: str) -> str:
        return f"{self.base_url('NSE_BASE_URL')}/api/quote-equity?symbol={urlquote(symbol, safe='')}"

    def fetch(self, *, tickers: list[str] | None = None, since: dict | None = None) -> Iterator[FetchedBatch]:
        symbols = list(tickers or active_symbols())
        if not symbols and self.simulated:
            from pipelines.simulator.universe import universe_symbols

            symbols = universe_symbols()
        if not symbols:
            raise ConnectorError("nse_api: no tickers to fetch: mark tickers active in admin or pass --tickers")
        base = self.base_url("NSE_BASE_URL")
        warm = self._warm_up(symbols[0])
        if not warm.ok:
            reason = warm.error or describe_status(warm)
            raise ConnectorError(
                f"nse_api: cookie warm-up failed: {reason}", payload=warm.text_payload() if warm.status else None
            )
        failures: list[str] = []
        quotes: list = []
        fetched_at = now_utc()
        rewarmed = False
        for symbol in symbols:
            url = self.quote_url(symbol)
            headers = {"Referer": f"{base}/get-quotes/equity?symbol={urlquote(symbol)}"}
            answer = self.client.get(url, headers=headers, label=f"quote {symbol}")
            if answer.status in (401, 403) and not rewarmed:
                # Cookies expire every few minutes: warm up once more, then give the call a second go.
                rewarmed = True
                self._warm_up(symbol)
                answer = self.client.get(url, headers=headers, label=f"quote {symbol}")
            body, error = answer_body(answer)
            if error is None:
                quotes.append(body)
                if len(quotes) >= QUOTES_PER_BATCH:
                    yield self.batch(quotes, fetched_at=fetched_at, records=len(quotes), url=base + "/api/quote-equity")
                    quotes, fetched_at = [], now_utc()
                continue
            failures.append(f"{symbol}: {error}")
            if answer.status is not None:
                kept = body if body is not None else answer.text_payload()
                yield self.batch(kept, url=answer.url, status=answer.status, error=f"{symbol}: {error}", records=0)
        if quotes:
            yield self.batch(quotes, fetched_at=fetched_at, records=len(quotes), url=base + "/api/quote-equity")
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
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def csv_payloads(data: bytes, *, filename: str) -> tuple[list[dict], str | None]:
    """CSV payloads from a CSV file or a zip of them: ``{"format": "csv", "filename", "content"}``."""
    if data[:2] == b"PK":
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
            members = [m for m in archive.infolist() if not m.is_dir() and m.filename.lower().endswith(".csv")]
            if not members:
                names = ", ".join(m.filename for m in archive.infolist()) or "nothing"
                return [], f"{filename}: the zip holds no CSV file (it holds {names})"
            return [
                {"format": "csv", "filename": Path(m.filename).name, "content": decode_text(archive.read(m))}
                for m in members
            ], None
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            return [], f"{filename}: not a readable zip: {exc}"
    return [{"format": "csv", "filename": filename, "content": decode_text(data)}], None


class NseBhavcopyConnector(Connector):
    """``nse_bhavcopy``: the CM bhavcopy of a day (or a range of days), from NSE's archives or files.

    ``since``: ``{"date": "YYYY-MM-DD"}`` or ``{"from": …, "to": …}`` (weekdays only, at most 366);
    by default the newest trading day. A day NSE did not publish (a holiday) is an error, not a crash.
    """

    source = "nse_bhavcopy"
    base_url_settings = ("NSE_ARCHIVES_URL", "NSE_BASE_URL")
    headers = {**BROWSER_HEADERS, "Accept": "*/*"}
    min_interval = 0.5

    @staticmethod
    def days(since: dict | None) -> list[date]:
        since = since or {}
        try:
            if since.get("date"):
                return [date.fromisoformat(str(since["date"]))]
            if since.get("from"):
                start = date.fromisoformat(str(since["from"]))
                end = date.fromisoformat(str(since.get("to") or start))
                if end < start or (end - start).days > 366:
                    raise ConnectorError("nse_bhavcopy: the date range must run forward and span at most 366 days")
                days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
                return [d for d in days if d.weekday() < 5]
        except ValueError as exc:
            raise ConnectorError(f"nse_bhavcopy: bad date: {exc}") from exc
        return [latest_bhavcopy_day()]

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
                failures.append(f"{day}: NSE has no bhavcopy for this day ({', '.join(misses)}: 404; a holiday?)")
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
            text = {"format": "text", "filename": path.name, "bytes": len(data), "body": ""}
            yield FetchedBatch(self.source, text, fetched_at, False, {"file": str(path), "error": error})
