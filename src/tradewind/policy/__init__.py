"""The model core: contracts, observations and position state shared by the environment, the
backtests and the live trader. Pure numpy; imports no learner (no torch, SB3, sklearn, MLflow)."""

from tradewind.policy.base import Policy, action_to_target, masked_targets, uses_masks
from tradewind.policy.contract import (
    POSITION_STATE,
    ActionMap,
    ContractMismatch,
    FeatureScaler,
    ModelContract,
    ObsNormaliser,
    OtherMarket,
)
from tradewind.policy.data import SPLIT_NAMES, ModelData, split_rows
from tradewind.policy.observation import ObservationBuilder
from tradewind.policy.position import (
    PositionBook,
    action_mask,
    next_bars_held,
    position_state,
)
from tradewind.policy.trained import Flavor, MetricSink, SavablePolicy, TrainedModel

__all__ = [
    "POSITION_STATE",
    "SPLIT_NAMES",
    "ActionMap",
    "ContractMismatch",
    "FeatureScaler",
    "Flavor",
    "MetricSink",
    "ModelContract",
    "ModelData",
    "ObsNormaliser",
    "ObservationBuilder",
    "OtherMarket",
    "Policy",
    "PositionBook",
    "SavablePolicy",
    "TrainedModel",
    "action_mask",
    "action_to_target",
    "masked_targets",
    "next_bars_held",
    "position_state",
    "split_rows",
    "uses_masks",
]
