"""A registered model, trained, promoted and backtested by alias, makes the same decisions in
Backtrader as in the training environment: the same observations, bit for bit, the same
actions, the same fills and the same equity. A model whose features the backtest cannot
make is refused before anything is recorded."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from model_support import small_ppo
from sqlalchemy import Engine, select

from tradewind.config import SyntheticConfig, load_config
from tradewind.config.backtest import BacktestConfig, StrategySpec
from tradewind.config.features import FeatureSpec
from tradewind.config.models import ModelConfig, Split, Splits
from tradewind.pipelines.backtest import BacktestInputError, load_inputs, run_backtest
from tradewind.pipelines.setup import initialise
from tradewind.pipelines.synthetic import synthesize_to_db
from tradewind.pipelines.train import train
from tradewind.policy import ModelData, ObservationBuilder, Policy
from tradewind.registry import configure, load_policy, promote, resolve_tracking
from tradewind.rl.rollout import rollout
from tradewind.storage.engine import make_engine
from tradewind.storage.schema import RunRow

SPLITS = Splits(
    train=Split(start=datetime(2024, 1, 1), end=datetime(2024, 2, 12)),
    validation=Split(start=datetime(2024, 2, 12), end=datetime(2024, 2, 26)),
    test=Split(start=datetime(2024, 2, 26), end=datetime(2024, 3, 20)),
)
COSTS = {"commission_bps": 0.2, "spread": "fixed", "spread_pips": 0.8, "slippage_bps": 0.1}


class Recording:
    """A policy that remembers every observation it was shown and the target it gave."""

    def __init__(self, inner: Policy) -> None:
        self.inner = inner
        self.contract = inner.contract
        self.obs: list[np.ndarray] = []
        self.given: list[float] = []

    def targets(self, obs: np.ndarray) -> np.ndarray:
        out = self.inner.targets(obs)
        self.obs.extend(np.array(o, copy=True) for o in obs)
        self.given.extend(float(t) for t in out)
        return out


@pytest.fixture
def engine(home: Path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{home / 'tw.db'}")
    initialise(eng)
    synthesize_to_db(eng, SyntheticConfig(instrument="EUR_USD", timeframe="H1", bars=1200, seed=7))
    yield eng
    eng.dispose()


def model_config() -> ModelConfig:
    return small_ppo(
        "parity-ppo", "EUR_USD", "H1", SPLITS, COSTS, seed=3, episode_bars=128, min_hold_bars=3
    )


def backtest_config(cfg: ModelConfig, uri: str, features: str | None = None) -> BacktestConfig:
    return BacktestConfig(
        name="parity",
        instruments=("EUR_USD",),
        timeframe="H1",
        start=cfg.splits.test.start,
        end=cfg.splits.test.end,
        features=features or cfg.features,
        strategies=(StrategySpec(name="model_target", label="ppo", params={"model": uri}),),
        cash=cfg.env.cash,
        sizing={"method": "fixed_units", "value": cfg.env.max_units},
        costs=cfg.env.costs,
        fill=cfg.env.fill,
    )


def test_backtest_of_a_registered_model_matches_the_environment(engine: Engine, home: Path) -> None:
    cfg = model_config()
    trained = train(engine, cfg, tracking=resolve_tracking(home))
    tracking = configure(resolve_tracking(home))
    promote(tracking, trained.model_name, trained.model_version, "champion")
    uri = f"models:/{trained.model_name}@champion"

    bt_cfg = backtest_config(cfg, uri)
    done = run_backtest(engine, bt_cfg, tracking=resolve_tracking(home))
    (result,) = done.results
    assert result.strategy == "ppo"
    assert result.params["model_version"] == str(trained.model_version)
    with engine.connect() as conn:
        assert conn.execute(select(RunRow.status).where(RunRow.id == done.run_id)).scalar_one() == (
            "succeeded"
        )

    # The same model, both paths, recorded: the backtest (Backtrader) ...
    spec = load_config(cfg.features, FeatureSpec)
    bars, features = load_inputs(engine, bt_cfg, spec)
    policy = load_policy(
        uri,
        feature_columns=tuple(features["EUR_USD"]),
        feature_spec_fingerprint=spec.fingerprint,
        timeframe="H1",
        tracking=tracking,
    )
    from tradewind.backtest.bt_engine import load_strategy, run_backtrader

    in_backtest = Recording(policy)
    bt_result = run_backtrader(
        bars, features, load_strategy("model_target"), {"policy": in_backtest}, bt_cfg, "ppo"
    )
    # ... and the environment's deterministic rollout over the same bars.
    series = bars["EUR_USD"]
    builder = ObservationBuilder(policy.contract)
    data = ModelData(
        series,
        policy.contract.feature_columns,
        builder.matrix(features["EUR_USD"]),
        spec.fingerprint,
        {"test": slice(0, len(series))},
    )
    in_env = Recording(policy)
    roll = rollout(in_env, data, policy.contract, cfg.env, "test")

    assert len(in_env.obs) == len(roll.rows) > 100
    # Backtrader decides on every bar from the first full window to the last bar
    assert len(in_backtest.obs) == len(in_env.obs)
    for a, b in zip(in_backtest.obs, in_env.obs, strict=True):
        np.testing.assert_array_equal(a, b)
    assert in_backtest.given == in_env.given
    assert len(set(in_env.given)) > 1, "the model never changed its mind: a weak test"

    # same fills, same equity at every close
    fills = [(f.ts_us, f.units, f.price) for f in bt_result.fills]
    assert fills == [(f.ts_us, f.units, f.price) for f in result.fills]
    env_units = np.diff(np.concatenate([[0.0], roll.units]))
    traded = np.flatnonzero(env_units)
    assert [(int(roll.ts[k]), float(env_units[k])) for k in traded] == [
        (ts, units) for ts, units, _ in fills
    ]
    equity = dict(zip(bt_result.ts_us.tolist(), bt_result.equity.tolist(), strict=True))
    np.testing.assert_allclose([equity[int(t)] for t in roll.ts], roll.equity, rtol=0, atol=1e-7)


def test_a_model_with_other_features_is_refused(engine: Engine, home: Path, tmp_path: Path) -> None:
    cfg = model_config()
    trained = train(engine, cfg, tracking=resolve_tracking(home))
    uri = f"models:/{trained.model_name}/{trained.model_version}"
    other = tmp_path / "features.yaml"
    other.write_text(
        "kind: features\nname: other\nfeatures:\n"
        "  - {name: sma_fast, fn: SMA, params: {timeperiod: 5}}\n"
        "  - {name: rsi_14, fn: RSI, params: {timeperiod: 14}}\n"
    )
    with engine.connect() as conn:
        before = conn.execute(select(RunRow.id)).all()
    with pytest.raises(BacktestInputError, match=r"missing .*sma_slow") as err:
        run_backtest(
            engine, backtest_config(cfg, uri, features=str(other)), tracking=resolve_tracking(home)
        )
    assert uri in str(err.value)
    with engine.connect() as conn:
        assert conn.execute(select(RunRow.id)).all() == before  # nothing recorded


def test_feature_definitions_are_checked_column_by_column(
    engine: Engine, home: Path, tmp_path: Path
) -> None:
    cfg = model_config()
    trained = train(engine, cfg, tracking=resolve_tracking(home))
    uri = f"models:/{trained.model_name}/{trained.model_version}"
    default = Path(cfg.features).read_text()
    # the same column, computed otherwise: refused, naming the column and both definitions
    changed = tmp_path / "rsi10.yaml"
    changed.write_text(
        default.replace(
            "{name: rsi_14, fn: RSI, params: {timeperiod: 14}}",
            "{name: rsi_14, fn: RSI, params: {timeperiod: 10}}",
        )
    )
    assert changed.read_text() != default
    with pytest.raises(BacktestInputError, match=r"computes feature rsi_14 as .*14.*as .*10"):
        run_backtest(
            engine,
            backtest_config(cfg, uri, features=str(changed)),
            tracking=resolve_tracking(home),
        )
    # more features than the model reads, its own defined alike: accepted
    more = tmp_path / "more.yaml"
    more.write_text(default + "  - {name: ema_50, fn: EMA, params: {timeperiod: 50}}\n")
    done = run_backtest(
        engine, backtest_config(cfg, uri, features=str(more)), tracking=resolve_tracking(home)
    )
    assert done.results[0].params["model_version"] == str(trained.model_version)
