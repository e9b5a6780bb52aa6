"""Declarative rule sets per dataset.

A rule is data: ``Rule(name, kind, columns, params, severity)``. The defaults below are seeded into the
``ValidationRule`` table by a data migration, where admins edit thresholds, severity and on/off; the
validator reads the table (and falls back to these defaults when a dataset has no rows at all).

Rule kinds (each is one vectorised mask over the batch, see ``quality.validation``):
- ``required``: the column exists and the value is neither null nor blank.
- ``type``: the value coerces to ``params["type"]`` (number, integer, datetime, date, bool, text).
- ``range``: ``params["min"]`` ≤ value ≤ ``params["max"]`` (either may be absent; ``exclusive_min``).
- ``allowed``: value in ``params["values"]``.
- ``pattern``: the whole value matches ``params["regex"]``.
- ``max_length``: ``len(value)`` ≤ ``params["max"]``.
- ``timestamp``: not later than now + ``params["future_minutes"]``, not before ``params["min_year"]``.
- ``compare``: ``columns[0] <op> columns[1]`` (``params["op"]`` in >=, <=, >, <); skipped when either is null.
- ``change``: ``change_percent`` agrees with price and previous close within ``params["tolerance"]``
  points (columns: price, prev_close, change_percent), or with two columns only (close, prev_close),
  the move stays within ``params["max_move_percent"]``.
- ``unique``: the key ``columns`` appear once in the batch (the first occurrence is kept).
Null values pass every rule but ``required`` (optional fields stay optional).
"""

import math
import re
from dataclasses import dataclass, field

from core.errors import InvalidInput, count_problem, echo, echo_json, whole_number

ERROR = "error"
WARN = "warn"
SEVERITIES = (ERROR, WARN)
KINDS = ("required", "type", "range", "allowed", "pattern", "max_length", "timestamp", "compare", "change", "unique")

DATASETS = ("stock_quotes", "social_mentions", "bhavcopy_rows", "daily_bars")
# NSE symbols, as warehouse.tickers.SYMBOL_RE: letters, digits and & - _ (`J&KBANK`, `BAJAJ-AUTO`).
TICKER_REGEX = r"[A-Z0-9][A-Z0-9&\-_]{0,19}"
# NSE series codes: EQ, BE, SM, GB, bond series N0-NZ, Y1…, sometimes blank on bond rows (UDiFF).
SERIES_REGEX = r"[A-Z0-9]{1,3}"
# A few lakh rupees is the top of NSE equity prices (MRF); ten million leaves room and catches unit errors.
MAX_PRICE = 10_000_000


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str
    columns: tuple[str, ...]
    params: dict = field(default_factory=dict, hash=False, compare=False)
    severity: str = ERROR
    description: str = ""

    @property
    def column(self) -> str:
        return self.columns[0] if self.columns else ""


def _price_rules(columns: tuple[str, ...], *, required: tuple[str, ...], zero_ok=()) -> list[Rule]:
    rules = []
    for col in columns:
        if col in zero_ok:
            # NSE writes LAST 0 for a row without a last trade (seen in the 2021-01-06 bhavcopy).
            rules.append(Rule(f"{col}_number", "type", (col,), {"type": "number"}, ERROR, f"{col} is a number"))
            rules.append(
                Rule(
                    f"{col}_range", "range", (col,), {"min": 0, "max": MAX_PRICE}, ERROR, f"{col} is 0 to {MAX_PRICE:,}"
                )
            )
            continue
        rules.append(Rule(f"{col}_number", "type", (col,), {"type": "number"}, ERROR, f"{col} is a number"))
        rules.append(
            Rule(
                f"{col}_range",
                "range",
                (col,),
                {"min": 0, "exclusive_min": True, "max": MAX_PRICE},
                ERROR,
                f"{col} is above zero and at most {MAX_PRICE:,} rupees",
            )
        )
    for col in required:
        rules.insert(0, Rule(f"{col}_required", "required", (col,), {}, ERROR, f"{col} is present"))
    return rules


def _count_rules(columns: tuple[str, ...]) -> list[Rule]:
    rules = []
    for col in columns:
        rules.append(Rule(f"{col}_integer", "type", (col,), {"type": "integer"}, ERROR, f"{col} is a whole number"))
        rules.append(Rule(f"{col}_not_negative", "range", (col,), {"min": 0}, ERROR, f"{col} is zero or more"))
    return rules


def _stock_rules() -> list[Rule]:
    return [
        Rule("ticker_required", "required", ("ticker",), {}, ERROR, "every quote names its ticker"),
        Rule("ticker_symbol", "pattern", ("ticker",), {"regex": TICKER_REGEX}, ERROR, "an NSE symbol"),
        Rule("source_required", "required", ("source",), {}, ERROR, "every quote names its source"),
        Rule("source_length", "max_length", ("source",), {"max": 32}, ERROR, "source fits its column"),
        Rule("series_code", "pattern", ("series",), {"regex": SERIES_REGEX}, ERROR, "an NSE series code"),
        Rule("exchange_known", "allowed", ("exchange",), {"values": ["NSE", "BSE"]}, ERROR, "NSE or BSE"),
        Rule("timestamp_required", "required", ("timestamp",), {}, ERROR, "every quote has a time"),
        Rule("timestamp_datetime", "type", ("timestamp",), {"type": "datetime"}, ERROR, "a date and time"),
        Rule(
            "timestamp_sane",
            "timestamp",
            ("timestamp",),
            {"future_minutes": 10, "min_year": 1990},
            ERROR,
            "not in the future (10 minutes of clock skew allowed), not before 1990",
        ),
        *_price_rules(("price",), required=("price",)),
        *_count_rules(("volume",)),
        Rule("change_number", "type", ("change_percent",), {"type": "number"}, ERROR, "change is a number"),
        Rule(
            "change_possible",
            "range",
            ("change_percent",),
            {"min": -100, "max": 1000},
            ERROR,
            "a price cannot fall more than 100 %",
        ),
        Rule(
            "change_unusual",
            "range",
            ("change_percent",),
            {"min": -20, "max": 20},
            WARN,
            "moves beyond NSE's widest 20 % price band are flagged for a look",
        ),
        # (No "change % agrees with the previous close" rule: a quote record carries no previous close, so
        # such a rule checked nothing; it shipped until 2026-12-06, migration quality 0008 removed it.)
        Rule(
            "quote_unique",
            "unique",
            ("ticker", "series", "exchange", "source", "timestamp"),
            {},
            ERROR,
            "one quote per ticker, series, exchange, source and time in a batch",
        ),
    ]


def _social_rules() -> list[Rule]:
    return [
        Rule("ticker_required", "required", ("ticker",), {}, ERROR, "every mention names its ticker"),
        Rule("ticker_symbol", "pattern", ("ticker",), {"regex": TICKER_REGEX}, ERROR, "an NSE symbol"),
        Rule("platform_required", "required", ("platform",), {}, ERROR, "twitter or telegram"),
        Rule("platform_known", "allowed", ("platform",), {"values": ["twitter", "telegram"]}, ERROR, "known platform"),
        Rule("external_id_required", "required", ("external_id",), {}, ERROR, "the message id"),
        Rule("external_id_length", "max_length", ("external_id",), {"max": 128}, ERROR, "fits its column"),
        Rule("text_required", "required", ("text",), {}, ERROR, "the message text"),
        Rule("text_length", "max_length", ("text",), {"max": 20000}, ERROR, "at most 20,000 characters"),
        Rule(
            "sentiment_known",
            "allowed",
            ("sentiment",),
            {"values": ["positive", "neutral", "negative"]},
            ERROR,
            "positive, neutral or negative",
        ),
        Rule("sentiment_score_number", "type", ("sentiment_score",), {"type": "number"}, ERROR, "a number"),
        Rule("sentiment_score_range", "range", ("sentiment_score",), {"min": -1, "max": 1}, ERROR, "from -1 to 1"),
        Rule("pump_score_number", "type", ("pump_score",), {"type": "number"}, ERROR, "a number"),
        Rule("pump_score_range", "range", ("pump_score",), {"min": 0}, ERROR, "zero or more"),
        Rule("is_pump_signal_bool", "type", ("is_pump_signal",), {"type": "bool"}, ERROR, "true or false"),
        Rule("channel_length", "max_length", ("channel",), {"max": 255}, ERROR, "fits its column"),
        Rule("author_length", "max_length", ("author",), {"max": 255}, ERROR, "fits its column"),
        *_count_rules(("views",)),
        Rule("timestamp_required", "required", ("timestamp",), {}, ERROR, "every message has a time"),
        Rule("timestamp_datetime", "type", ("timestamp",), {"type": "datetime"}, ERROR, "a date and time"),
        Rule(
            "timestamp_sane",
            "timestamp",
            ("timestamp",),
            {"future_minutes": 10, "min_year": 2006},
            ERROR,
            "not in the future (10 minutes allowed), not before 2006 (the first tweet)",
        ),
        Rule(
            "mention_unique",
            "unique",
            ("platform", "external_id", "ticker"),
            {},
            ERROR,
            "one row per message and ticker in a batch",
        ),
    ]


def _bar_rules() -> list[Rule]:
    prices = ("open", "high", "low", "close", "last", "prev_close")
    return [
        Rule("ticker_required", "required", ("ticker",), {}, ERROR, "every bar names its ticker"),
        Rule("ticker_symbol", "pattern", ("ticker",), {"regex": TICKER_REGEX}, ERROR, "an NSE symbol"),
        # Some bond rows of NSE's UDiFF files carry no series: keep them, flag them.
        Rule("series_present", "required", ("series",), {}, WARN, "a series code (blank on some bond rows)"),
        Rule("series_code", "pattern", ("series",), {"regex": SERIES_REGEX}, ERROR, "an NSE series code"),
        Rule("exchange_known", "allowed", ("exchange",), {"values": ["NSE", "BSE"]}, ERROR, "NSE or BSE"),
        Rule("date_required", "required", ("date",), {}, ERROR, "the trading date"),
        Rule("date_valid", "type", ("date",), {"type": "date"}, ERROR, "a calendar date"),
        Rule(
            "date_sane",
            "timestamp",
            ("date",),
            {"future_minutes": 24 * 60, "min_year": 1990},
            ERROR,
            "not after tomorrow, not before 1990",
        ),
        *_price_rules(prices, required=("close",), zero_ok=("last", "prev_close")),
        *_count_rules(("volume", "trades", "delivery_qty")),
        Rule("value_number", "type", ("value",), {"type": "number"}, ERROR, "turnover is a number"),
        Rule("value_not_negative", "range", ("value",), {"min": 0}, ERROR, "turnover is zero or more"),
        Rule("delivery_pct_number", "type", ("delivery_pct",), {"type": "number"}, ERROR, "a number"),
        Rule("delivery_pct_range", "range", ("delivery_pct",), {"min": 0, "max": 100}, ERROR, "from 0 to 100 %"),
        Rule("high_ge_open", "compare", ("high", "open"), {"op": ">="}, ERROR, "high is at least the open"),
        Rule("high_ge_close", "compare", ("high", "close"), {"op": ">="}, ERROR, "high is at least the close"),
        Rule("high_ge_low", "compare", ("high", "low"), {"op": ">="}, ERROR, "high is at least the low"),
        Rule("open_ge_low", "compare", ("open", "low"), {"op": ">="}, ERROR, "open is at least the low"),
        Rule("close_ge_low", "compare", ("close", "low"), {"op": ">="}, ERROR, "close is at least the low"),
        Rule(
            "delivery_within_volume",
            "compare",
            ("delivery_qty", "volume"),
            {"op": "<="},
            WARN,
            "delivered quantity is at most the traded quantity",
        ),
        Rule(
            "close_move_plausible",
            "change",
            ("close", "prev_close"),
            {"max_move_percent": 20},
            WARN,
            "close within NSE's widest 20 % band of the previous close (splits and relistings are flagged)",
        ),
        Rule(
            "bar_unique",
            "unique",
            ("ticker", "series", "exchange", "date", "source"),
            {},
            ERROR,
            "one bar per ticker, series, exchange, date and source in a batch",
        ),
    ]


def default_rules(dataset: str) -> list[Rule]:
    """The shipped rule set of ``dataset`` (raises ValueError for an unknown dataset)."""
    if dataset == "stock_quotes":
        return _stock_rules()
    if dataset == "social_mentions":
        return _social_rules()
    if dataset in ("bhavcopy_rows", "daily_bars"):
        return _bar_rules()
    raise InvalidInput(f"dataset: unknown {echo(dataset)}; expected one of {', '.join(DATASETS)}")


# What each kind reads from ``params`` (anything else is most likely a typo: {"mx": 100} would check nothing)
# and how many columns it takes (at least, at most).
PARAMS = {
    "required": (),
    "type": ("type",),
    "range": ("min", "max", "exclusive_min"),
    "allowed": ("values",),
    "pattern": ("regex",),
    "max_length": ("max",),
    "timestamp": ("future_minutes", "min_year"),
    "compare": ("op",),
    "change": ("tolerance", "max_move_percent"),
    "unique": (),
}
COLUMNS = {"compare": (2, 2), "change": (2, 3), "unique": (1, None)}
TYPES = ("number", "integer", "datetime", "date", "bool", "text")
COMPARE_OPS = (">=", "<=", ">", "<")


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# The warehouse table each dataset's records are loaded into: their columns are its fields, less those the
# database sets itself.
_DATASET_MODELS = {
    "stock_quotes": "StockData",
    "social_mentions": "SocialMention",
    "bhavcopy_rows": "DailyBar",
    "daily_bars": "DailyBar",
}
_SET_BY_DATABASE = frozenset({"id", "processed_at", "updated"})


def dataset_columns(dataset: str) -> frozenset[str]:
    """The columns a record of ``dataset`` can carry (the fields of its warehouse table)."""
    from warehouse import models

    model = getattr(models, _DATASET_MODELS[dataset])
    return frozenset(f.attname for f in model._meta.concrete_fields) - _SET_BY_DATABASE


def rule_problems(*, kind, columns, params, dataset: str | None = None) -> dict[str, list[str]]:
    """What is wrong with a rule as an admin wrote it, by field (``kind``, ``columns``, ``params``); empty
    when the validator can apply it. Checked when a rule is saved, and before a run applies a stored one:
    a rule the validator cannot apply would otherwise fail every run of its dataset with a Python error.

    With ``dataset``, every column must be one of its records' (``dataset_columns``): a misspelt column made
    a ``required`` rule reject every record, and any other rule check nothing (an absent optional column is
    skipped), while admin showed the threshold as set."""
    problems: dict[str, list[str]] = {}

    def add(where: str, message: str) -> None:
        problems.setdefault(where, []).append(message)

    if kind not in KINDS:
        add("kind", f"unknown kind {echo(kind)}; expected one of {', '.join(KINDS)}")
        return problems
    if not isinstance(columns, list | tuple) or not all(isinstance(c, str) and c.strip() for c in columns):
        add("columns", f'a list of column names, e.g. ["price"]; got {echo_json(columns)}')
    else:
        least, most = COLUMNS.get(kind, (1, 1))
        if len(columns) < least or (most is not None and len(columns) > most):
            wanted = f"{least}" if least == most else f"{least} to {most}" if most else f"at least {least}"
            add("columns", f"a {kind} rule takes {wanted} column(s); got {len(columns)}")
        if dataset in _DATASET_MODELS:
            known = dataset_columns(dataset)
            for column in columns:
                if column not in known:
                    add(
                        "columns",
                        f"{dataset} records have no column {echo(column)}; theirs: {', '.join(sorted(known))}",
                    )
    if not isinstance(params, dict):
        add("params", f'an object of parameters, e.g. {{"min": 0}}; got {echo_json(params)}')
        return problems
    known = PARAMS[kind]
    for name in params:
        if name not in known:
            expected = f"expected {', '.join(known)}" if known else "it takes none"
            add("params", f"{echo(name)} is no parameter of a {kind} rule ({expected})")

    def number(name: str, *, low: float | None = None) -> None:
        value = params.get(name)
        if value is None:
            return
        if not _number(value):
            add("params", f"{name}: a number; got {echo_json(value)}")
        elif low is not None and value < low:
            add("params", f"{name}: at least {low:g}; got {value:g}")

    if kind == "type" and params.get("type", "number") not in TYPES:
        add("params", f"type: one of {', '.join(TYPES)}; got {echo_json(params.get('type'))}")
    elif kind == "range":
        number("min")
        number("max")
        low, high = params.get("min"), params.get("max")
        if low is None and high is None:
            add("params", 'a range rule needs "min", "max" or both')
        elif _number(low) and _number(high) and low > high:
            add("params", f"min ({low:g}) is above max ({high:g})")
        if not isinstance(params.get("exclusive_min", False), bool):
            add("params", f"exclusive_min: true or false; got {echo_json(params['exclusive_min'])}")
    elif kind == "allowed":
        values = params.get("values")
        if not isinstance(values, list) or not values or any(isinstance(v, dict | list) for v in values):
            add("params", f'values: a list of the allowed values, e.g. ["EQ", "BE"]; got {echo_json(values)}')
    elif kind == "pattern":
        regex = params.get("regex")
        if not isinstance(regex, str) or not regex:
            add("params", f'regex: a regular expression, e.g. "[A-Z]+"; got {echo_json(regex)}')
        else:
            try:
                re.compile(regex)
            except re.error as exc:
                add("params", f"regex: does not compile: {exc}")
    elif kind == "max_length":
        if problem := count_problem(params.get("max"), unit="characters", least=0):
            add("params", f"max: {problem}")
    elif kind == "timestamp":
        number("future_minutes", low=0)
        year = params.get("min_year")
        if year is not None and not (whole_number(year, least=1) and year <= 9999):
            add("params", f"min_year: a year, e.g. 1990; got {echo_json(year)}")
    elif kind == "compare" and params.get("op", ">=") not in COMPARE_OPS:
        add("params", f"op: one of {', '.join(COMPARE_OPS)}; got {echo_json(params.get('op'))}")
    elif kind == "change":
        number("tolerance", low=0)
        number("max_move_percent", low=0)
    return problems
