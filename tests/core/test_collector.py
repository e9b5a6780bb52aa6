"""The collector pause around a group's processing never leaves a worker without its garbage collector."""

import gc

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
