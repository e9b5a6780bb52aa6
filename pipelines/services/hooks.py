"""After a run's loads: gold (once per run, for every date it loaded) and the quality evaluation."""

from __future__ import annotations

import logging

from quality.services import quality_evaluate
from warehouse.services import gold_refresh

from ..models import PipelineRun

logger = logging.getLogger(__name__)


def gold_refresh_for(spec, dates) -> None:
    """Refresh gold for the dates a load touched, then the spec's ``after_gold`` (the daily pump scores)."""
    if not dates:
        return
    gold_refresh(dates=sorted(dates))
    if spec.after_gold is not None:
        spec.after_gold(dates=sorted(dates))


def quality_after_run(run: PipelineRun, *, dataset: str, lake_object_ids: list[int]) -> None:
    """Quality's evaluation of a finished run; never raises (quality must not fail a finished load)."""
    try:
        quality_evaluate(
            run_id=run.pk,
            dataset=dataset,
            lake_object_ids=lake_object_ids,
            counts={
                **{k: getattr(run, k) for k in ("fetched", "valid", "rejected", "inserted", "duplicates")},
                # Quality's valid ratio is the validation pass rate: duplicates passed validation too.
                "valid": run.fetched - run.rejected,
                "lake_records": run.fetched,
            },
        )
    except Exception:  # quality must never turn a finished load into a failed one
        logger.exception("quality evaluation after run %s failed", run.pk)
