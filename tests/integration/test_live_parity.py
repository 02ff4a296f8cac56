"""Golden parity between the backtest and the live path: the same stored bars, the same target
position on every bar, exactly.

Backtest: the pipeline's inputs (``load_inputs``: stored bars, features over the warm-up and
the range) through Backtrader and ``strategies/model_target.py``. Live: ticks generated from
the same bars (``ticks_from_bars``, which rebuild each bar bit for bit) -> ``TickFilter`` ->
``BarAggregator`` -> ``LiveDecision`` (features over the stored warm-up plus the bars closed so
far), with each target filled at the next tick, which is the next bar's open, at the
backtest's cost model price (``PositionBook`` keeps the average price as Backtrader does), so
the position state a model sees is the backtest's.

No tolerance anywhere: both sides run the same arithmetic on the same numbers (one feature
function over the same bars from the same first bar; one ``Decider``), so feature rows,
decision inputs, targets and fills are compared with ``==``. Strategies: a decision function
by spec (``models/momentum_sign.py``), one by callable with a rebalance threshold, a hand-made
policy with position state and a minimum hold, and a model trained and loaded through the
registry by alias.

Both decide from the range's first bar: live's history includes the warm-up, and the
backtest hands a model strategy the warm-up's feature rows (``history``, as the pipeline
does), so a model's window on the first bars reaches into them on both sides.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from model_support import small_logreg
from sqlalchemy import Engine

from tradewind.backtest.bt_engine import load_strategy, run_backtrader
from tradewind.backtest.costs import bar_cost_model
from tradewind.backtest.result import BacktestResult
from tradewind.config import SyntheticConfig, load_config
from tradewind.config.backtest import BacktestConfig, StrategySpec
from tradewind.config.features import FeatureSpec
from tradewind.config.live import DeploymentConfig
from tradewind.config.models import ModelConfig
from tradewind.domain import BarSeries, PriceSide, Timeframe
from tradewind.domain.instruments import round_units
from tradewind.live.bars import BarAggregator, LiveBar, ticks_from_bars
from tradewind.live.decisions import LiveDecision
from tradewind.live.ticks import TickFilter
from tradewind.pipelines.backtest import load_inputs_with_warmup, run_backtest
from tradewind.pipelines.models import load_checked_policy
from tradewind.pipelines.setup import initialise
from tradewind.pipelines.synthetic import synthesize_to_db
from tradewind.pipelines.train import train
from tradewind.policy import ActionMap, FeatureScaler, ModelContract, Policy, PositionBook
from tradewind.policy.features import feature_definitions
from tradewind.registry import configure, promote, resolve_tracking
from tradewind.signals import Decider
from tradewind.storage.engine import make_engine
from tradewind.storage.market import load_bars

EUR = "EUR_USD"
H1 = Timeframe.H1
START, END = datetime(2024, 3, 10, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC)
WARMUP = 300
COSTS = {"commission_bps": 0.2, "spread": "fixed", "spread_pips": 0.8, "slippage_bps": 0.1}
RISK = {"max_order_units": 1e6, "max_position_units": 1e6, "max_total_notional": 1e8}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRADEWIND_HOME", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    return tmp_path


@pytest.fixture
def engine(home: Path, db_url: str) -> Iterator[Engine]:
    """The bars both sides read, on each backend (timestamps round-trip differently)."""
    eng = make_engine(db_url)
    initialise(eng)
    synthesize_to_db(eng, SyntheticConfig(instrument=EUR, bars=1500, seed=3), (PriceSide.MID,))
    yield eng
    eng.dispose()


def backtest_config(params: dict[str, Any]) -> BacktestConfig:
    return BacktestConfig(
        name="live-parity",
        instruments=(EUR,),
        timeframe=H1,
        start=START,
        end=END,
        warmup_bars=WARMUP,
        strategies=(StrategySpec(name="model_target", label="x", params=params),),
        cash=1e7,
        sizing={"method": "fixed_units", "value": 1000.0},
        costs=COSTS,
    )


def deployment(**strategy: Any) -> DeploymentConfig:
    return DeploymentConfig(
        name="parity", strategy=strategy, instruments=(EUR,), timeframe=H1, risk=RISK
    )


# --- recording the decider's inputs and outputs on both sides ------------------------------


@dataclass(frozen=True)
class Call:
    ts_us: int
    rows: np.ndarray
    units: float
    avg_price: float
    pending: bool
    target: float | None


def record(decider: Decider, calls: list[Call]) -> None:
    """Wrap ``decider.decide`` so every call is remembered."""
    inner = decider.decide

    def decide(rows: Any, **kw: Any) -> float | None:
        out = inner(rows, **kw)
        calls.append(
            Call(
                kw["ts_us"],
                np.array(rows, copy=True),
                kw["units"],
                kw["avg_price"],
                kw["pending"],
                out,
            )
        )
        return out

    decider.decide = decide  # type: ignore[method-assign]


def recorded_model_target(calls: list[Call]) -> type:
    base = load_strategy("model_target")

    class Recorded(base):  # type: ignore[valid-type, misc]
        def __init__(self) -> None:
            super().__init__()
            for decider in self._deciders.values():
                record(decider, calls)

    return Recorded


@dataclass
class Side:
    calls: list[Call]
    fills: list[tuple[int, float, float]]
    features: list[np.ndarray]  # every feature column, per bar the side decided on


def backtest_side(cfg: BacktestConfig, spec: FeatureSpec, engine: Engine, params: dict) -> Side:
    bars, features, warm = load_inputs_with_warmup(engine, cfg, spec)
    if "policy" in params:  # as the pipeline does for a model strategy
        params = {**params, "history": warm}
    calls: list[Call] = []
    result = run_backtrader(
        bars, features, recorded_model_target(calls), params, cfg, "x", units_precision=UNITS
    )
    matrix = np.column_stack([features[EUR][c] for c in spec.columns])
    return Side(calls, fills(result), list(matrix))


# EUR_USD trades whole units: both paths round every order toward zero (the pipeline's
# backtest takes the precision from the security master; the OMS from the instrument rules)
UNITS = {EUR: 0}


def fills(result: BacktestResult) -> list[tuple[int, float, float]]:
    return [(f.ts_us, f.units, f.price) for f in result.fills]


def live_side(live: LiveDecision, bars: BarSeries) -> Side:
    """``bars`` as ticks through the live path; a target is filled at the next tick (the next
    bar's open) at the backtest's cost model price."""
    calls: list[Call] = []
    record(live.decider, calls)
    side = Side(calls, [], [])
    costs = bar_cost_model(backtest_config({}).costs)
    book = PositionBook()
    ticks, aggregate = TickFilter(), BarAggregator(H1)
    order: list[float] = []

    def on_bar(bar: LiveBar) -> None:
        target = live.on_bar(bar, position=book.units, avg_price=book.price, pending=bool(order))
        row = live.last_row()
        assert row is not None
        side.features.append(row.copy())
        if target is not None:
            order.append(target - book.units)  # order_target_size: the difference

    for tick in ticks_from_bars(bars, EUR, H1):
        accepted = ticks.accept(tick)
        assert accepted is tick
        closed = aggregate.on_tick(accepted)
        for bar in closed:
            on_bar(bar)
        if closed and order:  # this tick is the next bar's open
            size = round_units(order.pop(), UNITS[EUR])  # as the OMS sends it
            if size == 0:
                continue
            price = costs.fill_price(accepted.mid, size > 0, units=size)
            book.update(size, price)
            side.fills.append((aggregate.bucket(accepted.ts_us), size, price))
    for bar in aggregate.flush(int(bars.ts[-1]) + H1.seconds * 1_000_000):
        on_bar(bar)
    assert ticks.dropped == {}
    return side


def history_and_range(engine: Engine, cfg: BacktestConfig) -> tuple[BarSeries, BarSeries]:
    """The stored warm-up bars before the range (as the backtest pipeline reads them) and the
    range's bars."""
    with engine.connect() as conn:
        before = load_bars(conn, EUR, H1, PriceSide.MID, None, cfg.start)
        bars = load_bars(conn, EUR, H1, PriceSide.MID, cfg.start, cfg.end)
    return before.take(np.arange(len(before) - WARMUP, len(before))), bars


def assert_same(engine: Engine, params: dict[str, Any], make_live: Any) -> Side:
    """Run both sides; assert identical features, decider inputs, targets and fills."""
    cfg = backtest_config(params)
    spec = load_config(cfg.features, FeatureSpec)
    bt = backtest_side(cfg, spec, engine, params)
    warm, bars = history_and_range(engine, cfg)
    live = make_live(warm, spec)
    lv = live_side(live, bars)

    assert len(bt.calls) == len(bars) > 200
    both = bt.calls
    assert [c.ts_us for c in both] == [c.ts_us for c in lv.calls] == bars.ts.tolist()
    # both decide on the range's first bar: the window reaches into the warm-up
    assert both[0].rows.shape[0] == live.decider.window
    for b, x in zip(both, lv.calls, strict=True):
        np.testing.assert_array_equal(b.rows, x.rows)
        assert (b.units, b.avg_price, b.pending) == (x.units, x.avg_price, x.pending)
    nan = np.nan
    bt_targets = np.array([nan if c.target is None else c.target for c in both])
    live_targets = np.array([nan if c.target is None else c.target for c in lv.calls])
    np.testing.assert_array_equal(bt_targets, live_targets)
    np.testing.assert_array_equal(np.array(bt.features), np.array(lv.features))
    assert bt.fills == lv.fills
    assert len(lv.fills) >= 3, "hardly any trades: a weak test"
    return lv


# --- the strategies ---------------------------------------------------------------------------


def test_a_decision_function_by_spec(engine: Engine) -> None:
    spec_str = "models/momentum_sign.py:decide"
    d = deployment(decision=spec_str, features=["sma_fast", "sma_slow"], max_units=1000)
    params = {"decision": spec_str, "features": ["sma_fast", "sma_slow"], "max_units": 1000.0}
    assert_same(engine, params, lambda h, spec: LiveDecision.from_config(d, EUR, h, spec))


def tilt(obs: np.ndarray) -> float:
    """A continuous target: the return z-score's sign, scaled by how far RSI is from 50."""
    return float(np.tanh(obs[0]) * abs(obs[1] - 50.0) / 25.0)


def test_a_decision_function_with_a_rebalance_threshold(engine: Engine) -> None:
    cols = ["zscore_20", "rsi_14"]
    d = deployment(decision="test:tilt", features=cols, max_units=2000, rebalance_threshold=0.2)
    params = {"decision": tilt, "features": cols, "max_units": 2000.0, "rebalance_threshold": 0.2}
    lv = assert_same(
        engine, params, lambda h, spec: LiveDecision.from_config(d, EUR, h, spec, decision=tilt)
    )
    sizes = {abs(u) for _, u, _ in lv.fills}
    assert len(sizes) > 3  # partial rebalances, not just all-in/all-out


class Handmade:
    """A deterministic policy that reads its position state: it follows the return z-score,
    halves the target once held for half its time scale and goes flat on a loss."""

    def __init__(self, spec: FeatureSpec) -> None:
        cols = ("zscore_20", "rsi_14", "log_return_1")
        self.contract = ModelContract(
            kind="rl",
            algo="handmade",
            instrument=EUR,
            timeframe=H1,
            feature_spec_fingerprint=spec.fingerprint,
            feature_columns=cols,
            feature_defs=feature_definitions(spec, cols),
            window=4,
            position_state=True,
            time_scale=24.0,
            max_units=5000.0,
            min_hold_bars=3,
            scaler=FeatureScaler(mean=(0.0, 50.0, 0.0), std=(1.0, 10.0, 0.001)),
            actions=ActionMap(kind="continuous"),
        )

    def targets(self, obs: np.ndarray) -> np.ndarray:
        o = obs.astype(np.float64)
        signal = np.tanh(o[:, 9] + 0.5 * o[:, 10] + 0.2 * o[:, 0])  # latest row + the oldest
        signal = np.where(o[:, -1] >= 0.5, signal / 2.0, signal)  # held long: halve
        signal = np.where(o[:, -2] < -0.0005, 0.0, signal)  # losing: flat
        return np.round(signal * 4.0) / 4.0


def test_a_policy_with_position_state_and_min_hold(engine: Engine) -> None:
    spec = load_config(backtest_config({}).features, FeatureSpec)
    policy = Handmade(spec)
    d = deployment(model="models:/handmade@test")
    lv = assert_same(
        engine,
        {"policy": policy},
        lambda h, spec: LiveDecision.from_config(d, EUR, h, spec, policy=policy),
    )
    held = {round(c.units) for c in lv.calls}
    assert len(held) > 3
    assert any(c.avg_price > 0 for c in lv.calls)


def test_a_registered_model_by_alias(engine: Engine, home: Path) -> None:
    cfg = ModelConfig.model_validate(small_logreg("live-parity-logreg"))
    trained = train(engine, cfg, tracking=resolve_tracking(home))
    tracking = configure(resolve_tracking(home))
    promote(tracking, trained.model_name, trained.model_version, "champion")
    uri = f"models:/{trained.model_name}@champion"
    spec = load_config(backtest_config({}).features, FeatureSpec)
    # loaded (and contract-checked) as the live pipeline and the backtest pipeline load it
    policy: Policy
    policy, version = load_checked_policy(
        uri, spec=spec, columns=spec.columns, timeframe="H1", tracking=tracking
    )
    assert version == str(trained.model_version)
    d = deployment(model=uri)
    lv = assert_same(
        engine,
        {"policy": policy},
        lambda h, spec: LiveDecision.from_config(d, EUR, h, spec, policy=policy),
    )
    # and the backtest pipeline, resolving the alias itself, made these same fills
    done = run_backtest(engine, backtest_config({"model": uri}), tracking=resolve_tracking(home))
    assert fills(done.results[0]) == lv.fills
