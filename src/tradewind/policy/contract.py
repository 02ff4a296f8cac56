"""A trained model's contract: what it reads, how it is normalised, what its outputs mean.

The contract travels with the model (logged to MLflow beside it). Whoever feeds the model (the
environment, a backtest, the live trader) builds observations from it with
``ObservationBuilder`` and checks it first with ``ModelContract.check``: a model refuses
features that differ from those it was trained on, and the refusal names the difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from tradewind.config.base import FrozenModel
from tradewind.config.features import FeatureSpec
from tradewind.domain import Timeframe
from tradewind.policy.features import feature_definitions

CONTRACT_VERSION = 1
POSITION_STATE = ("position", "unrealised_pnl", "time_in_position")


class ContractMismatch(ValueError):
    """What the caller would compute differs from what the model was trained on."""


class OtherMarket(ContractMismatch):
    """The caller trades another instrument or price side than the model was trained on.

    ``what`` is ``"instrument"`` or ``"side"``: the caller may allow it explicitly (and must
    then record that it did)."""

    def __init__(self, message: str, what: str) -> None:
        super().__init__(message)
        self.what = what


class FeatureScaler(FrozenModel):
    """Per-column standardisation fitted on the training split: ``(x - mean) / std``."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @model_validator(mode="after")
    def _check(self) -> FeatureScaler:
        if len(self.mean) != len(self.std):
            raise ValueError("mean and std differ in length")
        if any(not s > 0 for s in self.std):
            raise ValueError("std must be > 0 for every column")
        return self

    @classmethod
    def fit(cls, values: np.ndarray) -> FeatureScaler:
        """Fit on ``values`` (rows x columns); rows with any NaN are left out; a column with
        zero spread gets std 1 (it only shifts)."""
        x = np.asarray(values, dtype=np.float64)
        rows = x[~np.isnan(x).any(axis=1)]
        if len(rows) == 0:
            raise ValueError("no complete rows to fit the feature scaler on")
        mean = rows.mean(axis=0)
        std = rows.std(axis=0)
        std = np.where(std > 0, std, 1.0)
        return cls(mean=tuple(float(m) for m in mean), std=tuple(float(s) for s in std))


class ObsNormaliser(FrozenModel):
    """VecNormalize's observation statistics: ``clip((obs - mean) / sqrt(var + eps), +-clip)``."""

    mean: tuple[float, ...]
    var: tuple[float, ...]
    clip: float = 10.0
    epsilon: float = 1e-8


class ActionMap(FrozenModel):
    """How a model output becomes a target position in [-1, 1].

    * ``discrete``: action index i -> ``targets[i]``.
    * ``continuous``: the action, clipped to [-1, 1].
    * ``classes``: class probabilities over ``classes`` (label values -1/0/1); ``expected``
      gives sum(p * class), ``argmax`` the most probable class when its probability is at
      least ``min_confidence`` (else 0).
    """

    kind: Literal["discrete", "continuous", "classes"]
    targets: tuple[float, ...] = ()
    classes: tuple[int, ...] = ()
    mapping: Literal["expected", "argmax"] = "expected"
    min_confidence: float = 0.0

    @model_validator(mode="after")
    def _check(self) -> ActionMap:
        if self.kind == "discrete" and not self.targets:
            raise ValueError("a discrete action map needs targets")
        if self.kind == "classes" and not self.classes:
            raise ValueError("a classes action map needs classes")
        return self


class ModelContract(FrozenModel):
    version: int = CONTRACT_VERSION
    kind: Literal["rl", "supervised"]
    algo: str
    instrument: str
    timeframe: Timeframe
    side: str = "mid"
    feature_spec_fingerprint: str
    feature_columns: tuple[str, ...] = Field(min_length=1)
    # column -> how it is computed (``policy.features.feature_definitions``); when present the
    # check compares these, column by column, instead of the whole spec's fingerprint
    feature_defs: dict[str, str] = Field(default_factory=dict)
    window: int = Field(ge=1)
    position_state: bool  # observations end with POSITION_STATE
    time_scale: float = 100.0
    max_units: float = 10_000.0
    min_hold_bars: int = Field(default=0, ge=0)  # a position change waits this many decisions
    scaler: FeatureScaler
    obs_normaliser: ObsNormaliser | None = None
    actions: ActionMap
    config_fingerprint: str = ""
    train_start: str = ""  # ISO UTC, the training split's data range
    train_end: str = ""

    @model_validator(mode="after")
    def _check(self) -> ModelContract:
        if len(self.scaler.mean) != len(self.feature_columns):
            raise ValueError(
                f"scaler has {len(self.scaler.mean)} columns, features {len(self.feature_columns)}"
            )
        if self.obs_normaliser is not None and len(self.obs_normaliser.mean) != self.obs_dim:
            raise ValueError(
                f"obs_normaliser has {len(self.obs_normaliser.mean)} values, "
                f"observations {self.obs_dim}"
            )
        return self

    @property
    def obs_dim(self) -> int:
        return self.window * len(self.feature_columns) + (
            len(POSITION_STATE) if self.position_state else 0
        )

    def check(
        self,
        feature_columns: Sequence[str],
        feature_spec_fingerprint: str | None = None,
        *,
        timeframe: Timeframe | str | None = None,
        model: str = "the model",
        feature_spec: FeatureSpec | None = None,
        instruments: Sequence[str] | None = None,
        side: str | None = None,
        allow_other_instrument: bool = False,
        allow_other_side: bool = False,
    ) -> None:
        """Raise ``ContractMismatch`` naming the first difference between what this model was
        trained on and what the caller would compute: a feature column the caller does not
        make, a different feature spec (same names, other definitions), another timeframe.

        ``feature_columns`` are the columns the caller computes, in any order and possibly
        more than the model reads: ``ObservationBuilder`` picks the model's by name, in the
        model's order. With the caller's ``feature_spec`` and a contract that records its
        columns' definitions, those are compared column by column (a feature file with other
        features besides the model's is fine); otherwise the spec fingerprints must match.

        ``instruments`` and ``side`` are what the caller trades and prices it on: another
        instrument or price side than the model's is ``OtherMarket`` unless the caller allows
        it (``allow_other_instrument``, ``allow_other_side``)."""
        have = tuple(feature_columns)
        want = self.feature_columns
        missing = [c for c in want if c not in have]
        if missing:
            raise ContractMismatch(
                f"{model} was trained on features [{', '.join(want)}]; the caller computes "
                f"[{', '.join(have)}]: missing {', '.join(missing)}"
            )
        if feature_spec is not None and self.feature_defs:
            theirs = feature_definitions(feature_spec, want)
            differ = [c for c in want if theirs.get(c) != self.feature_defs.get(c)]
            if differ:
                c, more = differ[0], differ[1:]
                also = f" (also differ: {', '.join(more)})" if more else ""
                raise ContractMismatch(
                    f"{model} computes feature {c} as {self.feature_defs.get(c)}; the caller's "
                    f"feature config {feature_spec.name!r} computes it as {theirs.get(c)}{also}"
                )
        elif (
            feature_spec_fingerprint is not None
            and feature_spec_fingerprint != self.feature_spec_fingerprint
        ):
            raise ContractMismatch(
                f"{model} was trained with feature spec {self.feature_spec_fingerprint[:12]}; "
                f"the caller's spec is {feature_spec_fingerprint[:12]} (same column names, "
                "different definitions: parameters, inputs or functions differ)"
            )
        if timeframe is not None and str(timeframe) != str(self.timeframe):
            raise ContractMismatch(
                f"{model} was trained on {self.timeframe} bars; the caller has {timeframe} bars"
            )
        others = [i for i in instruments or () if i != self.instrument]
        if others and not allow_other_instrument:
            raise OtherMarket(
                f"{model} was trained on {self.instrument}; the caller trades {', '.join(others)}",
                "instrument",
            )
        if side is not None and side != self.side and not allow_other_side:
            raise OtherMarket(
                f"{model} was trained on {self.side} prices; the caller uses {side} prices",
                "side",
            )

    def other_markets(self, instruments: Sequence[str], side: str) -> dict[str, Any]:
        """What of ``instruments`` and ``side`` differs from the model's: ``{"instruments":
        [...], "side": side}`` with only the differing keys (empty when none does)."""
        out: dict[str, Any] = {}
        others = [i for i in instruments if i != self.instrument]
        if others:
            out["instruments"] = others
        if side != self.side:
            out["side"] = side
        return out
