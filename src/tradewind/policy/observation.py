"""Observations from feature columns and position state, built one way for every caller.

An observation is the last ``window`` rows of the model's feature columns (scaled by the
contract's training-split scaler, oldest row first, flattened row by row), then, for models
with position state, ``(position, unrealised_pnl, time_in_position)``. The environment, the
backtest's model strategy and the live trader all call ``ObservationBuilder``, so the same
bars give the same observations, bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from tradewind.policy.contract import ModelContract

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


class ObservationBuilder:
    def __init__(self, contract: ModelContract) -> None:
        self.contract = contract
        self.window = contract.window
        self.n_features = len(contract.feature_columns)
        self.n_window = self.window * self.n_features
        self.obs_dim = contract.obs_dim
        self._mean = np.asarray(contract.scaler.mean, dtype=np.float64)
        self._std = np.asarray(contract.scaler.std, dtype=np.float64)
        norm = contract.obs_normaliser
        self._norm = norm is not None
        if norm is not None:
            self._obs_mean = np.asarray(norm.mean, dtype=np.float64)
            self._obs_scale = np.sqrt(np.asarray(norm.var, dtype=np.float64) + norm.epsilon)
            self._clip = norm.clip

    def matrix(self, features: Mapping[str, npt.ArrayLike]) -> F64:
        """The contract's columns of ``features`` (name -> per-bar array), in contract order,
        as float64 rows x columns (unscaled). A missing column is a ``KeyError`` naming it."""
        missing = [c for c in self.contract.feature_columns if c not in features]
        if missing:
            raise KeyError(f"features missing for the model: {', '.join(missing)}")
        cols = [np.asarray(features[c], dtype=np.float64) for c in self.contract.feature_columns]
        return np.column_stack(cols) if cols else np.empty((0, 0))

    def scale(self, values: npt.ArrayLike) -> F32:
        """Rows x columns of raw feature values -> scaled float32 (NaN stays NaN)."""
        x = np.asarray(values, dtype=np.float64)
        return ((x - self._mean) / self._std).astype(np.float32)

    def first_valid(self, scaled: F32) -> int:
        """The first row t whose window (rows t-window+1..t) has no NaN; len(scaled) if none."""
        ok = np.asarray(~np.isnan(scaled).any(axis=1))
        run = 0
        for t, good in enumerate(ok):
            run = run + 1 if good else 0
            if run >= self.window:
                return t
        return len(scaled)

    def observe(
        self,
        scaled: F32,
        t: int,
        state: tuple[float, float, float] | None = None,
        out: F32 | None = None,
    ) -> F32:
        """The observation at row ``t`` of ``scaled`` (``t >= window - 1``)."""
        if t < self.window - 1:
            raise IndexError(f"row {t} has fewer than window={self.window} rows behind it")
        obs = np.empty(self.obs_dim, dtype=np.float32) if out is None else out
        obs[: self.n_window] = scaled[t - self.window + 1 : t + 1].reshape(-1)
        if self.contract.position_state:
            if state is None:
                raise ValueError("this model's observations need the position state")
            obs[self.n_window :] = state
        return obs

    def observe_rows(self, rows: F32, state: tuple[float, float, float] | None = None) -> F32:
        """The observation from exactly ``window`` scaled rows (the live and backtest path)."""
        return self.observe(rows, self.window - 1, state)

    def normalise(self, obs: npt.ArrayLike) -> F64:
        """Apply the VecNormalize statistics saved with the model (identity without them)."""
        x = np.asarray(obs, dtype=np.float64)
        if not self._norm:
            return x
        y = (x - self._obs_mean) / self._obs_scale
        # np.clip's values (NaN stays NaN), without its Python-level dispatch: a live bar
        np.maximum(y, -self._clip, out=y)
        return np.minimum(y, self._clip, out=y)
