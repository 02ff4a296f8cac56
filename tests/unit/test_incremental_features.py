"""``IncrementalFeatures`` equals ``build_features`` over the same bars, bit for bit (NaN where the
batch has NaN): every TA-Lib function the config accepts, every output, our transforms, chained
inputs (including a chained input that turns NaN mid-stream), warm from a short or a long head,
and the default config over a long series."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import talib

from tradewind.config import FeatureSpec, load_config
from tradewind.config.features import talib_outputs
from tradewind.domain.series import BarSeries
from tradewind.features import build_features
from tradewind.features.incremental import IncrementalFeatures

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "configs" / "features" / "default.yaml"
MIN_US = 60_000_000
T0 = 1_704_067_200_000_000  # 2024-01-01 00:00 UTC, a Monday
# the batch itself cannot compute it: its ``periods`` input is no bar field (same error here)
NO_BATCH = {"MAVP"}


def walk(n: int, seed: int = 0, flat: tuple[int, int] | None = None) -> BarSeries:
    """M1 bars of a random walk; ``flat``: bars [a, b) all at one price (a zero std)."""
    rng = np.random.default_rng(seed)
    close = 1.1 * np.exp(np.cumsum(rng.normal(0, 0.001, n)))
    open_ = np.r_[1.1, close[:-1]]
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.0005, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.0005, n))
    volume = rng.integers(1, 1000, n).astype(np.float64)
    if flat is not None:
        a, b = flat
        for x in (open_, high, low, close):
            x[a:b] = close[a - 1]
    ts = T0 + np.arange(n, dtype=np.int64) * MIN_US
    return BarSeries(ts, open_, high, low, close, volume)


def spec_of(*features: dict[str, Any]) -> FeatureSpec:
    return FeatureSpec.model_validate({"name": "t", "features": list(features)})


def incremental(bars: BarSeries, spec: FeatureSpec, k: int, spread: Any = None) -> np.ndarray:
    """Warm on the first ``k`` bars, then the rest one at a time; every row (the warm-up's too)."""
    head = bars.take(np.arange(k))
    eng = IncrementalFeatures(spec, head, None if spread is None else spread[:k], capacity=16)
    for i in range(k, len(bars)):
        row = eng.update(
            int(bars.ts[i]), *(float(getattr(bars, f)[i]) for f in FIELDS),
            spread=None if spread is None else float(spread[i]),
        )  # fmt: skip
        assert row.shape == (len(spec.columns),)
        assert not row.flags.writeable
    frame = eng.frame()
    batch = build_features(bars, spec, spread)
    assert frame.columns == batch.columns
    assert frame.warmup == batch.warmup
    np.testing.assert_array_equal(frame.ts, bars.ts)
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(eng.bars(), f), getattr(bars, f))
    return frame.values


FIELDS = ("open", "high", "low", "close", "volume")


def assert_exact(got: np.ndarray, want: np.ndarray) -> None:
    assert np.array_equal(got, want, equal_nan=True), np.argwhere(
        ~((got == want) | (np.isnan(got) & np.isnan(want)))
    )[:5]


@pytest.mark.parametrize("fn", sorted(talib.get_functions()))  # type: ignore[no-untyped-call]
def test_every_talib_function_every_output_is_the_batch_bit_for_bit(fn: str) -> None:
    outs = talib_outputs(fn)
    spec = spec_of(
        *({"name": f"f{i}", "fn": fn, "output": None if len(outs) == 1 else o}
          for i, o in enumerate(outs))
    )  # fmt: skip
    bars = walk(260, seed=len(fn))
    if fn in NO_BATCH:
        with pytest.raises(KeyError):
            build_features(bars, spec)
        with pytest.raises(KeyError):
            IncrementalFeatures(spec, bars)
        return
    want = build_features(bars, spec).values
    for k in (3, 120):  # a head too short to open TA-Lib's handle; one that opens it
        assert_exact(incremental(bars, spec, k), want)


def test_the_default_config_over_a_long_series() -> None:
    spec = load_config(DEFAULT, FeatureSpec)
    bars = walk(1500, seed=11)
    assert_exact(incremental(bars, spec, 1000), build_features(bars, spec).values)
    assert_exact(incremental(bars, spec, 0), build_features(bars, spec).values)


TRANSFORMS = spec_of(
    {"name": "lr", "fn": "log_return"},
    {"name": "lr3", "fn": "log_return", "input": "high", "params": {"period": 3}},
    {"name": "z", "fn": "zscore", "input": "lr", "params": {"window": 5, "ddof": 1}},
    {"name": "zc", "fn": "zscore", "input": "close"},
    {"name": "tod", "fn": "time_of_day"},
    {"name": "dow", "fn": "day_of_week"},
    {"name": "sp", "fn": "spread"},
    {"name": "sma_lr", "fn": "SMA", "input": "lr", "params": {"timeperiod": 7}},
    {"name": "ema_sma", "fn": "EMA", "input": "sma_lr", "params": {"timeperiod": 5}},
    {"name": "rsi_zc", "fn": "RSI", "input": "zc"},
    {"name": "bb_lr", "fn": "BBANDS", "input": "lr", "output": "middleband"},
    {"name": "z_rsi", "fn": "zscore", "input": "rsi_zc", "params": {"window": 4}},
    {"name": "macd_sp", "fn": "MACD", "input": "sp", "output": "macdhist"},
)


@pytest.mark.parametrize("k", [0, 2, 60, 400])
def test_transforms_and_chained_inputs(k: int) -> None:
    bars = walk(700, seed=5)
    spread = np.round(np.random.default_rng(1).uniform(0.5, 2.0, 700), 1) * 1e-4
    want = build_features(bars, TRANSFORMS, spread).values
    assert_exact(incremental(bars, TRANSFORMS, k, spread), want)


@pytest.mark.parametrize("k", [100, 300])  # the NaN stretch after the head; inside it
def test_a_chained_input_turning_nan_mid_stream_is_computed_as_the_batch(
    k: int, caplog: pytest.LogCaptureFixture
) -> None:
    """A flat stretch makes zscore NaN (zero std); TA-Lib's handle over it refuses a NaN, so
    that column is the batch call over its history from then on: still exact."""
    spec = spec_of(
        {"name": "z", "fn": "zscore", "params": {"window": 5}},
        {"name": "sma_z", "fn": "SMA", "input": "z", "params": {"timeperiod": 3}},
        {"name": "rsi", "fn": "RSI"},
    )
    bars = walk(500, seed=2, flat=(200, 230))
    want = build_features(bars, spec).values
    assert np.isnan(want[210:230, 0]).all()
    assert not np.isnan(want[240:, 2]).any()
    with caplog.at_level(logging.INFO, logger="tradewind.features.streams"):
        assert_exact(incremental(bars, spec, k), want)
    assert "non-finite input past the leading NaNs" in caplog.text


def test_spread_needs_the_spread_as_the_batch_does() -> None:
    spec = spec_of({"name": "sp", "fn": "spread"})
    bars = walk(30)
    with pytest.raises(ValueError, match="needs the spread argument"):
        IncrementalFeatures(spec, bars)
    eng = IncrementalFeatures(spec, bars.take(np.arange(0)), spread=np.empty(0))
    with pytest.raises(ValueError, match="needs the spread argument"):
        eng.update(int(bars.ts[0]), 1.0, 1.0, 1.0, 1.0, 1.0)


def test_rows_last_row_and_an_empty_start() -> None:
    spec = load_config(DEFAULT, FeatureSpec)
    eng = IncrementalFeatures(spec)
    assert len(eng) == 0
    assert eng.last_row() is None
    assert eng.last_ts is None
    assert eng.frame().values.shape == (0, len(spec.columns))
    assert eng.warmup == 0
    bars = walk(50)
    for i in range(50):
        eng.update(int(bars.ts[i]), *(float(getattr(bars, f)[i]) for f in FIELDS))
    want = build_features(bars, spec).values
    assert eng.last_ts == int(bars.ts[-1])
    assert_exact(eng.last_row(), want[-1])  # type: ignore[arg-type]
    assert_exact(eng.rows(30, [0, 2]), want[-30:, [0, 2]])
    assert_exact(eng.rows(80, [1]), want[:, [1]])  # fewer rows than asked: all of them
