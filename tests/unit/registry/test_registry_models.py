"""The registry: ls / show / promote, loading by alias with the contract checked, and the
pyfunc giving the same targets as the policy loaded directly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from registry_support import Trained, local_tracking, observations

from tradewind.policy import ContractMismatch
from tradewind.registry import (
    ModelNotFound,
    Tracking,
    list_models,
    load_policy,
    load_pyfunc,
    log_trained,
    parse_ref,
    promote,
    show_model,
    training_run,
)
from tradewind.registry.models import ModelRef


@pytest.fixture(scope="module")
def registry(trained: Trained, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tracking]:
    """Two versions of the test model in a fresh local store."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.delenv("MLFLOW_REGISTRY_URI", raising=False)
        tracking = local_tracking(tmp_path_factory.mktemp("registry") / "home")
        for i in (1, 2):
            with training_run(tracking, trained.cfg, f"our-{i}", trained.spec) as run:
                log_trained(trained.model, trained.cfg, trained.spec, {}, run=run)
        yield tracking


def load(trained: Trained, tracking: Tracking, uri: str, **over: object):
    kwargs: dict[str, object] = {
        "feature_columns": trained.cfg.columns,
        "feature_spec_fingerprint": trained.spec.fingerprint,
        "timeframe": "H1",
        "tracking": tracking,
        **over,
    }
    return load_policy(uri, **kwargs)  # type: ignore[arg-type]


def test_promote_ls_show(trained: Trained, registry: Tracking) -> None:
    name = trained.cfg.name
    shown = promote(registry, name, "1", "champion")
    assert (shown.version, shown.aliases) == ("1", ["champion"])
    promote(registry, name, 2, "challenger")

    (m,) = list_models(registry)
    assert (m.name, m.versions, m.latest_version) == (name, 2, "2")
    assert m.aliases == {"champion": "1", "challenger": "2"}
    assert set(m.alias_metrics) == {"champion", "challenger"}
    assert any(k.startswith("val_") for k in m.alias_metrics["champion"])
    assert m.to_json()["aliases"]["champion"] == "1"

    d = show_model(registry, f"{name}@champion")
    assert (d.name, d.version, d.aliases) == (name, "1", ["champion"])
    c = d.contract
    assert (c["algo"], c["instrument"], c["timeframe"], c["window"]) == (
        "logistic_regression",
        "EUR_USD",
        "H1",
        5,
    )
    assert c["columns"] == list(trained.cfg.columns)
    assert d.metrics
    assert d.mlflow_run_id
    assert d.tags["tradewind.run_id"] == "our-1"
    assert show_model(registry, f"models:/{name}/2").aliases == ["challenger"]
    assert show_model(registry, name).version == "2"  # bare name: latest

    # moving an alias
    promote(registry, name, "2", "champion")
    assert show_model(registry, f"{name}@champion").version == "2"
    promote(registry, name, "1", "champion")


def test_unknown_names_versions_and_aliases_are_clear_errors(
    trained: Trained, registry: Tracking
) -> None:
    name = trained.cfg.name
    with pytest.raises(ModelNotFound, match=r"no registered model 'nope' \(registered: logreg"):
        promote(registry, "nope", "1", "champion")
    with pytest.raises(ModelNotFound, match=r"has no version 9 \(versions: 1, 2\)"):
        promote(registry, name, "9", "champion")
    with pytest.raises(ModelNotFound, match="has no alias 'gold'"):
        show_model(registry, f"{name}@gold")
    with pytest.raises(ModelNotFound, match="has no alias 'gold'"):
        load(trained, registry, f"models:/{name}@gold")
    with pytest.raises(ValueError, match="bad version"):
        promote(registry, name, "one", "champion")
    with pytest.raises(ValueError, match="bad alias"):
        promote(registry, name, "1", "latest")
    with pytest.raises(ValueError, match="bad model reference"):
        parse_ref("models:/a b")


def test_load_by_alias_gives_the_trained_policys_targets_and_pyfunc_agrees(
    trained: Trained, registry: Tracking
) -> None:
    promote(registry, trained.cfg.name, "1", "champion")
    uri = f"models:/{trained.cfg.name}@champion"
    policy = load(trained, registry, uri)
    assert policy.contract == trained.model.contract
    obs = observations(trained)
    want = trained.model.policy.targets(obs)
    got = policy.targets(obs)
    np.testing.assert_array_equal(got, want)
    assert got.dtype == np.float64
    assert np.all(np.abs(got) <= 1)
    assert len(np.unique(got)) > 1  # not a constant: the comparison means something

    pyfunc = load_pyfunc(uri, tracking=registry)
    np.testing.assert_array_equal(pyfunc.predict(obs), want)
    np.testing.assert_array_equal(
        load(trained, registry, f"models:/{trained.cfg.name}/2").targets(obs), want
    )


def test_contract_mismatch_is_refused_naming_the_difference_and_the_model(
    trained: Trained, registry: Tracking
) -> None:
    promote(registry, trained.cfg.name, "1", "champion")
    uri = f"models:/{trained.cfg.name}@champion"
    cols = list(trained.cfg.columns)
    with pytest.raises(ContractMismatch) as exc:
        load(trained, registry, uri, feature_columns=[c for c in cols if c != "zscore_20"])
    msg = str(exc.value)
    assert uri in msg
    assert "missing zscore_20" in msg
    with pytest.raises(ContractMismatch, match="feature spec"):
        load(trained, registry, uri, feature_spec_fingerprint="0" * 64)
    with pytest.raises(ContractMismatch, match="trained on H1 bars; the caller has M5"):
        load(trained, registry, uri, timeframe="M5")
    # more columns than the model reads, in another order, are fine: observations pick the
    # model's columns by name, in the model's order
    wider = ["sma_fast", *reversed(cols)]
    assert load(trained, registry, uri, feature_columns=wider).contract.feature_columns == tuple(
        cols
    )


def test_refs_parse() -> None:
    assert parse_ref("models:/m-1@champion") == ModelRef("m-1", None, "champion")
    assert parse_ref("m.1/3") == ModelRef("m.1", "3", None)
    assert parse_ref("m").uri == "models:/m"
    assert ModelRef("m", "3").uri == "models:/m/3"


def test_empty_registry_lists_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert list_models(local_tracking(tmp_path)) == []
