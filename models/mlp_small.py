"""Recipe ``mlp_small``: SB3's ``MlpPolicy`` with two hidden layers of 64 (tanh), and
per-algorithm defaults sized for a few tens of thousands of timesteps on one CPU core.

    learner: {type: rl, algo: ppo, recipe: mlp_small, hyperparams: {learning_rate: 1.0e-4}}
"""

from __future__ import annotations

from torch import nn

from tradewind.rl.recipes import Recipe

_OFF_POLICY = {
    "learning_rate": 3e-4,
    "buffer_size": 50_000,
    "learning_starts": 1_000,
    "batch_size": 128,
    "gamma": 0.99,
    "train_freq": 1,
    "gradient_steps": 1,
}

RECIPE = Recipe(
    policy="MlpPolicy",
    policy_kwargs={"net_arch": [64, 64], "activation_fn": nn.Tanh},
    hyperparams={
        "ppo": {
            "learning_rate": 3e-4,
            "n_steps": 512,
            "batch_size": 128,
            "n_epochs": 5,
            "gamma": 0.99,
            "gae_lambda": 0.95,
            "ent_coef": 0.01,
            "clip_range": 0.2,
        },
        "a2c": {"learning_rate": 7e-4, "n_steps": 16, "gamma": 0.99, "ent_coef": 0.01},
        "dqn": {
            "learning_rate": 1e-4,
            "buffer_size": 50_000,
            "learning_starts": 1_000,
            "batch_size": 64,
            "gamma": 0.99,
            "train_freq": 4,
            "target_update_interval": 1_000,
            "exploration_fraction": 0.3,
            "exploration_final_eps": 0.05,
        },
        "sac": {**_OFF_POLICY, "ent_coef": "auto"},
        "td3": {**_OFF_POLICY, "action_noise": 0.1},
    },
)
