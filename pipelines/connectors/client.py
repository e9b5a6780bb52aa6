"""One careful HTTP client for every upstream: bounded retries, backoff, rate limiting, a size cap.

The client retries only what may succeed on a second try (429, 5xx, timeouts, dropped connections),
a bounded number of times, honouring ``Retry-After`` and X's ``x-rate-limit-reset`` up to a cap so a
struggling upstream never meets a retry storm. It spaces calls (rate limiting), caps the size of an
answer, and never raises for network trouble: what happened is in the ``Answer``.
"""

from __future__ import annotations

import email.utils
import logging
import re
import time
from collections.abc import Iterable
from datetime import UTC, datetime

import requests
from django.conf import settings

from pipelines.connectors.deadline import DeadlineAdapter, deadline
from pipelines.simulator.adapter import SimulatedUpstreamAdapter

from .payloads import Answer, describe_status

logger = logging.getLogger(__name__)


def now_utc() -> datetime:
    return datetime.now(UTC)


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
            response, final = self._attempt(url, params, headers, answer)
            if final:
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

    def _attempt(
        self, url: str, params: dict | None, headers: dict | None, answer: Answer
    ) -> tuple[requests.Response | None, bool]:
        """One exchange, written into ``answer``: (the response if one came, whether the answer is
        final). Only an answer worth a second try (429/5xx, a timeout, a dropped connection) is not."""
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
            return response, True
        else:
            answer.status = response.status_code
            answer.headers = {k.lower(): v for k, v in response.headers.items()}
            answer.body, answer.truncated, answer.size = body, truncated, size
            answer.error = None
            return response, response.status_code not in self.RETRY_STATUSES
        return response, False
