"""The trading environment: a gymnasium ``Env`` over one split of a ``ModelData``.

It keeps the backtests' books, so a model scores the same here as in Backtrader: the action
decided on row t's close becomes a target position, the difference to the current units fills
at row t+1's open (``next_open``) or close (``next_close``) at ``CostModel.price`` with
``CostModel.commission``; the position follows ``PositionBook`` (Backtrader's average-price
rule); equity is ``cash + units * close`` at row t+1's close. A change smaller than
``1e-9 * max(1, max_units)`` units is not traded (``strategies/model_target.py``'s rule).
The instrument's terms are the security master's (``ModelData``): a fixed spread is in its
pips, and every order is rounded toward zero to its unit precision, one that rounds to
nothing not filled (the backtest broker's and the live path's rule; as in the backtests'
model strategy, the decision to change still restarts the ``min_hold_bars`` count).

Everything is precomputed in ``__init__`` (features scaled over all rows, so a window at a
split's start looks back into earlier rows; prices as Python floats), so ``step`` does scalar
arithmetic in one interpreted function (the cost model's ``price`` and ``commission``,
``PositionBook.update``, ``next_bars_held``, ``position_state`` and the pnl reward written
inline, the same arithmetic in the same order: the tests hold them equal). Observations come
from blocks of ``OBS_BLOCK`` rows allocated at a time with their feature windows already
copied in (one vectorised copy a block), so a step only takes the next row of its block and
writes the 3 position-state values. Each observation is its own row, never written again by
the environment, so a caller may keep it (a row keeps its block's memory alive, ~116 kB at 15
columns and window 30).

Rewards (``Reward``): ``pnl`` is the change in equity over the initial cash times ``scale``;
``drawdown_penalty`` subtracts ``penalty * scale`` times the increase in drawdown (from the
episode's equity peak); ``differential_sharpe`` is Moody & Saffell's differential Sharpe
ratio of the bar's simple return (decay ``sharpe_eta``; 0 while the return variance is below
1e-12, clipped to +-``DSR_CLIP``; ``scale`` does not apply: it is already O(1)).

Masking: after a trade, a position change is refused until the position has been held
``min_hold_bars`` bars (0 and 1: never refused); a refused action keeps the position and is
counted in ``info["invalid_actions"]``; ``action_masks()`` says which actions are valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import numpy.typing as npt

from tradewind.backtest.costs import cost_model
from tradewind.config.backtest import Costs, FillTiming
from tradewind.config.models import ActionKind, Actions, EnvConfig, RewardKind
from tradewind.domain.errors import Unsupported
from tradewind.domain.instruments import round_units
from tradewind.policy import (
    ModelContract,
    ModelData,
    ObservationBuilder,
    action_mask,
    position_state,
)

Mode = Literal["train", "eval"]
OBS_BLOCK = 64  # observations allocated (and their windows copied) at a time
F32 = npt.NDArray[np.float32]
DSR_CLIP = 10.0  # the differential Sharpe explodes while the return variance is near zero
_DSR_MIN_VAR = 1e-12  # below this variance (a per-bar std of 1e-6) the ratio is taken as 0
_EPS = 1e-9  # relative to max(1, max_units): a smaller change is "at target" (no trade)


def discrete_targets(actions: Actions, allow_short: bool) -> tuple[float, ...]:
    """Targets of a discrete action space: flat, then long ``sizes``, then short ``sizes``."""
    longs = tuple(float(s) for s in actions.sizes)
    shorts = tuple(-s for s in longs) if allow_short else ()
    return (0.0, *longs, *shorts)


def check_env_costs(costs: Costs, pip_location: int) -> None:
    """Refuse the per-fill cost variants and the financing the environment cannot reproduce."""
    if costs.financing:
        raise Unsupported(
            "the trading environment does not model financing: set financing_long_rate and "
            "financing_short_rate to 0 in env.costs (backtests of the model can charge it)"
        )
    try:
        cost_model(costs, pip_location)
    except Unsupported as exc:
        raise Unsupported(
            f"the trading environment uses fixed costs only: {exc} (in env.costs)"
        ) from None


class TradingEnv(gym.Env[F32, Any]):
    """One instrument, one split; see the module docstring for the accounting.

    ``mode="train"``: each episode starts at a random row (the ``np_random`` of the seed) and
    lasts ``episode_bars`` steps or up to the split's end; ``mode="eval"``: one episode over
    the whole split from its first row with a full window. ``reset(options={"start": row})``
    starts at a given data row. ``seed`` seeds the first ``reset`` without a seed.
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 (gymnasium's attribute)

    def __init__(
        self,
        data: ModelData,
        contract: ModelContract,
        cfg: EnvConfig,
        split: str = "train",
        mode: Mode = "train",
        seed: int | None = None,
    ) -> None:
        super().__init__()
        check_env_costs(cfg.costs, data.pip_location)
        _check_contract(data, contract, cfg)
        if split not in data.rows:
            raise ValueError(f"unknown split {split!r}; expected one of {', '.join(data.rows)}")
        if mode not in ("train", "eval"):
            raise ValueError(f"mode must be 'train' or 'eval', got {mode!r}")
        self.data, self.contract, self.cfg, self.split, self.mode = data, contract, cfg, split, mode
        self._seed, self._seeded = seed, False
        self.builder = ObservationBuilder(contract)
        self._scaled = np.ascontiguousarray(self.builder.scale(data.values))
        self._first, self._stop = _split_bounds(self.builder, self._scaled, data, split)
        bars = data.bars
        fill = bars.open if cfg.fill is FillTiming.NEXT_OPEN else bars.close
        self._fill: list[float] = np.asarray(fill, dtype=np.float64).tolist()
        self._close: list[float] = np.asarray(bars.close, dtype=np.float64).tolist()
        _check_leverage(cfg, float(np.max(bars.high)))
        self._costs = cost_model(cfg.costs, data.pip_location)
        self._precision = data.units_precision
        self._max_units = float(contract.max_units)
        self._eps = _EPS * max(1.0, self._max_units)
        self._time_scale = float(contract.time_scale)
        self._cash0 = float(cfg.cash)
        self._reward_kind = cfg.reward.kind
        self._scale = float(cfg.reward.scale)
        self._penalty = float(cfg.reward.drawdown_penalty)
        self._eta = float(cfg.reward.sharpe_eta)
        self._max_dd = float(cfg.max_drawdown)
        self._min_hold = int(cfg.min_hold_bars)
        self._state = contract.position_state
        self._discrete = contract.actions.kind == "discrete"
        self._lo = -1.0 if cfg.allow_short else 0.0
        self._targets = tuple(float(x) for x in contract.actions.targets)
        if self._discrete:
            self.action_space: gym.Space[Any] = gym.spaces.Discrete(len(self._targets))
        else:
            self.action_space = gym.spaces.Box(self._lo, 1.0, (1,), np.float32)
        self._dim, self._n_window = self.builder.obs_dim, self.builder.n_window
        self._n_features = self.builder.n_features
        flat = self._scaled.reshape(-1)  # row-major: row t's window is one slice
        # row t's window is _windows[t - window + 1] (a read-only view, no copy)
        self._windows = np.lib.stride_tricks.sliding_window_view(flat, self._n_window)[
            :: self._n_features
        ]
        self._rows = len(self._scaled)
        self._half = self._costs.half_spread
        self._slip = self._costs.slip_frac
        self._per_unit = self._costs.per_unit
        self._bps = self._costs.bps_frac
        self._pnl_reward = self._reward_kind is RewardKind.PNL
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (self._dim,), np.float32)
        self._reset_books(self._first, self._stop - 1 - self._first)

    # --- the episode ------------------------------------------------------------------------

    @property
    def first_row(self) -> int:
        """The split's first row with a full observation window (eval episodes start here)."""
        return self._first

    @property
    def stop_row(self) -> int:
        """One past the split's last row."""
        return self._stop

    @property
    def row(self) -> int:
        """The data row of the current decision."""
        return self._t

    def _reset_books(self, start: int, steps: int) -> None:
        self._t, self._end = start, start + steps
        self._cash = self._equity = self._peak = self._cash0
        self._units, self._price = 0.0, 0.0  # the position book (``PositionBook``'s rule)
        self._prev_units, self._bars_held = 0.0, 0
        self._held = self._min_hold  # decisions since the last trade; no mask at the start
        self._fees, self._dd, self._invalid = 0.0, 0.0, 0
        self._target = 0.0
        self._dsr_a = self._dsr_b = 0.0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[F32, dict[str, Any]]:
        if seed is None and not self._seeded:
            seed = self._seed
        super().reset(seed=seed)
        self._seeded = True
        first, last = self._first, self._stop - 1
        if options and "start" in options:
            start = int(options["start"])
            if not first <= start < last:
                raise ValueError(f"start row {start} is outside [{first}, {last}) of {self.split}")
        elif self.mode == "train" and last - first > self.cfg.episode_bars:
            start = int(self.np_random.integers(first, last - self.cfg.episode_bars + 1))
        else:
            start = first
        steps = last - start if self.mode == "eval" else min(self.cfg.episode_bars, last - start)
        self._reset_books(start, steps)
        return self._observe(start), self._info()

    def step(self, action: Any) -> tuple[F32, float, bool, bool, dict[str, Any]]:
        if self._discrete:
            try:
                return self.step_target(self._targets[action])
            except TypeError:  # not an index (an array of one action, say)
                return self.step_target(self._targets[int(action)])
        return self.step_target(float(action[0]))

    def step_target(  # noqa: C901  one function on purpose: a call costs ~0.1 us a step
        self, target: float
    ) -> tuple[F32, float, bool, bool, dict[str, Any]]:
        """``step`` with a target position in [-1, 1] instead of an action (the rollout's way
        in: a policy's targets, whatever its action space). Clipped to the action space's
        range; NaN is flat (as in the backtests' model strategy)."""
        if target != target:  # NaN
            target = 0.0
        target = 1.0 if target > 1.0 else (self._lo if target < self._lo else target)
        units = self._units
        delta = target * self._max_units - units
        trade = delta > self._eps or -delta > self._eps
        if trade and self._held < self._min_hold:
            self._invalid += 1
            trade = False
            target = self._target
        n = self._t + 1
        new = units
        if trade:
            if self._precision is not None:
                delta = round_units(delta, self._precision)
            if delta:
                raw = self._fill[n]  # CostModel.price, .commission, PositionBook.update:
                if delta > 0:
                    px = raw + raw * self._slip + self._half
                    size = delta
                else:
                    px = raw - raw * self._slip - self._half
                    size = -delta
                fee = size * self._per_unit + size * px * self._bps
                self._cash -= delta * px + fee
                self._fees += fee
                new = units + delta
                self._units = new
                if not new:
                    self._price = 0.0
                elif not units:
                    self._price = px
                elif units > 0:
                    if delta > 0:
                        self._price = (self._price * units + delta * px) / new
                    elif new < 0:
                        self._price = px
                elif delta < 0:
                    self._price = (self._price * units + delta * px) / new
                elif new > 0:
                    self._price = px
            self._held = 1
            self._target = target
        else:
            self._held += 1
        if not new:  # next_bars_held
            held = 0
        elif not units or (units > 0) != (new > 0):
            held = 1
        else:
            held = self._bars_held + 1
        self._bars_held = held
        prev = self._equity
        close = self._close[n]
        equity = self._cash + new * close
        self._equity = equity
        if equity > self._peak:
            self._peak = equity
        dd = 1.0 - equity / self._peak
        if self._pnl_reward:
            reward = (equity - prev) / self._cash0 * self._scale
        else:
            reward = self._reward(prev, equity, dd)
        self._dd, self._t = dd, n
        terminated = dd >= self._max_dd
        truncated = not terminated and n >= self._end
        i = n - self._block_row
        if i >= self._block_len:
            self._new_block(n)
            i = 0
        obs = self._block[i]
        if self._state:  # position_state
            k = self._n_window
            max_units = self._max_units
            price = self._price
            obs[k] = new / max_units
            obs[k + 1] = new * (close - price) / (max_units * price) if new and price > 0 else 0.0
            h = held / self._time_scale
            obs[k + 2] = h if h < 1.0 else 1.0
        info = {
            "equity": equity,
            "units": new,
            "target": self._target,
            "fees": self._fees,
            "drawdown": dd,
            "row": n,
            "invalid_actions": self._invalid,
        }
        return obs, reward, terminated, truncated, info

    def _reward(self, prev: float, equity: float, dd: float) -> float:
        kind = self._reward_kind
        if kind is RewardKind.PNL:
            return (equity - prev) / self._cash0 * self._scale
        if kind is RewardKind.DRAWDOWN_PENALTY:
            rise = dd - self._dd if dd > self._dd else 0.0
            return ((equity - prev) / self._cash0 - self._penalty * rise) * self._scale
        r = equity / prev - 1.0  # differential Sharpe (Moody & Saffell 1998, eq. 4)
        a, b = self._dsr_a, self._dsr_b
        da, db = r - a, r * r - b
        var = b - a * a
        d = (b * da - 0.5 * a * db) / var**1.5 if var > _DSR_MIN_VAR else 0.0
        self._dsr_a, self._dsr_b = a + self._eta * da, b + self._eta * db
        return DSR_CLIP if d > DSR_CLIP else (-DSR_CLIP if d < -DSR_CLIP else d)

    def _new_block(self, row: int) -> None:
        """Observations for rows ``row``.. (to the episode's last, at most ``OBS_BLOCK``; past
        it, to the data's end), their windows copied in; the state columns are left to write."""
        last = self._end if row <= self._end else self._rows - 1
        k = min(OBS_BLOCK, last - row + 1)
        block = np.empty((k, self._dim), dtype=np.float32)
        lo = row - self.builder.window + 1
        block[:, : self._n_window] = self._windows[lo : lo + k]
        self._block, self._block_row, self._block_len = block, row, k

    def _observe(self, t: int) -> F32:
        """``ObservationBuilder.observe(scaled, t, position_state(...))`` for the episode's
        first row (``step`` writes the later ones itself, the same way): a new block from
        ``t``; the tests hold it equal to the builder's, value for value."""
        self._new_block(t)
        obs = self._block[0]
        if self._state:
            obs[self._n_window :] = position_state(
                self._units,
                self._price,
                self._close[t],
                self._bars_held,
                self._max_units,
                self._time_scale,
            )
        return obs

    def _info(self) -> dict[str, Any]:
        return {
            "equity": self._equity,
            "units": self._units,
            "target": self._target,
            "fees": self._fees,
            "drawdown": self._dd,
            "row": self._t,
            "invalid_actions": self._invalid,
        }

    def action_masks(self) -> npt.NDArray[np.bool_]:
        """Which actions are valid now: all of them unless the position changed less than
        ``min_hold_bars`` bars ago; then only those that keep it. A continuous space gets one
        flag: whether the position may change."""
        return action_mask(
            self.contract.actions, self._units, self._max_units, self._held, self._min_hold
        )

    def observations(self) -> F32:
        """Observations of every row from ``first_row`` to ``stop_row - 1`` without position
        state (rows x obs_dim): the batched path for models that do not read their position."""
        if self._state:
            raise ValueError("observations() is for contracts without position state")
        w, rows = self.builder.window, np.arange(self._first, self._stop)
        windows = np.lib.stride_tricks.sliding_window_view(self._scaled, w, axis=0)
        out = windows[rows - w + 1]  # rows x features x window
        return np.ascontiguousarray(out.transpose(0, 2, 1).reshape(len(rows), -1))


def _check_contract(data: ModelData, contract: ModelContract, cfg: EnvConfig) -> None:
    contract.check(data.columns, data.feature_spec_fingerprint, model="the environment's model")
    want = "discrete" if cfg.actions.kind is ActionKind.DISCRETE else "continuous"
    if contract.actions.kind != want:
        raise ValueError(f"env.actions.kind is {want}, the contract's {contract.actions.kind}")
    if contract.max_units != cfg.max_units:
        raise ValueError(f"env.max_units {cfg.max_units} != contract's {contract.max_units}")


def _split_bounds(
    builder: ObservationBuilder, scaled: F32, data: ModelData, split: str
) -> tuple[int, int]:
    """The split's first row with a full window and its stop; every row from there on must
    have one (features are NaN in warm-up only), and at least one step must fit."""
    sl, w = data.rows[split], builder.window
    bad = np.concatenate([[0], np.cumsum(np.isnan(scaled[: sl.stop]).any(axis=1))])
    rows = np.arange(max(sl.start, w - 1), sl.stop)
    full = bad[rows + 1] - bad[rows + 1 - w] == 0  # rows t-w+1..t all complete
    if full.sum() < 2:
        raise ValueError(
            f"split {split} (rows {sl.start}..{sl.stop - 1}) has fewer than 2 rows with a "
            f"full window of {w} complete feature rows"
        )
    first = int(rows[np.argmax(full)])
    if not full[first - rows[0] :].all():
        gap = int(rows[first - rows[0] + int(np.argmin(full[first - rows[0] :]))])
        raise ValueError(f"split {split} has a feature gap (NaN) in the window of row {gap}")
    return first, sl.stop


def _check_leverage(cfg: EnvConfig, max_price: float) -> None:
    """The backtests' broker is stock-like without leverage: it rejects an order it cannot
    pay for, which the environment would not. Refuse sizes that could need leverage."""
    if cfg.max_units * max_price >= cfg.cash:
        raise ValueError(
            f"env.max_units {cfg.max_units} at prices up to {max_price} costs more than the cash "
            f"{cfg.cash}; the backtest broker has no leverage and would reject such orders"
        )


@dataclass(frozen=True)
class EnvFactory:
    """A picklable ``() -> TradingEnv`` (for ``SubprocVecEnv`` and ``SyncVectorEnv``)."""

    data: ModelData
    contract: ModelContract
    cfg: EnvConfig
    split: str = "train"
    mode: Mode = "train"
    seed: int | None = None

    def __call__(self) -> TradingEnv:
        return TradingEnv(self.data, self.contract, self.cfg, self.split, self.mode, self.seed)


def make_env(
    data: ModelData,
    contract: ModelContract,
    cfg: EnvConfig,
    split: str = "train",
    mode: Mode = "train",
    seed: int | None = None,
    rank: int = 0,
) -> EnvFactory:
    """A factory for the ``rank``-th of several environments: seeded ``seed + rank``."""
    return EnvFactory(data, contract, cfg, split, mode, None if seed is None else seed + rank)
