"""What a backtest produces, engine-neutral: fills, trades, an equity curve and metrics."""

from __future__ import annotations

from collections.abc import Sequence
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
    # what the fill paid in currency, besides commission, against its raw price (open, close,
    # stop or limit level): half the spread and the slippage; NaN when not recorded
    spread_cost: float = 0.0
    slippage_cost: float = 0.0


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


EXIT_END_OF_DATA = "end_of_data"


@dataclass(frozen=True)
class Trade:
    """A round trip from flat to flat (or to a reversal), or still open at the end
    (``closed=False``, marked to the last close). ``backtest.trades`` defines it."""

    instrument: str
    strategy: str
    entry_ts_us: int
    exit_ts_us: int | None
    units: float  # the largest position held, signed: + long, - short
    entry_price: float  # average entry
    exit_price: float | None  # average of the reducing fills; None if open at the end
    pnl: float  # net of commission; an open trade marked to the last close
    commission: float
    bars_held: int
    mae: float  # maximum adverse excursion, in price units against the entry (<= 0)
    mfe: float  # maximum favourable excursion, in price units (>= 0)
    closed: bool = True
    exit_reason: str = ""  # signal | stop | limit | end_of_data ("" when not recorded)

    def mae_pips(self, pip_location: int) -> float:
        """MAE in pips of an instrument whose pip is ``10 ** pip_location`` (EUR/USD: -4)."""
        return self.mae / 10.0**pip_location

    def mfe_pips(self, pip_location: int) -> float:
        return self.mfe / 10.0**pip_location


@dataclass
class BacktestResult:
    """One strategy on one or more instruments over one period."""

    strategy: str
    params: dict[str, Any]
    instruments: tuple[str, ...]
    ts_us: npt.NDArray[np.int64]  # the equity curve's bar times
    equity: npt.NDArray[np.float64]  # account value at each bar's close
    exposure: npt.NDArray[np.float64]  # gross position value / equity at each bar's close
    # a list, or columns that build the objects when read (``backtest.columns``)
    fills: Sequence[Fill] = field(default_factory=list)
    trades: Sequence[Trade] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    orders: list[Order] = field(default_factory=list)
    # financing (overnight rollover) paid over the run, in account currency (< 0: received);
    # in the equity curve, not in any trade's P&L. None: not modelled (runs stored before)
    financing: float | None = None
