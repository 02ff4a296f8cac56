"""``settled_heap``: start-up objects frozen out of the collector while trading; what is made
later is still collected; leaving the block unfreezes."""

from __future__ import annotations

import gc
import weakref

from tradewind.live.heap import settled_heap


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_start_up_objects_are_frozen_and_later_cycles_still_collected() -> None:
    before = _Node()
    with settled_heap() as frozen:
        assert frozen > 1000  # the interpreter's and the test run's objects
        assert gc.get_freeze_count() > 0
        later = _Node()
        gone = weakref.ref(later)
        del later
        gc.collect()
        assert gone() is None, "a cycle made while trading is collected as usual"
        kept = weakref.ref(before)
        del before
        gc.collect()
        assert kept() is not None, "a start-up cycle is frozen: collections skip it"
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert kept() is None, "unfrozen on leaving: collected again"
