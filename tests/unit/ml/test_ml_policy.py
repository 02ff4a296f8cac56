"""SklearnPolicy: save/load round trip, version warning, contract checks, input checks."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import sklearn

from tradewind.config.models import ModelConfig
from tradewind.ml import SklearnPolicy, SklearnVersionWarning, build_dataset, load_sklearn_policy
from tradewind.ml.policy import MODEL_FILE, VERSION_FILE
from tradewind.policy import (
    ActionMap,
    ContractMismatch,
    ModelData,
    ObservationBuilder,
    TrainedModel,
)


def test_round_trip_gives_identical_targets(
    trained: TrainedModel, config: ModelConfig, data: ModelData, tmp_path: Path
) -> None:
    trained.policy.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([MODEL_FILE, VERSION_FILE])
    meta = json.loads((tmp_path / VERSION_FILE).read_text())
    assert meta["sklearn"] == sklearn.__version__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load_sklearn_policy(tmp_path, trained.contract)
    X = build_dataset(config, data).test.X
    np.testing.assert_array_equal(loaded.targets(X), trained.policy.targets(X))


def test_float32_observations_from_the_builder(
    trained: TrainedModel, config: ModelConfig, data: ModelData
) -> None:
    ds = build_dataset(config, data)
    builder = ObservationBuilder(trained.contract)
    scaled = builder.scale(data.values)
    t = int(ds.test.rows[7])
    obs = builder.observe(scaled, t)  # float32, one row: the live path
    assert trained.policy.targets(obs)[0] == trained.policy.targets(ds.test.X[7:8])[0]


def test_other_sklearn_version_warns(trained: TrainedModel, tmp_path: Path) -> None:
    trained.policy.save(tmp_path)
    (tmp_path / VERSION_FILE).write_text(json.dumps({"format": 1, "sklearn": "0.24.2"}))
    with pytest.warns(SklearnVersionWarning, match="saved with scikit-learn 0.24.2"):
        load_sklearn_policy(tmp_path, trained.contract)


def test_missing_files(tmp_path: Path, trained: TrainedModel) -> None:
    with pytest.raises(FileNotFoundError, match="not a saved sklearn policy"):
        load_sklearn_policy(tmp_path, trained.contract)


def test_contract_must_fit_the_pipeline(trained: TrainedModel) -> None:
    policy = trained.policy
    assert isinstance(policy, SklearnPolicy)
    wrong = (-1, 1) if trained.contract.actions.classes == (-1, 0, 1) else (-1, 0, 1)
    other = ActionMap(kind="classes", classes=wrong)
    with pytest.raises(ContractMismatch, match="predicts classes"):
        SklearnPolicy(policy.pipeline, trained.contract.model_copy(update={"actions": other}))
    narrow = trained.contract.model_copy(update={"window": trained.contract.window + 1})
    with pytest.raises(ContractMismatch, match="values per observation"):
        SklearnPolicy(policy.pipeline, narrow)
    rl = trained.contract.model_copy(update={"kind": "rl"})
    with pytest.raises(ContractMismatch, match="supervised contract"):
        SklearnPolicy(policy.pipeline, rl)


def test_bad_observations(trained: TrainedModel) -> None:
    dim = trained.contract.obs_dim
    policy = trained.policy
    assert policy.targets(np.empty((0, dim))).shape == (0,)
    with pytest.raises(ValueError, match=f"rows x {dim}"):
        policy.targets(np.zeros((2, dim + 1)))
    bad = np.zeros((3, dim))
    bad[1, 0] = np.nan
    with pytest.raises(ValueError, match="1 observation row"):
        policy.targets(bad)
