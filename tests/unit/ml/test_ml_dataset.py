"""The supervised dataset: rows, labels and observations per split, and no peeking forward
(bars after a split's end change nothing in it)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from tradewind.config.models import ModelConfig, RLAlgo, RLLearner
from tradewind.domain.series import BarSeries
from tradewind.ml import build_dataset, make_labels
from tradewind.ml.dataset import rolling_vol, window_complete
from tradewind.policy import FeatureScaler, ModelData, ObservationBuilder

MakeConfig = Callable[..., ModelConfig]
MakeData = Callable[[BarSeries, ModelConfig], ModelData]

LABELS = [
    {"kind": "forward_return_sign", "horizon": 4},
    {"kind": "triple_barrier", "horizon": 6, "up_mult": 1.5, "down_mult": 1.0, "vol_window": 10},
]


def _perturb_from(bars: BarSeries, start: int, level: float) -> BarSeries:
    """``bars`` with every price from row ``start`` on moved to ``level`` times itself, with
    1 % noise: labels reaching past ``start`` would read it."""
    rng = np.random.default_rng(1)
    f = np.ones(len(bars))
    f[start:] = level * np.exp(rng.normal(0, 0.01, len(bars) - start))
    o, h, lo, c = (bars.open * f, bars.high * f, bars.low * f, bars.close * f)
    return BarSeries(bars.ts, o, h, lo, c, bars.volume)


@pytest.mark.parametrize("label", LABELS, ids=["fwd", "triple"])
@pytest.mark.parametrize("split", ["train", "validation"])
def test_bars_after_a_split_do_not_change_it(
    bars: BarSeries, make_config: MakeConfig, make_data: MakeData, label: dict, split: str
) -> None:
    cfg = make_config(learner={"label": label})
    data = make_data(bars, cfg)
    end = data.rows[split].stop
    a = build_dataset(cfg, data)
    for level in (0.8, 1.25):  # a crash and a rally right after the split: labels would flip
        b = build_dataset(cfg, make_data(_perturb_from(bars, end, level), cfg))
        assert a.contract.scaler == b.contract.scaler
        for name in ("train", split):
            np.testing.assert_array_equal(a.splits[name].rows, b.splits[name].rows)
            np.testing.assert_array_equal(a.splits[name].X, b.splits[name].X)
            np.testing.assert_array_equal(a.splits[name].y, b.splits[name].y)


@pytest.mark.parametrize("label", LABELS, ids=["fwd", "triple"])
def test_rows_labels_and_observations(
    bars: BarSeries, make_config: MakeConfig, make_data: MakeData, label: dict
) -> None:
    cfg = make_config(learner={"label": label})
    data = make_data(bars, cfg)
    ds = build_dataset(cfg, data)
    h = label["horizon"]
    labels = make_labels(cfg.learner.label, data.bars)  # type: ignore[union-attr]
    complete = window_complete(data.values, cfg.window)
    builder = ObservationBuilder(ds.contract)
    scaled = builder.scale(data.values)
    for name, part in ds.splits.items():
        sl = data.rows[name]
        rows = part.rows
        assert len(rows) > 0
        assert rows.min() >= sl.start
        assert rows.max() + h <= sl.stop - 1  # the label horizon ends inside the split
        # every usable bar is kept, nothing else
        cand = np.arange(sl.start, sl.stop - h)
        want = cand[complete[cand] & labels.valid[cand]]
        np.testing.assert_array_equal(rows, want)
        np.testing.assert_array_equal(part.y, labels.label[rows])
        assert part.X.dtype == np.float64
        assert part.X.shape == (len(rows), ds.contract.obs_dim)
        for i in (0, len(rows) // 2, len(rows) - 1):  # the builder's observation, bit for bit
            obs = builder.observe(scaled, int(rows[i]))
            np.testing.assert_array_equal(part.X[i], obs.astype(np.float64))
        np.testing.assert_array_equal(ds.observations(rows[:5]), part.X[:5])
    assert ds.contract.scaler == FeatureScaler.fit(data.split_values("train"))
    assert ds.contract.actions.classes == tuple(np.unique(ds.train.y).tolist())


def test_tradable_rows_cover_the_split_after_warm_up(config: ModelConfig, data: ModelData) -> None:
    ds = build_dataset(config, data)
    for name, sl in data.rows.items():
        rows = ds.tradable_rows(name)
        assert rows[-1] == sl.stop - 1  # unlabelled bars at the end still trade
        assert np.all(window_complete(data.values, config.window)[rows])
    assert ds.tradable_rows("validation").tolist() == list(
        range(*data.rows["validation"].indices(len(data.bars)))
    )


def test_window_complete_and_rolling_vol() -> None:
    v = np.array([[np.nan], [1.0], [2.0], [np.nan], [3.0], [4.0], [5.0]])
    assert window_complete(v, 2).tolist() == [False, False, True, False, False, True, True]
    assert window_complete(v, 1).tolist() == (~np.isnan(v[:, 0])).tolist()
    close = np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, 50))) + 1.0
    vol = rolling_vol(close, 5)
    want = pd.Series(np.log(close)).diff().rolling(5).std().to_numpy()
    np.testing.assert_allclose(vol, want, equal_nan=True)
    assert np.isnan(vol[:5]).all()
    assert not np.isnan(vol[5:]).any()
    later = close.copy()
    later[30:] *= 1.1
    np.testing.assert_array_equal(rolling_vol(later, 5)[:30], vol[:30])  # known at t


def test_errors(bars: BarSeries, make_config: MakeConfig, make_data: MakeData) -> None:
    cfg = make_config(learner={"label": {"kind": "forward_return_sign", "horizon": 400}})
    with pytest.raises(ValueError, match="split validation has no usable rows"):
        build_dataset(cfg, make_data(bars, cfg))
    rl = make_config().model_copy(update={"learner": RLLearner(algo=RLAlgo.PPO)})
    with pytest.raises(TypeError, match=r"learner\.type supervised"):
        build_dataset(rl, make_data(bars, rl))
    big = make_config(
        learner={"label": {"kind": "forward_return_sign", "horizon": 4, "threshold": 0.5}}
    )
    with pytest.raises(ValueError, match="at least two classes"):
        build_dataset(big, make_data(bars, big))
