"""Validate the rows of a group of lake objects, quarantine the refused ones, load the rest in one load.

The verdicts are those of validating and loading the objects one after another (see
``validate_and_load``), so grouping objects never changes what ends up in the warehouse.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from quality.services import rejects_quarantine
from quality.validation import DataValidator, Rejected

from .outcome import Outcome


def reason(rule: str, message: str, *, column: str = "", value=None) -> dict:
    """One reason for a refused record, in quality's shape."""
    return {"rule": rule, "column": column, "value": value, "message": message, "severity": "error"}


def refused(record: dict, rule: str, message: str) -> Rejected:
    return Rejected(record=record, reasons=[reason(rule, message)])


def quarantine(*, dataset: str, run_id, lake_object_id, rejected: list) -> int:
    """Keep refused records in quality's quarantine; returns how many were kept."""
    if not rejected:
        return 0
    return rejects_quarantine(dataset=dataset, run_id=run_id, lake_object_id=lake_object_id, rejected=rejected)


def _unique_codes(frame: pd.DataFrame, validator: DataValidator) -> list[np.ndarray]:
    """For each ``unique`` rule of the validator, one code per row: rows with equal codes share that key."""
    codes = []
    for rule in validator.rules:
        columns = [c for c in rule.columns if c in frame.columns] if rule.kind == "unique" else []
        if columns:
            codes.append(frame.groupby(columns, dropna=False, sort=False).ngroup().to_numpy())
    return codes


def _rounds(frame: pd.DataFrame, object_ids: list[int], codes: list[np.ndarray]) -> np.ndarray:
    """The round of each row: 0 for the rows of the first object bringing a key, 1 for the next object's, …"""
    rank = np.zeros(len(frame), dtype=np.int64)
    if len(object_ids) > 1:
        position = {pk: n for n, pk in enumerate(object_ids)}
        order = pd.Series(frame["lake_object_id"].map(position).to_numpy())
        for code in codes:
            rank = np.maximum(rank, order.groupby(code).rank(method="dense").to_numpy(dtype=np.int64) - 1)
    return rank


def _seen(codes: list[np.ndarray], accepted: list[set], size: int) -> np.ndarray:
    """Rows whose key (under any ``unique`` rule) an earlier round accepted."""
    seen = np.zeros(size, dtype=bool)
    for code, keys in zip(codes, accepted, strict=True):
        if keys:
            seen |= np.isin(code, np.fromiter(keys, dtype=np.int64))
    return seen


def validate_and_load(
    *, dataset: str, rows: list[dict], loader: Callable, object_ids: list[int], run_id, outcome: Outcome
) -> pd.DataFrame:
    """Validate the rows of one or more lake objects (each row carries its ``lake_object_id``), quarantine
    the refused ones, load the rest in one load; returns the valid frame.

    The verdicts are those of validating and loading the objects one after another: a key that an
    earlier object of the group already brought is not a duplicate *in a batch* (the ``unique`` rules'
    error) but, once that earlier row is loaded, a duplicate in the warehouse. So rows are validated
    in rounds: first every key's rows from the first object that has it, then a later object's rows
    are duplicates when an earlier round accepted their key (validated again when it did not).
    """
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows)
    validator = DataValidator(dataset)
    quarantine_id = object_ids[0] if len(object_ids) == 1 else None  # else each record names its object
    codes = _unique_codes(frame, validator) if len(object_ids) > 1 else []
    rank = _rounds(frame, object_ids, codes)
    accepted = [set() for _ in codes]  # per unique rule, the key codes of rows that passed validation
    valid_parts = []
    for number in range(int(rank.max()) + 1):
        chosen = rank == number
        if number:
            seen = _seen(codes, accepted, len(frame))
            outcome.duplicates += int((chosen & seen).sum())
            chosen &= ~seen
        if not chosen.any():
            continue
        part = frame if chosen.all() else frame.iloc[np.flatnonzero(chosen)]
        result = validator.validate(part)
        outcome.duplicates += result.duplicates
        outcome.rejected += quarantine(
            dataset=dataset, run_id=run_id, lake_object_id=quarantine_id, rejected=result.rejected
        )
        if len(result.valid):
            if codes:
                positions = frame.index.get_indexer(result.valid.index)
                for code, keys in zip(codes, accepted, strict=True):
                    keys.update(code[positions].tolist())
            valid_parts.append(result.valid)
    if not valid_parts:
        return pd.DataFrame()
    valid = valid_parts[0] if len(valid_parts) == 1 else pd.concat(valid_parts)
    _load(valid, loader=loader, dataset=dataset, run_id=run_id, quarantine_id=quarantine_id, outcome=outcome)
    return valid


def _load(valid: pd.DataFrame, *, loader: Callable, dataset: str, run_id, quarantine_id, outcome: Outcome) -> None:
    load = loader(valid)
    outcome.inserted += load.inserted
    outcome.duplicates += load.duplicates
    outcome.dates |= set(load.dates or ())
    if load.errors:
        rejected = [refused(err.record, "load_error", err.error) for err in load.errors]
        outcome.rejected += quarantine(dataset=dataset, run_id=run_id, lake_object_id=quarantine_id, rejected=rejected)


def group_validate_and_load(group, *, dataset: str, rows: list[dict], loader: Callable) -> pd.DataFrame:
    """``validate_and_load`` of rows of a ``ParsedGroup`` (its objects, run and outcome)."""
    return validate_and_load(
        dataset=dataset, rows=rows, loader=loader, object_ids=group.ids, run_id=group.run_id, outcome=group.outcome
    )
