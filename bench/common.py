"""Helpers every benchmark uses: logging, timing a call, correctness checks."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def log(msg: str) -> None:
    print(msg, flush=True)


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """Wall time of one call (after a garbage collection, so earlier garbage isn't billed)."""
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def check(cond: bool, what: str) -> None:
    if not cond:
        raise AssertionError(f"benchmark correctness check failed: {what}")
