"""A model run config (``kind: model``): data, splits, observation, and the learner to train.

One file trains either a reinforcement-learning agent (``learner.type: rl``: a
stable-baselines3 algorithm on the trading environment ``env``) or a supervised model
(``learner.type: supervised``: a scikit-learn pipeline on labelled bars). Both read the same
feature config as the backtests, over one instrument, with train / validation / test date
ranges that must be ordered and must not overlap. The config's fingerprint is the run's id in
the security master and is logged to MLflow with the model.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from tradewind.config.backtest import Costs, FillTiming
from tradewind.config.base import FrozenModel
from tradewind.domain import Timeframe


class Split(FrozenModel):
    """A half-open UTC date range ``[start, end)``; a time without a zone is UTC."""

    start: datetime
    end: datetime

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)

    @model_validator(mode="after")
    def _ordered(self) -> Split:
        if self.start >= self.end:
            raise ValueError(f"start {self.start} is not before end {self.end}")
        return self


class Splits(FrozenModel):
    """Train, validation and test ranges, in that order, never overlapping."""

    train: Split
    validation: Split
    test: Split

    @model_validator(mode="after")
    def _disjoint(self) -> Splits:
        if self.validation.start < self.train.end:
            raise ValueError(
                f"validation starts {self.validation.start} before train ends {self.train.end}"
            )
        if self.test.start < self.validation.end:
            raise ValueError(
                f"test starts {self.test.start} before validation ends {self.validation.end}"
            )
        return self


class ActionKind(StrEnum):
    DISCRETE = "discrete"  # flat / long / short (times each of ``sizes``)
    CONTINUOUS = "continuous"  # a target position in [-1, 1]


class Actions(FrozenModel):
    kind: ActionKind = ActionKind.DISCRETE
    # discrete only: position sizes as fractions of max_units; [1.0] gives flat/long/short,
    # [0.5, 1.0] gives flat, long 0.5, long 1, short 0.5, short 1
    sizes: tuple[Annotated[float, Field(gt=0, le=1)], ...] = (1.0,)

    @model_validator(mode="after")
    def _sizes(self) -> Actions:
        if len(set(self.sizes)) != len(self.sizes):
            raise ValueError(f"sizes has duplicates: {list(self.sizes)}")
        if not self.sizes:
            raise ValueError("sizes must list at least one size")
        return self


class RewardKind(StrEnum):
    PNL = "pnl"  # change in equity net of costs, over initial cash, times reward_scale
    DRAWDOWN_PENALTY = "drawdown_penalty"  # pnl minus penalty * increase in drawdown
    DIFFERENTIAL_SHARPE = "differential_sharpe"  # Moody & Saffell's, with decay sharpe_eta


class Reward(FrozenModel):
    kind: RewardKind = RewardKind.PNL
    scale: float = Field(default=100.0, gt=0)
    drawdown_penalty: float = Field(default=0.0, ge=0)
    sharpe_eta: float = Field(default=0.01, gt=0, lt=1)


class EnvConfig(FrozenModel):
    """The trading environment: sizing, costs (the backtests' cost model), episodes, reward."""

    actions: Actions = Actions()
    reward: Reward = Reward()
    cash: float = Field(default=100_000.0, gt=0)
    max_units: float = Field(default=10_000.0, gt=0)  # units at target +-1
    costs: Costs = Costs()
    fill: FillTiming = FillTiming.NEXT_OPEN
    # deprecated: training takes the instrument's pip from the security master, as backtests
    # do; a value that contradicts it is refused (leave it out)
    pip_location: int | None = None
    allow_short: bool = True
    min_hold_bars: int = Field(default=0, ge=0)  # a position change is masked for this long
    episode_bars: int = Field(default=1024, ge=2)  # training episodes; evaluation: whole split
    max_drawdown: float = Field(default=0.25, gt=0, le=1)  # episode ends at this drawdown
    time_scale: float = Field(default=100.0, gt=0)  # bars held / time_scale, capped at 1


class RLAlgo(StrEnum):
    PPO = "ppo"
    MASKABLE_PPO = "maskable_ppo"  # sb3-contrib's PPO that never picks a masked action
    A2C = "a2c"
    DQN = "dqn"  # discrete actions only
    SAC = "sac"  # continuous actions only
    TD3 = "td3"  # continuous actions only


DISCRETE_ONLY = frozenset({RLAlgo.DQN, RLAlgo.MASKABLE_PPO})
CONTINUOUS_ONLY = frozenset({RLAlgo.SAC, RLAlgo.TD3})


class RLLearner(FrozenModel):
    type: Literal["rl"] = "rl"
    algo: RLAlgo
    recipe: str | None = None  # models/<recipe>.py (or a path): network, extractor, defaults
    hyperparams: dict[str, Any] = Field(default_factory=dict)  # override the recipe's
    timesteps: int = Field(default=20_000, ge=1)
    n_envs: int = Field(default=1, ge=1)
    vec_normalize: bool = True  # VecNormalize on observations (stats saved with the model)
    eval_freq: int = Field(default=2_000, ge=1)  # timesteps between validation evaluations
    early_stop_patience: int | None = Field(default=None, ge=1)  # evaluations w/o improvement
    device: str = "cpu"


class LabelKind(StrEnum):
    FORWARD_RETURN_SIGN = "forward_return_sign"
    TRIPLE_BARRIER = "triple_barrier"


class LabelConfig(FrozenModel):
    kind: LabelKind = LabelKind.FORWARD_RETURN_SIGN
    horizon: int = Field(default=5, ge=1)
    threshold: float = Field(default=0.0, ge=0)  # forward_return_sign
    up_mult: float = Field(default=2.0, gt=0)  # triple_barrier
    down_mult: float = Field(default=2.0, gt=0)  # triple_barrier
    vol_window: int = Field(default=20, ge=2)  # triple_barrier: rolling std of returns


class Estimator(StrEnum):
    GRADIENT_BOOSTING = "gradient_boosting"
    LOGISTIC_REGRESSION = "logistic_regression"
    RANDOM_FOREST = "random_forest"


class CVConfig(FrozenModel):
    n_splits: int = Field(default=5, ge=2)
    purge: int | None = Field(default=None, ge=0)  # bars; None = the label horizon
    embargo: int = Field(default=0, ge=0)  # bars dropped from training after each test fold


class TargetMapping(StrEnum):
    EXPECTED = "expected"  # sum of class probability x class (-1, 0, 1): a target in [-1, 1]
    ARGMAX = "argmax"  # the most probable class, when its probability >= min_confidence


class SupervisedLearner(FrozenModel):
    type: Literal["supervised"] = "supervised"
    estimator: Estimator
    params: dict[str, Any] = Field(default_factory=dict)  # the estimator's keyword arguments
    label: LabelConfig = LabelConfig()
    cv: CVConfig = CVConfig()
    target: TargetMapping = TargetMapping.EXPECTED
    min_confidence: float = Field(default=0.0, ge=0, le=1)


Learner = Annotated[RLLearner | SupervisedLearner, Field(discriminator="type")]


class ModelConfig(FrozenModel):
    kind: Literal["model"] = "model"
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")  # registered name
    instrument: str = Field(min_length=1)
    timeframe: Timeframe
    side: Literal["mid", "bid", "ask"] = "mid"
    features: str = "configs/features/default.yaml"  # a `kind: features` config
    columns: tuple[str, ...] | None = None  # feature columns in order; None = all of the spec
    window: int = Field(default=30, ge=1)  # bars of features in one observation
    splits: Splits
    learner: Learner
    env: EnvConfig = EnvConfig()
    seed: int = 0

    @model_validator(mode="after")
    def _check(self) -> ModelConfig:
        if isinstance(self.learner, RLLearner):
            algo = self.learner.algo
            kind = self.env.actions.kind
            if algo in DISCRETE_ONLY and kind is not ActionKind.DISCRETE:
                raise ValueError(f"learner.algo {algo.value} needs env.actions.kind discrete")
            if algo in CONTINUOUS_ONLY and kind is not ActionKind.CONTINUOUS:
                raise ValueError(f"learner.algo {algo.value} needs env.actions.kind continuous")
        if self.columns is not None and len(set(self.columns)) != len(self.columns):
            raise ValueError("columns lists a feature twice")
        return self
