"""A fitted scikit-learn pipeline behind the ``Policy`` port, and its files on disk.

``save`` writes ``model.joblib`` (the pipeline, pickled with joblib) and ``sklearn.json``
(the scikit-learn version it was pickled with). Pickles are only reliable on the version
that wrote them, so ``load_sklearn_policy`` warns (``SklearnVersionWarning``) when the major
or minor version differs, and refuses a pipeline that does not fit the contract (its classes
or observation width).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import numpy.typing as npt
import sklearn

from tradewind.ml.threads import one_thread
from tradewind.policy import ContractMismatch, ModelContract, action_to_target

MODEL_FILE = "model.joblib"
VERSION_FILE = "sklearn.json"
FORMAT = 1


class SklearnVersionWarning(UserWarning):
    """The pipeline was pickled by another scikit-learn major.minor version."""


class SklearnPolicy:
    """``targets(obs)`` = the contract's action map applied to ``predict_proba(obs)``.

    ``obs`` are rows x ``contract.obs_dim`` as ``ObservationBuilder.observe`` makes them
    (float32 or float64; they are predicted as float64, as in training). A model that saw
    only two classes has two probability columns; the contract lists the same classes, so
    the mapping needs no padding. Predicts on one OpenMP thread (``ml.threads``)."""

    def __init__(self, pipeline: Any, contract: ModelContract) -> None:
        _check_fits(pipeline, contract)
        self.pipeline = pipeline
        self.contract = contract

    def targets(self, obs: npt.ArrayLike) -> npt.NDArray[np.float64]:
        x = np.asarray(obs, dtype=np.float64)
        if x.ndim == 1:
            x = x.reshape(1, -1)
        if x.ndim != 2 or x.shape[1] != self.contract.obs_dim:
            raise ValueError(
                f"observations must be rows x {self.contract.obs_dim}, got shape {x.shape}"
            )
        if len(x) == 0:
            return np.empty(0, dtype=np.float64)
        if not np.isfinite(x).all():
            bad = int((~np.isfinite(x)).any(axis=1).sum())
            raise ValueError(f"{bad} observation row(s) hold NaN or inf")
        with one_thread():
            proba = self.pipeline.predict_proba(x)
        return action_to_target(self.contract.actions, proba)

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        joblib.dump(self.pipeline, directory / MODEL_FILE)
        meta = {"format": FORMAT, "sklearn": sklearn.__version__}
        (directory / VERSION_FILE).write_text(json.dumps(meta, indent=2) + "\n")


def load_sklearn_policy(directory: Path, contract: ModelContract) -> SklearnPolicy:
    """The policy ``SklearnPolicy.save`` wrote into ``directory``, under ``contract``."""
    directory = Path(directory)
    meta_path = directory / VERSION_FILE
    if not meta_path.is_file():
        raise FileNotFoundError(f"{meta_path} is missing: not a saved sklearn policy")
    saved = str(json.loads(meta_path.read_text()).get("sklearn", "unknown"))
    if _major_minor(saved) != _major_minor(sklearn.__version__):
        warnings.warn(
            f"{directory / MODEL_FILE} was saved with scikit-learn {saved}; this is "
            f"{sklearn.__version__}: predictions may differ or loading may fail",
            SklearnVersionWarning,
            stacklevel=2,
        )
    pipeline = joblib.load(directory / MODEL_FILE)
    return SklearnPolicy(pipeline, contract)


def _major_minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])


def _check_fits(pipeline: Any, contract: ModelContract) -> None:
    """ContractMismatch when the fitted pipeline's classes or input width differ from the
    contract's."""
    if contract.kind != "supervised" or contract.actions.kind != "classes":
        raise ContractMismatch(
            f"an sklearn policy needs a supervised contract with a classes action map, got "
            f"kind {contract.kind} with {contract.actions.kind} actions"
        )
    classes = tuple(int(c) for c in getattr(pipeline, "classes_", ()))
    if classes != contract.actions.classes:
        raise ContractMismatch(
            f"the pipeline predicts classes {list(classes)}; the contract maps "
            f"{list(contract.actions.classes)}"
        )
    width = getattr(pipeline, "n_features_in_", None)
    if width is not None and int(width) != contract.obs_dim:
        raise ContractMismatch(
            f"the pipeline reads {width} values per observation; the contract's are "
            f"{contract.obs_dim} wide"
        )
