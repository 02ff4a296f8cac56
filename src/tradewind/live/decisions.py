"""``LiveDecision``: one deployment instrument's closed bars -> features -> ``Decider``.

It holds the instrument's bar history (the warm-up read from the database, then every bar
closed live) and its features in a ``tradewind.features.IncrementalFeatures``: warmed once at
construction by ``build_features`` over the history (the one feature function the backtests
and training use), then stepped one bar at a time in O(1) (TA-Lib's stream handles, our
transform steps), each row bit for bit the row ``build_features`` gives over the whole history
(``tests/unit/test_incremental_features.py``); the last rows go to the ``Decider`` the
backtest's ``model_target`` strategy runs. Over the whole history, not a trailing window,
because EMA-type features (EMA, RSI, ATR, ADX, MACD, ...) depend on where the series starts
(see ``features/build.py``): from the same first bar every value is the backtest's; a trader
restarted with ``history_bars`` of warm-up gets the backtest's values to float noise once the
warm-up is long enough for the features to forget their start.

A registered model's contract is checked at construction against the deployment's feature
config and timeframe: a mismatch refuses to start (``ContractMismatch``, its message naming
the difference), like the backtest pipeline. A model launched while the trader runs is
checked the same way by ``stage``; ``on_bar`` swaps it in when the next bar closes. A
decision function's columns must be among the config's (``LookupError``). A decision that
raises or returns a non-number raises ``DecisionError`` (the trader stops trading rather
than guess).
"""

from __future__ import annotations

import logging
import threading

import numpy as np
import numpy.typing as npt

from tradewind.backtest.decisions import decision_name, load_decision
from tradewind.config.features import FeatureSpec
from tradewind.config.live import DeploymentConfig
from tradewind.domain.market import Timeframe
from tradewind.domain.series import BarSeries
from tradewind.features import FeatureFrame, IncrementalFeatures
from tradewind.live.bars import LiveBar
from tradewind.policy import Policy
from tradewind.signals import Decider, DecisionFn

log = logging.getLogger(__name__)


class LiveDecision:
    """The target position of one instrument of one deployment, bar by bar."""

    def __init__(
        self,
        instrument: str,
        timeframe: Timeframe | str,
        spec: FeatureSpec,
        decider: Decider,
        history: BarSeries | None = None,
    ) -> None:
        self.instrument = instrument
        self.timeframe = Timeframe(timeframe)
        self.spec = spec
        self.decider = decider
        self._index = self._columns_of(decider)
        self.model: str | None = None  # models:/NAME/VERSION of a registered model's policy
        self._staged: tuple[Decider, list[int], str] | None = None
        self._stage_lock = threading.Lock()
        self._features = IncrementalFeatures(spec, history)
        self._stepped = False  # a bar closed here: until then no features (None)

    def _columns_of(self, decider: Decider) -> list[int]:
        """Where ``decider``'s columns are in the feature frame, after checking a model's
        contract (``ContractMismatch``) or a function's columns (``LookupError``)."""
        columns = self.spec.columns
        if decider.policy is not None:
            decider.policy.contract.check(
                columns,
                self.spec.fingerprint,
                timeframe=self.timeframe,
                model=decider.label,
                feature_spec=self.spec,
                instruments=(self.instrument,),
            )
        missing = [c for c in decider.columns if c not in columns]
        if missing:
            raise LookupError(
                f"{self.instrument}: features {missing} are not in the feature config "
                f"{self.spec.name!r} (it computes: {', '.join(columns) or 'none'})"
            )
        return [columns.index(c) for c in decider.columns]

    def stage(self, decider: Decider, model: str) -> None:
        """Decide with ``decider`` (registered model ``model``) from the next bar on: checked
        here (``ContractMismatch``, ``LookupError``), swapped in by ``on_bar`` before it
        decides. Any thread; a later stage replaces an earlier one not yet swapped in."""
        staged = (decider, self._columns_of(decider), model)
        with self._stage_lock:
            self._staged = staged

    def unstage(self) -> None:
        with self._stage_lock:
            self._staged = None

    def _swap(self) -> None:
        with self._stage_lock:
            staged, self._staged = self._staged, None
        if staged is not None:
            self.decider, self._index, self.model = staged

    @classmethod
    def from_config(
        cls,
        deployment: DeploymentConfig,
        instrument: str,
        history: BarSeries,
        spec: FeatureSpec,
        *,
        policy: Policy | None = None,
        decision: DecisionFn | None = None,
    ) -> LiveDecision:
        """From a deployment's strategy. A ``model:`` strategy needs its ``policy``, loaded by
        the caller (the registry is a layer above: ``pipelines.models.load_checked_policy``);
        a ``decision:`` strategy's function is loaded from its spec (or given as
        ``decision``)."""
        s = deployment.strategy
        if s.model is not None:
            if policy is None:
                raise ValueError(
                    f"deployment {deployment.name}: load {s.model} and pass it as policy"
                )
            decider = Decider(
                instrument,
                policy=policy,
                max_units=s.max_units,
                rebalance_threshold=s.rebalance_threshold,
            )
        else:
            assert s.decision is not None
            fn = decision if decision is not None else load_decision(s.decision)
            decider = Decider(
                instrument,
                decision=fn,
                columns=s.features if s.features is not None else spec.columns,
                name=decision_name(s.decision),
                max_units=s.max_units,
                rebalance_threshold=s.rebalance_threshold,
            )
        return cls(instrument, deployment.timeframe, spec, decider, history)

    @property
    def history(self) -> BarSeries:
        """Every bar so far: the warm-up, then the bars closed live (a copy)."""
        return self._features.bars()

    @property
    def features(self) -> FeatureFrame | None:
        """The features of every bar so far (read-only views), or None before a bar closed
        here; for checks and metrics."""
        return self._features.frame() if self._stepped else None

    def on_bar(
        self, bar: LiveBar, *, position: float, avg_price: float, pending: bool
    ) -> float | None:
        """The target units after ``bar`` closed, or None (hold). ``position`` and
        ``avg_price`` are the filled position now; ``pending``: an order is still working."""
        if bar.instrument != self.instrument:
            raise ValueError(f"{self.instrument}: got a bar of {bar.instrument}")
        last = self._features.last_ts
        if last is not None and bar.ts_us <= last:
            log.warning(
                "%s: bar ts_us=%d is not after the history's last (%d); ignored",
                self.instrument,
                bar.ts_us,
                last,
            )
            return None
        if self._staged is not None:
            self._swap()  # a launched model: it decides from this bar on
        f = self._features
        f.update(bar.ts_us, bar.open, bar.high, bar.low, bar.close, bar.volume)
        self._stepped = True
        rows = f.rows(self.decider.window, self._index)
        return self.decider.decide(
            rows,
            ts_us=bar.ts_us,
            close=bar.close,
            units=position,
            avg_price=avg_price,
            pending=pending,
        )

    def last_row(self) -> npt.NDArray[np.float64] | None:
        """All feature columns of the latest bar (spec order), or None before any bar."""
        return self._features.last_row() if self._stepped else None
