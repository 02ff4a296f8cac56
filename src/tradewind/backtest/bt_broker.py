"""Backtrader broker, commission and sizers that apply our cost model and sizing.

* Costs: ``TradewindBroker._execute`` moves every real fill's price by the shared
  ``CostModel.fill_price`` (half spread + slippage against the trader); Backtrader's own
  slippage stays off, so nothing is capped to the bar's high/low. Commission is
  ``TradewindCommission``. Per-fill inputs come from the fill bar (the bar the order executes
  on, never the decision bar): its volume for ``volume_scaled`` slippage, and for
  ``spread: data`` its open spread (market fills at the open, stop/limit fills) or its close
  spread (``next_close`` fills).
* Units: order sizes (the sizer's too) are rounded toward zero to the instrument's unit
  precision (``units_precision``), as the live path rounds them.
* Sizing: ``TradewindSizer``; ``vol_target`` sizes ``value / vol * equity / close`` with
  ``vol`` the annualised sample std of the last ``vol_lookback`` log returns of the close, up
  to the decision bar's close (no look-ahead; too few bars, or a zero/NaN vol: no position).
* Fill timing: market orders fill at the next bar's open (Backtrader's default, no
  cheat-on-open/close). With ``next_close`` the broker turns market orders into ``Close``
  orders, which here fill at the close of the first bar after the order's bar (Backtrader's
  own ``Close`` waits for the end of the session, wrong for intraday bars).
* Stop orders keep Backtrader's matching: a gap through the stop fills at the open.
* Financing: ``FinancingBroker.next`` charges, before a bar's fills, the rollovers since the
  data's previous bar (``backtest.financing``; ``track_financing`` gives each data its year
  fractions) on the position held, at the previous bar's close; the cash goes down by what is
  paid (up by what is received), so the equity curve and every metric include it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import backtrader as bt
import numpy as np
import numpy.typing as npt

from tradewind.backtest.bt_feeds import SPREAD_CLOSE_LINE, SPREAD_OPEN_LINE
from tradewind.backtest.costs import CostModel
from tradewind.config.backtest import Sizing, SizingMethod
from tradewind.domain.errors import Unsupported
from tradewind.domain.instruments import round_units


class TradewindBroker(bt.brokers.BackBroker):
    """``units_precision`` (decimals per symbol): every order's size is rounded toward zero
    to the instrument's unit precision, as the live path rounds what it sends; an order that
    rounds to nothing is rejected, as the live path does not send it. A symbol without a
    precision is not rounded."""

    def __init__(
        self,
        costs: Mapping[str, CostModel],
        next_close: bool,
        units_precision: Mapping[str, int] | None = None,
    ) -> None:
        super().__init__()
        self._costs = dict(costs)
        self._next_close = next_close
        self._precision = dict(units_precision or {})
        # per order ref, per execution: (half spread, slippage) per unit, in price units
        self.frictions: dict[int, list[tuple[float, float]]] = {}
        self.financing_charges: list[float] = []  # every non-zero charge (FinancingBroker)
        self.set_coc(False)
        self.set_coo(False)

    def round_size(self, data: Any, size: float) -> float:
        precision = self._precision.get(data._name)
        return float(size) if precision is None else round_units(float(size), precision)

    def buy(self, owner: Any, data: Any, size: float, *args: Any, **kwargs: Any) -> Any:
        return super().buy(owner, data, self.round_size(data, size), *args, **kwargs)

    def sell(self, owner: Any, data: Any, size: float, *args: Any, **kwargs: Any) -> Any:
        return super().sell(owner, data, self.round_size(data, size), *args, **kwargs)

    def submit(self, order: Any, check: bool = True) -> Any:
        if order.size == 0:
            order.reject(self)
            self.notify(order)
            return order
        if self._next_close and order.exectype == bt.Order.Market:
            order.exectype = bt.Order.Close
        return super().submit(order, check=check)

    def _try_exec_close(self, order: Any, pclose: float) -> None:
        if order.data.datetime[0] > order.created.dt:  # first bar after the decision
            self._execute(order, ago=0, price=pclose)

    def _execute(self, order: Any, ago: Any = None, price: Any = None, **kwargs: Any) -> Any:
        if ago is not None and price is not None:
            data = order.data
            model = self._costs[data._name]
            spread = math.nan
            if model.data_spread:
                line = SPREAD_CLOSE_LINE if order.exectype == bt.Order.Close else SPREAD_OPEN_LINE
                spread = float(getattr(data.lines, line)[ago])
            raw = price
            units = float(order.executed.remsize)
            price = model.fill_price(
                raw, order.isbuy(), units=units, volume=float(data.volume[ago]), spread=spread
            )
            half = spread / 2.0 if model.data_spread else model.half_spread
            slip = model.slip_for(units, float(data.volume[ago]))
            self.frictions.setdefault(order.ref, []).append((half, raw * slip))
        return super()._execute(order, ago=ago, price=price, **kwargs)


class FinancingBroker(TradewindBroker):
    """``TradewindBroker`` that also charges financing on the datas given to
    ``track_financing`` (a separate class: a run without financing pays nothing per bar)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # TradewindBroker's arguments
        super().__init__(*args, **kwargs)
        # data -> (its bars' financing year fractions, its length when last seen)
        self._financed: dict[Any, tuple[npt.NDArray[np.float64], list[int]]] = {}

    def track_financing(self, data: Any, years: npt.NDArray[np.float64]) -> None:
        """Charge financing on ``data``'s positions; ``years[i]``: the year fraction of the
        rollovers charged on its bar ``i`` (``financing.year_fractions`` of its times)."""
        self._financed[data] = (np.asarray(years, dtype=np.float64), [0])

    def next(self) -> None:
        self._charge_financing()
        super().next()

    def _charge_financing(self) -> None:
        """For each tracked data that moved to a new bar ``i``: the rollovers since bar
        ``i - 1`` on the position held (orders of bar ``i`` have not filled yet) at bar
        ``i - 1``'s close."""
        for data, (years, seen) in self._financed.items():
            n = len(data)
            if n == seen[0]:
                continue
            seen[0] = n
            i = n - 1
            units = float(self.getposition(data).size)
            if i < 1 or units == 0.0 or not years[i] > 0.0:
                continue
            model = self._costs[data._name]
            paid = model.financing(units, float(data.close[-1]), float(years[i]))
            if paid != 0.0:
                self.cash -= paid
                self.financing_charges.append(paid)


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


def realised_vol(close: npt.ArrayLike, lookback: int, periods_per_year: float) -> float:
    """Annualised sample std (ddof 1) of the last ``lookback`` log returns of ``close`` (its
    last ``lookback + 1`` values); NaN when there are fewer."""
    c = np.asarray(close, dtype=np.float64)
    if c.size < lookback + 1:
        return math.nan
    r = np.diff(np.log(c[-(lookback + 1) :]))
    return float(np.std(r, ddof=1) * math.sqrt(periods_per_year))


def vol_target_units(value: float, vol: float, equity: float, close: float) -> float:
    """``value / vol * equity / close``; 0 (no position) when that is not a finite number."""
    if not (vol > 0 and close > 0) or not math.isfinite(vol):
        return 0.0
    units = value / vol * equity / close
    return units if math.isfinite(units) else 0.0


class TradewindSizer(bt.Sizer):
    """FIXED_UNITS, FIXED_NOTIONAL (at the decision bar's close), PERCENT_EQUITY (of value),
    VOL_TARGET (``value / realised_vol * value_of_account / close``, needs
    ``periods_per_year``)."""

    params = (("sizing", None), ("periods_per_year", None))

    def _getsizing(self, comminfo: Any, cash: float, data: Any, isbuy: bool) -> float:
        units = self._raw(data)
        return self.broker.round_size(data, units) if math.isfinite(units) else 0.0

    def _raw(self, data: Any) -> float:
        s: Sizing = self.p.sizing
        if s.method is SizingMethod.FIXED_UNITS:
            return s.value
        if s.method is SizingMethod.FIXED_NOTIONAL:
            return s.value / data.close[0]
        if s.method is SizingMethod.PERCENT_EQUITY:
            return s.value * self.broker.getvalue() / data.close[0]
        if s.method is SizingMethod.VOL_TARGET:
            n = min(len(data), s.vol_lookback + 1)
            closes = data.close.get(size=n) if n > 0 else []
            vol = realised_vol(list(closes), s.vol_lookback, float(self.p.periods_per_year))
            return vol_target_units(s.value, vol, self.broker.getvalue(), data.close[0])
        raise Unsupported(f"sizing {s.method.value!r} is not supported by the engine")


def check_sizing(sizing: Sizing, periods_per_year: float | None) -> None:
    if sizing.method is SizingMethod.VOL_TARGET and not (
        periods_per_year is not None and periods_per_year > 0
    ):
        raise Unsupported(
            "sizing 'vol_target' needs the bars' periods_per_year (run_backtrader(..., "
            "periods_per_year=...); the backtest pipeline passes it)"
        )
