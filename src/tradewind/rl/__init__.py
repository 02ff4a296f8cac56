"""Reinforcement learning: the trading environment and stable-baselines3 training."""
