"""What a backtest produces, engine-neutral: fills, trades, an equity curve and metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Fill:
    ts_us: int  # UTC epoch microseconds of the bar the fill happened on
    instrument: str
    strategy: str
    units: float  # signed: + buy, - sell
    price: float  # the executed price, costs of spread and slippage included
    commission: float
    order_ref: int


@dataclass(frozen=True)
class Order:
    """An order as the strategy placed it and how it ended (filled, cancelled, rejected...)."""

    ref: int
    instrument: str
    strategy: str
    kind: str  # market | close | limit | stop | stop_limit
    units: float  # signed as requested: + buy, - sell
    limit_price: float | None
    stop_price: float | None
    created_ts_us: int  # the bar it was decided on
    done_ts_us: int | None  # the bar it ended on; None if still working at the end
    status: str  # completed | canceled | expired | margin | rejected | working
    filled_units: float


@dataclass(frozen=True)
class Trade:
    """A round trip: a position opened and closed (or still open at the end, closed=False)."""

    instrument: str
    strategy: str
    entry_ts_us: int
    exit_ts_us: int | None
    units: float  # signed: + long, - short
    entry_price: float
    exit_price: float | None
    pnl: float  # net of commission
    commission: float
    bars_held: int
    mae: float  # maximum adverse excursion, in price units against the entry (<= 0)
    mfe: float  # maximum favourable excursion, in price units (>= 0)
    closed: bool = True


@dataclass
class BacktestResult:
    """One strategy on one or more instruments over one period."""

    strategy: str
    params: dict[str, Any]
    instruments: tuple[str, ...]
    ts_us: npt.NDArray[np.int64]  # the equity curve's bar times
    equity: npt.NDArray[np.float64]  # account value at each bar's close
    exposure: npt.NDArray[np.float64]  # gross position value / equity at each bar's close
    fills: list[Fill] = field(default_factory=list)
    trades: list[Trade] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    orders: list[Order] = field(default_factory=list)
