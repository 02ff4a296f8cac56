"""Model-driven strategy: a decision function's target position becomes orders.

On each bar's close, per instrument, the observation for that bar is the float64 vector of the
``features`` lines (in the given order; default: every feature line of the feed, in feed
order). Until all of them are non-NaN (warm-up, or a gap) nothing is decided and the position is
held. ``decision(obs)`` returns a target in [-1, 1] (clipped); the strategy then calls
``order_target_size(target * max_units)``, decided at bar t, filled at t+1 by the engine's fill
timing (next open, or next close).

Params:

* ``decision``: ``"module:function"`` or ``"path/to/file.py:function"`` (loaded once, in
  ``__init__``, by ``tradewind.backtest.decisions.load_decision``); a callable is also accepted.
* ``policy``: a trained model (``tradewind.policy.Policy``, e.g. loaded from the registry by
  the backtest pipeline for ``model: models:/NAME@ALIAS``) instead of ``decision``. Its
  observation is built by ``ObservationBuilder`` from the contract: the last ``window`` bars
  of the contract's feature columns (scaled as in training) and, when the contract says so,
  the position state (position, unrealised P&L, time in position) from this broker's position
  — exactly what the training environment gave it. ``max_units`` defaults to the contract's;
  a change of position sooner than the contract's ``min_hold_bars`` decisions after the last
  one is refused, as the environment's action mask refused it in training.
* ``features``: feature line names in the order the function expects.
* ``max_units``: the position at target ±1; ``None`` (default) = the run's sizing (the sizer's
  units for that instrument on that bar, like the other strategies).
* ``rebalance_threshold``: trade only when ``|target - current| >= threshold`` in units of
  ``max_units`` (0 = on any change; keep 0 for a model that must match its training
  environment, which trades on any change).

Failures: a NaN/inf target goes flat, counted in ``nonfinite_targets`` and logged (the run goes
on). A decision function that raises, or returns something that is not a number, stops the run
with ``DecisionError`` naming the function, the instrument and the bar.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

import backtrader as bt
import numpy as np

from tradewind.backtest.decisions import DecisionError, decision_name, load_decision
from tradewind.policy import ObservationBuilder, Policy, next_bars_held, position_state

log = logging.getLogger(__name__)

# Lines every feed has that are not features (bt_feeds: OHLCV + openinterest + datetime + tsus).
_NOT_FEATURES = frozenset(
    {"close", "low", "high", "open", "volume", "openinterest", "datetime", "tsus"}
)
_EPS = 1e-9  # relative: a residual smaller than this is "at target" (float noise)


def feed_features(data: Any) -> tuple[str, ...]:
    """The feature line names of ``data``, in feed order."""
    return tuple(n for n in data.getlinealiases() if n not in _NOT_FEATURES)


class ModelTarget(bt.Strategy):
    params = (
        ("decision", None),
        ("policy", None),
        ("features", None),
        ("max_units", None),
        ("rebalance_threshold", 0.0),
    )

    def __init__(self) -> None:
        self._policy: Policy | None = self.p.policy
        if (self.p.decision is None) == (self._policy is None):
            raise ValueError(
                "model_target needs either a 'decision' ('module:function' or 'file.py:fn') "
                "or a trained 'model' (models:/NAME@ALIAS), not both"
            )
        if self._policy is not None:
            self._init_policy(self._policy)
            return
        self._name = decision_name(self.p.decision)
        self._decide: Callable[[np.ndarray], Any] = (
            self.p.decision if callable(self.p.decision) else load_decision(self.p.decision)
        )
        self._init_common()
        for d in self.datas:
            available = feed_features(d)
            names = self._feature_names(available)
            missing = [n for n in names if n not in available]
            if missing:
                raise LookupError(
                    f"{d._name}: features {missing} are not in the feed "
                    f"(available: {', '.join(available) or 'none'})"
                )
            if not names:
                raise ValueError(f"{d._name}: no features to build an observation from")
            self._lines[d._name] = [getattr(d.lines, n) for n in names]

    def _init_policy(self, policy: Policy) -> None:
        contract = policy.contract
        self._name = f"model {contract.algo} ({contract.instrument} {contract.timeframe})"
        self._builder = ObservationBuilder(contract)
        self._init_common()
        self._max_units = (
            float(self.p.max_units) if self.p.max_units is not None else contract.max_units
        )
        self._held: dict[str, int] = {d._name: 0 for d in self.datas}
        # decisions since the last trade, for the contract's min_hold_bars (the env's masking)
        self._since: dict[str, int] = {d._name: contract.min_hold_bars for d in self.datas}
        self._last_units: dict[str, float] = {d._name: 0.0 for d in self.datas}
        for d in self.datas:
            available = feed_features(d)
            missing = [c for c in contract.feature_columns if c not in available]
            if missing:
                raise LookupError(
                    f"{d._name}: the model's features {missing} are not in the feed "
                    f"(available: {', '.join(available) or 'none'})"
                )
            self._lines[d._name] = [getattr(d.lines, c) for c in contract.feature_columns]

    def _init_common(self) -> None:
        if self.p.max_units is not None and not self.p.max_units > 0:
            raise ValueError(f"max_units must be > 0, got {self.p.max_units!r}")
        if not self.p.rebalance_threshold >= 0:
            raise ValueError(
                f"rebalance_threshold must be >= 0, got {self.p.rebalance_threshold!r}"
            )
        self._lines: dict[str, list[Any]] = {}
        self._seen: dict[str, int] = {}
        self._pending: dict[str, int] = {d._name: 0 for d in self.datas}
        self.nonfinite_targets: dict[str, int] = {d._name: 0 for d in self.datas}

    def _feature_names(self, available: tuple[str, ...]) -> tuple[str, ...]:
        f = self.p.features
        if f is None:
            return available
        if isinstance(f, str):
            return (f,)
        if isinstance(f, Sequence):
            return tuple(str(x) for x in f)
        raise ValueError(f"features must be a list of feature names, got {f!r}")

    def notify_order(self, order: Any) -> None:
        name = order.data._name
        if order.status == order.Submitted:
            self._pending[name] += 1
        elif not order.alive():
            self._pending[name] = max(0, self._pending[name] - 1)

    def _target(self, d: Any, obs: np.ndarray) -> float:
        try:
            out = self._decide(obs)
        except Exception as exc:
            raise DecisionError(
                f"decision {self._name} raised on {d._name} at bar ts_us={int(d.tsus[0])}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        return self._check_target(d, out)

    def _check_target(self, d: Any, out: Any) -> float:
        arr = np.asarray(out)
        if arr.size != 1 or not np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_:
            raise DecisionError(
                f"decision {self._name} returned {out!r} on {d._name} at bar "
                f"ts_us={int(d.tsus[0])}; expected a float in [-1, 1]"
            )
        value = float(arr.reshape(()))
        if not math.isfinite(value):
            self.nonfinite_targets[d._name] += 1
            if self.nonfinite_targets[d._name] == 1:
                log.warning(
                    "decision %s returned %s on %s at ts_us=%d; going flat (counted further)",
                    self._name,
                    value,
                    d._name,
                    int(d.tsus[0]),
                )
            return 0.0
        return min(1.0, max(-1.0, value))

    def _policy_obs(self, d: Any) -> np.ndarray | None:
        """The model's observation on this bar, as the training environment made it; None
        while the window is not full or holds a NaN (warm-up, gap)."""
        name = d._name
        pos = self.getposition(d)
        units = float(pos.size)
        self._held[name] = next_bars_held(self._last_units[name], units, self._held[name])
        self._last_units[name] = units
        builder = self._builder
        if len(d) < builder.window:
            return None
        rows = np.column_stack(
            [np.asarray(line.get(ago=0, size=builder.window)) for line in self._lines[name]]
        )
        scaled = builder.scale(rows)
        if np.isnan(scaled).any():
            return None
        state = None
        if builder.contract.position_state:
            state = position_state(
                units,
                float(pos.price),
                float(d.close[0]),
                self._held[name],
                self._max_units,
                builder.contract.time_scale,
            )
        return builder.observe_rows(scaled, state)

    def _policy_target(self, d: Any, obs: np.ndarray) -> float:
        assert self._policy is not None
        try:
            out = self._policy.targets(obs[None, :])
        except Exception as exc:
            raise DecisionError(
                f"{self._name} raised on {d._name} at bar ts_us={int(d.tsus[0])}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        return self._check_target(d, np.asarray(out).reshape(-1)[0] if np.size(out) else out)

    def _next_policy(self) -> None:
        for d in self.datas:
            n = len(d)
            if self._seen.get(d._name) == n:
                continue
            self._seen[d._name] = n
            obs = self._policy_obs(d)
            if obs is None or self._pending[d._name]:
                continue
            target = self._policy_target(d, obs)
            units = target * self._max_units
            current = self.getposition(d).size
            delta = abs(units - current)
            if (
                delta <= _EPS * max(1.0, self._max_units)
                or delta < self.p.rebalance_threshold * self._max_units
            ):
                self._since[d._name] += 1
                continue
            if self._since[d._name] < self._builder.contract.min_hold_bars:
                self._since[d._name] += 1  # held too briefly: refused, as in training
                continue
            self._since[d._name] = 1
            self.order_target_size(data=d, target=units)

    def next(self) -> None:
        if self._policy is not None:
            self._next_policy()
            return
        for d in self.datas:
            n = len(d)
            if self._seen.get(d._name) == n:  # not a new bar of this data
                continue
            self._seen[d._name] = n
            obs = np.fromiter((line[0] for line in self._lines[d._name]), dtype=np.float64)
            if np.isnan(obs).any():
                continue  # warm-up or a gap: no decision, hold
            if self._pending[d._name]:
                continue  # an order from an earlier bar has not filled yet
            target = self._target(d, obs)
            size = (
                float(self.p.max_units)
                if self.p.max_units is not None
                else float(self.getsizing(d, isbuy=target >= 0))
            )
            units = target * size
            current = self.getposition(d).size
            delta = abs(units - current)
            if delta <= _EPS * max(1.0, size) or delta < self.p.rebalance_threshold * size:
                continue
            self.order_target_size(data=d, target=units)

    def stop(self) -> None:
        for name, count in self.nonfinite_targets.items():
            if count:
                log.warning(
                    "decision %s: %d non-finite target(s) on %s, each treated as flat",
                    self._name,
                    count,
                    name,
                )


STRATEGY = ModelTarget
