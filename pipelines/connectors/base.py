"""The connector plumbing: fetched batches, errors, and one careful HTTP client for every upstream.

The client retries only what may succeed on a second try (429, 5xx, timeouts, dropped connections),
a bounded number of times, honouring ``Retry-After`` and X's ``x-rate-limit-reset`` up to a cap so a
struggling upstream never meets a retry storm. It spaces calls (rate limiting), caps the size of an
answer, and turns every answer that is not the data we asked for (an HTML error page, truncated JSON,
an empty body, 10 MB of anything) into a ``text`` payload that is still kept in the lake.
"""

from __future__ import annotations

import email.utils
import logging
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from django.conf import settings

from pipelines.connectors.deadline import DeadlineAdapter, deadline
from pipelines.simulator.adapter import SimulatedUpstreamAdapter

from .limits import json_decode, payload_cap

logger = logging.getLogger(__name__)

# The kept copy of an answer that is not data is cut to this many characters.
TEXT_KEEP_CHARS = 64 * 1024
# A text payload's original bytes, until the pipeline hands them to the lake (raw_split).
RAW_KEY = "_raw_bytes"


@dataclass
class FetchedBatch:
    """One raw payload as received (or read from a file), ready for the lake.

    ``payload`` is JSON-serialisable and is exactly what the lake stores. ``meta`` carries what the
    orchestration needs besides the payload: ``error`` (a bad answer, still kept), ``state`` (the
    connector state to persist once this batch is safely stored), ``url``, ``status``, ``file``,
    ``attempts``, ``records`` (an estimate of records inside).
    """

    source: str
    payload: Any
    fetched_at: datetime
    simulated: bool = False
    meta: dict = field(default_factory=dict)
    # The original bytes (a file as read), kept in the lake beside the envelope before any decoding.
    raw: bytes | None = None
    raw_name: str = ""

    @property
    def error(self) -> str | None:
        return self.meta.get("error")


class ConnectorError(Exception):
    """A clear, one-line reason why fetching failed (in part or in full).

    ``payload`` is the raw answer when there was one (for the lake); ``failures`` lists every failed
    request when the connector raises after yielding what it could.
    """

    def __init__(self, message: str, payload: Any = None, *, failures: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.payload = payload
        self.failures = failures or []


@dataclass
class Answer:
    """What one HTTP exchange produced after retries: a status and body, or only an error."""

    url: str
    status: int | None = None
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    truncated: bool = False
    size: int = 0
    cap: int = 0
    attempts: int = 0
    error: str | None = None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def text_payload(self, *, url: str | None = None) -> dict:
        """The answer as a ``text`` payload: kept in the lake when it is not the data we asked for."""
        body = self.text().replace("\x00", "")
        return {
            "format": "text",
            "status": self.status,
            "content_type": self.content_type,
            "url": url or self.url,
            "bytes": self.size,
            "truncated": self.truncated or len(body) > TEXT_KEEP_CHARS,
            "body": body[:TEXT_KEEP_CHARS],
            # Every byte that was read (at most the size cap), exactly as received: the pipeline moves
            # them out of the payload into the lake's raw object beside the envelope (raw_split).
            RAW_KEY: self.body,
        }


def raw_split(payload):
    """(payload without its original bytes, the bytes or None): a text payload carries the answer's
    bytes under RAW_KEY until the lake keeps them beside the envelope."""
    if isinstance(payload, dict) and isinstance(payload.get(RAW_KEY), bytes):
        payload = dict(payload)
        return payload, payload.pop(RAW_KEY)
    return payload, None


def now_utc() -> datetime:
    return datetime.now(UTC)


def describe_status(answer: Answer) -> str:
    return f"HTTP {answer.status}" + (f" ({answer.content_type.split(';')[0]})" if answer.content_type else "")


def json_or_error(answer: Answer) -> tuple[Any, str | None]:
    """Decode a JSON answer; otherwise say in one line why it is not JSON."""
    if answer.truncated:
        return None, (
            f"answer over the {answer.cap:,} bytes size cap ({answer.size:,} bytes read before stopping; "
            f"{describe_status(answer)}): refused, the first {TEXT_KEEP_CHARS // 1024} KB kept"
        )
    if not answer.body.strip():
        return None, f"empty body ({describe_status(answer)})"
    head = answer.body[:200].lstrip().lower()
    if head.startswith((b"<!doctype", b"<html", b"<?xml", b"<")):
        return None, f"an HTML/XML page instead of JSON ({describe_status(answer)})"
    value, error = json_decode(answer.body)
    if error:
        return None, f"malformed or truncated JSON ({describe_status(answer)}): {error}"
    return value, None


def answer_body(answer: Answer) -> tuple[Any, str | None]:
    """(decoded JSON body or None, error or None) of an answer: a non-2xx status is always an error,
    its JSON body (if any) still returned so the lake keeps it as sent."""
    if answer.error:
        return None, answer.error
    if answer.ok:
        return json_or_error(answer)
    body = None
    if answer.body.strip() and not answer.truncated:
        body, _error = json_decode(answer.body)
    return body, describe_status(answer)


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<redacted>")
    return text


class UpstreamClient:
    """A ``requests`` session with bounded retries, backoff, rate limiting and a size cap.

    With ``simulated=True`` the simulated upstream is mounted on the session for ``base_urls`` as a
    transport adapter, so everything above the socket (headers, cookies, retries, parsing) runs as
    it does against the real service.
    """

    RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 520, 521, 522, 524})

    def __init__(
        self,
        *,
        base_urls: Iterable[str],
        simulated: bool,
        timeout: float | None = None,
        headers: dict | None = None,
        max_attempts: int | None = None,
        backoff: float | None = None,
        retry_wait_cap: float | None = None,
        min_interval: float = 0.0,
        max_bytes: int | None = None,
        secrets: Iterable[str] = (),
    ):
        self.timeout = float(timeout if timeout is not None else settings.UPSTREAM_TIMEOUT)
        self.max_attempts = int(max_attempts or settings.UPSTREAM_MAX_ATTEMPTS)
        self.backoff = float(backoff if backoff is not None else settings.UPSTREAM_BACKOFF)
        self.retry_wait_cap = float(retry_wait_cap if retry_wait_cap is not None else settings.UPSTREAM_RETRY_WAIT_CAP)
        # The simulated upstream needs no politeness; the real ones do.
        self.min_interval = 0.0 if simulated else float(min_interval)
        self.max_bytes = int(max_bytes or settings.UPSTREAM_MAX_BYTES)
        self.secrets = [s for s in secrets if s]
        self.simulated = simulated
        # Wall clock per request (connect, headers and body): `timeout` only bounds each socket read.
        self.deadline = float(settings.UPSTREAM_REQUEST_DEADLINE)
        self.session = requests.Session()
        self._adapters = [DeadlineAdapter(), DeadlineAdapter()]
        self.session.mount("http://", self._adapters[0])
        self.session.mount("https://", self._adapters[1])
        self.session.headers.update(headers or {})
        self.slept = 0.0
        self._last_call = 0.0
        if simulated:
            adapter = SimulatedUpstreamAdapter()
            for base in base_urls:
                self.session.mount(base.rstrip("/") + "/", adapter)

    def close(self) -> None:
        self.session.close()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.slept += seconds
            time.sleep(seconds)

    def _space_calls(self) -> None:
        if self.min_interval:
            wait = self._last_call + self.min_interval - time.monotonic()
            self.sleep(wait)
        self._last_call = time.monotonic()

    def retry_wait(self, response: requests.Response | None, attempt: int) -> float:
        """Seconds to wait before the next attempt: the upstream's word if it gave one, else backoff."""
        backoff = self.backoff * (2 ** (attempt - 1))
        if response is None:
            return backoff
        wait = None
        retry_after = response.headers.get("Retry-After")
        if retry_after:
            retry_after = retry_after.strip()
            if re.fullmatch(r"\d+(\.\d+)?", retry_after):
                wait = float(retry_after)
            else:
                try:
                    wait = (email.utils.parsedate_to_datetime(retry_after) - now_utc()).total_seconds()
                except (TypeError, ValueError):
                    wait = None
        reset = response.headers.get("x-rate-limit-reset")
        if wait is None and reset and reset.strip().isdigit() and response.status_code == 429:
            # X API: epoch seconds when the window resets.
            wait = int(reset) - time.time()
        return max(wait, 0.0) if wait is not None else backoff

    def _read_capped(self, response: requests.Response) -> tuple[bytes, bool, int]:
        chunks, size = [], 0
        for chunk in response.iter_content(64 * 1024):
            chunks.append(chunk)
            size += len(chunk)
            if size > self.max_bytes:
                response.close()
                return b"".join(chunks), True, size
        return b"".join(chunks), False, size

    def get(self, url: str, *, params: dict | None = None, headers: dict | None = None, label: str = "") -> Answer:
        """GET with bounded retries on 429/5xx/timeouts; never raises for network trouble."""
        shown = redact(url, self.secrets)
        answer = Answer(url=shown, cap=self.max_bytes)
        for attempt in range(1, self.max_attempts + 1):
            answer.attempts = attempt
            self._space_calls()
            response = None
            try:
                with deadline(self._adapters, self.deadline) as clock:
                    response = self.session.get(url, params=params, headers=headers, timeout=self.timeout, stream=True)
                    body, truncated, size = self._read_capped(response)
                if clock.expired:
                    # The watchdog cut the socket; what came before the cut is not a whole answer.
                    raise requests.Timeout("deadline")
            except requests.Timeout:
                answer.error = (
                    f"no complete answer within the {self.deadline:g} s deadline (UPSTREAM_REQUEST_DEADLINE)"
                    if clock.expired
                    else f"timed out after {self.timeout:g} s"
                )
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                answer.error = (
                    f"no complete answer within the {self.deadline:g} s deadline (UPSTREAM_REQUEST_DEADLINE)"
                    if clock.expired
                    else "connection failed: " + redact(str(exc), self.secrets)[:300]
                )
            except requests.RequestException as exc:
                answer.error = "request failed: " + redact(str(exc), self.secrets)[:300]
                answer.attempts = attempt
                return answer
            else:
                answer.status = response.status_code
                answer.headers = {k.lower(): v for k, v in response.headers.items()}
                answer.body, answer.truncated, answer.size = body, truncated, size
                answer.error = None
                if response.status_code not in self.RETRY_STATUSES:
                    return answer
            if attempt == self.max_attempts:
                break
            wait = self.retry_wait(response, attempt)
            if wait > self.retry_wait_cap:
                # Waiting that long is the scheduler's job, not a worker's: stop here, say why.
                answer.error = (
                    f"{describe_status(answer)}: upstream asks to wait {wait:.0f} s, more than the "
                    f"{self.retry_wait_cap:.0f} s cap; not retried"
                )
                return answer
            logger.info(
                "%s: attempt %d failed (%s); retrying in %.1f s",
                label or shown,
                attempt,
                answer.error or answer.status,
                wait,
            )
            self.sleep(wait)
        if answer.status is not None and answer.status in self.RETRY_STATUSES and answer.error is None:
            answer.error = f"{describe_status(answer)} after {answer.attempts} attempts"
        elif answer.error and answer.status is None:
            answer.error = f"{answer.error} ({answer.attempts} attempts)"
        return answer


def read_file_bytes(path: Path, *, max_bytes: int | None = None) -> bytes:
    max_bytes = payload_cap() if max_bytes is None else max_bytes
    size = path.stat().st_size
    if size > max_bytes:
        raise ConnectorError(
            f"{path.name}: {size:,} bytes is over the MAX_PAYLOAD_BYTES cap of {max_bytes:,} bytes; refused"
        )
    return path.read_bytes()


def decode_text(data: bytes) -> str:
    """Text of a file or answer: UTF-8 (with or without BOM), else Latin-1, never an exception.

    NUL bytes are dropped: no text or JSON column takes them (PostgreSQL refuses ``\u0000``), and the
    lake keeps the original bytes anyway.
    """
    if b"\x00" in data:
        data = data.replace(b"\x00", b"")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def load_json_or_lines(text: str) -> tuple[Any, str | None]:
    """A JSON document, or JSON Lines (a list of one value per line); bad lines become text items."""
    value, first_error = json_decode(text)
    if first_error is None:
        return value, None
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        return None, f"not JSON: {first_error}"
    items, bad = [], 0
    for number, line in enumerate(lines, start=1):
        item, error = json_decode(line)
        if error is None:
            items.append(item)
        else:
            bad += 1
            items.append({"format": "text", "line": number, "error": error, "body": line[:TEXT_KEEP_CHARS]})
    if bad == len(lines):
        return None, f"not JSON nor JSON Lines: {first_error}"
    return items, (f"{bad} of {len(lines)} lines are not JSON" if bad else None)


class Connector:
    """Base class: ``fetch`` from the upstream (or the simulated one) and ``read_files``."""

    source: str = ""
    base_url_settings: tuple[str, ...] = ()
    secret_settings: tuple[str, ...] = ()
    headers: dict = {}
    max_file_bytes: int | None = None  # MAX_PAYLOAD_BYTES unless a connector says otherwise
    # A connector that pages (the social ones): the setting with its page count, a stand-in token the
    # simulated upstream accepts.
    max_pages_setting: str = ""
    simulated_token: str = ""

    def __init__(
        self, *, simulated: bool | None = None, client: UpstreamClient | None = None, max_pages: int | None = None
    ):
        self.simulated = settings.SIMULATE_UPSTREAMS if simulated is None else simulated
        self._client = client
        if self.max_pages_setting:
            self.max_pages = int(max_pages or getattr(settings, self.max_pages_setting))

    def token(self) -> str:
        """The upstream's credential (its first ``secret_settings``); a stand-in on the simulated upstream."""
        name = self.secret_settings[0]
        token = getattr(settings, name)
        if not token and self.simulated:
            return self.simulated_token
        if not token:
            raise ConnectorError(f"{self.source}: {name} is not set")
        return token

    # ---- network -------------------------------------------------------------------------------
    def base_url(self, name: str) -> str:
        return str(getattr(settings, name)).rstrip("/")

    @property
    def client(self) -> UpstreamClient:
        if self._client is None:
            self._client = UpstreamClient(
                base_urls=[self.base_url(name) for name in self.base_url_settings],
                simulated=self.simulated,
                headers=dict(self.headers),
                # NSE_API_MIN_INTERVAL, TWITTER_MIN_INTERVAL, … (config/settings.py)
                min_interval=getattr(settings, f"{self.source.upper()}_MIN_INTERVAL"),
                secrets=[str(getattr(settings, name) or "") for name in self.secret_settings],
            )
        return self._client

    def batch(self, payload: Any, *, fetched_at: datetime | None = None, **meta) -> FetchedBatch:
        return FetchedBatch(
            source=self.source,
            payload=payload,
            fetched_at=fetched_at or now_utc(),
            simulated=self.simulated,
            meta={k: v for k, v in meta.items() if v is not None},
        )

    def fetch(self, *, tickers: list[str] | None = None, since: dict | None = None) -> Iterator[FetchedBatch]:
        raise NotImplementedError

    # ---- files ---------------------------------------------------------------------------------
    def read_files(self, paths: Iterable[str | Path]) -> Iterator[FetchedBatch]:
        """Saved payloads, one batch per file (per CSV member of a zip); a bad file is a batch with an error."""
        for raw_path in paths:
            path = Path(raw_path)
            fetched_at = now_utc()
            if not path.is_file():
                raise ConnectorError(f"{path}: no such file")
            data = read_file_bytes(path, max_bytes=self.max_file_bytes)
            for number, batch in enumerate(self.file_batches(path, data, fetched_at)):
                if number == 0:  # the file's bytes are kept once, with its first batch
                    batch.raw, batch.raw_name = data, path.name
                yield batch
            del data

    def file_batches(self, path: Path, data: bytes, fetched_at: datetime) -> Iterator[FetchedBatch]:
        text = decode_text(data)
        payload, error = load_json_or_lines(text)
        if payload is None:
            yield FetchedBatch(
                source=self.source,
                payload={"format": "text", "filename": path.name, "body": text[:TEXT_KEEP_CHARS], "bytes": len(data)},
                fetched_at=fetched_at,
                simulated=False,
                meta={"file": str(path), "error": f"{path.name}: {error}"},
            )
            return
        meta = {"file": str(path)}
        if error:
            meta["error"] = f"{path.name}: {error}"
        yield FetchedBatch(source=self.source, payload=payload, fetched_at=fetched_at, simulated=False, meta=meta)
