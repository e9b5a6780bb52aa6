"""After a run's loads: gold (once per run, for every date it loaded), the daily pump scores, quality."""

from __future__ import annotations

import logging

from quality.services import quality_evaluate
from warehouse.services import daily_social_pump_scores_write, gold_refresh

from ..enrich import daily_pump_score
from ..models import PipelineRun

logger = logging.getLogger(__name__)


def gold_refresh_for(spec, dates) -> None:
    """Refresh gold for the dates a load touched, then the spec's ``after_gold`` (the daily pump scores)."""
    if not dates:
        return
    gold_refresh(dates=sorted(dates))
    if spec.after_gold is not None:
        spec.after_gold(dates=sorted(dates))


def daily_pump_scores(*, dates, tickers=None) -> int:
    """Write ``DailySocial.pump_score`` for the rows of ``dates`` (and ``tickers``) with the pipelines'
    formula (``enrich.daily_pump_score``); returns the rows updated. Run it after gold for those dates."""
    return daily_social_pump_scores_write(dates=dates, score=daily_pump_score, tickers=tickers)


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
            },
        )
    except Exception:  # quality must never turn a finished load into a failed one
        logger.exception("quality evaluation after run %s failed", run.pk)
