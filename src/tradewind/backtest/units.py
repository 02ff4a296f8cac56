"""Order sizes at the instrument's unit precision, inside numba kernels.

One rule for every engine: an order's size is rounded toward zero to the instrument's
``trade_units_precision`` decimals (``domain.instruments.round_units``, the live path's rule),
and an order that rounds to nothing is not sent. Backtrader's broker calls ``round_units``;
the vectorised engine and the trading environments' numba kernels call ``round_order``, the
same arithmetic, bit for bit (the tests hold the two equal).
"""

from __future__ import annotations

import math

import numba
import numpy as np

NO_PRECISION = -1  # an instrument without a precision: sizes are not rounded


def precision_code(precision: int | None) -> int:
    """``precision`` for the kernels: ``NO_PRECISION`` for None."""
    if precision is None:
        return NO_PRECISION
    if precision < 0:
        raise ValueError(f"a unit precision is a number of decimals >= 0, got {precision}")
    return int(precision)


@numba.njit(cache=True)
def round_order(units: float, precision: int) -> float:
    """``round_units(units, precision)`` (toward zero, with its few ulps of slack), or
    ``units`` unchanged for ``NO_PRECISION``. ``units`` must be finite."""
    if precision < 0:
        return units
    scale = 10.0**precision
    q = abs(units) * scale
    n = math.floor(q + 8 * np.spacing(q))
    if n == 0:
        return 0.0
    # n / scale is the double nearest n * 10**-precision: what round(n / scale, p) returns
    v = n / scale
    return v if units > 0 else -v
