"""The model-driven strategy (strategies/model_target.py) and the decision loader, on small
hand-made bars: targets become orders filled at t+1, feature order, failures, parity with
``sma_crossover``."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pytest

from tradewind.backtest.bt_engine import load_strategy, run_backtrader
from tradewind.backtest.decisions import DecisionError, load_decision
from tradewind.config.backtest import BacktestConfig, FillTiming, Sizing, StrategySpec
from tradewind.domain import Timeframe
from tradewind.domain.series import BarSeries

NAN = math.nan
H = 3_600_000_000
T0 = 1_704_067_200_000_000  # 2024-01-01 00:00 UTC

OPEN = [1.00, 1.01, 1.02, 1.03, 1.04, 1.05, 1.06, 1.07, 1.08, 1.09]
CLOSE = [1.01, 1.02, 1.03, 1.04, 1.05, 1.06, 1.07, 1.08, 1.09, 1.10]
FAST = [NAN, NAN, 1.0, 2.0, 2.0, 2.0, 0.5, 0.5, 2.0, 2.0]
SLOW = [NAN, NAN, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
MOMENTUM = "models/momentum_sign.py:decide"


def make_bars(o, c) -> BarSeries:
    n = len(c)
    ts = T0 + H * np.arange(n, dtype=np.int64)
    o, c = np.asarray(o, dtype=np.float64), np.asarray(c, dtype=np.float64)
    return BarSeries(
        ts, o, np.maximum(o, c) + 0.005, np.minimum(o, c) - 0.005, c, np.full(n, 100.0)
    )


def cfg(**kw) -> BacktestConfig:
    base = dict(
        name="t",
        instruments=("EUR_USD",),
        timeframe=Timeframe.H1,
        strategies=(StrategySpec(name="model_target"),),
        cash=10_000.0,
        sizing=Sizing(value=1000.0),
    )
    base.update(kw)
    return BacktestConfig(**base)


def run(feats, config=None, strategy="model_target", o=OPEN, c=CLOSE, **params):
    bars = {"EUR_USD": make_bars(o, c)}
    feats = {"EUR_USD": {k: np.asarray(v, dtype=np.float64) for k, v in feats.items()}}
    return run_backtrader(bars, feats, load_strategy(strategy), params, config or cfg(), "m")


def write_decision(tmp_path: Path, body: str, name: str = "dec.py") -> str:
    path = tmp_path / name
    path.write_text("import numpy as np\n\n" + body)
    return str(path)


def fills(r):
    return [(f.ts_us, f.units, f.price) for f in r.fills]


# --- targets become orders -----------------------------------------------------------------


def test_targets_become_orders_filled_at_next_open(tmp_path: Path) -> None:
    # the "model" reads its target from the feature: 0 (warm-up NaN), .5, .5, -1, -1, 0, ...
    tgt = [NAN, 0.0, 0.5, 0.5, -1.0, -1.0, 0.0, 0.0, 3.0, 1.0]
    path = write_decision(tmp_path, "def f(obs):\n    return obs[0]\n")
    r = run({"tgt": tgt}, decision=f"{path}:f", max_units=200.0)
    assert fills(r) == [
        (T0 + 3 * H, 100.0, OPEN[3]),  # 0.5 decided at bar 2
        (T0 + 5 * H, -300.0, OPEN[5]),  # -1 at bar 4: from +100 to -200
        (T0 + 7 * H, 200.0, OPEN[7]),  # 0 at bar 6: flat
        (T0 + 9 * H, 200.0, OPEN[9]),  # 3 at bar 8, clipped to +1
    ]


def test_default_max_units_is_the_runs_sizing_and_next_close_timing(tmp_path: Path) -> None:
    path = write_decision(tmp_path, "def f(obs):\n    return obs[0]\n")
    tgt = [NAN, 1.0, 1.0, -0.5, -0.5, -0.5, -0.5, -0.5, -0.5, -0.5]
    r = run({"tgt": tgt}, config=cfg(fill=FillTiming.NEXT_CLOSE), decision=f"{path}:f")
    assert fills(r) == [(T0 + 2 * H, 1000.0, CLOSE[2]), (T0 + 4 * H, -1500.0, CLOSE[4])]


def test_rebalance_threshold_skips_small_changes(tmp_path: Path) -> None:
    path = write_decision(tmp_path, "def f(obs):\n    return obs[0]\n")
    tgt = [1.0, 0.9, 0.8, 0.7, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    r = run({"tgt": tgt}, decision=f"{path}:f", max_units=100.0, rebalance_threshold=0.25)
    # +100 at bar 1; 0.9/0.8 are within 0.25 of 1.0; 0.7 is 0.3 away → 70; 0.5 is 0.2 away
    assert [(f.ts_us, f.units) for f in r.fills] == [(T0 + H, 100.0), (T0 + 4 * H, -30.0)]
    r0 = run({"tgt": tgt}, decision=f"{path}:f", max_units=100.0)
    assert [f.units for f in r0.fills] == pytest.approx([100.0, -10.0, -10.0, -10.0, -20.0])


# --- features --------------------------------------------------------------------------------


def test_feature_order_is_respected(tmp_path: Path) -> None:
    # the function trades on obs[1]: with features [a, b] that is b, with [b, a] it is a
    a = [1.0] * 10
    b = [-1.0] * 10
    path = write_decision(tmp_path, "def f(obs):\n    return obs[1]\n")
    r_ab = run({"a": a, "b": b}, decision=f"{path}:f", features=["a", "b"], max_units=10.0)
    r_ba = run({"a": a, "b": b}, decision=f"{path}:f", features=("b", "a"), max_units=10.0)
    assert [f.units for f in r_ab.fills] == [-10.0]
    assert [f.units for f in r_ba.fills] == [10.0]


def test_default_features_are_all_feature_lines_in_feed_order(tmp_path: Path) -> None:
    path = write_decision(
        tmp_path,
        "SEEN = []\n\ndef f(obs):\n"
        "    assert obs.dtype == np.float64\n"
        "    SEEN.append(obs.tolist())\n"
        "    return 0.0\n",
    )
    feats = {"z": [3.0] * 10, "a": [1.0] * 10, "m": [2.0] * 10}
    fn = load_decision(f"{path}:f")
    run(feats, decision=fn)
    seen = fn.__globals__["SEEN"]
    assert len(seen) == 10
    assert seen[0] == [3.0, 1.0, 2.0]


def test_observation_waits_for_every_feature(tmp_path: Path) -> None:
    path = write_decision(tmp_path, "def f(obs):\n    return 1.0\n")
    r = run({"a": [1.0] * 10, "b": [NAN] * 5 + [1.0] * 5}, decision=f"{path}:f", max_units=1.0)
    assert [f.ts_us for f in r.fills] == [T0 + 6 * H]  # first full observation is bar 5


def test_unknown_feature_is_a_clear_error(tmp_path: Path) -> None:
    path = write_decision(tmp_path, "def f(obs):\n    return 1.0\n")
    with pytest.raises(LookupError, match=r"features \['nope'\] are not in the feed.*a"):
        run({"a": [1.0] * 10}, decision=f"{path}:f", features=["a", "nope"])


# --- failures ----------------------------------------------------------------------------------


def test_nonfinite_target_goes_flat_with_a_warning(tmp_path: Path, caplog) -> None:
    # long from bar 1; NaN at bar 4 → flat at 5; inf at 6 → stays flat; 1 at 8 → long again
    tgt = [NAN, 1.0, 1.0, 1.0, 2.0, 1.0, 3.0, 2.0, 1.0, 1.0]
    path = write_decision(
        tmp_path,
        "def f(obs):\n"
        "    v = obs[0]\n"
        "    return {2.0: float('nan'), 3.0: float('inf')}.get(v, v)\n",
    )
    with caplog.at_level(logging.WARNING):
        r = run({"tgt": tgt}, decision=f"{path}:f", max_units=10.0)
    assert [(f.ts_us, f.units) for f in r.fills] == [
        (T0 + 2 * H, 10.0),
        (T0 + 5 * H, -10.0),
        (T0 + 6 * H, 10.0),
        (T0 + 7 * H, -10.0),
        (T0 + 9 * H, 10.0),
    ]
    text = caplog.text
    assert "going flat" in text
    assert "3 non-finite target(s) on EUR_USD" in text


def test_decision_that_raises_stops_the_run_naming_the_function(tmp_path: Path) -> None:
    path = write_decision(tmp_path, "def boom(obs):\n    raise ValueError('bad model')\n")
    with pytest.raises(DecisionError, match=r"dec\.py:boom raised on EUR_USD.*ValueError: bad"):
        run({"a": [1.0] * 10}, decision=f"{path}:boom")


def test_decision_returning_a_non_number_stops_the_run(tmp_path: Path) -> None:
    path = write_decision(tmp_path, "def f(obs):\n    return None\n")
    with pytest.raises(DecisionError, match=r"dec\.py:f returned None"):
        run({"a": [1.0] * 10}, decision=f"{path}:f")


def test_missing_decision_param() -> None:
    with pytest.raises(ValueError, match="needs either a 'decision'"):
        run({"a": [1.0] * 10})


# --- the loader ----------------------------------------------------------------------------------


def test_loader_accepts_module_and_file_specs(tmp_path: Path) -> None:
    fn = load_decision("math:copysign")
    assert fn(2.0, -1.0) == -2.0
    assert load_decision(MOMENTUM)(np.array([2.0, 1.0])) == 1.0
    path = write_decision(
        tmp_path, "class P:\n    @staticmethod\n    def act(obs):\n        return 0.5\n"
    )
    assert load_decision(f"{path}:P.act")(np.zeros(1)) == 0.5


@pytest.mark.parametrize(
    ("spec", "exc", "pattern"),
    [
        ("no_colon", ValueError, "is not 'module:function'"),
        ("math:", ValueError, "is not 'module:function'"),
        (":f", ValueError, "is not 'module:function'"),
        ("math:not-a-name", ValueError, "is not a function name"),
        ("tradewind_no_such_module:f", LookupError, "no module named 'tradewind_no_such_module'"),
        ("models/no_such_file.py:f", LookupError, "does not exist"),
        ("math:no_such_fn", LookupError, "has no attribute 'no_such_fn'"),
        ("math:pi", TypeError, "pi is a float, not callable"),
    ],
)
def test_bad_decision_specs_are_clear_errors(spec: str, exc: type, pattern: str) -> None:
    with pytest.raises(exc, match=pattern):
        load_decision(spec)


def test_bad_spec_fails_when_the_strategy_is_built() -> None:
    with pytest.raises(LookupError, match="has no attribute 'nope'"):
        run({"sma_fast": FAST, "sma_slow": SLOW}, decision="models/momentum_sign.py:nope")


# --- parity with sma_crossover ------------------------------------------------------------------


def _compare_with_sma_crossover(o, c, fast, slow) -> None:
    feats = {"sma_fast": fast, "sma_slow": slow}
    ref = run(feats, strategy="sma_crossover", o=o, c=c, allow_short=True)
    got = run(feats, o=o, c=c, decision=MOMENTUM, features=["sma_fast", "sma_slow"])
    assert fills(got) == fills(ref)
    assert [(t.entry_ts_us, t.exit_ts_us, t.units) for t in got.trades] == [
        (t.entry_ts_us, t.exit_ts_us, t.units) for t in ref.trades
    ]
    np.testing.assert_allclose(got.equity, ref.equity)


def test_momentum_sign_matches_sma_crossover_with_shorts() -> None:
    _compare_with_sma_crossover(OPEN, CLOSE, FAST, SLOW)


def test_momentum_sign_matches_sma_crossover_on_a_random_walk() -> None:
    rng = np.random.default_rng(7)
    c = 1.1 * np.exp(np.cumsum(rng.normal(0, 0.002, 400)))
    o = np.r_[c[0], c[:-1]]
    sma = lambda x, w: np.r_[np.full(w - 1, NAN), np.convolve(x, np.ones(w) / w, "valid")]  # noqa: E731
    fast, slow = sma(c, 5), sma(c, 20)
    fast[:19] = NAN
    fast[19] = slow[19]  # start on a tie: sma_crossover waits for a cross, so must the model
    _compare_with_sma_crossover(o, c, fast, slow)
    assert len(run({"sma_fast": fast, "sma_slow": slow}, o=o, c=c, decision=MOMENTUM).fills) > 5
