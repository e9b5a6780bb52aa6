"""The connector plumbing: fetched batches, errors, and the base class every connector builds on.

The HTTP client lives in ``client`` and the answer and payload helpers in ``payloads``; their names
are importable from here too, as they always were.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings

from .client import UpstreamClient, now_utc, redact
from .limits import payload_cap
from .payloads import (
    RAW_KEY,
    TEXT_KEEP_CHARS,
    Answer,
    answer_body,
    decode_text,
    describe_status,
    json_or_error,
    load_json_or_lines,
    raw_split,
)

__all__ = [
    "RAW_KEY",
    "TEXT_KEEP_CHARS",
    "Answer",
    "Connector",
    "ConnectorError",
    "FetchedBatch",
    "UpstreamClient",
    "answer_body",
    "decode_text",
    "describe_status",
    "json_or_error",
    "load_json_or_lines",
    "now_utc",
    "raw_split",
    "read_file_bytes",
    "redact",
]


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


def read_file_bytes(path: Path, *, max_bytes: int | None = None) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (MAX_PAYLOAD_BYTES); ConnectorError otherwise. The
    cap holds while reading too: a file that grows, or says 0 bytes (/proc), is read no further than it."""
    max_bytes = payload_cap() if max_bytes is None else max_bytes
    if not path.is_file():
        # (a folder, a device or a pipe is no saved payload: /dev/zero would be read for ever)
        raise ConnectorError(f"{path}: {'not a regular file' if path.exists() else 'no such file'}")
    size = path.stat().st_size
    with path.open("rb") as handle:
        data = handle.read(max_bytes + 1) if size <= max_bytes else b""
    if size > max_bytes or len(data) > max_bytes:
        shown = f"{size:,} bytes is" if size > max_bytes else "more bytes are"
        raise ConnectorError(f"{path.name}: {shown} over the MAX_PAYLOAD_BYTES cap of {max_bytes:,} bytes; refused")
    return data


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
    # Whether pulling the next batch from ``fetch`` acknowledges the ones before it upstream (Telegram's
    # getUpdates offset does). Only when none does may a run pull batches ahead of storing the last ones.
    pulls_acknowledge: bool = False

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
