"""Beat schedules an operator edits in admin (django-celery-beat's Periodic tasks): the arguments of Tickerlake's
own tasks are checked where they are written.

Admin checked only that args and kwargs were JSON. A typo'd keyword (``{"limt": 100}``), a pipeline that does
not exist, a replay limit of ``-1`` or ``"100"`` then failed every tick in a worker's log
("Negative indexing is not supported"), and a schedule mode or trigger no code knows (``"livee"``) ran the
pipeline as if unscheduled, or stored a run whose trigger no page could name. ``schedule_problems`` binds the
arguments to the task's own signature and checks the values the task reads, so the form names the mistake.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable

from core.errors import count_problem, echo_json

from .models import PipelineRun

# Task names of this project: one of them that no worker knows is a typo, not some other project's task.
OWN_PREFIXES = ("pipelines.", "lake.", "warehouse.", "quality.", "core.")
MODES = ("simulated", "live")  # pipelines.run's ``mode`` (None: any upstream)


def mode_problem(mode) -> str:
    """Why ``mode`` is no schedule mode of ``pipelines.run`` ("" when it is one, or None)."""
    if mode is None or mode in MODES:
        return ""
    return f"a schedule mode: simulated, live or null; got {echo_json(mode)}"


def trigger_problem(trigger) -> str:
    if trigger in PipelineRun.Trigger.values:
        return ""
    return f"one of {', '.join(PipelineRun.Trigger.values)}; got {echo_json(trigger)}"


def limit_problem(limit) -> str:
    """pipelines.replay_unloaded's ``limit``: objects per replay, a whole number, 1 or more."""
    return count_problem(limit, unit="objects", least=1)


def _pipeline(value) -> str:
    from . import registry

    if value in registry.PIPELINES:
        return ""
    return f"one of {', '.join(registry.PIPELINES)}; got {echo_json(value)}"


def _count(least: int, most: int | None = None, *, unit: str, null: bool = False) -> Callable[[object], str]:
    return lambda value: count_problem(value, unit=unit, least=least, most=most, null=null)


def _checks() -> dict[str, dict[str, Callable[[object], str]]]:
    """Per task, the parameters whose values a schedule may get wrong, and their checks."""
    from warehouse.services.partitions import MAX_AHEAD

    return {
        "pipelines.run": {
            "pipeline": _pipeline,
            "mode": mode_problem,
            "trigger": trigger_problem,
            "run_id": _count(1, unit="ids", null=True),
        },
        "pipelines.replay_unloaded": {"limit": limit_problem},
        "warehouse.tasks.warehouse_partitions": {"ahead": _count(0, MAX_AHEAD, unit="months")},
        "lake.tasks.lake_retention": {"days": _count(0, unit="days", null=True)},
    }


def schedule_problems(task_name: str, args_text: str, kwargs_text: str) -> list[str]:
    """What is wrong with a schedule of ``task_name`` with these args and kwargs (JSON texts): [] when nothing
    is (or when the task is not Tickerlake's: another app's tasks are their own business)."""
    from config.celery import app

    own = task_name.startswith(OWN_PREFIXES)
    try:
        args, kwargs = json.loads(args_text or "[]"), json.loads(kwargs_text or "{}")
    except ValueError:
        return []  # django-celery-beat's form says so itself
    problems = []
    if not isinstance(args, list):
        problems.append(f"args: a JSON list of positional arguments; got {echo_json(args)}")
    if not isinstance(kwargs, dict):
        problems.append(f"kwargs: a JSON object of keyword arguments; got {echo_json(kwargs)}")
    if problems or not own:
        return problems
    app.loader.import_default_modules()  # the tasks of every installed app, as a worker has them
    task = app.tasks.get(task_name)
    if task is None:
        known = sorted(name for name in app.tasks if name.startswith(OWN_PREFIXES))
        return [f"task: no task named {task_name!r} (Tickerlake's: {', '.join(known)})"]
    signature = inspect.signature(task.run)
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as exc:
        takes = ", ".join(signature.parameters) or "no arguments"
        return [f"arguments: {exc} ({task_name} takes: {takes})"]
    for name, check in _checks().get(task_name, {}).items():
        if name in bound.arguments and (problem := check(bound.arguments[name])):
            problems.append(f"{name}: {problem}")
    return problems
