"""``Decider``: the decision rules the backtest strategy and the live trader share, checked
on hand-made rows: warm-up, pending orders, clipping, sizing, rebalancing, non-finite and
failing decisions, and for a trained model its observation, position state and hold time."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest

from tradewind.policy import (
    ActionMap,
    FeatureScaler,
    ModelContract,
    ObservationBuilder,
    position_state,
)
from tradewind.signals import Decider, DecisionError

NAN = math.nan
T = 1_704_067_200_000_000


def fn_decider(fn, **kw) -> Decider:
    kw.setdefault("max_units", 100.0)
    return Decider("EUR_USD", decision=fn, columns=("a", "b"), name="t:f", **kw)


def decide(d: Decider, rows, units: float = 0.0, **kw) -> float | None:
    kw.setdefault("ts_us", T)
    kw.setdefault("close", 1.1)
    kw.setdefault("avg_price", 0.0)
    return d.decide(np.asarray(rows, dtype=np.float64), units=units, **kw)


# --- decision functions ------------------------------------------------------------------


def test_a_function_sees_the_latest_row_in_column_order() -> None:
    seen = []

    def f(obs):
        seen.append(obs.copy())
        return obs[1]

    d = fn_decider(f)
    assert decide(d, [[9.0, 9.0], [0.1, 0.5]]) == 50.0
    assert seen[0].dtype == np.float64
    assert seen[0].tolist() == [0.1, 0.5]


@pytest.mark.parametrize("rows", [np.empty((0, 2)), [[1.0, NAN]], [[NAN, NAN]]])
def test_warm_up_or_a_gap_is_no_decision(rows) -> None:
    called = []
    d = fn_decider(lambda obs: called.append(1) or 1.0)
    assert decide(d, rows) is None
    assert not called


def test_a_pending_order_is_no_decision() -> None:
    d = fn_decider(lambda obs: 1.0)
    assert decide(d, [[1.0, 1.0]], pending=True) is None
    assert decide(d, [[1.0, 1.0]], pending=False) == 100.0


def test_targets_are_clipped_and_scaled() -> None:
    assert decide(fn_decider(lambda obs: 3.0), [[0.0, 0.0]]) == 100.0
    assert decide(fn_decider(lambda obs: -7), [[0.0, 0.0]]) == -100.0
    assert decide(fn_decider(lambda obs: np.float32(0.5)), [[0.0, 0.0]]) == 50.0
    assert decide(fn_decider(lambda obs: np.array([-0.25])), [[0.0, 0.0]]) == -25.0


def test_without_max_units_the_sizing_gets_the_target() -> None:
    asked = []
    d = fn_decider(lambda obs: -0.5, max_units=None)
    assert decide(d, [[0.0, 0.0]], sizing=lambda t: asked.append(t) or 40.0) == -20.0
    assert asked == [-0.5]
    with pytest.raises(ValueError, match="no max_units and no sizing"):
        decide(d, [[0.0, 0.0]])


def test_at_target_or_within_the_threshold_is_no_order() -> None:
    d = fn_decider(lambda obs: obs[0], rebalance_threshold=0.25)
    assert decide(d, [[1.0, 0.0]], units=100.0) is None  # at target
    assert decide(d, [[1.0, 0.0]], units=100.0 + 1e-8) is None  # float noise
    assert decide(d, [[0.8, 0.0]], units=100.0) is None  # 20 < 25
    assert decide(d, [[0.7, 0.0]], units=100.0) == pytest.approx(70.0)
    d0 = fn_decider(lambda obs: obs[0])
    assert decide(d0, [[0.9, 0.0]], units=100.0) == 90.0


def test_a_nonfinite_target_is_flat_counted_and_logged_once(caplog) -> None:
    d = fn_decider(lambda obs: obs[0] * math.inf)
    with caplog.at_level(logging.WARNING):
        assert decide(d, [[1.0, 0.0]], units=100.0) == 0.0
        assert decide(d, [[1.0, 0.0]], units=0.0) is None  # flat already
        assert decide(d, [[1.0, 0.0]], units=50.0) == 0.0
    assert d.nonfinite == 3
    lines = [r for r in caplog.records if "going flat" in r.getMessage()]
    assert len(lines) == 1
    assert "decision t:f returned inf on EUR_USD at ts_us=" in lines[0].getMessage()


def test_a_raising_decision_names_the_function_instrument_and_bar() -> None:
    def boom(obs):
        raise ValueError("bad model")

    with pytest.raises(DecisionError, match=rf"decision t:f raised on EUR_USD at bar ts_us={T}"):
        decide(fn_decider(boom), [[0.0, 0.0]])


@pytest.mark.parametrize("out", [None, "1", True, np.array([1.0, 2.0]), []])
def test_a_non_number_is_a_decision_error(out) -> None:
    with pytest.raises(DecisionError, match=r"decision t:f returned .* on EUR_USD at bar"):
        decide(fn_decider(lambda obs: out), [[0.0, 0.0]])


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="max_units must be > 0"):
        fn_decider(lambda obs: 0.0, max_units=0.0)
    with pytest.raises(ValueError, match="rebalance_threshold must be >= 0"):
        fn_decider(lambda obs: 0.0, rebalance_threshold=-1.0)
    with pytest.raises(ValueError, match="no features"):
        Decider("EUR_USD", decision=lambda obs: 0.0, max_units=1.0)
    with pytest.raises(ValueError, match="either a decision function or a policy"):
        Decider("EUR_USD", max_units=1.0)
    with pytest.raises(ValueError, match=r"shape \(3, 1\)"):
        decide(fn_decider(lambda obs: 0.0), [[0.0], [0.0], [0.0]])


# --- trained models ------------------------------------------------------------------------


def contract(min_hold: int = 0, state: bool = True) -> ModelContract:
    return ModelContract(
        kind="rl",
        algo="ppo",
        instrument="EUR_USD",
        timeframe="H1",
        feature_spec_fingerprint="x" * 64,
        feature_columns=("a", "b"),
        window=3,
        position_state=state,
        time_scale=10.0,
        max_units=1000.0,
        min_hold_bars=min_hold,
        scaler=FeatureScaler(mean=(1.0, 0.0), std=(2.0, 4.0)),
        actions=ActionMap(kind="discrete", targets=(0.0, 1.0, -1.0)),
    )


class Scripted:
    """A policy that returns the next scripted target and records its observations."""

    def __init__(self, c: ModelContract, targets) -> None:
        self.contract = c
        self.targets_left = list(targets)
        self.obs: list[np.ndarray] = []

    def targets(self, obs: np.ndarray) -> np.ndarray:
        assert obs.shape == (1, self.contract.obs_dim)
        self.obs.append(obs[0].copy())
        return np.array([self.targets_left.pop(0)])


ROWS = np.arange(20.0).reshape(10, 2)


def test_a_model_sees_the_builders_observation_with_its_position_state() -> None:
    c = contract()
    p = Scripted(c, [1.0, 1.0, 1.0])
    d = Decider("EUR_USD", policy=p)
    assert d.max_units == 1000.0  # the contract's
    assert d.columns == ("a", "b")
    assert decide(d, ROWS[:2]) is None  # fewer rows than the window
    assert decide(d, ROWS[:4]) == 1000.0
    assert decide(d, ROWS[:5], units=1000.0, avg_price=1.0, close=1.1) is None  # at target
    assert decide(d, ROWS[:6], units=1000.0, avg_price=1.0, close=1.2) is None
    b = ObservationBuilder(c)
    assert len(p.obs) == 3
    np.testing.assert_array_equal(p.obs[0], b.observe_rows(b.scale(ROWS[1:4]), (0.0, 0.0, 0.0)))
    # held 1 bar on the first bar with a position, 2 on the next (decisions on every bar)
    for obs, rows, close, held in ((p.obs[1], ROWS[2:5], 1.1, 1), (p.obs[2], ROWS[3:6], 1.2, 2)):
        state = position_state(1000.0, 1.0, close, held, 1000.0, 10.0)
        np.testing.assert_array_equal(obs, b.observe_rows(b.scale(rows), state))
    assert d.bars_held == 2


def test_a_window_with_a_nan_is_no_decision_but_time_still_counts() -> None:
    p = Scripted(contract(), [1.0])
    d = Decider("EUR_USD", policy=p)
    rows = ROWS[:4].copy()
    rows[2, 1] = NAN
    assert decide(d, rows, units=5.0, avg_price=1.0) is None
    assert decide(d, rows, units=5.0, avg_price=1.0) is None
    assert d.bars_held == 2
    assert not p.obs


def test_min_hold_bars_refuses_early_changes_as_training_did() -> None:
    # targets: 1 (trade), -1 (1 decision later: refused), -1 (2: refused), -1 (3: trades)
    p = Scripted(contract(min_hold=3), [1.0, -1.0, -1.0, -1.0, -1.0])
    d = Decider("EUR_USD", policy=p)
    got = [decide(d, ROWS[: 4 + i], units=0.0 if i == 0 else 1000.0) for i in range(4)]
    assert got == [1000.0, None, None, -1000.0]
    # a decision at target counts as a decision held
    assert decide(d, ROWS, units=-1000.0) is None
    assert d.since_change == 2


def test_a_model_error_names_the_model() -> None:
    class Broken(Scripted):
        def targets(self, obs):
            raise RuntimeError("no weights")

    d = Decider("EUR_USD", policy=Broken(contract(), []))
    with pytest.raises(DecisionError, match=r"model ppo \(EUR_USD H1\) raised on EUR_USD"):
        decide(d, ROWS)


class MaskedScripted(Scripted):
    """A scripted policy that uses action masks: it records them and picks the first action
    its script allows (the scripted one when allowed, else the first unmasked)."""

    uses_action_masks = True

    def __init__(self, c: ModelContract, targets) -> None:
        super().__init__(c, targets)
        self.masks: list[list[bool]] = []

    def targets(self, obs: np.ndarray, action_masks: np.ndarray | None = None) -> np.ndarray:
        assert action_masks is not None
        assert action_masks.shape == (1, 3)
        self.masks.append(action_masks[0].tolist())
        want = self.targets_left.pop(0)
        allowed = [
            t for t, ok in zip(self.contract.actions.targets, action_masks[0], strict=True) if ok
        ]
        return np.array([want if want in allowed else allowed[0]])


def test_a_masked_model_gets_the_training_environments_masks() -> None:
    p = MaskedScripted(contract(min_hold=3), [1.0, -1.0, -1.0, -1.0])
    d = Decider("EUR_USD", policy=p)
    got = [decide(d, ROWS[: 4 + i], units=0.0 if i == 0 else 1000.0) for i in range(4)]
    # after the change to long only "stay long" is allowed for two decisions, then all
    assert p.masks == [
        [True, True, True],
        [False, True, False],
        [False, True, False],
        [True, True, True],
    ]
    # the masked model never proposed the refused change: it held, then changed when free
    assert got == [1000.0, None, None, -1000.0]


def test_a_model_without_masks_is_called_as_before() -> None:
    p = Scripted(contract(min_hold=3), [1.0])
    assert decide(Decider("EUR_USD", policy=p), ROWS[:4]) == 1000.0
