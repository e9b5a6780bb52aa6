"""The simulated upstream as a ``requests`` transport adapter.

Mounted on a connector's session for the upstream base URLs when ``SIMULATE_UPSTREAMS`` is on, it
answers like NSE (NextApi ``GetQuoteApi`` quotes and meta data, a 403 deny page at the retired
``/api/quote-equity``, the holiday master, bhavcopy archives), X API v2 (recent
search, with paging, ``since_id``, rate-limit headers, 401 without a bearer token), the Telegram
Bot API (``getUpdates`` with offsets) and Telegram's public channel preview (``t.me/s/<channel>``
pages of the simulated channels), so everything above the socket runs for real.

Its clock is ``settings.SIMULATOR_NOW`` (ISO 8601) when set, else the real time; its world is
``settings.SIMULATOR_SEED`` (default 42).
"""

from __future__ import annotations

import http.client
import io
import json
import re
import secrets
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

from django.conf import settings
from requests import PreparedRequest, Response
from requests.adapters import BaseAdapter
from requests.cookies import extract_cookies_to_jar
from requests.structures import CaseInsensitiveDict

from pipelines.simulator.chatter import (
    CHANNELS,
    UPDATES_PER_MINUTE,
    Chatter,
    minute_index,
    snowflake_ms,
)
from pipelines.simulator.market import PUMP_ACCOUNTS, SimMarket, zipped
from pipelines.simulator.tme import channel_page, contact_page
from pipelines.simulator.universe import universe
from warehouse.calendar import IST, is_trading_day

NEXT_API_PATH = "/api/NextApi/apiClient/GetQuoteApi"
# What NSE's CDN answers at /api/quote-equity since the endpoint was retired (an Akamai deny page).
AKAMAI_DENY = (
    "<HTML><HEAD>\n<TITLE>Access Denied</TITLE>\n</HEAD><BODY>\n<H1>Access Denied</H1>\n \n"
    'You don\'t have permission to access "http&#58;&#47;&#47;www&#46;nseindia&#46;com&#47;api&#47;quote&#45;equity&#63;" '
    "on this server.<P>\nReference&#32;&#35;18&#46;5d2e1002&#46;1764590000&#46;0\n</BODY>\n</HTML>\n"
)
CASHTAG_IN_QUERY = re.compile(r"\$([A-Za-z][A-Za-z0-9_]*)")
PHRASE_IN_QUERY = re.compile(r'"([^"]+)"')  # X's exact-phrase operator (here: the text holds it as a word, any case)
X_JSON = ("Content-Type", "application/json; charset=utf-8")
HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>NSE - National Stock Exchange of India Ltd</title></head><body></body></html>"
)


def sim_now() -> datetime:
    fixed = settings.SIMULATOR_NOW or ""
    if fixed:
        value = datetime.fromisoformat(str(fixed).replace("Z", "+00:00"))
        return (value if value.tzinfo else value.replace(tzinfo=IST)).astimezone(UTC)
    return datetime.now(UTC)


def sim_seed() -> int:
    return int(settings.SIMULATOR_SEED)


_WORLDS: dict[tuple, tuple[SimMarket, Chatter]] = {}


def world(seed: int | None = None) -> tuple[SimMarket, Chatter]:
    """The market and chatter of ``seed`` over the current universe (cached per seed and universe)."""
    seed = sim_seed() if seed is None else seed
    tickers = universe()
    key = (seed, tuple(t.symbol for t in tickers))
    if key not in _WORLDS:
        if len(_WORLDS) > 8:
            _WORLDS.clear()
        market = SimMarket(seed=seed, tickers=tickers)
        _WORLDS[key] = (market, Chatter(market))
    return _WORLDS[key]


class _Raw(io.BytesIO):
    """A body that ``requests`` reads like urllib3's, carrying headers so cookies reach the session jar."""

    def __init__(self, body: bytes, headers: list[tuple[str, str]]):
        super().__init__(body)
        message = http.client.HTTPMessage()
        for name, value in headers:
            message[name] = value
        self._original_response = type("Original", (), {"msg": message})()


class SimulatedUpstreamAdapter(BaseAdapter):
    def __init__(self):
        super().__init__()
        self.requests_seen = 0

    def close(self) -> None:
        pass

    def send(self, request: PreparedRequest, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        self.requests_seen += 1
        url = request.url or ""
        try:
            status, headers, body = self.route(request, url)
        except Exception as exc:  # a simulator bug answers 500, as a real server would
            status, headers, body = 500, [("Content-Type", "text/plain")], f"simulator error: {exc}".encode()
        return self.build_response(request, status, headers, body)

    def build_response(self, request: PreparedRequest, status: int, headers: list, body: bytes) -> Response:
        response = Response()
        response.status_code = status
        response.reason = http.client.responses.get(status, "")
        response.headers = CaseInsensitiveDict()
        for name, value in headers:
            if name.lower() != "set-cookie":
                response.headers[name] = value
        response.headers["Content-Length"] = str(len(body))
        response.raw = _Raw(body, headers)
        response.url = request.url
        response.request = request
        response.encoding = "utf-8"
        response.connection = self
        extract_cookies_to_jar(response.cookies, request, response.raw)
        return response

    # ---- routing -----------------------------------------------------------------------------
    def route(self, request: PreparedRequest, url: str) -> tuple[int, list, bytes]:
        parts = urlsplit(url)
        base = f"{parts.scheme}://{parts.netloc}"
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        path = parts.path or "/"
        if base == _base("TELEGRAM_PREVIEW_URL"):
            return self.telegram_preview(path, query)
        if base == _base("TELEGRAM_BASE_URL") or path.startswith("/bot"):
            return self.telegram(request, path, query)
        if base == _base("TWITTER_BASE_URL") or path.startswith("/2/"):
            return self.twitter(request, path, query)
        if base == _base("NSE_ARCHIVES_URL") or path.startswith(("/content/", "/products/")):
            return self.archives(path)
        return self.nse(request, path, query)

    # ---- NSE ---------------------------------------------------------------------------------
    def nse(self, request: PreparedRequest, path: str, query: dict) -> tuple[int, list, bytes]:
        if path == "/" or path.startswith("/get-quotes/"):
            cookies = [
                ("Set-Cookie", f"nsit={secrets.token_hex(8)}; Path=/; HttpOnly"),
                ("Set-Cookie", f"nseappid={secrets.token_hex(12)}; Path=/; HttpOnly"),
                ("Set-Cookie", "ak_bmsc=simulated; Path=/; HttpOnly"),
            ]
            return 200, [("Content-Type", "text/html; charset=utf-8"), *cookies], HTML_PAGE.encode()
        if path == NEXT_API_PATH:
            # NSE's quote page API since 2026: answers without the cookie warm-up.
            market, _ = world()
            symbol = str(query.get("symbol", "")).upper()
            function = query.get("functionName", "")
            if function == "getMetaData":
                body = market.meta_data(symbol)
            elif function == "getSymbolData":
                body = market.symbol_data(symbol, sim_now())
                ticker = market.by_symbol.get(symbol)
                if ticker is not None and str(query.get("series", "")).upper() != ticker.series:
                    body = {"equityResponse": []}  # the symbol does not trade in that series
            else:
                return 400, [("Content-Type", "application/json")], b'{"msg": "unknown functionName"}'
            return 200, [("Content-Type", "application/json; charset=utf-8")], json.dumps(body).encode()
        if path == "/api/holiday-master":
            return 200, [("Content-Type", "application/json; charset=utf-8")], holiday_master(sim_now()).encode()
        if path == "/api/quote-equity":
            # Retired in NSE's 2026 migration: Akamai answers a deny page, as for a blocked bot.
            return 403, [("Content-Type", "text/html"), ("Server", "AkamaiGHost")], AKAMAI_DENY.encode()
        return 404, [("Content-Type", "text/html")], b"<html><body>Resource not found</body></html>"

    def archives(self, path: str) -> tuple[int, list, bytes]:
        market, _ = world()
        name = unquote(path.rsplit("/", 1)[-1])
        patterns = (
            (r"BhavCopy_NSE_CM_0_0_0_(\d{8})_F_0000\.csv\.zip", "%Y%m%d", "udiff"),
            (r"sec_bhavdata_full_(\d{8})\.csv", "%d%m%Y", "full"),
            (r"cm(\d{2}[A-Z]{3}\d{4})bhav\.csv\.zip", "%d%b%Y", "legacy"),
        )
        for pattern, fmt, layout in patterns:
            match = re.fullmatch(pattern, name)
            if not match:
                continue
            try:
                day = datetime.strptime(match.group(1), fmt).replace(tzinfo=IST).date()
            except ValueError:
                break
            if not is_trading_day(day) or day > published_until(sim_now()):
                break
            if layout == "udiff":
                return (
                    200,
                    [("Content-Type", "application/zip")],
                    zipped(name.removesuffix(".zip"), market.bhavcopy_udiff(day)),
                )
            if layout == "full":
                return 200, [("Content-Type", "text/csv")], market.bhavcopy_full(day).encode()
            return (
                200,
                [("Content-Type", "application/zip")],
                zipped(name.removesuffix(".zip"), market.bhavcopy_legacy(day)),
            )
        return 404, [("Content-Type", "text/html")], b"<html><body><h1>404 Not Found</h1></body></html>"

    # ---- X API v2 ----------------------------------------------------------------------------
    def twitter(self, request: PreparedRequest, path: str, query: dict) -> tuple[int, list, bytes]:
        now = sim_now()
        reset = int(now.timestamp()) + 900
        rate = [("x-rate-limit-limit", "450"), ("x-rate-limit-remaining", "449"), ("x-rate-limit-reset", str(reset))]
        refused = _x_refusal(request, path)
        if refused is not None:
            return refused
        tags = {t.upper() for t in CASHTAG_IN_QUERY.findall(query.get("query", ""))}
        # A phrase matches as a word of the text, any case ("m&m" is not in "M&MFIN").
        phrases = [
            re.compile(rf"(?<![\w&-]){re.escape(p)}(?![\w&-])", re.IGNORECASE)
            for p in PHRASE_IN_QUERY.findall(query.get("query", ""))
        ]
        if not tags and not phrases:
            body = {
                "errors": [{"parameters": {"query": [query.get("query", "")]}, "message": "The `query` parameter must hold at least one cashtag or quoted phrase here"}],
                "title": "Invalid Request",
                "detail": "One or more parameters to your request was invalid.",
                "type": "https://api.twitter.com/2/problems/invalid-request",
            }  # fmt: skip
            return 400, [X_JSON, *rate], json.dumps(body).encode()
        _, chatter = world()
        page_size = max(10, min(100, int(query.get("max_results") or 10)))
        offset, until = 0, None
        if query.get("next_token"):
            try:
                offset_text, until_text = query["next_token"].split("z", 1)
                offset, until = int(offset_text, 35), int(until_text, 35)
            except ValueError:
                body = {"errors": [{"message": "Invalid next_token"}], "title": "Invalid Request", "status": 400}
                return 400, [X_JSON, *rate], json.dumps(body).encode()
        since_id = int(query["since_id"]) if str(query.get("since_id", "")).isdigit() else None
        # Recent search looks back at most 7 days; the simulated one a day, or an hour on a first call.
        start = now - timedelta(hours=1)
        if since_id:
            start = max(now - timedelta(days=1), datetime.fromtimestamp(snowflake_ms(since_id) / 1000, tz=UTC))
        if query.get("start_time"):
            start = max(start, datetime.fromisoformat(query["start_time"].replace("Z", "+00:00")))
        tweets = [
            t
            for t in chatter.tweets_between(start, now)
            if (
                {c["tag"].upper() for c in t["entities"].get("cashtags", [])} & tags
                or any(p.search(t["text"]) for p in phrases)
            )
            and (since_id is None or int(t["id"]) > since_id)
            and (until is None or int(t["id"]) <= until)
        ]
        tweets.sort(key=lambda t: int(t["id"]), reverse=True)
        page = tweets[offset : offset + page_size]
        if not page:
            return 200, [X_JSON, *rate], json.dumps({"meta": {"result_count": 0}}).encode()
        newest = until if until is not None else int(tweets[0]["id"])
        meta = {"newest_id": page[0]["id"], "oldest_id": page[-1]["id"], "result_count": len(page)}
        if offset + page_size < len(tweets):
            meta["next_token"] = f"{_b36(offset + page_size)}z{_b36(newest)}"
        return 200, [X_JSON, *rate], json.dumps(_search_page(page, meta), ensure_ascii=False).encode()

    # ---- Telegram's public web preview (t.me/s/<channel>) -------------------------------------
    def telegram_preview(self, path: str, query: dict) -> tuple[int, list, bytes]:
        html_type = ("Content-Type", "text/html; charset=utf-8")
        match = re.fullmatch(r"/s/([A-Za-z0-9_]{3,64})/?", path)
        if match:
            _, chatter = world()
            before = int(query["before"]) if str(query.get("before", "")).isdigit() else None
            page = channel_page(chatter, match.group(1), now=sim_now(), before=before)
            if page is not None:
                return 200, [html_type], page.encode()
            # Not a public channel: Telegram sends the browser to the contact page.
            return 302, [html_type, ("Location", f"{_base('TELEGRAM_PREVIEW_URL')}/{match.group(1)}")], b""
        match = re.fullmatch(r"/([A-Za-z0-9_]{3,64})/?", path)
        if match:
            return 200, [html_type], contact_page(match.group(1)).encode()
        return 404, [html_type], b"<html><body>Not Found</body></html>"

    # ---- Telegram Bot API --------------------------------------------------------------------
    def telegram(self, request: PreparedRequest, path: str, query: dict) -> tuple[int, list, bytes]:
        json_type = ("Content-Type", "application/json")
        match = re.fullmatch(r"/bot(\d+:[\w-]+)/(\w+)", path)
        if not match:
            return (
                401,
                [json_type],
                json.dumps({"ok": False, "error_code": 401, "description": "Unauthorized"}).encode(),
            )
        if match.group(2) != "getUpdates":
            return 404, [json_type], json.dumps({"ok": False, "error_code": 404, "description": "Not Found"}).encode()
        now = sim_now()
        _, chatter = world()
        limit = max(1, min(100, int(query.get("limit") or 100)))
        offset = int(query["offset"]) if re.fullmatch(r"-?\d+", str(query.get("offset", ""))) else 0
        # Telegram keeps unconfirmed updates for 24 hours; the simulated bot starts an hour back.
        oldest = (minute_index(now - timedelta(hours=24))) * UPDATES_PER_MINUTE
        first = max(offset, oldest) if offset > 0 else minute_index(now - timedelta(hours=1)) * UPDATES_PER_MINUTE
        updates = chatter.updates_between(first, now, limit)
        return 200, [json_type], json.dumps({"ok": True, "result": updates}, ensure_ascii=False).encode()


def holiday_master(now: datetime) -> str:
    """NSE's ``/api/holiday-master?type=trading`` for the year of ``now``: a list per segment, the trading
    calendar's holidays of that year in each (NSE's segments share most of them)."""
    from warehouse.calendar import holidays

    year = now.astimezone(IST).year
    days = sorted((day, name) for day, name in holidays().items() if day.year == year)
    rows = [
        {"tradingDate": f"{day:%d-%b-%Y}", "weekDay": f"{day:%A}", "description": name, "Sr_no": number}
        for number, (day, name) in enumerate(days, start=1)
    ]
    segments = ("CBM", "CD", "CM", "CMOT", "COM", "FO", "IRD", "MF", "NDM", "NTRP", "SLBS")
    return json.dumps({segment: rows for segment in segments})


def _x_refusal(request: PreparedRequest, path: str) -> tuple[int, list, bytes] | None:
    """X's answer to a call without a bearer token (401) or to another endpoint (404); None otherwise."""
    if (
        not (request.headers.get("Authorization") or "").startswith("Bearer ")
        or len(request.headers["Authorization"]) < 12
    ):
        body = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
        return 401, [X_JSON], json.dumps(body).encode()
    if path != "/2/tweets/search/recent":
        body = {
            "errors": [{"message": f"Sorry, that page does not exist: {path}"}],
            "title": "Not Found Error",
            "status": 404,
        }
        return 404, [X_JSON], json.dumps(body).encode()
    return None


def _search_page(page: list[dict], meta: dict) -> dict:
    """A recent search answer: the page's tweets, their authors and retweeted originals in ``includes``."""
    users, originals = {}, {}
    for tweet in page:
        users[tweet["author_id"]] = _user(tweet["_user"], tweet["author_id"])
        if "_original" in tweet:
            original = tweet["_original"]
            originals[original["id"]] = {k: v for k, v in original.items() if not k.startswith("_")}
            users[original["author_id"]] = _user(original["_user"], original["author_id"])
    return {
        "data": [{k: v for k, v in t.items() if not k.startswith("_")} for t in page],
        "includes": {"users": list(users.values()), **({"tweets": list(originals.values())} if originals else {})},
        "meta": meta,
    }


def _base(name: str) -> str:
    parts = urlsplit(str(getattr(settings, name)))
    return f"{parts.scheme}://{parts.netloc}"


def _b36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxy"  # no "z": it separates the two numbers of a token
    out = ""
    while True:
        number, rest = divmod(number, 35)
        out = digits[rest] + out
        if not number:
            return out


def _user(username: str, uid: str) -> dict:
    pump = username in PUMP_ACCOUNTS
    return {
        "id": uid,
        "username": username,
        "name": username.replace("_", " ").title(),
        "verified": False,
        "public_metrics": {
            "followers_count": 900 if pump else 150,
            "following_count": 80,
            "tweet_count": 3000,
            "listed_count": 0,
        },
    }


def published_until(now: datetime) -> date:
    """The newest trading day whose bhavcopy is out at ``now`` (NSE publishes around 18:00 IST)."""
    local = now.astimezone(IST)
    day = local.date() if local.hour >= 18 else local.date() - timedelta(days=1)
    while not is_trading_day(day):
        day -= timedelta(days=1)
    return day


__all__ = ["CHANNELS", "SimulatedUpstreamAdapter", "sim_now", "world"]
