"""One MLflow run per training: params, metrics over time, tags, artifacts, a new version."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from registry_support import Trained, model_config, observations

from tradewind.registry import Tracking, log_trained, mlflow_sink, training_run
from tradewind.registry.log import flatten
from tradewind.registry.tracking import first_line, mask_uri, resolve_tracking
from tradewind.storage.runs import code_version


def log(t: Trained, tracking: Tracking, our_run_id: str = "run-0000-test"):
    with training_run(tracking, t.cfg, our_run_id, t.spec) as run:
        sink = mlflow_sink(run)
        sink({"live_metric": 1.5}, 0)
        sink({"live_metric": 2.5}, 1)
        version = log_trained(
            t.model,
            t.cfg,
            t.spec,
            {"first_bar": "2024-01-01T00:00:00+00:00", "last_bar": "2024-03-29T23:00:00+00:00"},
            run=run,
            example_obs=observations(t, 2),
        )
    return version


def test_each_training_is_one_run_and_a_new_version(trained: Trained, tracking: Tracking) -> None:
    v1 = log(trained, tracking, "our-run-1")
    v2 = log(trained, tracking, "our-run-2")
    assert (v1.name, v1.version, v2.version) == (trained.cfg.name, "1", "2")
    assert v1.model_uri == f"models:/{trained.cfg.name}/1"
    assert v1.mlflow_run_id != v2.mlflow_run_id

    client = tracking.client()
    run = client.get_run(v1.mlflow_run_id)
    assert run.info.status == "FINISHED"
    tags = run.data.tags
    assert tags["tradewind.run_id"] == "our-run-1"
    assert tags["tradewind.config_fingerprint"] == trained.cfg.fingerprint
    assert tags["tradewind.feature_spec_fingerprint"] == trained.spec.fingerprint
    assert tags["tradewind.code_version"] == code_version()
    assert tags["tradewind.flavor"] == "sklearn"

    params = run.data.params
    assert params["learner.estimator"] == "logistic_regression"
    assert params["splits.train.start"].startswith("2024-01-01")
    assert params["window"] == "5"
    for key in trained.model.params:
        assert key in params

    metrics = run.data.metrics
    for key, value in trained.model.metrics.items():
        if np.isfinite(value):
            assert metrics[key] == pytest.approx(value)
    assert any(k.startswith("val_") for k in metrics)
    # metrics over time: the live sink's, and the learner's history (fold_* per CV fold)
    assert [m.value for m in client.get_metric_history(v1.mlflow_run_id, "live_metric")] == [
        1.5,
        2.5,
    ]
    fold_steps = {step for step, m in trained.model.history if "fold_accuracy" in m}
    history = client.get_metric_history(v1.mlflow_run_id, "fold_accuracy")
    assert sorted(m.step for m in history) == sorted(fold_steps)
    assert len(fold_steps) == 3

    # artifacts: config, feature spec, contract, data range
    paths = {a.path for a in client.list_artifacts(v1.mlflow_run_id)}
    assert {"config", "contract.json", "data_range.json"} <= paths
    assert {a.path for a in client.list_artifacts(v1.mlflow_run_id, "config")} == {
        "config/model.yaml",
        "config/features.yaml",
    }
    local = Path(client.download_artifacts(v1.mlflow_run_id, "config/model.yaml"))
    assert yaml.safe_load(local.read_text())["name"] == trained.cfg.name
    contract = json.loads(
        Path(client.download_artifacts(v1.mlflow_run_id, "contract.json")).read_text()
    )
    assert contract["feature_columns"] == list(trained.cfg.columns)

    mv = client.get_model_version(trained.cfg.name, "2")
    assert mv.run_id == v2.mlflow_run_id
    assert mv.tags["tradewind.run_id"] == "our-run-2"


def test_model_is_logged_with_signature_example_and_explicit_requirements(
    trained: Trained, tracking: Tracking, tmp_path: Path
) -> None:
    from mlflow.artifacts import download_artifacts
    from mlflow.models import Model

    v = log(trained, tracking)
    uri = tracking.client().get_model_version_download_uri(v.name, v.version)
    local = Path(download_artifacts(artifact_uri=uri, dst_path=str(tmp_path)))
    mlmodel = Model.load(str(local))
    sig = mlmodel.signature
    obs_dim = trained.model.contract.obs_dim
    (inp,) = sig.inputs.inputs
    (outp,) = sig.outputs.inputs
    assert (inp.type, inp.shape) == (np.dtype("float32"), (-1, obs_dim))
    assert (outp.type, outp.shape) == (np.dtype("float64"), (-1,))
    assert mlmodel.saved_input_example_info is not None
    assert mlmodel.flavors["python_function"]["config"]["flavor"] == "sklearn"
    reqs = (local / "requirements.txt").read_text().split()
    names = {r.split("==")[0] for r in reqs}
    assert {"mlflow", "numpy", "scikit-learn"} <= names
    assert "torch" not in names
    assert all("==" in r for r in reqs)
    assert (local / "artifacts" / "contract.json").is_file()
    assert (local / "artifacts" / "model").is_dir()


def test_a_failure_inside_the_run_marks_it_failed(trained: Trained, tracking: Tracking) -> None:
    runs: list[str] = []

    def fail() -> None:
        with training_run(tracking, trained.cfg, "our-run-f", trained.spec) as run:
            runs.append(run.run_id)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail()
    assert tracking.client().get_run(runs[0]).info.status == "FAILED"


def test_embedded_store_lives_under_home(tmp_path: Path) -> None:
    t = resolve_tracking(tmp_path, environ={})
    assert t.tracking_uri == f"sqlite:///{tmp_path.resolve()}/mlflow/mlflow.db"
    assert t.artifact_location == (tmp_path.resolve() / "mlflow" / "artifacts").as_uri()
    server = resolve_tracking(tmp_path, environ={"MLFLOW_TRACKING_URI": "http://h:5000"})
    assert (server.tracking_uri, server.registry_uri, server.embedded) == (
        "http://h:5000",
        "http://h:5000",
        False,
    )
    both = resolve_tracking(
        tmp_path,
        environ={"MLFLOW_TRACKING_URI": "http://h:5000", "MLFLOW_REGISTRY_URI": "sqlite:///r.db"},
    )
    assert both.registry_uri == "sqlite:///r.db"


def test_passwords_are_masked() -> None:
    assert mask_uri("http://bob:s3cret@host:5000/x") == "http://bob:***@host:5000/x"
    assert (
        mask_uri("postgresql+psycopg://u:p%40ss@db/mlflow")
        == "postgresql+psycopg://u:***@db/mlflow"
    )
    assert mask_uri("http://host:5000") == "http://host:5000"
    t = resolve_tracking(Path("."), environ={"MLFLOW_TRACKING_URI": "http://bob:s3cret@h:1"})
    assert "s3cret" not in t.display


def test_error_messages_never_show_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "tok-123456")
    line = first_line(
        "API request to http://bob:s3cret@h:5000/api failed (token tok-123456)\nsecond line"
    )
    assert line == "API request to http://bob:***@h:5000/api failed (token ***)"


def test_flatten_makes_flat_params() -> None:
    flat = flatten(model_config().model_dump(mode="json"))
    assert flat["learner.cv.n_splits"] == 3
    assert flat["columns"].startswith('["rsi_14"')
    assert all(isinstance(v, str | int | float | bool) for v in flat.values())


def test_configuring_one_home_does_not_leak_into_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from tradewind.registry import configure

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    configure(resolve_tracking(tmp_path / "a"))
    assert "MLFLOW_TRACKING_URI" not in os.environ
    assert "MLFLOW_REGISTRY_URI" not in os.environ
    assert resolve_tracking(tmp_path / "b").tracking_uri.endswith("/b/mlflow/mlflow.db")
