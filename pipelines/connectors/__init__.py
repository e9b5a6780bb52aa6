"""Source connectors: fetch raw payloads from the upstreams (or the simulated upstream), or read files.

Contract
--------
``get_connector(source) -> Connector`` for ``source`` in ``SOURCES`` ("nse_api", "nse_bhavcopy",
"twitter", "telegram").

``Connector.fetch(*, tickers: list[str] | None = None, since: dict | None = None) -> Iterator[FetchedBatch]``
    Talks to the network, or to the simulated upstream when ``settings.SIMULATE_UPSTREAMS`` is on (the
    simulator is a ``requests`` transport adapter, so the same client code runs). Base URLs and
    credentials come from settings (NSE_BASE_URL, NSE_ARCHIVES_URL, TWITTER_BASE_URL,
    TWITTER_BEARER_TOKEN, TELEGRAM_BASE_URL, TELEGRAM_BOT_TOKEN, UPSTREAM_TIMEOUT).
    ``tickers`` defaults to the active tickers of the ticker master. ``since`` is the connector state
    saved by the previous run (``connector_state_get``): twitter ``{"since_id": {query: id}}``,
    telegram ``{"offset": n}``; for nse_bhavcopy ``{"date": "YYYY-MM-DD"}`` or ``{"from", "to"}``.

``Connector.read_files(paths) -> Iterator[FetchedBatch]``
    Saved payloads: one batch per file (per CSV member of a zip).

``FetchedBatch(source, payload, fetched_at, simulated, meta)``
    ``payload`` is JSON-serialisable and is exactly what the lake stores:
    - bhavcopy: ``{"format": "csv", "filename": …, "content": <the CSV text exactly as in the file or
      the zip member>}``;
    - JSON APIs: the parsed response body; ``nse_api`` fetches give a *list* of quote-equity bodies
      (one per ticker of the round), a quote file gives one body; twarc JSON Lines give a list of bodies;
    - an answer that is not JSON (HTML error page, truncated JSON, empty body, over the size cap):
      ``{"format": "text", "status", "content_type", "url", "bytes", "truncated", "body": <capped>}``.
    ``meta``: ``error`` (set on a batch holding a bad answer: store it, then count it as failed),
    ``state`` (the connector state to persist with ``connector_state_set`` once this batch is stored),
    ``url``, ``status``, ``file``, ``records``, ``page``, ``skipped_updates``, ``capped``.

Errors
    Connectors never crash on bad upstream answers. Each request that failed is reported: a batch
    with ``meta["error"]`` when there was an answer to keep; and after yielding everything it could,
    the iterator raises ``ConnectorError(message, payload=None, failures=[…])`` summarising all the
    failures in one line. Nothing to fetch with (no token, no tickers, the NSE cookie warm-up
    refused) raises ``ConnectorError`` before any batch (``payload`` holds the refusing answer if any).
    Retries: 429/5xx/timeouts/dropped connections only, bounded (UPSTREAM_MAX_ATTEMPTS, default 3)
    with exponential backoff, honouring Retry-After and X's x-rate-limit-reset up to a cap
    (UPSTREAM_RETRY_WAIT_CAP, 30 s): an upstream asking for longer is an error, not a wait. Answers
    over UPSTREAM_MAX_BYTES (8 MB) are refused, the first 64 KB kept.

State
    ``connector_state_get(source, *, key="default") -> dict`` and
    ``connector_state_set(source, value, *, key="default")`` persist ``meta["state"]`` in ``ConnectorState``.
"""

from __future__ import annotations

from pipelines.connectors.base import Connector, ConnectorError, FetchedBatch
from pipelines.connectors.nse import NseBhavcopyConnector, NseQuoteConnector
from pipelines.connectors.state import connector_state_get, connector_state_set
from pipelines.connectors.telegram import TelegramConnector
from pipelines.connectors.twitter import TwitterConnector

CONNECTORS: dict[str, type[Connector]] = {
    "nse_api": NseQuoteConnector,
    "nse_bhavcopy": NseBhavcopyConnector,
    "twitter": TwitterConnector,
    "telegram": TelegramConnector,
}
SOURCES = tuple(CONNECTORS)


def get_connector(source: str, **options) -> Connector:
    """The connector of ``source``; ``options`` (e.g. ``simulated=False``, ``max_pages``) go to its constructor."""
    try:
        cls = CONNECTORS[source]
    except KeyError:
        raise ValueError(f"unknown source {source!r}: expected one of {', '.join(SOURCES)}") from None
    return cls(**options)


__all__ = [
    "SOURCES",
    "Connector",
    "ConnectorError",
    "FetchedBatch",
    "connector_state_get",
    "connector_state_set",
    "get_connector",
]
