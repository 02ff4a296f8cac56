"""Recipe ``window_conv``: a 1-D convolution over the observation's feature window.

An observation is ``window`` rows of ``n_features`` scaled features (oldest first, row by
row), then the position state. ``WindowConv`` reshapes the window part to
(features x time), runs two ``Conv1d`` layers along time (the features are the
channels, so the same filter reads every time step), flattens the result (keeping where in
the window a pattern sits: recent bars matter more) and concatenates the position state
before a linear layer. The trainer fills ``window`` and ``n_features`` from the contract.
"""

from __future__ import annotations

import gymnasium as gym
import torch
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from tradewind.rl.recipes import Recipe


class WindowConv(BaseFeaturesExtractor):
    def __init__(
        self,
        observation_space: gym.spaces.Box,
        window: int,
        n_features: int,
        channels: int = 16,
        kernel_size: int = 5,
        features_dim: int = 64,
    ) -> None:
        super().__init__(observation_space, features_dim)
        self.window, self.n_features = window, n_features
        self.n_window = window * n_features
        self.n_state = int(observation_space.shape[0]) - self.n_window
        if self.n_state < 0:
            raise ValueError(
                f"observations have {observation_space.shape[0]} values, fewer than "
                f"window {window} x {n_features} features"
            )
        k1 = min(kernel_size, window)
        k2 = min(3, window - k1 + 1)
        self.conv = nn.Sequential(
            nn.Conv1d(n_features, channels, k1),
            nn.ReLU(),
            nn.Conv1d(channels, channels, k2),
            nn.ReLU(),
            nn.Flatten(),
        )
        conv_out = channels * (window - k1 + 1 - k2 + 1)
        self.head = nn.Sequential(nn.Linear(conv_out + self.n_state, features_dim), nn.ReLU())

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        x = obs[:, : self.n_window].reshape(-1, self.window, self.n_features).transpose(1, 2)
        z = self.conv(x)
        return self.head(torch.cat([z, obs[:, self.n_window :]], dim=1))


RECIPE = Recipe(
    policy="MlpPolicy",
    policy_kwargs={
        "features_extractor_class": WindowConv,
        "features_extractor_kwargs": {"channels": 16, "kernel_size": 5, "features_dim": 64},
        "net_arch": [64],
    },
    hyperparams={
        "ppo": {"learning_rate": 3e-4, "n_steps": 512, "batch_size": 128, "n_epochs": 5},
        "a2c": {"learning_rate": 7e-4, "n_steps": 16},
        "dqn": {"learning_rate": 1e-4, "learning_starts": 1_000, "train_freq": 4},
        "sac": {"learning_rate": 3e-4, "learning_starts": 1_000, "batch_size": 128},
        "td3": {"learning_rate": 3e-4, "learning_starts": 1_000, "action_noise": 0.1},
    },
)
