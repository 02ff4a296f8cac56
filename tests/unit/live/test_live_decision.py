"""``LiveDecision``: bar by bar, the features are those of the whole history (the same rows
the backtest computes at once), the decision is the shared ``Decider``'s, and a registered
model whose contract does not match the deployment's features refuses to start."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tradewind.config.features import FeatureDef, FeatureSpec
from tradewind.config.live import DeploymentConfig
from tradewind.config.loader import load_config
from tradewind.domain import BarSeries, Timeframe
from tradewind.features import build_features
from tradewind.live.bars import LiveBar
from tradewind.live.decisions import LiveDecision
from tradewind.policy import ActionMap, ContractMismatch, FeatureScaler, ModelContract
from tradewind.policy.features import feature_definitions
from tradewind.signals import Decider

REPO = Path(__file__).resolve().parents[3]
EUR = "EUR_USD"
H = 3_600_000_000
T0 = 1_704_067_200_000_000
SPEC = load_config(REPO / "configs" / "features" / "default.yaml", FeatureSpec)


def walk(n: int, seed: int = 3) -> BarSeries:
    rng = np.random.default_rng(seed)
    c = 1.1 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    o = np.r_[1.1, c[:-1]]
    wig = np.abs(rng.normal(0, 0.001, n))
    ts = T0 + H * np.arange(n, dtype=np.int64)
    return BarSeries(ts, o, np.maximum(o, c) + wig, np.minimum(o, c) - wig, c, np.full(n, 4.0))


def live_bars(b: BarSeries) -> list[LiveBar]:
    return [
        LiveBar(EUR, Timeframe.H1, int(b.ts[i]), *(float(getattr(b, f)[i]) for f in FIELDS))
        for i in range(len(b))
    ]


FIELDS = ("open", "high", "low", "close", "volume")


def deployment(**strategy) -> DeploymentConfig:
    return DeploymentConfig(
        name="d",
        strategy=strategy,
        instruments=(EUR,),
        timeframe="H1",
        risk={"max_order_units": 1e6, "max_position_units": 1e6, "max_total_notional": 1e7},
    )


def test_each_bar_sees_the_rows_of_the_whole_history() -> None:
    bars = walk(160)
    head = bars.take(np.arange(100))
    d = deployment(
        decision="models/momentum_sign.py:decide", features=["sma_fast", "sma_slow"], max_units=10
    )
    live = LiveDecision.from_config(d, EUR, head, SPEC)
    assert live.decider.label == "decision models/momentum_sign.py:decide"
    full = build_features(bars, SPEC)
    got = []
    position = 0.0
    for i, bar in enumerate(live_bars(bars)[100:], start=100):
        target = live.on_bar(bar, position=position, avg_price=1.0, pending=False)
        np.testing.assert_array_equal(live.last_row(), full.values[i])
        fast, slow = full.column("sma_fast")[i], full.column("sma_slow")[i]
        want = 10.0 * np.sign(fast - slow)
        got.append(target)
        assert target == (None if want == position else want)
        position = want
    assert any(t is not None for t in got)
    assert len(live.history) == 160


def test_a_bar_not_after_the_history_is_ignored(caplog) -> None:
    bars = walk(40)
    d = deployment(decision="models/momentum_sign.py:decide", max_units=1)
    live = LiveDecision.from_config(d, EUR, bars, SPEC)
    assert live.decider.columns == SPEC.columns  # default: every column, in spec order
    assert live.on_bar(live_bars(bars)[-1], position=0.0, avg_price=0.0, pending=False) is None
    assert len(live.history) == 40
    assert "not after the history" in caplog.text


def test_a_decision_reading_unknown_features_is_refused() -> None:
    d = deployment(decision="models/momentum_sign.py:decide", features=["nope"], max_units=1)
    with pytest.raises(LookupError, match=r"features \['nope'\] are not in the feature config"):
        LiveDecision.from_config(d, EUR, walk(5), SPEC)


def contract(spec: FeatureSpec, timeframe: str = "H1") -> ModelContract:
    cols = ("rsi_14", "log_return_1")
    return ModelContract(
        kind="rl",
        algo="ppo",
        instrument=EUR,
        timeframe=timeframe,
        feature_spec_fingerprint=spec.fingerprint,
        feature_columns=cols,
        feature_defs=feature_definitions(spec, cols),
        window=2,
        position_state=True,
        scaler=FeatureScaler(mean=(50.0, 0.0), std=(10.0, 0.01)),
        actions=ActionMap(kind="discrete", targets=(0.0, 1.0, -1.0)),
    )


class Fixed:
    def __init__(self, c: ModelContract) -> None:
        self.contract = c

    def targets(self, obs: np.ndarray) -> np.ndarray:
        return np.ones(len(obs))


def test_a_model_is_checked_against_the_deployment_features() -> None:
    d = deployment(model="models:/m@champion")
    live = LiveDecision.from_config(d, EUR, walk(50), SPEC, policy=Fixed(contract(SPEC)))
    bar = live_bars(walk(51))[-1]
    assert live.on_bar(bar, position=0.0, avg_price=0.0, pending=False) == 10_000.0

    other = FeatureSpec(
        name="other",
        features=(
            FeatureDef(name="rsi_14", fn="RSI", params={"timeperiod": 10}),
            FeatureDef(name="log_return_1", fn="log_return", params={"period": 1}),
        ),
    )
    with pytest.raises(ContractMismatch, match=r"computes feature rsi_14 as .*14.*10"):
        LiveDecision.from_config(d, EUR, walk(5), other, policy=Fixed(contract(SPEC)))
    with pytest.raises(ContractMismatch, match=r"trained on M5 bars; the caller has H1"):
        LiveDecision.from_config(d, EUR, walk(5), SPEC, policy=Fixed(contract(SPEC, "M5")))
    with pytest.raises(ValueError, match=r"load models:/m@champion and pass it as policy"):
        LiveDecision.from_config(d, EUR, walk(5), SPEC)


def test_a_decider_can_be_given_directly() -> None:
    decider = Decider(EUR, decision=lambda obs: 0.5, columns=("rsi_14",), max_units=4.0)
    live = LiveDecision(EUR, "H1", SPEC, decider)  # no warm-up: features start here
    outs = [live.on_bar(b, position=0.0, avg_price=0.0, pending=False) for b in live_bars(walk(20))]
    assert outs[:14] == [None] * 14  # RSI's lookback
    assert outs[14:] == [2.0] * 6
