"""Decision functions for the live-trader tests (loaded by path, like any user's)."""

from __future__ import annotations

import itertools

import numpy as np

_FLIPS = itertools.count()


def momentum(obs: np.ndarray) -> float:
    """Long after an up bar, short after a down bar, flat when unchanged."""
    return float(np.sign(obs[0]))


def flip(obs: np.ndarray) -> float:
    """Long, short, long, ... one bar after another whatever the prices: a session that
    reverses (2,000 units) on every bar."""
    return 1.0 if next(_FLIPS) % 2 == 0 else -1.0
