"""Example decision function for ``strategies/model_target.py``: a long/short trend follower.

``decide(obs)`` is the sign of a trend signal:

* one feature, e.g. ``features: [ret_zscore]`` or a precomputed ``sma_fast - sma_slow``:
  the sign of ``obs[0]``;
* two (or more) features, ``features: [sma_fast, sma_slow]``: the sign of ``obs[0] - obs[1]``,
  i.e. +1 (long) when fast > slow, -1 (short) when fast < slow. Further features are ignored.

A tie (signal exactly 0) is flat. Used with ``[sma_fast, sma_slow]`` it trades like
``sma_crossover`` with ``allow_short: true`` from the first cross on (that strategy waits for a
cross; this one takes the trend's side on the first complete observation unless it is a tie).

    strategies:
      - name: model_target
        params:
          decision: models/momentum_sign.py:decide
          features: [sma_fast, sma_slow]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def decide(obs: npt.NDArray[np.float64]) -> float:
    signal = obs[0] - obs[1] if len(obs) >= 2 else obs[0]
    return float(np.sign(signal))
