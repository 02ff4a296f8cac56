"""Recipes: the network and default hyperparameters of an RL model, in a Python file.

``learner.recipe: mlp_small`` loads ``models/mlp_small.py`` (a name); anything with a ``/`` or
ending ``.py`` is a path. The file defines ``RECIPE = Recipe(...)``. The run config's
``learner.hyperparams`` override the recipe's defaults for the algorithm (``policy_kwargs``
merge key by key); a name the algorithm's constructor does not take is an error that names
it. Recipe modules are pickled by value, so a saved model's custom feature extractor loads
without the recipe file.

Conveniences for YAML configs: ``policy_kwargs.activation_fn`` may name a ``torch.nn``
activation (``tanh``, ``ReLU``); ``action_noise`` may be a number, the sigma of Gaussian
action noise (SAC, TD3); ``train_freq`` may be a list ``[n, "step"|"episode"]``.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import torch
from sb3_contrib import MaskablePPO
from stable_baselines3 import A2C, DQN, PPO, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.noise import NormalActionNoise

from tradewind.config.models import RLAlgo
from tradewind.config.plugins import available, load_named

MODELS_DIR = Path(__file__).resolve().parents[3] / "models"
ALGOS: dict[str, type[BaseAlgorithm]] = {
    RLAlgo.PPO.value: PPO,
    RLAlgo.MASKABLE_PPO.value: MaskablePPO,
    RLAlgo.A2C.value: A2C,
    RLAlgo.DQN.value: DQN,
    RLAlgo.SAC.value: SAC,
    RLAlgo.TD3.value: TD3,
}
# Constructor arguments the trainer sets itself; a config may not.
RESERVED = frozenset({"policy", "env", "seed", "device", "verbose", "_init_setup_model"})


@dataclass(frozen=True)
class Recipe:
    """``policy``: the SB3 policy class name (``MlpPolicy``); ``policy_kwargs``: its keyword
    arguments (net_arch, activation_fn, features_extractor_class and _kwargs, ...);
    ``hyperparams``: per algorithm name (``ppo``, ``dqn``, ...) its default arguments."""

    policy: str = "MlpPolicy"
    policy_kwargs: Mapping[str, Any] = field(default_factory=dict)
    hyperparams: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    name: str = "default"


DEFAULT_RECIPE = Recipe()


def available_recipes(models_dir: Path | None = None) -> list[str]:
    return available(models_dir or MODELS_DIR, "RECIPE")


def load_recipe(name_or_path: str | None, models_dir: Path | None = None) -> Recipe:
    """The ``RECIPE`` of ``models/<name>.py`` or of a path; ``None``: SB3's defaults."""
    if name_or_path is None:
        return DEFAULT_RECIPE
    folder = models_dir or MODELS_DIR
    path, module, recipe = load_named(name_or_path, folder, "RECIPE", "recipe", "tradewind_recipes")
    if not isinstance(recipe, Recipe):
        raise LookupError(f"{path}: RECIPE must be a tradewind.rl.recipes.Recipe")
    cloudpickle.register_pickle_by_value(module)  # saved models carry the extractor's code
    return Recipe(recipe.policy, recipe.policy_kwargs, recipe.hyperparams, path.stem)


def accepted_args(algo_cls: type[BaseAlgorithm]) -> frozenset[str]:
    """Keyword arguments of the algorithm's constructor."""
    params = inspect.signature(algo_cls.__init__).parameters
    skip = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return frozenset(n for n, p in params.items() if n != "self" and p.kind not in skip)


def _activation(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    names = {n.lower(): n for n in dir(torch.nn)}
    name = names.get(value.lower())
    if name is None or not isinstance(getattr(torch.nn, name), type):
        raise ValueError(f"policy_kwargs.activation_fn {value!r} is not a torch.nn activation")
    return getattr(torch.nn, name)


def resolve_hyperparams(
    recipe: Recipe, algo: RLAlgo | str, overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """The recipe's defaults for ``algo`` with ``overrides`` on top, checked against the
    algorithm's constructor; ``policy_kwargs`` is merged (recipe, recipe per algo, config)."""
    name = RLAlgo(algo).value
    algo_cls = ALGOS[name]
    # MaskablePPO takes PPO's arguments: a recipe without its own entry lends it PPO's
    fallback = recipe.hyperparams.get("ppo", {}) if name == RLAlgo.MASKABLE_PPO.value else {}
    defaults = dict(recipe.hyperparams.get(name, fallback))
    params = {**defaults, **overrides}
    reserved = sorted(RESERVED & params.keys())
    if reserved:
        raise ValueError(f"hyperparams {reserved} are set by the trainer, not the config")
    unknown = sorted(params.keys() - accepted_args(algo_cls))
    if unknown:
        valid = ", ".join(sorted(accepted_args(algo_cls) - RESERVED))
        raise ValueError(
            f"unknown {name} hyperparams {unknown} (from recipe {recipe.name} or the config); "
            f"{algo_cls.__name__} takes: {valid}"
        )
    kwargs = {
        **recipe.policy_kwargs,
        **defaults.get("policy_kwargs", {}),
        **overrides.get("policy_kwargs", {}),
    }
    if "activation_fn" in kwargs:
        kwargs["activation_fn"] = _activation(kwargs["activation_fn"])
    params["policy_kwargs"] = kwargs
    if isinstance(params.get("train_freq"), list):
        params["train_freq"] = tuple(params["train_freq"])
    return params


def materialise(params: Mapping[str, Any], n_actions: int) -> dict[str, Any]:
    """Turn config shorthands into objects: a numeric ``action_noise`` becomes Gaussian
    action noise with that sigma."""
    out = dict(params)
    noise = out.get("action_noise")
    if isinstance(noise, int | float):
        out["action_noise"] = NormalActionNoise(np.zeros(n_actions), np.full(n_actions, noise))
    return out


def fill_extractor_kwargs(
    policy_kwargs: Mapping[str, Any], window: int, n_features: int
) -> dict[str, Any]:
    """Give the features extractor the observation layout (``window``, ``n_features``) when
    its constructor asks for them and the recipe did not set them."""
    kwargs = dict(policy_kwargs)
    cls = kwargs.get("features_extractor_class")
    if cls is None:
        return kwargs
    accepts = inspect.signature(cls.__init__).parameters
    extra = dict(kwargs.get("features_extractor_kwargs", {}))
    for key, value in (("window", window), ("n_features", n_features)):
        if key in accepts:
            extra.setdefault(key, value)
    kwargs["features_extractor_kwargs"] = extra
    return kwargs


def flat_params(params: Mapping[str, Any], prefix: str = "") -> dict[str, str | int | float | bool]:
    """Hyperparameters as flat MLflow params: nested mappings become ``a.b``, classes their
    names, anything else that is not a scalar its ``repr``."""
    out: dict[str, str | int | float | bool] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flat_params(value, f"{name}."))
        elif isinstance(value, bool | int | float | str):
            out[name] = value
        elif isinstance(value, type):
            out[name] = value.__name__
        elif value is None:
            out[name] = "None"
        else:
            out[name] = repr(value)
    return out
