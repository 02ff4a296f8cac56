"""``BatchTradingEnv``: N trading environments in one stable-baselines3 ``VecEnv``.

A ``DummyVecEnv`` of N ``TradingEnv`` calls N Python ``step``s per batch; this steps all N in
one numba call (``batch_kernel.step_batch``) over shared arrays, with ``TradingEnv``'s
accounting, rewards, masking and ends (held equal step by step by the tests). Use it when
environment steps dominate (large ``n_envs``, off-policy algorithms with cheap updates).
Episodes auto-reset the SB3 way: a finished environment's last observation goes to
``infos[i]["terminal_observation"]`` and its slot holds the first observation of the next
episode. Wrap it in ``VecMonitor`` for episode statistics and ``VecNormalize`` as usual.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices

from tradewind.backtest.costs import cost_model
from tradewind.backtest.units import precision_code
from tradewind.config.models import EnvConfig, RewardKind
from tradewind.policy import ModelContract, ModelData, ObservationBuilder
from tradewind.rl import batch_kernel as K
from tradewind.rl.env import (
    Mode,
    _check_contract,
    _check_leverage,
    _split_bounds,
    check_env_costs,
)

_REWARD = {
    RewardKind.PNL: K.REWARD_PNL,
    RewardKind.DRAWDOWN_PENALTY: K.REWARD_DRAWDOWN,
    RewardKind.DIFFERENTIAL_SHARPE: K.REWARD_DSR,
}


class BatchTradingEnv(VecEnv):
    def __init__(
        self,
        data: ModelData,
        contract: ModelContract,
        cfg: EnvConfig,
        n_envs: int,
        split: str = "train",
        mode: Mode = "train",
        seed: int | None = None,
    ) -> None:
        check_env_costs(cfg.costs, data.pip_location)
        _check_contract(data, contract, cfg)
        builder = ObservationBuilder(contract)
        self._scaled = np.ascontiguousarray(builder.scale(data.values))
        self._first, self._stop = _split_bounds(builder, self._scaled, data, split)
        bars = data.bars
        _check_leverage(cfg, float(np.max(bars.high)))
        fill = bars.open if cfg.fill.value == "next_open" else bars.close
        self._fill = np.ascontiguousarray(fill, dtype=np.float64)
        self._close = np.ascontiguousarray(bars.close, dtype=np.float64)
        costs = cost_model(cfg.costs, data.pip_location)
        self.cfg, self.mode, self.contract = cfg, mode, contract
        self._window = builder.window
        self._pos_state = contract.position_state
        self._discrete = contract.actions.kind == "discrete"
        self._table = np.asarray(contract.actions.targets, dtype=np.float64)
        lo = -1.0 if cfg.allow_short else 0.0
        self._params = np.array(
            [
                contract.max_units,
                costs.half_spread,
                costs.slip_frac,
                costs.per_unit,
                costs.bps_frac,
                cfg.cash,
                cfg.reward.scale,
                cfg.reward.drawdown_penalty,
                cfg.reward.sharpe_eta,
                cfg.max_drawdown,
                contract.time_scale,
                lo,
            ],
            dtype=np.float64,
        )
        self._flags = np.array(
            [
                self._window,
                _REWARD[cfg.reward.kind],
                int(self._pos_state),
                cfg.min_hold_bars,
                precision_code(data.units_precision),
            ],
            dtype=np.int64,
        )
        if self._discrete:
            action_space: gym.Space[Any] = gym.spaces.Discrete(len(self._table))
        else:
            action_space = gym.spaces.Box(lo, 1.0, (1,), np.float32)
        obs_space = gym.spaces.Box(-np.inf, np.inf, (builder.obs_dim,), np.float32)
        self.render_mode = None
        super().__init__(n_envs, obs_space, action_space)
        n = n_envs
        self._rows = np.zeros(n, dtype=np.int64)
        self._ends = np.zeros(n, dtype=np.int64)
        self._state = np.zeros((n, K.N_STATE), dtype=np.float64)
        self._held = np.zeros(n, dtype=np.int64)
        self._since = np.zeros(n, dtype=np.int64)
        self._invalid = np.zeros(n, dtype=np.int64)
        self._obs = np.zeros((n, builder.obs_dim), dtype=np.float32)
        self._rewards = np.zeros(n, dtype=np.float64)
        self._terminated = np.zeros(n, dtype=bool)
        self._truncated = np.zeros(n, dtype=bool)
        self._targets = np.zeros(n, dtype=np.float64)
        self._rng = np.random.default_rng(seed)
        self._actions: np.ndarray | None = None

    # --- episodes ---------------------------------------------------------------------------

    def _start(self, i: int, start: int | None = None) -> None:
        first, last = self._first, self._stop - 1
        episode = self.cfg.episode_bars
        if start is None:
            if self.mode == "train" and last - first > episode:
                start = int(self._rng.integers(first, last - episode + 1))
            else:
                start = first
        elif not first <= start < last:
            raise ValueError(f"start row {start} is outside [{first}, {last})")
        steps = last - start if self.mode == "eval" else min(episode, last - start)
        self._rows[i], self._ends[i] = start, start + steps
        s = self._state[i]
        s[:] = 0.0
        s[K.S_CASH] = s[K.S_EQUITY] = s[K.S_PEAK] = self.cfg.cash
        self._held[i], self._since[i], self._invalid[i] = 0, self.cfg.min_hold_bars, 0
        K.write_obs(
            self._obs,
            i,
            self._scaled,
            start,
            self._window,
            self._pos_state,
            0.0,
            0.0,
            0.0,
            0,
            1.0,
            1.0,
        )

    def reset(self, starts: Sequence[int] | None = None) -> np.ndarray:
        """Start every environment's episode (random rows in train mode, or ``starts``)."""
        if self._seeds[0] is not None:
            self._rng = np.random.default_rng(self._seeds[0])
        self._reset_seeds()
        for i in range(self.num_envs):
            self._start(i, None if starts is None else int(starts[i]))
        return self._obs.copy()

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_targets(self, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Step every environment toward ``targets`` (positions in [-1, 1]) with no auto-reset:
        observations, rewards, done flags (the parity and benchmark path)."""
        self._targets[:] = targets
        self._kernel()
        return self._obs, self._rewards, self._terminated | self._truncated

    def _kernel(self) -> None:
        K.step_batch(
            self._targets,
            self._fill,
            self._close,
            self._scaled,
            self._rows,
            self._ends,
            self._state,
            self._held,
            self._since,
            self._invalid,
            self._params,
            self._flags,
            self._obs,
            self._rewards,
            self._terminated,
            self._truncated,
        )

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        assert self._actions is not None, "step_async first"
        if self._discrete:
            K.targets_of(self._actions.reshape(-1).astype(np.int64), self._table, self._targets)
        else:
            self._targets[:] = self._actions.reshape(self.num_envs, -1)[:, 0]
        self._kernel()
        dones = self._terminated | self._truncated
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for i in np.flatnonzero(dones):
            infos[i] = self._final_info(int(i))
            self._start(int(i))
        return self._obs.copy(), self._rewards.astype(np.float32), dones, infos

    def _final_info(self, i: int) -> dict[str, Any]:
        s = self._state[i]
        return {
            "terminal_observation": self._obs[i].copy(),
            "TimeLimit.truncated": bool(self._truncated[i]),
            "equity": float(s[K.S_EQUITY]),
            "units": float(s[K.S_UNITS]),
            "fees": float(s[K.S_FEES]),
            "drawdown": float(s[K.S_DD]),
            "row": int(self._rows[i]),
            "invalid_actions": int(self._invalid[i]),
        }

    def action_masks(self) -> np.ndarray:
        """Per environment, which actions are valid now (``TradingEnv.action_masks``)."""
        free = self._since >= self.cfg.min_hold_bars
        if not self._discrete:
            return free[:, None]
        units = self._state[:, K.S_UNITS]
        eps = 1e-9 * max(1.0, float(self._params[0]))
        keep = np.abs(self._table[None, :] * self._params[0] - units[:, None]) <= eps
        return np.where(free[:, None], True, keep)

    # --- the rest of the VecEnv interface ---------------------------------------------------

    def close(self) -> None:
        return None

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return [getattr(self, attr_name) for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        setattr(self, attr_name, value)

    def env_method(
        self,
        method_name: str,
        *method_args: Any,
        indices: VecEnvIndices = None,
        **method_kwargs: Any,
    ) -> list[Any]:
        if method_name == "action_masks":
            masks = self.action_masks()
            return [masks[i] for i in self._get_indices(indices)]
        raise AttributeError(f"BatchTradingEnv has no per-environment method {method_name!r}")

    def env_is_wrapped(
        self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None
    ) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    def _get_indices(self, indices: VecEnvIndices) -> Iterable[int]:
        if indices is None:
            return range(self.num_envs)
        if isinstance(indices, int):
            return [indices]
        return indices
