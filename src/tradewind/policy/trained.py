"""What a learner hands back: the policy, its contract, and what to log about it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from tradewind.policy.base import Policy
from tradewind.policy.contract import ModelContract

# A learner reports metrics over time through this: ``sink({"name": value, ...}, step)``.
MetricSink = Callable[[Mapping[str, float], int], None]

Flavor = Literal["sb3", "sklearn"]


@runtime_checkable
class SavablePolicy(Policy, Protocol):
    def save(self, directory: Path) -> None:
        """Write the model's files into ``directory`` (which exists and is empty)."""
        ...


@dataclass
class TrainedModel:
    """A trained model ready to log and register.

    ``flavor`` names the loader that reads ``policy.save``'s files back
    (``tradewind.rl.policy.load_sb3_policy`` or ``tradewind.ml.policy.load_sklearn_policy``,
    both ``(directory, contract) -> Policy``). ``params`` are flat values for MLflow params;
    ``metrics`` the final ones (``val_*``, ``test_*``, ``cv_*``); ``history`` the metrics
    over training as ``(step, {name: value})``."""

    contract: ModelContract
    policy: SavablePolicy
    flavor: Flavor
    params: dict[str, str | int | float | bool] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    history: list[tuple[int, dict[str, float]]] = field(default_factory=list)
