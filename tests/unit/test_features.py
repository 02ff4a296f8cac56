"""Feature pipeline: TA-Lib parity, warm-up marked not filled, no look-ahead, config errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import talib
import talib.abstract
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradewind.config import ConfigError, FeatureSpec, load_config, parse_config
from tradewind.config.features import BAR_FIELDS, talib_inputs, talib_outputs
from tradewind.domain.series import BarSeries
from tradewind.features import FeatureFrame, build_features, feature_names
from tradewind.features.build import rolling_zscore

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "configs" / "features" / "default.yaml"
HOUR_US = 3_600_000_000
T0 = 1_704_067_200_000_000  # 2024-01-01 00:00 UTC, a Monday


def random_walk(n: int, seed: int = 0) -> BarSeries:
    rng = np.random.default_rng(seed)
    close = 1.1 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    open_ = np.r_[1.1, close[:-1]]
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.001, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.001, n))
    volume = rng.uniform(100, 1000, n)
    ts = T0 + np.arange(n, dtype=np.int64) * HOUR_US
    return BarSeries(ts, open_, high, low, close, volume)


def head(bars: BarSeries, k: int) -> BarSeries:
    return bars.take(np.arange(k, dtype=np.int64))


def spec(*features: dict[str, Any]) -> FeatureSpec:
    return FeatureSpec.model_validate({"name": "t", "features": list(features)})


@pytest.fixture(scope="module")
def default_spec() -> FeatureSpec:
    return load_config(DEFAULT, FeatureSpec)


@pytest.fixture(scope="module")
def bars() -> BarSeries:
    return random_walk(600)


# --- values -------------------------------------------------------------------------------


def test_default_config_columns_in_order(default_spec: FeatureSpec) -> None:
    assert feature_names(default_spec) == (
        "sma_fast", "sma_slow", "rsi_14", "atr_14", "macd", "macd_signal", "bb_upper",
        "bb_lower", "adx_14", "log_return_1", "zscore_20", "tod_sin", "tod_cos", "dow_sin",
        "dow_cos",
    )  # fmt: skip


def test_values_equal_direct_talib_calls(bars: BarSeries, default_spec: FeatureSpec) -> None:
    f = build_features(bars, default_spec)
    c, h, lo = bars.close, bars.high, bars.low
    macd, signal, _ = talib.MACD(c, 12, 26, 9)
    upper, _, lower = talib.BBANDS(c, 20, 2.0, 2.0)
    expected = {
        "sma_fast": talib.SMA(c, 10),
        "sma_slow": talib.SMA(c, 30),
        "rsi_14": talib.RSI(c, 14),
        "atr_14": talib.ATR(h, lo, c, 14),
        "macd": macd,
        "macd_signal": signal,
        "bb_upper": upper,
        "bb_lower": lower,
        "adx_14": talib.ADX(h, lo, c, 14),
    }
    for name, want in expected.items():
        np.testing.assert_array_equal(f.column(name), want, err_msg=name)
    assert f.values.shape == (len(bars), len(default_spec.columns))
    assert f.values.dtype == np.float64
    assert not f.values.flags.writeable


def test_multi_input_and_input_override(bars: BarSeries) -> None:
    s = spec(
        {"name": "k", "fn": "STOCH", "output": "slowd", "params": {"fastk_period": 7}},
        {"name": "obv", "fn": "OBV"},
        {"name": "sma_high", "fn": "SMA", "input": "high", "params": {"timeperiod": 5}},
        {"name": "rsi", "fn": "RSI"},
        {"name": "rsi_ema", "fn": "EMA", "input": "rsi", "params": {"timeperiod": 5}},
    )
    f = build_features(bars, s)
    _, slowd = talib.STOCH(bars.high, bars.low, bars.close, fastk_period=7)
    np.testing.assert_array_equal(f.column("k"), slowd)
    np.testing.assert_array_equal(f.column("obv"), talib.OBV(bars.close, bars.volume))
    np.testing.assert_array_equal(f.column("sma_high"), talib.SMA(bars.high, 5))
    np.testing.assert_array_equal(f.column("rsi_ema"), talib.EMA(talib.RSI(bars.close), 5))
    assert f.warmup == 14 + 4  # RSI's lookback, then EMA(5)'s on top


def test_transforms_by_hand(bars: BarSeries) -> None:
    s = spec(
        {"name": "lr3", "fn": "log_return", "params": {"period": 3}},
        {"name": "z", "fn": "zscore", "params": {"window": 5}},
        {"name": "zs", "fn": "zscore", "params": {"window": 5, "ddof": 1}},
        {"name": "tod", "fn": "time_of_day"},
        {"name": "dow", "fn": "day_of_week"},
    )
    f = build_features(bars, s)
    c = bars.close
    np.testing.assert_allclose(f.column("lr3")[3:], np.log(c[3:] / c[:-3]), rtol=1e-12)
    assert np.isnan(f.column("lr3")[:3]).all()
    win = c[10:15]
    assert f.column("z")[14] == pytest.approx((c[14] - win.mean()) / win.std(), rel=1e-12)
    assert f.column("zs")[14] == pytest.approx((c[14] - win.mean()) / win.std(ddof=1), rel=1e-12)
    pdz = (c - pd.Series(c).rolling(5).mean()) / pd.Series(c).rolling(5).std(ddof=0)
    # pandas' rolling moments are running sums: near zero its z-score carries ~1e-13 of
    # absolute rounding (1.7e-13 seen on one CPU), so an absolute tolerance as well
    np.testing.assert_allclose(f.column("z"), pdz.to_numpy(), rtol=1e-9, atol=1e-11, equal_nan=True)
    # bar 6 is 06:00 on Monday 2024-01-01; bar 30 is 06:00 on Tuesday
    assert f.column("tod_sin")[6] == pytest.approx(1.0)
    assert f.column("tod_cos")[6] == pytest.approx(0.0, abs=1e-12)
    assert f.column("dow_sin")[6] == pytest.approx(0.0, abs=1e-12)
    assert f.column("dow_cos")[6] == pytest.approx(1.0)
    assert f.column("dow_sin")[30] == pytest.approx(np.sin(2 * np.pi / 7))
    assert f.columns == ("lr3", "z", "zs", "tod_sin", "tod_cos", "dow_sin", "dow_cos")


def test_zscore_zero_std_is_nan() -> None:
    z = rolling_zscore(np.array([1.0, 1.0, 1.0, 2.0]), 3)
    assert np.isnan(z[:3]).all()
    assert z[3] == pytest.approx((2 - 4 / 3) / np.std([1.0, 1.0, 2.0]))


def test_spread_comes_from_the_argument(bars: BarSeries) -> None:
    s = spec({"name": "spr", "fn": "spread"}, {"name": "spr_z", "fn": "zscore", "input": "spr"})
    with pytest.raises(ValueError, match="spread argument"):
        build_features(bars, s)
    spread = np.full(len(bars), 0.0001) + np.arange(len(bars)) * 1e-7
    f = build_features(bars, s, spread=spread)
    np.testing.assert_array_equal(f.column("spr"), spread)
    with pytest.raises(ValueError, match="rows"):
        build_features(bars, s, spread=spread[:-1])


# --- warm-up ------------------------------------------------------------------------------


def _lookback(fn: str, params: dict[str, Any]) -> int:
    return int(talib.abstract.Function(fn, **params).lookback)


def test_warmup_is_max_lookback_and_rows_are_nan_not_filled(
    bars: BarSeries, default_spec: FeatureSpec
) -> None:
    f = build_features(bars, default_spec)
    lookbacks: dict[str, int] = {}
    for feat in default_spec.features:
        if feat.fn == "log_return":
            lookbacks[feat.name] = feat.param("period")
        elif feat.fn == "zscore":
            lookbacks[feat.name] = lookbacks[feat.input or "close"] + feat.param("window") - 1
        elif feat.fn in ("time_of_day", "day_of_week"):
            lookbacks.update(dict.fromkeys(feat.columns, 0))
        else:
            lookbacks[feat.name] = _lookback(feat.fn, feat.params)
    assert lookbacks["macd"] == 33  # slow EMA (25) + signal EMA (8)
    assert f.warmup == max(lookbacks.values()) == 33
    for name, lb in lookbacks.items():
        col = f.column(name)
        assert np.isnan(col[:lb]).all(), name
        assert np.isfinite(col[lb:]).all(), name
    valid = f.valid()
    assert len(valid) == len(bars) - 33
    assert valid.warmup == 0
    assert np.isfinite(valid.values).all()


def test_short_and_empty_series(default_spec: FeatureSpec) -> None:
    f = build_features(random_walk(10), default_spec)
    assert f.warmup == 10
    assert len(f.valid()) == 0
    e = build_features(BarSeries.empty(), default_spec)
    assert e.values.shape == (0, len(default_spec.columns))
    assert e.warmup == 0


def test_to_frame(bars: BarSeries, default_spec: FeatureSpec) -> None:
    f = build_features(bars, default_spec)
    df = f.to_frame()
    assert list(df.columns) == list(f.columns)
    assert str(df.index.tz) == "UTC"
    assert df.index[0] == pd.Timestamp("2024-01-01T00:00Z")
    np.testing.assert_array_equal(df["rsi_14"].to_numpy(), f.column("rsi_14"))
    with pytest.raises(KeyError, match="rsi_15"):
        f.column("rsi_15")


# --- no look-ahead ------------------------------------------------------------------------


def _assert_prefix(full: FeatureFrame, part: FeatureFrame, t: int) -> None:
    np.testing.assert_array_equal(part.ts, full.ts[: t + 1])
    # exact: bit-for-bit, NaN where NaN
    np.testing.assert_array_equal(part.values, full.values[: t + 1], err_msg=f"cut at t={t}")
    assert part.warmup == min(full.warmup, t + 1)


@pytest.mark.parametrize("t", [0, 5, 32, 33, 34, 100, 257, 598, 599])
def test_no_lookahead_at_cut_points(bars: BarSeries, default_spec: FeatureSpec, t: int) -> None:
    full = build_features(bars, default_spec)
    _assert_prefix(full, build_features(head(bars, t + 1), default_spec), t)


EVERY_TALIB = [  # all but MAVP, which needs a `periods` array no bar has
    f for f in talib.get_functions() if {s for _, s in talib_inputs(f)} <= set(BAR_FIELDS)
]


def test_no_lookahead_for_every_talib_function(bars: BarSeries) -> None:
    """All TA-Lib functions on bar fields, EMA-type ones included, are exactly prefix-stable."""
    assert len(EVERY_TALIB) >= 150
    feats = []
    for fn in EVERY_TALIB:
        out = talib_outputs(fn)
        feats += [
            {"name": f"{fn}_{o}", "fn": fn, "output": o if len(out) > 1 else None} for o in out
        ]
    s = spec(*feats)
    full = build_features(bars, s)
    for t in (40, 150, 333):
        part = build_features(head(bars, t + 1), s)
        np.testing.assert_array_equal(part.values, full.values[: t + 1], err_msg=f"t={t}")


def test_unstable_period_only_masks_more_rows(bars: BarSeries) -> None:
    """talib.set_unstable_period adds leading NaNs; it never changes a computed value."""
    s = spec(
        {"name": "ema", "fn": "EMA", "params": {"timeperiod": 10}}, {"name": "rsi", "fn": "RSI"}
    )
    base = build_features(bars, s)
    talib.set_unstable_period("ALL", 50)
    try:
        masked = build_features(bars, s)
    finally:
        talib.set_unstable_period("ALL", 0)
    assert masked.warmup == 50 + 14 > base.warmup
    np.testing.assert_array_equal(masked.values[masked.warmup :], base.values[masked.warmup :])


def test_start_dependence_of_ema_type_functions(bars: BarSeries) -> None:
    """Not look-ahead, but documented: dropping bars from the FRONT changes RSI (seeded from
    the first bars) for a long while after its lookback; SMA is unaffected."""
    s = spec({"name": "sma", "fn": "SMA"}, {"name": "rsi", "fn": "RSI"})
    full = build_features(bars, s)
    late = build_features(bars.take(np.arange(100, len(bars), dtype=np.int64)), s)
    np.testing.assert_allclose(late.column("sma")[29:], full.column("sma")[129:], rtol=1e-12)
    assert abs(late.column("rsi")[14] - full.column("rsi")[114]) > 1e-6


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 300), data=st.data())
def test_no_lookahead_property(seed: int, n: int, data: st.DataObject) -> None:
    default_spec = load_config(DEFAULT, FeatureSpec)
    bars = random_walk(n, seed)
    t = data.draw(st.integers(0, n - 1), label="t")
    full = build_features(bars, default_spec)
    _assert_prefix(full, build_features(head(bars, t + 1), default_spec), t)


# --- config -------------------------------------------------------------------------------


def test_shipped_feature_configs_load() -> None:
    paths = sorted((ROOT / "configs" / "features").glob("*.yaml"))
    assert paths
    for p in paths:
        cfg = load_config(p, FeatureSpec)
        assert cfg.kind == "features"
        assert len(cfg.fingerprint) == 64
        build_features(random_walk(50), cfg)


def _error(*features: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as exc:
        parse_config({"kind": "features", "name": "t", "features": list(features)}, "f.yaml")
    return str(exc.value)


def test_unknown_function_names_the_field() -> None:
    msg = _error({"name": "a", "fn": "SMA"}, {"name": "b", "fn": "RSX"})
    assert "features.1.fn" in msg
    assert "unknown function 'RSX'" in msg
    assert "RSI" in msg
    assert "BBANDS" in msg
    assert "did you mean 'RSI'" in _error({"name": "b", "fn": "rsi"})


def test_bad_param_names_the_field() -> None:
    msg = _error({"name": "a", "fn": "RSI", "params": {"period": 14}})
    assert "features.0.params" in msg
    assert "'period'" in msg
    assert "timeperiod" in msg
    assert "features.0.params" in _error({"name": "a", "fn": "RSI", "params": {"timeperiod": "x"}})
    assert "integer" in _error({"name": "a", "fn": "RSI", "params": {"timeperiod": 2.5}})
    assert "window" in _error({"name": "a", "fn": "zscore", "params": {"window": 1}})


def test_bad_output_names_the_field() -> None:
    missing = _error({"name": "m", "fn": "MACD"})
    assert "features.0.output" in missing
    assert "macdsignal" in missing
    unknown = _error({"name": "m", "fn": "BBANDS", "output": "upper"})
    assert "features.0.output" in unknown
    assert "upperband" in unknown
    assert "features.0.output" in _error({"name": "r", "fn": "RSI", "output": "macd"})


def test_duplicate_and_undefined_names() -> None:
    dup = _error({"name": "a", "fn": "SMA"}, {"name": "a", "fn": "EMA"})
    assert "features.1.name: duplicate name 'a'" in dup
    col_dup = _error({"name": "tod", "fn": "time_of_day"}, {"name": "tod_sin", "fn": "SMA"})
    assert "duplicate name 'tod_sin'" in col_dup
    undefined = _error(
        {"name": "z", "fn": "zscore", "input": "later"}, {"name": "later", "fn": "SMA"}
    )
    assert "features.0.input" in undefined
    assert "'later'" in undefined
    assert "bar field" in _error({"name": "close", "fn": "SMA"})
    assert "features.0.input" in _error({"name": "a", "fn": "ATR", "input": "open"})
    assert "features.0.input" in _error({"name": "t", "fn": "time_of_day", "input": "close"})


def test_time_encoding_columns_can_be_inputs(bars: BarSeries) -> None:
    s = spec({"name": "tod", "fn": "time_of_day"}, {"name": "x", "fn": "SMA", "input": "tod_sin"})
    np.testing.assert_array_equal(
        build_features(bars, s).column("x"), talib.SMA(build_features(bars, s).column("tod_sin"))
    )
    assert "features.1.input" in _error(
        {"name": "tod", "fn": "time_of_day"}, {"name": "x", "fn": "SMA", "input": "tod"}
    )
