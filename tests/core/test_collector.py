"""The collector pause around a group's processing never leaves a worker without its garbage collector."""

import gc
import weakref
from contextlib import contextmanager

import pytest

from core.collector import gc_held, gc_paused


@contextmanager
def _held_run():
    """A run holding the collector off, after one of its steps."""
    with gc_held() as collector:
        collector.check()
        yield


@pytest.mark.parametrize("block", [gc_paused, _held_run], ids=["paused_group", "held_run"])
def test_the_collector_is_off_inside_and_back_on_after_even_when_the_block_raises(block):
    assert gc.isenabled()
    seen = []

    def failing():
        with block():
            seen.append(gc.isenabled())
            raise RuntimeError("a group (or a run) that failed")

    with pytest.raises(RuntimeError):
        failing()
    assert seen == [False]
    assert gc.isenabled()


def test_a_nested_pause_keeps_the_collector_off_until_the_outer_block_ends():
    with gc_paused():
        with gc_paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_host_stays_off():
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


class _Node:
    """An object that can sit in a reference cycle and be watched through a weak reference."""

    def __init__(self):
        self.me = self


def _cycle_garbage(count: int) -> list:
    """``count`` unreachable reference cycles; weak references to them."""
    refs = []
    for _ in range(count):
        node = _Node()
        refs.append(weakref.ref(node))
    return refs


def test_a_held_run_collects_its_cyclic_garbage_once_it_has_grown_past_the_limit():
    with gc_held(limit=5_000) as collector:
        refs = _cycle_garbage(10_000)
        assert all(ref() is not None for ref in refs)  # the collector is off: the cycles are still there
        collector.check()
        assert collector.collections == 1
        assert all(ref() is None for ref in refs)


def test_a_held_run_does_not_collect_while_little_has_piled_up():
    with gc_held(limit=1_000_000) as collector:
        refs = _cycle_garbage(10)
        collector.check()
        assert collector.collections == 0
        assert all(ref() is not None for ref in refs)
    gc.collect()
    assert all(ref() is None for ref in refs)
