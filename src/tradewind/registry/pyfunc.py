"""A trained model as an MLflow pyfunc: the flavor's files and the contract, loaded by the
flavor's own loader.

The pyfunc's artifacts are ``model/`` (what ``policy.save(dir)`` wrote) and ``contract.json``;
the flavor (``sb3`` or ``sklearn``) is in the model's ``model_config`` and metadata.
``predict`` takes observations as ``ObservationBuilder.observe`` makes them (a 2-D float32
array, ``obs_dim`` columns) and returns one target in [-1, 1] per row: the same numbers as the
policy's ``targets``.
"""

import importlib
import json
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
from mlflow.pyfunc import PythonModel

from tradewind.policy import ModelContract, Policy

MODEL_DIR = "model"
CONTRACT_FILE = "contract.json"
FLAVOR_KEY = "tradewind_flavor"

# flavor -> "module:function" of its ``(directory, contract) -> Policy`` loader
LOADERS: dict[str, str] = {
    "sb3": "tradewind.rl.policy:load_sb3_policy",
    "sklearn": "tradewind.ml.policy:load_sklearn_policy",
}

# What a flavor's policy needs at load time, beyond MLflow, numpy and pydantic.
_FLAVOR_PACKAGES: dict[str, tuple[str, ...]] = {
    "sb3": ("stable-baselines3", "sb3-contrib", "torch", "gymnasium"),
    "sklearn": ("scikit-learn", "joblib"),
}
_BASE_PACKAGES = ("mlflow", "numpy", "pandas", "pydantic", "cloudpickle")


def flavor_loader(flavor: str) -> Callable[[Path, ModelContract], Policy]:
    """The loader of ``flavor`` (imported on first use: torch only for sb3 models)."""
    try:
        target = LOADERS[flavor]
    except KeyError:
        raise ValueError(
            f"unknown model flavor {flavor!r}; known: {', '.join(sorted(LOADERS))}"
        ) from None
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def read_contract(path: Path) -> ModelContract:
    return ModelContract.model_validate_json(Path(path).read_text(encoding="utf-8"))


def write_contract(contract: ModelContract, path: Path) -> Path:
    path.write_text(contract.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return path


def load_from_artifacts(model_dir: Path, contract: ModelContract, flavor: str) -> Policy:
    """The flavor's policy from the saved files (``model/``) and its contract."""
    return flavor_loader(flavor)(Path(model_dir), contract)


class TradewindModel(PythonModel):
    """pyfunc face of a trained policy: observations in, targets in [-1, 1] out."""

    def load_context(self, context: Any) -> None:
        contract = read_contract(Path(context.artifacts["contract"]))
        flavor = (context.model_config or {}).get("flavor")
        if not flavor:
            raise ValueError("the model's model_config names no flavor")
        self.contract = contract
        self.policy = load_from_artifacts(Path(context.artifacts["model"]), contract, flavor)

    # MLflow reads these hints when the class is made (this module must not use postponed
    # annotations, or it warns): a numpy array passes through; the logged signature checks it.
    def predict(
        self, context: Any, model_input: np.ndarray, params: dict[str, Any] | None = None
    ) -> np.ndarray:
        obs = _observations(model_input, self.contract.obs_dim)
        return np.asarray(self.policy.targets(obs), dtype=np.float64)


def _observations(model_input: Any, obs_dim: int) -> np.ndarray:
    if isinstance(model_input, dict) and len(model_input) == 1:  # a named tensor
        model_input = next(iter(model_input.values()))
    if hasattr(model_input, "to_numpy"):  # a DataFrame from a scoring server
        model_input = model_input.to_numpy()
    obs = np.asarray(model_input, dtype=np.float32)
    if obs.ndim == 1:
        obs = obs.reshape(1, -1)
    if obs.ndim != 2 or obs.shape[1] != obs_dim:
        raise ValueError(
            f"observations must be rows x {obs_dim} (the model's obs_dim); got shape {obs.shape}"
        )
    return np.ascontiguousarray(obs)


def signature(obs_dim: int):  # -> mlflow.models.ModelSignature
    """float32 tensor (-1, obs_dim) in, float64 (-1,) out."""
    from mlflow.models import ModelSignature
    from mlflow.types import Schema, TensorSpec

    return ModelSignature(
        inputs=Schema([TensorSpec(np.dtype(np.float32), (-1, obs_dim))]),
        outputs=Schema([TensorSpec(np.dtype(np.float64), (-1,))]),
    )


def input_example(obs: np.ndarray | None, obs_dim: int, rows: int = 2) -> np.ndarray:
    """A few real observations when given (finite rows only), else zeros."""
    if obs is not None and len(obs):
        ex = np.asarray(obs, dtype=np.float32)[:rows]
        if np.isfinite(ex).all():
            return ex
    return np.zeros((rows, obs_dim), dtype=np.float32)


def pip_requirements(flavor: str) -> list[str]:
    """Pinned to what is installed, never inferred (MLflow's inference imports the model in a
    subprocess and can reach the network). Packages not installed here are left out."""
    out = []
    for name in (*_BASE_PACKAGES, *_FLAVOR_PACKAGES.get(flavor, ())):
        try:
            out.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            continue
    return out


def model_metadata(contract: ModelContract, flavor: str) -> dict[str, Any]:
    """Small JSON-able facts kept in the MLmodel file (``metadata``)."""
    try:
        tw = version("tradewind")
    except PackageNotFoundError:
        tw = "unknown"
    return {
        FLAVOR_KEY: flavor,
        "tradewind_version": tw,
        "contract": json.loads(contract.model_dump_json(include={"kind", "algo", "instrument"})),
        "obs_dim": contract.obs_dim,
    }
