"""Reinforcement learning: the trading environment and stable-baselines3 training.

``TradingEnv`` keeps the backtests' books (fills, costs, average price, equity) so a policy
scores the same in training as in Backtrader; ``train_rl`` trains an SB3 agent from a
``ModelConfig`` and hands back a ``TrainedModel`` (flavor ``sb3``, read back by
``load_sb3_policy``); ``rollout`` evaluates any ``Policy`` over a split.
"""

from tradewind.rl.callbacks import MetricsCallback, ValidationCallback
from tradewind.rl.contract import build_contract, with_normaliser
from tradewind.rl.env import EnvFactory, TradingEnv, discrete_targets, make_env
from tradewind.rl.policy import SB3Policy, load_sb3_policy
from tradewind.rl.recipes import Recipe, load_recipe, resolve_hyperparams
from tradewind.rl.rollout import Rollout, rollout, rollout_metrics
from tradewind.rl.train import train_rl

__all__ = [
    "EnvFactory",
    "MetricsCallback",
    "Recipe",
    "Rollout",
    "SB3Policy",
    "TradingEnv",
    "ValidationCallback",
    "build_contract",
    "discrete_targets",
    "load_recipe",
    "load_sb3_policy",
    "make_env",
    "resolve_hyperparams",
    "rollout",
    "rollout_metrics",
    "train_rl",
    "with_normaliser",
]
