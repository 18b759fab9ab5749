"""collector.paused: the collector off inside and back on after; `lasting` leaves what lives on out of its walks."""

from __future__ import annotations

import gc

import pytest

from backprop_check import collector


class Node:
    def __init__(self):
        self.next = None


def test_paused_turns_the_collector_off_and_back_on():
    assert gc.isenabled()
    with collector.paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_nested_pause_leaves_the_outer_one_paused():
    with collector.paused():
        with collector.paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_lasting_freezes_what_lives_on():
    gc.collect()
    before = gc.get_freeze_count()
    try:
        with collector.paused(lasting=True):
            kept = [Node() for _ in range(100)]
        assert gc.get_freeze_count() >= before + 100
        assert not any(gc.is_tracked(n) and n in gc.get_objects(generation=0) for n in kept[:3])
    finally:
        gc.unfreeze()
    assert gc.isenabled()


def test_lasting_freezes_nothing_on_an_error():
    gc.collect()
    before = gc.get_freeze_count()
    with pytest.raises(ValueError):
        with collector.paused(lasting=True):
            raise ValueError("bad input")
    assert gc.get_freeze_count() == before and gc.isenabled()


def test_without_lasting_a_cycle_made_inside_is_collected_after():
    gc.collect()
    with collector.paused():
        a, b = Node(), Node()
        a.next, b.next = b, a
        del a, b
    assert gc.collect() >= 2
