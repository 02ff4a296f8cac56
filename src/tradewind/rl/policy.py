"""A stable-baselines3 model behind the ``Policy`` port, and its files on disk.

``SB3Policy.targets`` normalises raw observations with the contract's VecNormalize statistics
(``ObservationBuilder.normalise``, VecNormalize's own arithmetic), predicts deterministically
and maps the actions to targets with the contract's ``ActionMap``. ``save`` writes
``model.zip`` (SB3's format); ``load_sb3_policy`` reads it back with the algorithm the
contract names. The contract itself travels beside the files (the registry logs it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
from stable_baselines3.common.base_class import BaseAlgorithm

from tradewind.policy import ModelContract, ObservationBuilder, action_to_target
from tradewind.rl.recipes import ALGOS

MODEL_FILE = "model.zip"


class SB3Policy:
    """Observations (rows x obs_dim, raw) in, targets in [-1, 1] out, deterministically."""

    def __init__(self, model: BaseAlgorithm, contract: ModelContract) -> None:
        self.model = model
        self.contract = contract
        self.builder = ObservationBuilder(contract)

    def targets(self, obs: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        x = np.asarray(obs)
        if x.ndim == 1:
            x = x[None, :]
        if x.shape[1] != self.builder.obs_dim:
            raise ValueError(
                f"observations have {x.shape[1]} values; the model reads {self.builder.obs_dim}"
            )
        action, _ = self.model.predict(self.builder.normalise(x), deterministic=True)
        return action_to_target(self.contract.actions, action)

    def save(self, directory: Path) -> None:
        self.model.save(Path(directory) / MODEL_FILE)


def load_sb3_policy(directory: Path, contract: ModelContract, device: str = "cpu") -> SB3Policy:
    """The policy ``SB3Policy.save`` wrote into ``directory``, for ``contract``."""
    algo_cls = ALGOS.get(contract.algo)
    if algo_cls is None:
        raise ValueError(f"contract algo {contract.algo!r} is not one of {', '.join(ALGOS)}")
    path = Path(directory) / MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no {MODEL_FILE} in {directory}")
    return SB3Policy(algo_cls.load(path, device=device), contract)
