"""How long work says how far it got, without knowing who is watching.

Engines (backtests, sweeps, training) take an optional :data:`Progress` and call it with
``(done, total)`` as they go; the caller decides what that means (the CLI draws a bar on a
terminal and writes a throttled plain line otherwise, a DAG may ignore it). The core never
imports terminal code."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int], None]
"""``progress(done, total)``: ``done`` units of ``total`` finished (points, folds, steps)."""


def every(progress: Progress, total: int, parts: int = 200) -> Callable[[int], None]:
    """``progress`` called at most about ``parts`` times over ``total`` units, and at the end:
    for loops of many cheap steps (an RL learner's environment steps)."""
    step = max(1, total // parts)
    last = -step

    def report(done: int) -> None:
        nonlocal last
        done = min(done, total)  # a learner may overshoot to finish its last rollout
        if done != last and (done - last >= step or done == total):
            last = done
            progress(done, total)

    return report


def within(progress: Progress, start: int, total: int) -> Progress:
    """``progress`` for a part of a larger step: the part's ``done`` counted from ``start``
    of the whole ``total`` (an import after the file it reads was written)."""
    return lambda done, _part_total: progress(start + done, total)
