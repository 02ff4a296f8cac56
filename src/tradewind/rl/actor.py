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
* MaskablePPO (sb3-contrib's ``MaskableCategorical``) normalises twice, the masked-out
  actions set to -1e8 in between: ``n1 = logits - logsumexp``, ``where(mask, n1, -1e8)``,
  normalised again, softmax, argmax. The shortcut then takes the largest logit among the
  allowed actions when it leads the next allowed one clearly; otherwise those five
  operations run.

``DiscreteActor.of`` returns None for any policy it does not reproduce exactly (other action
distributions, image observations, unknown layer types): those keep SB3's own ``_predict``.
Tests hold the actions equal to ``model.predict`` for PPO, A2C and MaskablePPO (with and
without masks), one row at a time and in batches.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import torch as th
from gymnasium import spaces
from sb3_contrib.common.maskable.distributions import MaskableCategoricalDistribution
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
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
_LARGEST = 1e6  # logits beyond this take the exact path


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

    def __init__(self, steps: list[Callable[[th.Tensor], th.Tensor]], maskable: bool) -> None:
        self._steps = steps
        self.maskable = maskable  # sb3-contrib's MaskableCategorical: masks, two normalisations

    @classmethod
    def of(cls, policy: object) -> DiscreteActor | None:
        """The actor of ``policy``, or None when this path would not be SB3's exactly."""
        if isinstance(policy, ActorCriticPolicy):
            dist: type = CategoricalDistribution
        elif isinstance(policy, MaskableActorCriticPolicy):
            dist = MaskableCategoricalDistribution
        else:
            return None
        if type(policy.action_dist) is not dist:
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

        steps = [flatten, *(_step(m) for m in layers)]
        return cls(steps, maskable=dist is MaskableCategoricalDistribution)

    def actions(
        self, obs: npt.NDArray[np.float32], masks: npt.NDArray[np.bool_] | None = None
    ) -> npt.NDArray[np.int64]:
        """The deterministic action of each row of ``obs`` (rows x obs_dim, float32);
        ``masks`` (rows x actions, True: allowed) for a maskable policy only."""
        if masks is not None and not self.maskable:
            raise ValueError("action masks given to a policy that does not take them")
        # no autograd context needed: the weights are detached views, the input a plain array
        x = th.from_numpy(np.ascontiguousarray(obs, dtype=np.float32))
        for step in self._steps:
            x = step(x)
        allowed = None if masks is None else np.asarray(masks, dtype=bool).reshape(x.shape)
        clear = _clear_argmax(x.numpy(), allowed)
        if clear is not None:
            return clear
        with th.no_grad():
            normalised = x - x.logsumexp(dim=-1, keepdim=True)
            if self.maskable:  # MaskableCategorical: masked, then normalised again
                if allowed is not None:
                    huge_neg = th.tensor(-1e8, dtype=normalised.dtype)
                    normalised = th.where(th.from_numpy(allowed), normalised, huge_neg)
                normalised = normalised - normalised.logsumexp(dim=-1, keepdim=True)
            probs = th.softmax(normalised, dim=-1).numpy()
        if np.isnan(probs).any():
            raise ValueError(
                "the policy's action logits are NaN (Categorical refuses them): "
                "check the observation for NaN or inf"
            )
        return probs.argmax(axis=1)


def _clear_argmax(
    logits: npt.NDArray[np.float32], allowed: npt.NDArray[np.bool_] | None = None
) -> npt.NDArray[np.int64] | None:
    """Each row's largest (allowed) logit where, in every row, it leads the next allowed one
    clearly: by ``_CLEAR`` times the row's largest magnitude (at least 1; the normalisations
    subtract up to about that much, so their rounding scales with it). None otherwise, or when
    a logit is not finite or so large (> 1e6) that -1e8 would no longer rank a masked action
    last."""
    rows, n = logits.shape
    if n < 2:
        return None
    if rows == 1:  # the live call: a few Python floats beat a dozen numpy calls
        row = logits[0].tolist()
        if not all(math.isfinite(v) for v in row):
            return None
        scale = max(1.0, max(abs(v) for v in row))
        ok = [(v, j) for j, v in enumerate(row) if allowed is None or allowed[0, j]]
        if len(ok) < 2 or scale > _LARGEST:
            return None
        (second, _), (top, best) = sorted(ok)[-2:]
        if not top - second > _CLEAR * scale:
            return None
        return np.array([best], dtype=np.int64)
    if not np.isfinite(logits).all():
        return None
    scale = np.maximum(1.0, np.abs(logits).max(axis=1))
    if (scale > _LARGEST).any():
        return None
    x = logits if allowed is None else np.where(allowed, logits, -np.inf)
    top2 = np.sort(x, axis=1)[:, -2:]
    with np.errstate(invalid="ignore"):  # -inf or NaN: fewer than two allowed, never clear
        lead = top2[:, 1] - top2[:, 0]
    if not (lead > _CLEAR * scale).all():
        return None
    return x.argmax(axis=1)
