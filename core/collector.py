"""Pausing Python's cyclic garbage collector around a bulk step, or holding it off across a whole run.

Parsing a group of lake objects builds hundreds of thousands of small dicts and lists at once; each
allocation burst starts a collection that walks every live object, so a replay spent more time in the
collector than in the parser (``_dig``, a two-key lookup, measured at 9 µs a call, 1.5 µs without it).
Reference counting still frees everything at once; the collector runs again when the block ends, for the
rare cycle. This is the usual remedy (CPython's own docs on ``gc.disable``; Instagram's ``gc.freeze``).

A run of many groups pauses around each one, but a group ends while the next one's objects, read ahead,
are alive: the collection that starts as the pause ends walks all of them, then again as they age (20 ms
a group of 5,000 NextApi quotes here, ~10 % of a replay's time). ``gc_held`` keeps the collector off for
the whole run and collects only when the objects the run left alive have grown by ``HELD_OBJECTS`` since
the last collection, which is what garbage in cycles would do; a run that makes none (a replay of 100,000
quotes made none) never pays for a collection.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager

# Net new container objects (gc.get_count()[0]: allocations less deallocations while the collector is off)
# after which a held run collects: a few hundred bytes each, so at most some 100 MB of cyclic garbage.
HELD_OBJECTS = 500_000


@contextmanager
def gc_paused():
    """Disable the cyclic collector inside the block (nesting-safe: restores the state it found)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Held:
    """The handle of ``gc_held``: ``check()`` after each step of the run collects when it is due."""

    def __init__(self, limit: int):
        self.limit = limit
        self.collections = 0

    def check(self) -> None:
        if gc.get_count()[0] >= self.limit:
            gc.collect()
            self.collections += 1


@contextmanager
def gc_held(limit: int = HELD_OBJECTS):
    """The collector off for a run of steps (as ``gc_paused``), collecting in ``Held.check`` once the
    objects left alive have grown by ``limit`` since the last collection."""
    with gc_paused():
        yield Held(limit)
