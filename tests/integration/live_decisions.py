"""Decision functions for the live-trader tests (loaded by path, like any user's)."""

from __future__ import annotations

import numpy as np


def momentum(obs: np.ndarray) -> float:
    """Long after an up bar, short after a down bar, flat when unchanged."""
    return float(np.sign(obs[0]))
