"""``twitter``: X API v2 recent search by cashtag, paged with ``next_token``, resumed with ``since_id``.

State (``FetchedBatch.meta["state"]``): ``{"since_id": {query: newest tweet id}}``. A query's
``since_id`` moves forward only with the batch of its last page, because search pages run newest
first: moving it after the first page would lose the older pages if the run stopped in between.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

from pipelines.connectors.base import Connector, ConnectorError, FetchedBatch, answer_body
from pipelines.connectors.nse import active_symbols
from pipelines.connectors.state import connector_state_get, tweet_id_valid
from pipelines.simulator.universe import universe_symbols

SEARCH_PATH = "/2/tweets/search/recent"
TWEET_FIELDS = "created_at,author_id,entities,public_metrics,lang,referenced_tweets,conversation_id"
USER_FIELDS = "username,name,verified,public_metrics"
EXPANSIONS = "author_id,referenced_tweets.id,referenced_tweets.id.author_id"
# X allows 512 characters per query on the basic tier.
QUERY_MAX_CHARS = 512
CASHTAG_SYMBOL = re.compile(r"^[A-Z][A-Z0-9_]{0,14}$")


def cashtag_queries(symbols: list[str], *, max_chars: int = QUERY_MAX_CHARS) -> list[str]:
    """``($INFY OR $TCS OR "M&M" …)`` queries, each under the length limit (retweets included).

    X cashtags are letters, digits and underscores only: a symbol such as ``M&M`` or ``BAJAJ-AUTO`` is
    searched as an exact phrase instead (it finds "$M&M", "M&M results", "BAJAJ-AUTO"), which the ticker
    matcher then resolves like any other mention. The phrases get queries of their own, after the
    cashtags': each query's ``since_id`` is kept under its text, and the cashtag queries stay as they were.
    """
    cashtags = [f"${s}" for s in symbols if CASHTAG_SYMBOL.match(s)]
    phrases = [f'"{s}"' for s in symbols if s and not CASHTAG_SYMBOL.match(s) and '"' not in s]
    return _or_queries(cashtags, max_chars) + _or_queries(phrases, max_chars)


def _or_queries(terms: list[str], max_chars: int) -> list[str]:
    """``(a OR b …)`` groups of ``terms`` in order, each at most ``max_chars`` long (a longer term alone)."""
    queries, current = [], []
    for term in terms:
        if current and len("(" + " OR ".join([*current, term]) + ")") > max_chars:
            queries.append("(" + " OR ".join(current) + ")")
            current = []
        current.append(term)
    if current:
        queries.append("(" + " OR ".join(current) + ")")
    return queries


class TwitterConnector(Connector):
    source = "twitter"
    base_url_settings = ("TWITTER_BASE_URL",)
    secret_settings = ("TWITTER_BEARER_TOKEN",)
    headers = {"User-Agent": "tickerlake/1.0", "Accept": "application/json"}
    max_pages_setting = "TWITTER_MAX_PAGES"
    simulated_token = "simulated-bearer-token"

    def __init__(self, *, page_size: int = 100, **kwargs):
        super().__init__(**kwargs)
        self.page_size = max(10, min(100, page_size))

    def fetch(self, *, tickers: list[str] | None = None, since: dict | None = None) -> Iterator[FetchedBatch]:
        token = self.token()
        symbols = list(tickers or active_symbols())
        if not symbols and self.simulated:
            symbols = universe_symbols()
        queries = cashtag_queries(symbols)
        if not queries:
            raise ConnectorError(
                "twitter: no ticker can be searched as a cashtag: mark tickers active or pass --tickers"
            )
        # A scheduled run passes no state: resume from the since_id saved by the last run's final page.
        saved = since if since is not None else connector_state_get(self.source)
        state = {"since_id": dict((saved or {}).get("since_id") or {})}
        url = self.base_url("TWITTER_BASE_URL") + SEARCH_PATH
        failures: list[str] = []
        headers = {"Authorization": f"Bearer {token}"}
        for query in queries:
            yield from self._search(url, headers, query, state, failures)
        if failures:
            raise ConnectorError(
                f"twitter: {len(failures)} requests failed: " + "; ".join(failures[:3]), failures=failures
            )

    def _search(self, url: str, headers: dict, query: str, state: dict, failures: list[str]) -> Iterator[FetchedBatch]:
        """The pages of one query, newest first: its ``since_id`` moves with the batch of its last page,
        a failed page ends the query (noted in ``failures``), revoked credentials end the run."""
        params = {
            "query": query,
            "max_results": self.page_size,
            "tweet.fields": TWEET_FIELDS,
            "user.fields": USER_FIELDS,
            "expansions": EXPANSIONS,
        }
        if state["since_id"].get(query):
            params["since_id"] = state["since_id"][query]
        newest = None
        for page in range(1, self.max_pages + 1):
            answer = self.client.get(url, params=params, headers=headers, label=f"twitter search page {page}")
            body, error = answer_body(answer)
            if error and answer.status and isinstance(body, dict) and (body.get("detail") or body.get("title")):
                error += f": {body.get('detail') or body.get('title')}"
            if error:
                failures.append(f"page {page} of {query[:60]}: {error}")
                if answer.status is not None:
                    kept = body if body is not None else answer.text_payload()
                    yield self.batch(kept, url=answer.url, status=answer.status, error=error, state=_copy(state))
                if answer.status in (401, 403):
                    # Bad or revoked credentials: every further call would fail the same way.
                    raise ConnectorError(f"twitter: {error}", failures=failures)
                break
            meta = (body.get("meta") or {}) if isinstance(body, dict) else {}
            # Only an id X could have meant moves since_id: junk here would be sent back to X on every run.
            newest = newest or (meta.get("newest_id") if tweet_id_valid(meta.get("newest_id")) else None)
            next_token = meta.get("next_token")
            last = not next_token or page == self.max_pages
            if last and newest:
                state["since_id"][query] = newest
            yield self.batch(
                body,
                url=answer.url,
                query=query,
                page=page,
                records=int(meta.get("result_count") or 0),
                state=_copy(state),
                capped=bool(next_token and page == self.max_pages) or None,
            )
            if last:
                break
            params["next_token"] = next_token
            self._respect_rate_limit(answer.headers)

    def _respect_rate_limit(self, headers: dict) -> None:
        """When the window is spent, wait for its reset (if short enough) before the next page."""
        remaining, reset = headers.get("x-rate-limit-remaining"), headers.get("x-rate-limit-reset")
        if remaining is not None and remaining.strip() == "0" and reset and reset.strip().isdigit():
            wait = int(reset) - time.time()
            if wait > self.client.retry_wait_cap:
                raise ConnectorError(
                    f"twitter: rate limit spent until {int(reset)} (in {wait:.0f} s, more than the "
                    f"{self.client.retry_wait_cap:.0f} s cap); the next run continues from here"
                )
            self.client.sleep(wait)


def _copy(state: dict) -> dict:
    return {"since_id": dict(state["since_id"])}
