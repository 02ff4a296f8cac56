"""The port every trained model sits behind: a contract, and observations in, targets out."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from tradewind.policy.contract import ActionMap, ModelContract


@runtime_checkable
class Policy(Protocol):
    """A trained model. ``targets`` takes observations as ``ObservationBuilder.observe`` makes
    them (rows x obs_dim, before the VecNormalize statistics, which the policy applies) and
    returns a target position in [-1, 1] per row, deterministically."""

    contract: ModelContract

    def targets(self, obs: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]: ...


def uses_masks(policy: object) -> bool:
    """Whether ``policy`` takes action masks (``targets(obs, action_masks=...)``): a model
    trained with them (MaskablePPO) says so with ``uses_action_masks = True``."""
    return bool(getattr(policy, "uses_action_masks", False))


def masked_targets(
    policy: Policy, obs: npt.NDArray[np.float32], masks: npt.NDArray[np.bool_] | None
) -> npt.NDArray[np.float64]:
    """``policy.targets(obs)``, with ``masks`` (rows x actions, ``position.action_mask`` per
    row) for a policy that uses them: the environment, the backtest and live call this, so a
    masked model never proposes what its training masked."""
    if masks is not None and uses_masks(policy):
        return policy.targets(obs, action_masks=masks)  # type: ignore[call-arg]
    return policy.targets(obs)


def action_to_target(actions: ActionMap, action: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Map raw model outputs to targets in [-1, 1] per row.

    ``discrete``: action indices; ``continuous``: actions of shape (rows,) or (rows, 1);
    ``classes``: class probabilities (rows x len(classes))."""
    a = np.asarray(action)
    if actions.kind == "discrete":
        idx = a.reshape(-1).astype(np.int64)
        return np.asarray(actions.targets, dtype=np.float64)[idx]
    if actions.kind == "continuous":
        return np.clip(a.reshape(len(a), -1)[:, 0].astype(np.float64), -1.0, 1.0)
    proba = a.reshape(len(a), -1).astype(np.float64)
    classes = np.asarray(actions.classes, dtype=np.float64)
    if actions.mapping == "expected":
        return np.clip(proba @ classes, -1.0, 1.0)
    best = proba.argmax(axis=1)
    conf = proba[np.arange(len(proba)), best]
    return np.where(conf >= actions.min_confidence, classes[best], 0.0)
