"""Reads on a streaming replica (DATABASE_REPLICA_URL): the router, and where replica reads apply.

Replica reads are opt-in by context, so nothing that writes can read a stale row by accident:
- ``ReplicaReadMiddleware`` turns them on for GET/HEAD/OPTIONS requests (read APIs and pages);
- the seed's read entry points (``warehouse.get_*``) turn them on for their own queries;
- ``primary_pinned()`` turns them off for everything inside it, whatever the caller asked: pipelines
  and Celery tasks run pinned, and so does any read inside a transaction on the primary.
Only the project's own data (lake, warehouse, quality, pipelines) goes to the replica; users, sessions,
tokens and the beat schedule always come from the primary, so a replica's lag never logs anyone out.
When the replica does not answer, reads fall back to the primary and the replica is retried after
``DATABASE_REPLICA_RETRY`` seconds.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps

from django.conf import settings
from django.db import DatabaseError, connections

logger = logging.getLogger(__name__)

REPLICA = "replica"
PRIMARY = "default"
REPLICA_APPS = {"lake", "warehouse", "quality", "pipelines"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

_replica_reads: ContextVar[bool] = ContextVar("replica_reads", default=False)
_pinned: ContextVar[bool] = ContextVar("primary_pinned", default=False)
_down_until = 0.0


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


@contextmanager
def replica_reads():
    """Reads of the project's data inside this block may be served by the replica (when configured)."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


@contextmanager
def primary_pinned():
    """Every read inside this block goes to the primary (pipelines, tasks, read-modify-write code)."""
    token = _pinned.set(True)
    try:
        yield
    finally:
        _pinned.reset(token)


def reads_from_replica(func):
    """Decorator: ``func``'s reads may come from the replica (the seed's read entry points)."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        with replica_reads():
            return func(*args, **kwargs)

    return wrapper


def read_alias() -> str:
    """Where a read of the project's data goes right now."""
    if not (_replica_reads.get() and replica_configured()) or _pinned.get():
        return PRIMARY
    if connections[PRIMARY].in_atomic_block:
        return PRIMARY  # read your own uncommitted writes
    return REPLICA if _replica_up() else PRIMARY


def _replica_up() -> bool:
    global _down_until
    if time.monotonic() < _down_until:
        return False
    conn = connections[REPLICA]
    try:
        # Django checks a kept connection once per request (CONN_HEALTH_CHECKS); a dead one is closed
        # and reopened here, so a replica that went away is noticed at the next request's first read.
        conn.close_if_health_check_failed()
        conn.ensure_connection()
        return True
    except DatabaseError as exc:
        _down_until = time.monotonic() + settings.DATABASE_REPLICA_RETRY
        logger.warning(
            "replica unavailable, reading from the primary for %ss: %s", settings.DATABASE_REPLICA_RETRY, exc
        )
        try:
            conn.close()
        except DatabaseError:
            pass  # it is gone either way
        return False


class ReplicaRouter:
    """Django database router: writes and migrations on the primary, reads as ``read_alias()`` says."""

    def db_for_read(self, model, **hints):
        if model._meta.app_label not in REPLICA_APPS:
            return PRIMARY
        return read_alias()

    def db_for_write(self, model, **hints):
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica holds the primary's rows: any pair may relate

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY


class ReplicaReadMiddleware:
    """GET/HEAD/OPTIONS requests read the project's data from the replica; other methods from the primary."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in SAFE_METHODS or not replica_configured():
            return self.get_response(request)
        with replica_reads():
            return self.get_response(request)
