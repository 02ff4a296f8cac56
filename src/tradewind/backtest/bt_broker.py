"""Backtrader broker, commission and sizers that apply our cost model and sizing.

* Costs: ``TradewindBroker._execute`` moves every real fill's price by the shared
  ``CostModel`` (half spread + slippage against the trader); Backtrader's own slippage stays
  off, so nothing is capped to the bar's high/low. Commission is ``TradewindCommission``.
* Fill timing: market orders fill at the next bar's open (Backtrader's default, no
  cheat-on-open/close). With ``next_close`` the broker turns market orders into ``Close``
  orders, which here fill at the close of the first bar after the order's bar (Backtrader's
  own ``Close`` waits for the end of the session, wrong for intraday bars).
* Stop orders keep Backtrader's matching: a gap through the stop fills at the open.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import backtrader as bt

from tradewind.backtest.costs import CostModel
from tradewind.config.backtest import Sizing, SizingMethod


class TradewindBroker(bt.brokers.BackBroker):
    def __init__(self, costs: Mapping[str, CostModel], next_close: bool) -> None:
        super().__init__()
        self._costs = dict(costs)
        self._next_close = next_close
        self.set_coc(False)
        self.set_coo(False)

    def submit(self, order: Any, check: bool = True) -> Any:
        if self._next_close and order.exectype == bt.Order.Market:
            order.exectype = bt.Order.Close
        return super().submit(order, check=check)

    def _try_exec_close(self, order: Any, pclose: float) -> None:
        if order.data.datetime[0] > order.created.dt:  # first bar after the decision
            self._execute(order, ago=0, price=pclose)

    def _execute(self, order: Any, ago: Any = None, price: Any = None, **kwargs: Any) -> Any:
        if ago is not None and price is not None:
            price = self._costs[order.data._name].price(price, order.isbuy())
        return super()._execute(order, ago=ago, price=price, **kwargs)


class TradewindCommission(bt.CommInfoBase):
    """Stock-like (no margin, leverage 1): ``|size| * per_unit + |size| * price * bps``."""

    params = (
        ("stocklike", True),
        ("commtype", bt.CommInfoBase.COMM_FIXED),
        ("leverage", 1.0),
        ("model", None),
    )

    def _getcommission(self, size: float, price: float, pseudoexec: bool) -> float:
        model: CostModel = self.p.model
        return model.commission(size, price)


class TradewindSizer(bt.Sizer):
    """FIXED_UNITS, FIXED_NOTIONAL (at the decision bar's close), PERCENT_EQUITY (of value)."""

    params = (("sizing", None),)

    def _getsizing(self, comminfo: Any, cash: float, data: Any, isbuy: bool) -> float:
        s: Sizing = self.p.sizing
        if s.method is SizingMethod.FIXED_UNITS:
            return s.value
        if s.method is SizingMethod.FIXED_NOTIONAL:
            return s.value / data.close[0]
        if s.method is SizingMethod.PERCENT_EQUITY:
            return s.value * self.broker.getvalue() / data.close[0]
        raise NotImplementedError(f"sizing {s.method.value!r} is not supported by the engine")


def check_sizing(sizing: Sizing) -> None:
    if sizing.method is SizingMethod.VOL_TARGET:
        raise NotImplementedError(
            "sizing 'vol_target' is not supported yet; use fixed_units, fixed_notional or "
            "percent_equity"
        )
