"""A stable-baselines3 model behind the ``Policy`` port, and its files on disk.

``SB3Policy.targets`` normalises raw observations with the contract's VecNormalize statistics
(``ObservationBuilder.normalise``, VecNormalize's own arithmetic), predicts deterministically
(a MaskablePPO model with the action masks its caller gives, as in training)
and maps the actions to targets with the contract's ``ActionMap``. ``save`` writes
``model.zip`` (SB3's format); ``load_sb3_policy`` reads it back with the algorithm the
contract names. The contract itself travels beside the files (the registry logs it).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch as th
from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm

from tradewind.policy import ModelContract, ObservationBuilder, action_to_target
from tradewind.rl.actor import DiscreteActor
from tradewind.rl.recipes import ALGOS

MODEL_FILE = "model.zip"


class SB3Policy:
    """Observations (rows x obs_dim, raw) in, targets in [-1, 1] out, deterministically."""

    def __init__(self, model: BaseAlgorithm, contract: ModelContract) -> None:
        self.model = model
        self.contract = contract
        self.builder = ObservationBuilder(contract)
        # MaskablePPO's policy takes the action masks it was trained with
        self.uses_action_masks = (
            "action_masks" in inspect.signature(model.policy._predict).parameters
        )
        if model.policy.training:
            model.policy.set_training_mode(False)
        acts = contract.actions
        self._discrete = (
            np.asarray(acts.targets, dtype=np.float64) if acts.kind == "discrete" else None
        )
        # PPO/A2C/MaskablePPO with discrete actions: SB3's torch operations, no wrappers
        self._actor = DiscreteActor.of(model.policy)

    def targets(
        self,
        obs: npt.NDArray[np.float32],
        action_masks: npt.NDArray[np.bool_] | None = None,
    ) -> npt.NDArray[np.float64]:
        """Targets of ``obs``; ``action_masks`` (rows x actions, ``policy.action_mask``) are
        applied by a model that uses them (MaskablePPO) and ignored by the others."""
        x = np.asarray(obs)
        if x.ndim == 1:
            x = x[None, :]
        if x.shape[1] != self.builder.obs_dim:
            raise ValueError(
                f"observations have {x.shape[1]} values; the model reads {self.builder.obs_dim}"
            )
        masks = action_masks if self.uses_action_masks else None
        if masks is not None:
            masks = np.asarray(masks, dtype=bool).reshape(len(x), -1)
        actions = self._predict(self.builder.normalise(x), masks)
        if self._discrete is not None:  # action_to_target's discrete map, its array kept
            return self._discrete[actions.reshape(-1).astype(np.int64)]
        return action_to_target(self.contract.actions, actions)

    def _predict(
        self, x: npt.NDArray[np.floating], masks: npt.NDArray[np.bool_] | None = None
    ) -> npt.NDArray[Any]:
        """``model.predict(x, deterministic=True)`` without its per-call overhead (switching
        every module to eval mode, checking and wrapping the observation: three quarters of
        the time on a small MLP, which counts in the live trader's tick-to-order latency);
        for PPO/A2C/MaskablePPO with discrete actions, ``DiscreteActor`` (the same torch operations
        without the distribution object). The same actions: a test holds it equal to
        ``predict`` for every algorithm."""
        policy = self.model.policy
        if policy.training:
            policy.set_training_mode(False)
        if self._actor is not None:
            return self._actor.actions(np.asarray(x, dtype=np.float32), masks)
        with th.no_grad():
            obs = th.as_tensor(np.asarray(x, dtype=np.float32), device=policy.device)
            if masks is not None:
                out = policy._predict(obs, deterministic=True, action_masks=masks)  # type: ignore[call-arg]
            else:
                out = policy._predict(obs, deterministic=True)
            actions = out.cpu().numpy()
        space = policy.action_space
        assert space.shape is not None  # Box and Discrete spaces have one
        actions = actions.reshape((-1, *space.shape))
        if isinstance(space, spaces.Box):
            if policy.squash_output:
                actions = policy.unscale_action(actions)
            else:
                actions = np.clip(actions, space.low, space.high)
        return actions

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
