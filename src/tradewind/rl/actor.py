"""A deterministic discrete action straight from an actor-critic policy's layers.

``SB3Policy`` asks for one action per closed bar in the live trader, where the tick-to-order
latency counts. SB3's ``policy._predict`` builds a torch ``Categorical`` for it (argument
validation, a distribution object, lazy properties): on a 64x64 MLP that is most of the call.
``DiscreteActor`` runs the same torch operations on the same modules and tensors, in the same
order, without the wrappers:

* the observation as float32 (SB3's ``preprocess_obs`` for a non-image ``Box``), the features
  extractor's flatten (``FlattenExtractor``), each layer of ``mlp_extractor.policy_net``, then
  ``action_net`` (``F.linear`` on the layer's own weight and bias, ``tanh``): the logits, bit
  for bit SB3's;
* ``Categorical(logits=...)`` normalises them (``logits - logsumexp``); SB3's deterministic
  action is ``argmax(probs)`` with ``probs = softmax(normalised)``. Those steps are monotone
  up to rounding, so where the largest logit leads the next by far more than rounding can
  move them (``_CLEAR``) the argmax of the logits is the answer; otherwise (a near-tie, a
  non-finite logit) the same three torch operations run, so a near-tie resolves as SB3
  resolves it. A NaN in the normalised logits is refused as ``Categorical``'s argument check
  refuses it (``ValueError``).

``DiscreteActor.of`` returns None for any policy it does not reproduce exactly (other action
distributions, image observations, unknown layer types): those keep SB3's own ``_predict``.
A test holds the actions equal to ``model.predict`` for PPO and A2C, one row at a time and in
batches.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import torch as th
from gymnasium import spaces
from stable_baselines3.common.distributions import CategoricalDistribution
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.preprocessing import is_image_space
from stable_baselines3.common.torch_layers import FlattenExtractor
from torch import nn
from torch.nn import functional as F

# Layers whose ``forward`` is the whole of what calling them does (no hooks are registered by
# SB3); an unknown layer type sends the policy to SB3's own path.
_LAYERS: tuple[type[nn.Module], ...] = (
    nn.Linear,
    nn.Tanh,
    nn.ReLU,
    nn.LeakyReLU,
    nn.ELU,
    nn.SELU,
    nn.GELU,
    nn.SiLU,
    nn.Sigmoid,
    nn.Softplus,
    nn.Identity,
)


# The lead (relative to the largest logit's magnitude, at least 1) above which the largest
# logit is the argmax of softmax(logits - logsumexp) however float32 rounds: ~100x the
# relative error of a float32 exp and of the two subtractions.
_CLEAR = 1e-4


def _step(module: nn.Module) -> Callable[[th.Tensor], th.Tensor]:
    """What calling ``module`` computes, as one torch function: a ``Linear`` on detached views
    of its weight and bias (the same storage, so training in place still shows; no autograd
    graph is recorded), ``tanh``/``relu`` directly, other activations through ``forward``."""
    if type(module) is nn.Linear:
        weight = module.weight.detach()
        bias = module.bias.detach() if module.bias is not None else None

        def linear(x: th.Tensor) -> th.Tensor:
            return F.linear(x, weight, bias)

        return linear
    if type(module) is nn.Tanh:
        return th.tanh
    return module.forward


def _plain(module: nn.Module) -> bool:
    """No forward hooks or pre-hooks on the module (calling ``forward`` is the same call)."""
    return not (module._forward_hooks or module._forward_pre_hooks)


class DiscreteActor:
    """``policy._predict(obs, deterministic=True)`` for an actor-critic policy with a
    categorical action distribution, as a plain sequence of torch operations."""

    def __init__(self, steps: list[Callable[[th.Tensor], th.Tensor]]) -> None:
        self._steps = steps

    @classmethod
    def of(cls, policy: object) -> DiscreteActor | None:
        """The actor of ``policy``, or None when this path would not be SB3's exactly."""
        if not isinstance(policy, ActorCriticPolicy):
            return None
        if type(policy.action_dist) is not CategoricalDistribution:
            return None
        space = policy.observation_space
        if not isinstance(space, spaces.Box) or (policy.normalize_images and is_image_space(space)):
            return None
        extractor = policy.pi_features_extractor
        if type(extractor) is not FlattenExtractor or not _plain(extractor):
            return None
        net = policy.mlp_extractor.policy_net
        if type(net) is not nn.Sequential or not _plain(net) or not _plain(policy.mlp_extractor):
            return None
        layers = [*net, policy.action_net]
        if not all(type(m) in _LAYERS and _plain(m) for m in layers):
            return None
        flat = extractor.flatten
        if type(flat) is not nn.Flatten or not _plain(flat):
            return None
        start, end = flat.start_dim, flat.end_dim

        def flatten(x: th.Tensor) -> th.Tensor:
            return x.flatten(start, end)

        return cls([flatten, *(_step(m) for m in layers)])

    def actions(self, obs: npt.NDArray[np.float32]) -> npt.NDArray[np.int64]:
        """The deterministic action of each row of ``obs`` (rows x obs_dim, float32)."""
        # no autograd context needed: the weights are detached views, the input a plain array
        x = th.from_numpy(np.ascontiguousarray(obs, dtype=np.float32))
        for step in self._steps:
            x = step(x)
        clear = _clear_argmax(x.numpy())
        if clear is not None:
            return clear
        with th.no_grad():
            normalised = x - x.logsumexp(dim=-1, keepdim=True)
            probs = th.softmax(normalised, dim=-1).numpy()
        if np.isnan(probs).any():
            raise ValueError(
                "the policy's action logits are NaN (Categorical refuses them): "
                "check the observation for NaN or inf"
            )
        return probs.argmax(axis=1)


def _clear_argmax(logits: npt.NDArray[np.float32]) -> npt.NDArray[np.int64] | None:
    """Each row's largest logit where every row's leads clearly (``_CLEAR``), else None."""
    rows, n = logits.shape
    if n < 2:
        return None
    if rows == 1:  # the live call: a few Python floats beat a dozen numpy calls
        row = logits[0].tolist()
        if not all(math.isfinite(v) for v in row):
            return None
        second, top = sorted(row)[-2:]
        if not top - second > _CLEAR * max(1.0, abs(top)):
            return None
        return np.array([row.index(top)], dtype=np.int64)
    if not np.isfinite(logits).all():
        return None
    top2 = np.sort(logits, axis=1)[:, -2:]
    lead = top2[:, 1] - top2[:, 0]
    if not (lead > _CLEAR * np.maximum(1.0, np.abs(top2[:, 1]))).all():
        return None
    return logits.argmax(axis=1)
