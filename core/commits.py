"""Commits that do not wait for the disk, where the lake makes them safe to lose.

A group's load commits four or five times (the rows, a bhavcopy's bars, the catalog's counts and its
LOADED marks); on PostgreSQL each commit waits for its WAL to reach the disk (an fdatasync), ~4 % of a
bhavcopy replay here. ``commits_unflushed`` turns that wait off for a block (PostgreSQL's
``synchronous_commit = off``, the documented setting for work that may lose its last moments but never
its consistency): the server acknowledges at once and its WAL writer flushes within ~0.6 s.

Why losing them is safe: a crash of the server can lose only the newest such commits, in order, never
a part of one. Every one of them is derived from an object the lake holds already, stored and
catalogued with ordinary, flushed commits before any load starts. A lost load leaves its objects
"stored, not loaded", which ``replay_unloaded`` loads again (idempotent: the natural keys), exactly as
after a worker killed mid-load. A run's own end (``run_finish``) and a replay's gold refresh commit
normally, and flush everything before them: a run that says "success" is on disk.

Only a block outside any transaction turns it off (a caller's transaction commits as the caller says),
and only on PostgreSQL; the setting is the session's, put back as the block ends.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.db import DatabaseError, connection


@contextmanager
def commits_unflushed():
    """Commits inside the block do not wait for their WAL to reach the disk (see the module's note)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")  # the session's own setting again
        except DatabaseError:
            pass  # the connection is gone (what ended the block): Django opens a new one, with the default
