"""``Decider``: one instrument's decision on one bar, the same in the backtest and live.

Per bar the caller hands over the feature rows up to that bar (latest last, in
``decider.columns`` order), the bar's time and close, and the position (units, average entry
price, whether an order is still pending). The decider returns the target position in units,
or None for "no decision, hold":

* warm-up: fewer than ``window`` rows, or a NaN in them (a gap, a feature still in lookback);
* a pending order (an earlier target is not filled yet: deciding again would double it);
* the target is within ``rebalance_threshold * size`` of the position (or equal to it up to
  float noise);
* a trained model changing its position sooner than ``min_hold_bars`` decisions after its last
  change (the training environment masked those actions, so the live model never saw them);
  a model that uses action masks (MaskablePPO) gets the environment's masks with each
  observation, so it does not propose such a change in the first place.

A decision function sees the latest row (float64, in ``columns`` order); a trained model the
observation ``ObservationBuilder`` makes from the last ``window`` rows (scaled as in training)
and, when its contract says so, the position state. The target is clipped to [-1, 1] and
scaled by ``max_units`` (or the caller's ``sizing`` for that target: the backtest's sizer). A
NaN/inf target is flat, counted in ``nonfinite`` and logged once; a raise or a non-number is a
``DecisionError`` naming the decision, the instrument and the bar.

State is per instrument and advances on every bar the caller hands over (including warm-up
and pending bars): the bars a position has been held, and decisions since the last change.
So call ``decide`` once per closed bar, in order, never twice for one bar.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from tradewind.policy import (
    ObservationBuilder,
    Policy,
    action_mask,
    masked_targets,
    next_bars_held,
    position_state,
    uses_masks,
)
from tradewind.signals.targets import DecisionError, checked_target

log = logging.getLogger(__name__)

DecisionFn = Callable[[npt.NDArray[np.float64]], Any]
Sizing = Callable[[float], float]  # the clipped target -> the units at target +-1
EPS = 1e-9  # relative: a residual smaller than this is "at target" (float noise)


class Decider:
    """One instrument's decisions from a decision function or a trained ``Policy``."""

    def __init__(
        self,
        instrument: str,
        *,
        decision: DecisionFn | None = None,
        policy: Policy | None = None,
        columns: Sequence[str] = (),
        name: str | None = None,
        max_units: float | None = None,
        rebalance_threshold: float = 0.0,
    ) -> None:
        """``decision`` (with its ``columns``, in the order it reads them, and a ``name`` for
        messages) or ``policy`` (its contract gives the columns, window, ``max_units`` default
        and ``min_hold_bars``). ``max_units`` None means the caller's ``sizing`` per bar."""
        if (decision is None) == (policy is None):
            raise ValueError("a Decider needs either a decision function or a policy, not both")
        if max_units is not None and not max_units > 0:
            raise ValueError(f"max_units must be > 0, got {max_units!r}")
        if not rebalance_threshold >= 0:
            raise ValueError(f"rebalance_threshold must be >= 0, got {rebalance_threshold!r}")
        self.instrument = instrument
        self.rebalance_threshold = float(rebalance_threshold)
        self.nonfinite = 0
        self.max_units: float | None = None if max_units is None else float(max_units)
        self._decide = decision
        self.policy = policy
        self._builder: ObservationBuilder | None = None
        self._min_hold = 0
        if policy is not None:
            contract = policy.contract
            self.label = f"model {contract.algo} ({contract.instrument} {contract.timeframe})"
            self.columns: tuple[str, ...] = tuple(contract.feature_columns)
            self._builder = ObservationBuilder(contract)
            self.window = contract.window
            if self.max_units is None:
                self.max_units = float(contract.max_units)
            self._min_hold = contract.min_hold_bars
        else:
            fn_name = name or getattr(decision, "__qualname__", None) or repr(decision)
            self.label = f"decision {fn_name}"
            self.columns = tuple(columns)
            if not self.columns:
                raise ValueError(f"{instrument}: no features to build an observation from")
            self.window = 1
        self.bars_held = 0  # bars the position has been held (the model's time in position)
        self.since_change = self._min_hold  # decisions since the last position change
        self._last_units = 0.0

    def decide(
        self,
        rows: npt.ArrayLike,
        *,
        ts_us: int,
        close: float,
        units: float,
        avg_price: float,
        pending: bool = False,
        sizing: Sizing | None = None,
    ) -> float | None:
        """The target position in units on the bar at ``ts_us``, or None (hold).

        ``rows``: feature rows up to this bar, shape (n, len(columns)), latest last; only the
        last ``window`` are read (fewer: warm-up). ``units``/``avg_price``: the position now
        (after fills up to this bar); ``close``: this bar's close (unrealised P&L)."""
        units = float(units)
        x = np.asarray(rows, dtype=np.float64)
        if x.ndim != 2 or (len(x) and x.shape[1] != len(self.columns)):
            raise ValueError(
                f"{self.instrument}: feature rows of shape {x.shape}; expected "
                f"(n, {len(self.columns)}) for columns {', '.join(self.columns)}"
            )
        obs: npt.NDArray[np.floating[Any]] | None
        if self.policy is not None:
            self.bars_held = next_bars_held(self._last_units, units, self.bars_held)
            self._last_units = units
            obs = self._policy_obs(x, float(close), units, float(avg_price))
        else:
            obs = self._function_obs(x)
        if obs is None or pending:
            return None
        target = self._target(obs, int(ts_us), units)
        if self.max_units is not None:
            size = self.max_units
        elif sizing is not None:
            size = float(sizing(target))
        else:
            raise ValueError(f"{self.instrument}: no max_units and no sizing to scale a target")
        return self._rebalance(target * size, units, size)

    def _function_obs(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64] | None:
        if not len(x):
            return None
        obs = np.array(x[-1], dtype=np.float64)
        # a NaN anywhere: no decision (a few columns: a loop over floats beats a numpy reduce)
        return None if any(map(math.isnan, obs.tolist())) else obs

    def _policy_obs(
        self, x: npt.NDArray[np.float64], close: float, units: float, avg_price: float
    ) -> npt.NDArray[np.float32] | None:
        """The observation the training environment would have made; None while the window
        is not full or holds a NaN (warm-up, gap)."""
        builder = self._builder
        assert builder is not None
        assert self.max_units is not None
        if len(x) < self.window:
            return None
        scaled = builder.scale(x[len(x) - self.window :])
        if np.isnan(scaled).any():
            return None
        contract = builder.contract
        state = None
        if contract.position_state:
            state = position_state(
                units, avg_price, close, self.bars_held, self.max_units, contract.time_scale
            )
        return builder.observe_rows(scaled, state)

    def _masks(self, units: float) -> npt.NDArray[np.bool_] | None:
        """The action masks of this decision for a policy that uses them (1 x actions): the
        training environment's, from the decisions since the last change and the position."""
        if self.policy is None or not uses_masks(self.policy):
            return None
        contract = self.policy.contract
        size = self.max_units if self.max_units is not None else contract.max_units
        mask = action_mask(contract.actions, units, size, self.since_change, self._min_hold)
        return mask[None, :]

    def _target(self, obs: npt.NDArray[Any], ts_us: int, units: float) -> float:
        try:
            if self.policy is not None:
                out = masked_targets(self.policy, obs[None, :], self._masks(units))
                if isinstance(out, np.ndarray) and out.size:
                    out = out.reshape(-1)[0]
                elif np.size(out):
                    out = np.asarray(out).reshape(-1)[0]
            else:
                assert self._decide is not None
                out = self._decide(obs)
        except Exception as exc:
            raise DecisionError(
                f"{self.label} raised on {self.instrument} at bar ts_us={ts_us}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        value = checked_target(out, self.label, self.instrument, ts_us)
        if math.isnan(value):
            self.nonfinite += 1
            if self.nonfinite == 1:
                log.warning(
                    "%s returned %s on %s at ts_us=%d; going flat (counted further)",
                    self.label,
                    float(np.asarray(out).reshape(())),
                    self.instrument,
                    ts_us,
                )
            return 0.0
        return value

    def _rebalance(self, units: float, current: float, size: float) -> float | None:
        """``units`` when the change is worth an order and allowed now, else None."""
        delta = abs(units - current)
        if delta <= EPS * max(1.0, size) or delta < self.rebalance_threshold * size:
            self.since_change += 1
            return None
        if self.since_change < self._min_hold:
            self.since_change += 1  # held too briefly: refused, as in training
            return None
        self.since_change = 1
        return units
