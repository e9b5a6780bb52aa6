"""DataValidator: one batch in, valid rows and rejected rows (with every rule they failed) out.

Every rule is a vectorised mask over the whole batch (numpy/pandas), never a Python loop per row: text
columns are factorised once and their few distinct values checked, so a million quotes take a fraction
of a second (the cached columns are ``quality.batch.Batch``). Python only touches the rows that failed,
to write their reasons.

Contract (docs/CONTRACTS.md): ``DataValidator(dataset).validate(df) -> ValidationResult(valid, rejected,
warnings)``. ``valid`` keeps the input's columns with coerced values (numbers as floats or nullable
integers, timestamps as aware UTC, dates as ``datetime.date``) plus ``_warnings``: None, or the list of
warn-severity rules the row failed. Rows failing an error-severity rule are in ``rejected`` only.
Timestamps without an offset are read as UTC.
"""

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pandas as pd

from core.errors import InvalidInput, echo

from .batch import BOOL_VALUES, Batch
from .rules import DATASETS, ERROR, Rule, default_rules, rule_problems


@dataclass
class Rejected:
    """One rejected (or flagged) record: the record as JSON-ready values, and every rule it failed."""

    record: dict
    reasons: list[dict]

    @property
    def rules(self) -> list[str]:
        return [r["rule"] for r in self.reasons]


@dataclass
class ValidationResult:
    valid: pd.DataFrame
    rejected: list[Rejected] = field(default_factory=list)
    warnings: list[Rejected] = field(default_factory=list)
    # Records repeating an earlier one of the same batch (a ``unique`` rule): duplicates, not rejects.
    duplicates: int = 0

    @property
    def total(self) -> int:
        return len(self.valid) + len(self.rejected) + self.duplicates


def json_value(value):
    """A JSON-ready copy of one value (quarantine rows are JSON)."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value).replace("\x00", "")
    if isinstance(value, dict):
        return {str(k).replace("\x00", ""): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [json_value(v) for v in value]
    if isinstance(value, str):
        return value.replace("\x00", "")  # jsonb refuses \u0000
    if isinstance(value, int | bool):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value).replace("\x00", "")


def rules_for(dataset: str) -> list[Rule]:
    """The current rule set of ``dataset``: the admin-edited table, or the shipped defaults if it is empty."""
    if dataset not in DATASETS:
        raise InvalidInput(f"dataset: unknown {echo(dataset)}; expected one of {', '.join(DATASETS)}")
    from .models import ValidationRule

    rows = list(ValidationRule.objects.filter(dataset=dataset))
    if not rows:
        return default_rules(dataset)
    rows = [row for row in rows if row.enabled]
    for row in rows:
        # Admin refuses such a rule; one written another way (the shell, SQL, a fixture) stops the run here,
        # in one line, rather than as a Python error from inside the validator (or a check that checks nothing).
        problems = rule_problems(kind=row.kind, columns=row.columns, params=row.params, dataset=dataset)
        if problems:
            said = "; ".join(f"{field}: {message}" for field, messages in problems.items() for message in messages)
            raise InvalidInput(
                f"validation rule {echo(row.name)} of {dataset} cannot be applied ({said}): "
                "fix or disable it in admin (Quality, Validation rules)"
            )
    return [row.to_rule() for row in rows]


def _describe(rule: Rule) -> str:
    p = rule.params
    if rule.description:
        return rule.description
    return f"{rule.kind} {p}"


# --- one mask per rule kind: True where the row fails -------------------------------------------
def _type_mask(rule: Rule, b: Batch) -> np.ndarray:
    """Values that are present but not of the rule's type (null is the ``required`` rule's business)."""
    col, want = rule.column, rule.params.get("type", "number")
    nulls = b.null(col)
    if want in ("number", "integer"):
        values = b.number(col)
        bad = np.isnan(values) & ~nulls
        if want == "integer":
            with np.errstate(invalid="ignore"):
                bad |= ~np.isnan(values) & (np.floor(values) != values)
        return bad
    if want in ("datetime", "date"):
        return b.time(col, date_only=want == "date").isna().to_numpy() & ~nulls
    if want == "bool":
        return b.per_unique(col, lambda v: v not in BOOL_VALUES) & ~nulls
    if want == "text":
        return b.per_unique(col, lambda v: not isinstance(v, str))
    raise ValueError(f"rule {rule.name}: unknown type {want!r}")


def _range_mask(col: str, p: dict, b: Batch) -> np.ndarray:
    values = b.number(col)
    bad = np.zeros(b.n, dtype=bool)
    with np.errstate(invalid="ignore"):
        if p.get("min") is not None:
            bad |= (values <= p["min"]) if p.get("exclusive_min") else (values < p["min"])
        if p.get("max") is not None:
            bad |= values > p["max"]
    return bad


def _timestamp_mask(col: str, p: dict, b: Batch, now: dt.datetime | None) -> np.ndarray:
    """Times in the future (beyond a little clock skew) or before the data can have existed."""
    times = b.time(col, date_only=col == "date")
    now = pd.Timestamp(now or dt.datetime.now(dt.UTC))
    latest = now + pd.Timedelta(minutes=float(p.get("future_minutes", 10)))
    earliest = pd.Timestamp(year=int(p.get("min_year", 1990)), month=1, day=1, tz="UTC")
    return ((times > latest) | (times < earliest)).fillna(False).to_numpy(dtype=bool)


def _compare_mask(cols: list[str], p: dict, b: Batch) -> np.ndarray:
    """Two columns out of order (e.g. high below low); a missing side passes."""
    left, right = b.number(cols[0]), b.number(cols[1])
    op = p.get("op", ">=")
    with np.errstate(invalid="ignore"):
        ok = {
            ">=": left >= right,
            "<=": left <= right,
            ">": left > right,
            "<": left < right,
        }[op]
    return ~ok & ~np.isnan(left) & ~np.isnan(right)


def _change_mask(cols: list[str], p: dict, b: Batch) -> np.ndarray:
    """A price move against the previous close that disagrees with the stated change, or is implausibly large."""
    price, prev = b.number(cols[0]), b.number(cols[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        move = (price / prev - 1.0) * 100.0
        if len(cols) >= 3:
            stated = b.number(cols[2])
            bad = np.abs(move - stated) > float(p.get("tolerance", 0.5))
        else:
            bad = np.abs(move) > float(p.get("max_move_percent", 20))
    return bad & (prev > 0) & np.isfinite(move)


def _all_dates(values: list) -> bool:
    """Whether every value is a plain ``datetime.date`` (not a datetime, not text): nothing to coerce."""
    return all(type(v) is dt.date for v in values)


class DataValidator:
    """Validate batches of one dataset (``stock_quotes``, ``social_mentions``, ``bhavcopy_rows``, ``daily_bars``)."""

    def __init__(self, dataset: str, rules: list[Rule] | None = None, *, now: dt.datetime | None = None):
        if dataset not in DATASETS:
            raise InvalidInput(f"dataset: unknown {echo(dataset)}; expected one of {', '.join(DATASETS)}")
        self.dataset = dataset
        self.rules = list(rules) if rules is not None else rules_for(dataset)
        self.now = now

    # --- masks: True where the row fails -------------------------------------------------------
    def _mask(self, rule: Rule, b: Batch) -> np.ndarray | None:
        cols = rule.columns
        kind, p = rule.kind, rule.params
        if kind == "required":
            if not b.has(rule.column):
                return np.ones(b.n, dtype=bool)
            return b.null(rule.column)
        if any(not b.has(c) for c in cols) and kind not in ("unique",):
            return None  # optional column absent from this batch: nothing to check
        col = rule.column
        if kind == "type":
            return _type_mask(rule, b)
        if kind == "range":
            return _range_mask(col, p, b)
        if kind == "allowed":
            allowed = set(p.get("values", []))
            return b.per_unique(col, lambda v: v not in allowed)
        if kind == "pattern":
            regex = re.compile(p["regex"])
            return b.per_unique(col, lambda v: not (isinstance(v, str) and regex.fullmatch(v)))
        if kind == "max_length":
            limit = int(p["max"])
            return b.per_unique(col, lambda v: len(str(v)) > limit)
        if kind == "timestamp":
            return _timestamp_mask(col, p, b, self.now)
        if kind == "compare":
            return _compare_mask(cols, p, b)
        if kind == "change":
            return _change_mask(cols, p, b)
        if kind == "unique":
            present = [c for c in cols if b.has(c)]
            if not present or b.n == 0:
                return None
            return self._duplicates(present, b)
        raise ValueError(f"rule {rule.name}: unknown kind {kind!r}")

    @staticmethod
    def _duplicates(columns: list[str], b: Batch) -> np.ndarray:
        # Combine the factorised codes into one int64 key: duplicated() on one integer array is far
        # cheaper than on a frame of strings. Fall back to the frame when the key space could overflow.
        key = np.zeros(b.n, dtype=np.int64)
        space = 1
        for c in columns:
            codes, uniques = b.codes(c)
            size = len(uniques) + 1
            if space * size >= 2**62:
                return b.df.duplicated(subset=columns, keep="first").to_numpy()
            key = key * size + (codes + 1)
            space *= size
        return pd.Series(key).duplicated(keep="first").to_numpy()

    # --- the batch ---------------------------------------------------------------------------------
    def validate(self, data) -> ValidationResult:
        """Validate a DataFrame (or a list of record dicts) with the current rule set."""
        df = data if isinstance(data, pd.DataFrame) else pd.DataFrame.from_records(list(data))
        if len(df) == 0:
            return ValidationResult(valid=df.assign(_warnings=pd.Series(dtype=object)))
        b = Batch(df)
        failed: list[tuple[Rule, np.ndarray]] = []
        for rule in self.rules:
            mask = self._mask(rule, b)
            if mask is not None and mask.any():
                failed.append((rule, mask))

        errors = np.zeros(b.n, dtype=bool)
        warned = np.zeros(b.n, dtype=bool)
        repeated = np.zeros(b.n, dtype=bool)
        for rule, mask in failed:
            if rule.kind == "unique" and rule.severity == ERROR:
                repeated |= mask  # a record seen earlier in the batch: dropped as a duplicate
            elif rule.severity == ERROR:
                errors |= mask
            else:
                warned |= mask
        if repeated.any():
            # Only an exact repeat of an earlier record is a duplicate; the same key with other values
            # is a conflict, and the unique rule rejects it.
            same = df.astype(str).duplicated(keep="first").to_numpy()
            errors |= repeated & ~same
            repeated &= same
        repeated &= ~errors
        warned &= ~(errors | repeated)

        rejected = self._explain(df, b, failed, np.flatnonzero(errors))
        flagged = self._explain(df, b, [(r, m) for r, m in failed if r.severity != ERROR], np.flatnonzero(warned))

        keep = ~(errors | repeated)
        errors = ~keep
        valid = df if not errors.any() else df.iloc[np.flatnonzero(keep)]
        valid = self._coerced(valid, b, keep if errors.any() else None)
        warn_col = np.full(len(valid), None, dtype=object)
        if flagged:
            positions = np.cumsum(keep) - 1  # row position in ``valid`` of each kept input row
            for pos, item in zip(np.flatnonzero(warned), flagged, strict=True):
                warn_col[positions[pos]] = item.rules
        valid["_warnings"] = warn_col
        return ValidationResult(valid=valid, rejected=rejected, warnings=flagged, duplicates=int(repeated.sum()))

    def _explain(self, df, b: Batch, failed, positions: np.ndarray) -> list[Rejected]:
        if len(positions) == 0:
            return []
        reasons: dict[int, list[dict]] = {int(p): [] for p in positions}
        for rule, mask in failed:
            hit = positions[mask[positions]]
            column = rule.column
            values = df[column].iloc[hit].to_list() if column in df.columns else [None] * len(hit)
            for pos, value in zip(hit, values, strict=True):
                reasons[int(pos)].append(
                    {
                        "rule": rule.name,
                        "column": column,
                        "value": json_value(value),
                        "message": _describe(rule),
                        "severity": rule.severity,
                    }
                )
        records = df.iloc[positions].to_dict("records")
        return [
            Rejected(record={str(k): json_value(v) for k, v in rec.items()}, reasons=reasons[int(pos)])
            for pos, rec in zip(positions, records, strict=True)
        ]

    def _coerced(self, valid: pd.DataFrame, b: Batch, keep: np.ndarray | None) -> pd.DataFrame:
        """Write the coerced values of typed columns into the output (a copy when rows were dropped)."""
        valid = valid.copy() if keep is not None else valid.copy(deep=False)
        for rule in self.rules:
            if rule.kind != "type" or not b.has(rule.column):
                continue
            col, want = rule.column, rule.params.get("type")
            dtype = valid[col].dtype
            if want == "number":
                if dtype == np.float64:
                    continue  # already what the loaders expect: no copy
                values = b.number(col)
                valid[col] = values[keep] if keep is not None else values
            elif want == "integer":
                if pd.api.types.is_integer_dtype(dtype):
                    continue
                values = b.number(col)
                values = values[keep] if keep is not None else values
                missing = np.isnan(values)
                valid[col] = pd.arrays.IntegerArray(np.where(missing, 0, values).astype("int64"), missing)
            elif want == "datetime":
                if isinstance(dtype, pd.DatetimeTZDtype) and str(dtype.tz) == "UTC":
                    continue
                times = b.time(col).array
                valid[col] = times[keep] if keep is not None else times
            elif want == "date":
                if dtype == np.dtype(object) and _all_dates(valid[col].tolist()):
                    continue  # calendar dates already (a parser's bars): converting them gives them back
                times = b.time(col, date_only=True)
                times = times[keep] if keep is not None else times
                local = times.dt.tz_convert("Asia/Kolkata")
                valid[col] = [None if pd.isna(t) else t.date() for t in local]
            elif want == "bool" and not pd.api.types.is_bool_dtype(dtype):
                valid[col] = valid[col].map(lambda v: BOOL_VALUES.get(v) if v is not None else None)
        return valid
