"""The pipelines: name -> ``PipelineSpec`` (its lake source, dataset, handler and gold hook).

A pipeline's kind says how its lake objects are loaded: the spec carries that kind's handler (a
function of a ``ParsedGroup``), so the process service has no branch per kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .services.handlers import bhavcopy_load, quotes_load
from .services.social import pump_scores_after_gold, social_load


@dataclass(frozen=True)
class PipelineSpec:
    name: str
    source: str
    dataset: str
    kind: str  # "quotes", "bhavcopy" or "social"
    title: str
    handler: Callable  # (ParsedGroup) -> None: validate, load and quarantine the group's records
    # Called with the dates a run loaded, after gold was refreshed for them (daily pump scores and alerts).
    after_gold: Callable | None = None
    # Raw payloads of this pipeline feed the schema watch (a bhavcopy's layout is checked by its parser).
    schema_watch: bool = True
    # Batches are grouped before loading (a bhavcopy file is a big batch already), up to this many
    # records a group (``ObjectGroup``, a replay's groups). Posts take twice the quotes' 5,000: each one
    # costs more to transform (enrichment), so a group's fixed costs weigh less there, and a replay of
    # 50,000 posts ran 9 % faster in groups of 10,000 than of 5,000 (before 2026-12-03 a page counted 1).
    grouped: bool = True
    group_records: int = 5000


def _social(name: str, title: str) -> PipelineSpec:
    return PipelineSpec(
        name,
        name,
        "social_mentions",
        "social",
        title,
        social_load,
        after_gold=pump_scores_after_gold,
        group_records=10_000,
    )


PIPELINES: dict[str, PipelineSpec] = {
    "nse_api": PipelineSpec("nse_api", "nse_api", "stock_quotes", "quotes", "NSE quotes", quotes_load),
    "nse_bhavcopy": PipelineSpec(
        "nse_bhavcopy",
        "nse_bhavcopy",
        "bhavcopy_rows",
        "bhavcopy",
        "NSE bhavcopy",
        bhavcopy_load,
        schema_watch=False,
        grouped=False,
    ),
    "twitter": _social("twitter", "Twitter / X"),
    "telegram": _social("telegram", "Telegram"),
}


def pipeline_spec(name: str) -> PipelineSpec:
    """The spec of pipeline ``name``; ValueError naming the known ones otherwise."""
    try:
        return PIPELINES[name]
    except KeyError:
        raise ValueError(f"unknown pipeline {name!r}; expected one of: {', '.join(PIPELINES)}") from None
