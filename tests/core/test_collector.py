"""The collector pause around a group's processing never leaves a worker without its garbage collector."""

import gc
import weakref

import pytest

from core.collector import gc_paused


def test_the_collector_is_off_inside_and_back_on_after_even_when_the_block_raises():
    assert gc.isenabled()
    seen = []

    def failing_group():
        with gc_paused():
            seen.append(gc.isenabled())
            raise RuntimeError("a group that failed")

    with pytest.raises(RuntimeError):
        failing_group()
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


def test_a_held_run_keeps_the_collector_off_between_its_steps_and_restores_it():
    from core.collector import gc_held

    seen = []

    def failing_run():
        with gc_held() as collector:
            collector.check()
            seen.append(gc.isenabled())
            raise RuntimeError("a run that failed")

    with pytest.raises(RuntimeError):
        failing_run()
    assert seen == [False]
    assert gc.isenabled()


def test_a_held_run_collects_its_cyclic_garbage_once_it_has_grown_past_the_limit():
    from core.collector import gc_held

    with gc_held(limit=5_000) as collector:
        refs = _cycle_garbage(10_000)
        assert all(ref() is not None for ref in refs)  # the collector is off: the cycles are still there
        collector.check()
        assert collector.collections == 1
        assert all(ref() is None for ref in refs)


def test_a_held_run_does_not_collect_while_little_has_piled_up():
    from core.collector import gc_held

    with gc_held(limit=1_000_000) as collector:
        refs = _cycle_garbage(10)
        collector.check()
        assert collector.collections == 0
        assert all(ref() is not None for ref in refs)
    gc.collect()
    assert all(ref() is None for ref in refs)
