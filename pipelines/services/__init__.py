"""Pipeline services: everything that writes or changes state in the pipelines app.

- ``runs``: the one run lifecycle (create, claim, skip, start, fail, finish), the pipeline lock,
  stage timing, queueing a run for a worker, closing abandoned runs.
- ``pipeline``: one run, extract → lake → process (in groups) → gold → quality.
- ``process``: lake objects → parse → the kind's handler; the grouping policy (``ObjectGroup``).
- ``validate``: a group's rows validated in rounds, quarantined or loaded in one load.
- ``handlers`` (quotes, bhavcopy) and ``social``: one handler per pipeline kind (``registry``).
- ``schema_watch``, ``hooks`` (gold and quality after a run), ``replay`` (replay and backfill).
- ``holidays``: the trading calendar's refresh from NSE's holiday master (not a pipeline run).
- ``history``: the simulated market's last trading days through the real runs (``simulate_history``).

Modules here import ``pipelines.registry`` as a module (``registry.PIPELINES`` at call time): the
registry names the handlers defined here, so either package may be imported first.
"""

from .history import HistoryRefused, HistoryResult, history_days, simulate_history
from .hooks import daily_pump_scores
from .outcome import COUNTS, Outcome, ParsedGroup
from .pipeline import pipeline_run
from .process import ObjectGroup, lake_object_process, lake_objects_process
from .replay import (
    ReprocessPlan,
    lake_objects_in_range,
    lake_objects_reprocess,
    lake_objects_reprocess_range,
    objects_replay,
    replay_unloaded,
    reprocess_execute,
    reprocess_plan,
    workers_available,
)
from .runs import (
    BrokerUnavailable,
    QueuedRun,
    RunNotRecorded,
    Stages,
    pipeline_lock,
    pipeline_lock_acquire,
    pipeline_lock_release,
    pipeline_run_queue,
    run_claim,
    run_create,
    run_fail,
    run_finish,
    run_skip,
    run_start,
    runs_abandoned_close,
)
from .social import enrichers, enrichers_reset

__all__ = [
    "COUNTS",
    "BrokerUnavailable",
    "HistoryRefused",
    "HistoryResult",
    "ObjectGroup",
    "Outcome",
    "ParsedGroup",
    "QueuedRun",
    "ReprocessPlan",
    "RunNotRecorded",
    "Stages",
    "daily_pump_scores",
    "enrichers",
    "enrichers_reset",
    "history_days",
    "lake_object_process",
    "lake_objects_in_range",
    "lake_objects_process",
    "lake_objects_reprocess",
    "lake_objects_reprocess_range",
    "objects_replay",
    "pipeline_lock",
    "pipeline_lock_acquire",
    "pipeline_lock_release",
    "pipeline_run",
    "pipeline_run_queue",
    "replay_unloaded",
    "reprocess_execute",
    "reprocess_plan",
    "run_claim",
    "run_create",
    "run_fail",
    "run_finish",
    "run_skip",
    "run_start",
    "runs_abandoned_close",
    "simulate_history",
    "workers_available",
]
