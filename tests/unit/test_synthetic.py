"""Unit tests of the seeded synthetic FX bar generator."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tradewind.config import SyntheticConfig
from tradewind.domain import Timeframe
from tradewind.marketdata.synthetic import COLUMNS, _ar1, generate_bars

FRI_21 = 4 * 86_400 + 21 * 3600  # seconds from Monday 00:00
SUN_21 = 6 * 86_400 + 21 * 3600
WEEK = 7 * 86_400


def _cfg(**kw: Any) -> SyntheticConfig:
    return SyntheticConfig(**kw)


def _epoch(df: pd.DataFrame) -> np.ndarray:
    naive = df["ts"].dt.tz_localize(None).to_numpy()
    return naive.astype("datetime64[s]").astype(np.int64)


def _from_monday(secs: np.ndarray) -> np.ndarray:
    return (secs + 3 * 86_400) % WEEK  # 1970-01-01 was a Thursday


def _assert_valid(df: pd.DataFrame) -> None:
    o, h, lo, c, v, s = (df[col].to_numpy() for col in COLUMNS[1:])
    assert all(np.isfinite(x).all() for x in (o, h, lo, c, v, s))
    assert (np.stack([o, h, lo, c]) > 0).all()
    assert (h >= np.maximum(o, c)).all()
    assert (lo <= np.minimum(o, c)).all()
    assert (v >= 0).all()
    assert (s >= 0).all()


def _log_returns(df: pd.DataFrame) -> np.ndarray:
    return np.diff(np.log(df["close"].to_numpy()))


def test_deterministic_for_seed() -> None:
    cfg = _cfg(timeframe=Timeframe.M5, bars=3000)
    pd.testing.assert_frame_equal(generate_bars(cfg), generate_bars(cfg))
    other = generate_bars(_cfg(timeframe=Timeframe.M5, bars=3000, seed=8))
    assert not np.array_equal(other["close"], generate_bars(cfg)["close"])


def test_rows_columns_and_dtypes() -> None:
    df = generate_bars(_cfg(bars=1234))
    assert len(df) == 1234
    assert tuple(df.columns) == COLUMNS
    assert str(df["ts"].dtype) == "datetime64[us, UTC]"
    for col in COLUMNS[1:]:
        assert df[col].dtype == np.float64
    assert (df["volume"] == np.rint(df["volume"])).all()
    assert df["open"].iloc[0] == pytest.approx(1.10)


@pytest.mark.parametrize("tf", list(Timeframe))
@pytest.mark.parametrize("weekends", [True, False])
def test_every_timeframe_valid_and_on_grid(tf: Timeframe, weekends: bool) -> None:
    df = generate_bars(_cfg(timeframe=tf, bars=2000, weekends=weekends, seed=3))
    assert len(df) == 2000
    _assert_valid(df)
    secs = _epoch(df)
    assert (secs % tf.seconds == 0).all()
    assert (np.diff(secs) > 0).all()
    if not weekends:
        assert (np.diff(secs) == tf.seconds).all()


@pytest.mark.parametrize("tf", [Timeframe.M1, Timeframe.H1, Timeframe.H4])
def test_no_intraday_bars_in_weekend_and_none_missing(tf: Timeframe) -> None:
    df = generate_bars(_cfg(timeframe=tf, bars=30_000 if tf == Timeframe.M1 else 3000))
    secs = _epoch(df)
    wk = _from_monday(secs)
    assert not ((wk >= FRI_21) & (wk < SUN_21)).any()
    gaps = np.flatnonzero(np.diff(secs) != tf.seconds)
    assert len(gaps) >= 2
    # Every gap is exactly one weekend: last bar before Fri 21:00, first at/after Sun 21:00.
    assert (np.diff(secs)[gaps] < 3 * 86_400).all()
    last, first = _from_monday(secs[gaps]), _from_monday(secs[gaps + 1])
    assert (((FRI_21 - last) % WEEK > 0) & ((FRI_21 - last) % WEEK <= tf.seconds)).all()
    assert ((first - SUN_21) % WEEK < tf.seconds).all()


def test_daily_bars_skip_saturday_and_sunday() -> None:
    df = generate_bars(_cfg(timeframe=Timeframe.D, bars=500))
    assert (df["ts"].dt.day_of_week < 5).all()
    assert (df["ts"].dt.hour == 0).all()
    assert set(np.diff(_epoch(df)) // 86_400) == {1, 3}


def test_start_snapped_up_to_grid_and_past_weekend() -> None:
    df = generate_bars(_cfg(timeframe=Timeframe.M1, bars=5, start=datetime(2024, 1, 2, 9, 0, 30)))
    assert df["ts"].iloc[0] == pd.Timestamp("2024-01-02 09:01", tz="UTC")
    df = generate_bars(_cfg(timeframe=Timeframe.H1, bars=5, start=datetime(2024, 1, 6, 12)))
    assert df["ts"].iloc[0] == pd.Timestamp("2024-01-07 21:00", tz="UTC")  # Sunday open
    df = generate_bars(_cfg(timeframe=Timeframe.H2, bars=5, start=datetime(2024, 1, 6, 12)))
    assert df["ts"].iloc[0] == pd.Timestamp("2024-01-07 22:00", tz="UTC")


def test_weekend_gap_moves_the_open() -> None:
    df = generate_bars(_cfg(timeframe=Timeframe.H1, bars=20_000, weekend_gap_vol_hours=24.0))
    secs = _epoch(df)
    after = np.flatnonzero(np.diff(secs) > 3600) + 1
    jumps = df["open"].to_numpy()[after] - df["close"].to_numpy()[after - 1]
    inside = np.setdiff1d(np.arange(1, len(df)), after)
    assert (df["open"].to_numpy()[inside] == df["close"].to_numpy()[inside - 1]).all()
    assert np.mean(jumps != 0) > 0.9


def test_predictable_component_present_and_absent() -> None:
    def lagged_corr(share: float) -> float:
        cfg = _cfg(timeframe=Timeframe.M5, bars=200_000, signal_share=share, signal_persistence=0.9)
        r = _log_returns(generate_bars(cfg))
        past = pd.Series(r).rolling(5).sum().shift(1).to_numpy()
        ok = ~np.isnan(past)
        return float(np.corrcoef(past[ok], r[ok])[0, 1])

    assert lagged_corr(0.2) > 0.1
    assert abs(lagged_corr(0.0)) < 0.01


def test_volatility_regimes_visible() -> None:
    def vol_range(mult: float) -> float:
        cfg = _cfg(
            bars=50_000, high_vol_multiplier=mult, seasonality=False, weekend_gap_vol_hours=0.0
        )
        vol = pd.Series(_log_returns(generate_bars(cfg))).rolling(240).std().dropna()
        return float(vol.quantile(0.95) / vol.quantile(0.05))

    flat, regimes = vol_range(1.0), vol_range(3.0)
    assert flat < 1.5
    assert regimes > 2.0


def test_spread_wider_in_quiet_hours() -> None:
    df = generate_bars(_cfg(timeframe=Timeframe.M15, bars=20_000, high_vol_multiplier=1.0))
    hour = df["ts"].dt.hour
    quiet = df.loc[hour.between(21, 23), "spread"].mean()
    busy = df.loc[hour.between(12, 15), "spread"].mean()
    assert quiet > 1.5 * busy
    assert df["spread"].mean() == pytest.approx(0.8e-4, rel=0.5)
    flat = generate_bars(_cfg(timeframe=Timeframe.M15, bars=20_000, spread_pips=0.0))
    assert (flat["spread"] == 0).all()


def test_seasonality_shapes_volatility() -> None:
    df = generate_bars(_cfg(timeframe=Timeframe.M5, bars=50_000, high_vol_multiplier=1.0))
    r = pd.Series(np.abs(_log_returns(df)), index=df["ts"].dt.hour.to_numpy()[1:])
    by_hour = r.groupby(level=0).mean()
    assert by_hour[13] > 2 * by_hour[22]


def test_extreme_config_stays_valid() -> None:
    cfg = _cfg(timeframe=Timeframe.D, bars=20_000, annual_vol=2.0, price_decimals=0)
    _assert_valid(generate_bars(cfg))


@pytest.mark.parametrize("phi", [0.0, 1e-6, 0.5, 0.9, 0.9999])
def test_ar1_matches_recursion(phi: float) -> None:
    e = np.random.default_rng(0).standard_normal(5000)
    expected = np.empty_like(e)
    prev = 0.0
    for i, v in enumerate(e):
        prev = phi * prev + v
        expected[i] = prev
    np.testing.assert_allclose(_ar1(e, phi), expected, rtol=0, atol=1e-9)


def test_one_million_m1_bars() -> None:
    df = generate_bars(_cfg(timeframe=Timeframe.M1, bars=1_000_000))
    assert len(df) == 1_000_000
    _assert_valid(df)
    assert (_epoch(df) % 60 == 0).all()
