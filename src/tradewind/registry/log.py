"""One MLflow run per training: params, metrics over time, tags, artifacts, the registered model.

``training_run`` opens the run before training starts (so ``mlflow_sink`` can log metrics
live) and ends it FINISHED, or FAILED when anything raises. ``log_trained`` then logs what the
learner handed back and registers the model under the config's ``name``: every training adds
a new version.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from tradewind.config.features import FeatureSpec
from tradewind.config.models import ModelConfig, RLLearner
from tradewind.policy import TrainedModel
from tradewind.registry.pyfunc import (
    CONTRACT_FILE,
    MODEL_DIR,
    TradewindModel,
    input_example,
    model_metadata,
    pip_requirements,
    signature,
    write_contract,
)
from tradewind.registry.tracking import Tracking, configure, ensure_experiment
from tradewind.storage.runs import code_version

TAG = "tradewind."
_MAX_PARAM = 6000  # MLflow's limit on a param value
_BATCH = 100  # params / metrics per log_batch call


@dataclass(frozen=True)
class RegisteredVersion:
    """A model version made by one training run."""

    name: str
    version: str
    mlflow_run_id: str
    model_uri: str  # models:/NAME/VERSION

    def to_json(self) -> dict[str, str]:
        return {
            "model_name": self.name,
            "model_version": self.version,
            "mlflow_run_id": self.mlflow_run_id,
            "model_uri": self.model_uri,
        }


@dataclass
class TrainingRun:
    """The open MLflow run of one training, and the metrics logged to it so far."""

    tracking: Tracking
    run_id: str
    experiment_id: str
    our_run_id: str
    logged: set[tuple[str, int]]

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        from mlflow.entities import Metric
        from mlflow.utils.time import get_current_time_millis

        now = get_current_time_millis()
        batch = []
        for name, value in metrics.items():
            v = _metric_value(value)
            if v is None:
                continue
            batch.append(Metric(_key(name), v, now, int(step)))
            self.logged.add((_key(name), int(step)))
        for i in range(0, len(batch), _BATCH):
            self.client.log_batch(self.run_id, metrics=batch[i : i + _BATCH])

    @cached_property
    def client(self) -> Any:  # mlflow.MlflowClient
        return self.tracking.client()


def mlflow_sink(run: TrainingRun):  # -> tradewind.policy.MetricSink
    """A ``MetricSink`` that logs each report of the learner to ``run`` as it comes."""

    def sink(metrics: Mapping[str, float], step: int) -> None:
        run.log_metrics(metrics, step)

    return sink


def run_tags(cfg: ModelConfig, run_id: str, feature_spec: FeatureSpec | None) -> dict[str, str]:
    learner = cfg.learner
    algo = learner.algo.value if isinstance(learner, RLLearner) else learner.estimator.value
    tags = {
        f"{TAG}run_id": run_id,
        f"{TAG}model": cfg.name,
        f"{TAG}config_fingerprint": cfg.fingerprint,
        f"{TAG}code_version": code_version(),
        f"{TAG}learner": learner.type,
        f"{TAG}algo": algo,
        f"{TAG}instrument": cfg.instrument,
        f"{TAG}timeframe": str(cfg.timeframe),
    }
    if feature_spec is not None:
        tags[f"{TAG}feature_spec_fingerprint"] = feature_spec.fingerprint
    return tags


@contextmanager
def training_run(
    tracking: Tracking,
    cfg: ModelConfig,
    run_id: str,
    feature_spec: FeatureSpec | None = None,
) -> Iterator[TrainingRun]:
    """An MLflow run for one training of ``cfg`` (our run ``run_id``), the process's active
    run while open: FINISHED when the block completes, FAILED when it raises."""
    import mlflow

    configure(tracking)  # the fluent API (start_run, log_model) follows the process-wide URIs
    experiment_id = ensure_experiment(tracking)
    active = mlflow.start_run(
        experiment_id=experiment_id,
        run_name=f"{cfg.name}-{run_id[:8]}",
        tags=run_tags(cfg, run_id, feature_spec),
    )
    run = TrainingRun(tracking, active.info.run_id, experiment_id, run_id, set())
    try:
        yield run
    except BaseException:
        mlflow.end_run("FAILED")
        raise
    mlflow.end_run("FINISHED")


def log_trained(
    trained: TrainedModel,
    cfg: ModelConfig,
    feature_spec: FeatureSpec,
    data_range: tuple[datetime, datetime] | Mapping[str, Any],
    *,
    run: TrainingRun,
    example_obs: np.ndarray | None = None,
) -> RegisteredVersion:
    """Log ``trained`` to ``run`` and register it as a new version of ``cfg.name``.

    Params: the config flattened (``learner.estimator``, ``splits.train.start``, ...) and the
    learner's ``params``. Metrics: ``history`` (steps the sink already logged are skipped),
    then the final ``metrics``. Artifacts: ``config/model.yaml`` (the resolved config),
    ``config/features.yaml``, ``contract.json``, ``data_range.json`` and the pyfunc model
    ``model/`` (the flavor's files and the contract)."""
    import mlflow

    client = run.client
    rid = run.run_id
    active = mlflow.active_run()
    if active is None or active.info.run_id != rid:
        raise RuntimeError("log_trained runs inside its training_run block (the active run)")
    contract = trained.contract

    params = {**flatten(cfg.model_dump(mode="json")), **dict(trained.params)}
    _log_params(client, rid, params)
    last_step = 0
    for step, metrics in trained.history:
        fresh = {k: v for k, v in metrics.items() if (_key(k), int(step)) not in run.logged}
        if fresh:
            run.log_metrics(fresh, step)
        last_step = max(last_step, int(step))
    run.log_metrics(trained.metrics, last_step)
    client.set_tag(rid, f"{TAG}feature_spec_fingerprint", feature_spec.fingerprint)
    client.set_tag(rid, f"{TAG}flavor", trained.flavor)

    with tempfile.TemporaryDirectory(prefix="tradewind-model-") as tmp:
        root = Path(tmp)
        cfg_dir = root / "config"
        cfg_dir.mkdir()
        (cfg_dir / "model.yaml").write_text(_yaml(cfg.model_dump(mode="json")), encoding="utf-8")
        (cfg_dir / "features.yaml").write_text(
            _yaml(feature_spec.model_dump(mode="json")), encoding="utf-8"
        )
        contract_path = write_contract(contract, root / CONTRACT_FILE)
        (root / "data_range.json").write_text(
            json.dumps(_data_range(data_range), indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        client.log_artifacts(rid, str(cfg_dir), "config")
        client.log_artifact(rid, str(contract_path))
        client.log_artifact(rid, str(root / "data_range.json"))

        model_dir = root / MODEL_DIR
        model_dir.mkdir()
        trained.policy.save(model_dir)
        # MLflow prints "Successfully registered model ..." and "Created version ..." to stderr
        with contextlib.redirect_stderr(io.StringIO()):
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=TradewindModel(),
                artifacts={"model": str(model_dir), "contract": str(contract_path)},
                model_config={"flavor": trained.flavor},
                metadata=model_metadata(contract, trained.flavor),
                signature=signature(contract.obs_dim),
                input_example=input_example(example_obs, contract.obs_dim),
                pip_requirements=pip_requirements(trained.flavor),
                registered_model_name=cfg.name,
            )
    mv = info.registered_model_version
    if mv is None:  # pragma: no cover - registration is requested above
        raise RuntimeError(f"model {cfg.name} was logged but not registered")
    version = str(mv if isinstance(mv, int | str) else mv.version)
    for key, value in {
        f"{TAG}run_id": run.our_run_id,
        f"{TAG}config_fingerprint": cfg.fingerprint,
        f"{TAG}feature_spec_fingerprint": feature_spec.fingerprint,
        f"{TAG}flavor": trained.flavor,
    }.items():
        client.set_model_version_tag(cfg.name, version, key, value)
    return RegisteredVersion(cfg.name, version, rid, f"models:/{cfg.name}/{version}")


def flatten(data: Any, prefix: str = "") -> dict[str, str | int | float | bool]:
    """Nested dicts to dotted keys; lists and None as JSON text (MLflow params are flat)."""
    out: dict[str, str | int | float | bool] = {}
    if isinstance(data, Mapping):
        if not data and prefix:
            out[prefix] = "{}"
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(data, bool | int | float | str):
        out[prefix] = data
    else:
        out[prefix] = json.dumps(data, sort_keys=True, default=str)
    return out


def _log_params(client: Any, run_id: str, params: Mapping[str, Any]) -> None:
    from mlflow.entities import Param

    items = [Param(_key(k), _param_value(v)) for k, v in params.items()]
    for i in range(0, len(items), _BATCH):
        client.log_batch(run_id, params=items[i : i + _BATCH])


def _param_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= _MAX_PARAM else text[: _MAX_PARAM - 3] + "..."


def _key(name: str) -> str:
    """MLflow keys allow alphanumerics, ``_ - . space : /``; anything else becomes ``_``."""
    return "".join(c if c.isalnum() or c in "_-. :/" else "_" for c in str(name))


def _metric_value(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if not math.isnan(v) else None


def _data_range(data_range: tuple[datetime, datetime] | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(data_range, Mapping):
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in data_range.items()}
    start, end = data_range
    return {"start": start.isoformat(), "end": end.isoformat()}


def _yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
