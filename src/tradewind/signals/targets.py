"""A model's raw output -> a target in [-1, 1], with the failure rules both engines keep.

A decision that is not one number (``None``, a string, a bool, an array of several values) is a
bug in the decision code: ``DecisionError``, which stops a backtest and refuses a live bar,
naming the decision, the instrument and the bar. A NaN/inf number is a model having a bad
moment: it means flat (0.0); the caller counts it and logs the first one.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


class DecisionError(RuntimeError):
    """A decision function or model raised, or returned something that is not a number."""


def checked_target(out: Any, label: str, instrument: str, ts_us: int) -> float:
    """``out`` as a float clipped to [-1, 1]; NaN when it is not finite (the caller decides
    what that means: flat, counted). ``DecisionError`` when it is not a single number."""
    if isinstance(out, float):  # float, np.float64: no array needed to know it is one number
        value = float(out)
    else:
        arr = np.asarray(out)
        if arr.size != 1 or not np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_:
            raise DecisionError(
                f"{label} returned {out!r} on {instrument} at bar ts_us={ts_us}; "
                "expected a float in [-1, 1]"
            )
        value = float(arr.reshape(()))
    if not math.isfinite(value):
        return math.nan
    return min(1.0, max(-1.0, value))
