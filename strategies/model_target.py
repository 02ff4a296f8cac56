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
* ``history``: ``{instrument: {column: values}}``, the feature columns of the bars before the
  feed's first (the backtest's warm-up: computed, never traded). A model's window on the
  first bars reaches back into them, so it decides from the first bar whose window is
  complete, the warm-up included: the rule of its training evaluation and of live. Without
  it the window is the feed's own bars (the first ``window - 1`` bars decide nothing).
* ``features``: feature line names in the order the function expects.
* ``max_units``: the position at target ±1; ``None`` (default) = the run's sizing (the sizer's
  units for that instrument on that bar, like the other strategies).
* ``rebalance_threshold``: trade only when ``|target - current| >= threshold`` in units of
  ``max_units`` (0 = on any change; keep 0 for a model that must match its training
  environment, which trades on any change).

The decision itself (warm-up, pending orders, clipping, sizing, ``rebalance_threshold``,
``min_hold_bars``, the position state) is ``tradewind.signals.Decider``, one per data: the live
trader runs the same code. This class only reads the feed's lines and the broker's position,
supplies the run's sizer when ``max_units`` is None, and turns a target into
``order_target_size``.

Failures: a NaN/inf target goes flat, counted in ``nonfinite_targets`` and logged (the run goes
on). A decision function that raises, or returns something that is not a number, stops the run
with ``DecisionError`` naming the function, the instrument and the bar.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import backtrader as bt
import numpy as np

from tradewind.backtest.decisions import decision_name, load_decision
from tradewind.signals import Decider

log = logging.getLogger(__name__)

# Lines every feed has that are not features (bt_feeds: OHLCV + openinterest + datetime + tsus).
_NOT_FEATURES = frozenset(
    {"close", "low", "high", "open", "volume", "openinterest", "datetime", "tsus"}
)


def feed_features(data: Any) -> tuple[str, ...]:
    """The feature line names of ``data``, in feed order."""
    return tuple(n for n in data.getlinealiases() if n not in _NOT_FEATURES)


class ModelTarget(bt.Strategy):
    params = (
        ("decision", None),
        ("policy", None),
        ("history", None),
        ("features", None),
        ("max_units", None),
        ("rebalance_threshold", 0.0),
    )

    def __init__(self) -> None:
        policy = self.p.policy
        if (self.p.decision is None) == (policy is None):
            raise ValueError(
                "model_target needs either a 'decision' ('module:function' or 'file.py:fn') "
                "or a trained 'model' (models:/NAME@ALIAS), not both"
            )
        decide = None
        name = None
        if policy is None:
            name = decision_name(self.p.decision)
            decide = (
                self.p.decision if callable(self.p.decision) else load_decision(self.p.decision)
            )
        self._deciders: dict[str, Decider] = {}
        self._lines: dict[str, list[Any]] = {}
        self._seen: dict[str, int] = {}
        self._pending: dict[str, int] = {d._name: 0 for d in self.datas}
        self._head: dict[str, np.ndarray] = {}
        for d in self.datas:
            available = feed_features(d)
            decider = Decider(
                d._name,
                decision=decide,
                policy=policy,
                columns=() if policy is not None else self._feature_names(available),
                name=name,
                max_units=self.p.max_units,
                rebalance_threshold=self.p.rebalance_threshold,
            )
            missing = [c for c in decider.columns if c not in available]
            if missing:
                whose = "the model's features" if policy is not None else "features"
                raise LookupError(
                    f"{d._name}: {whose} {missing} are not in the feed "
                    f"(available: {', '.join(available) or 'none'})"
                )
            self._deciders[d._name] = decider
            self._lines[d._name] = [getattr(d.lines, c) for c in decider.columns]
            self._head[d._name] = self._history_rows(d._name, decider)

    @property
    def nonfinite_targets(self) -> dict[str, int]:
        """Non-finite targets per instrument (each treated as flat)."""
        return {name: decider.nonfinite for name, decider in self._deciders.items()}

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

    def _history_rows(self, name: str, decider: Decider) -> np.ndarray:
        """The last ``window - 1`` rows of ``history`` for ``name`` in the decider's column
        order (none without history or for a window of 1)."""
        history = (self.p.history or {}).get(name)
        keep = decider.window - 1
        if not history or keep == 0:
            return np.empty((0, len(decider.columns)))
        missing = [c for c in decider.columns if c not in history]
        if missing:
            raise LookupError(f"{name}: the history lacks the model's features {missing}")
        rows = np.column_stack([np.asarray(history[c], dtype=np.float64) for c in decider.columns])
        return rows[max(0, len(rows) - keep) :]

    def _rows(self, d: Any, window: int) -> np.ndarray:
        """The last ``window`` feature rows of ``d``, reaching back into the history while
        the feed is shorter (fewer when even that is too short)."""
        lines = self._lines[d._name]
        if window == 1:
            return np.fromiter((line[0] for line in lines), dtype=np.float64)[None, :]
        n = len(d)
        if n >= window:
            return np.column_stack([np.asarray(line.get(ago=0, size=window)) for line in lines])
        head = self._head[d._name]
        if len(head) < window - n:
            return np.empty((0, len(lines)))
        own = np.column_stack([np.asarray(line.get(ago=0, size=n)) for line in lines])
        return np.vstack([head[len(head) - (window - n) :], own])

    def next(self) -> None:
        for d in self.datas:
            n = len(d)
            if self._seen.get(d._name) == n:  # not a new bar of this data
                continue
            self._seen[d._name] = n
            decider = self._deciders[d._name]
            pos = self.getposition(d)
            units = decider.decide(
                self._rows(d, decider.window),
                ts_us=int(d.tsus[0]),
                close=float(d.close[0]),
                units=float(pos.size),
                avg_price=float(pos.price),
                pending=bool(self._pending[d._name]),
                sizing=lambda target, d=d: float(self.getsizing(d, isbuy=target >= 0)),
            )
            if units is not None:
                self.order_target_size(data=d, target=units)

    def stop(self) -> None:
        for name, decider in self._deciders.items():
            if decider.nonfinite:
                log.warning(
                    "%s: %d non-finite target(s) on %s, each treated as flat",
                    decider.label,
                    decider.nonfinite,
                    name,
                )


STRATEGY = ModelTarget
