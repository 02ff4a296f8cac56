"""``settled_heap``: the trader process's start-up objects kept out of the garbage collector.

By the time a trader trades, its process holds everything start-up loaded: torch, pandas,
SQLAlchemy, the models, the feature histories: hundreds of thousands of container objects
that live as long as the process. CPython's cyclic collector walks them again at every
older-generation collection, which takes milliseconds and, worse for tick-to-order latency,
pushes the trading code and its data out of the CPU caches. ``gc.freeze`` moves every object
alive at that moment into a permanent generation that collections skip; objects made later
(ticks, bars, orders) are collected as usual. Leaving the block unfreezes them again, so a
process that goes on (a test run, a notebook) keeps its usual collector.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def settled_heap() -> Iterator[int]:
    """Collect once, then freeze what is alive for the block; yields how many objects were
    frozen."""
    gc.collect()
    gc.freeze()
    try:
        yield gc.get_freeze_count()
    finally:
        gc.unfreeze()
