"""Work to do while PostgreSQL takes in a bulk load: the server's part of a ``COPY`` overlapped with ours.

A ``COPY`` of a few thousand warehouse rows is written in a few milliseconds (into the socket's buffers),
and the server then works on them (JSONB, indexes, WAL) for about as long as we took to parse them.
Meanwhile this process would only wait. A caller with independent work (a replay: reading and parsing
the next group of lake objects) hands it to ``meanwhile``; the loader writes its rows, runs the work
(``meanwhile_run``), then waits for the server as before. (A thread feeding the rows to the connection,
psycopg's ``QueuedLibpqWriter``, measured the same here: the buffers hold a group's rows.)

The work must not use the database connection (it is busy with the ``COPY``) and must not raise: it runs
at most once, inside whichever load comes first, and not at all when no load comes (an empty group,
SQLite): the caller then does it itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_work: ContextVar[Callable[[], None] | None] = ContextVar("meanwhile_work", default=None)


@contextmanager
def meanwhile(work: Callable[[], None] | None) -> Iterator[None]:
    """Offer ``work`` (no database, never raises) to the first bulk load inside the block."""
    token = _work.set(work)
    try:
        yield
    finally:
        _work.reset(token)


def meanwhile_run() -> None:
    """Run the offered work, once (a later load in the same block finds none)."""
    work = _work.get()
    if work is not None:
        _work.set(None)
        work()
