"""RSI mean reversion with an ATR bracket, on precomputed feature lines.

On a bar's close, flat: ``rsi < lower`` → buy; ``rsi > upper`` → sell short (``allow_short``).
Each entry is a bracket: a market order (next open, or next close with ``next_close``) with a
stop-loss ``stop_atr * atr`` and a take-profit ``take_atr * atr`` away from the decision bar's
close, ``atr`` being that instrument's own ATR line. In a position, the RSI reaching ``mid``
(>= for longs, <= for shorts) cancels the bracket and closes at market. Stops are Backtrader
stop orders: a gap through the stop fills at the open.
"""

from __future__ import annotations

import math
from typing import Any

import backtrader as bt


class RsiMeanRev(bt.Strategy):
    params = (
        ("rsi_feature", "rsi_14"),
        ("atr_feature", "atr_14"),
        ("lower", 30.0),
        ("upper", 70.0),
        ("mid", 50.0),
        ("allow_short", False),
        ("stop_atr", 2.0),
        ("take_atr", 3.0),
    )

    def __init__(self) -> None:
        self._live: dict[str, list[Any]] = {d._name: [] for d in self.datas}
        self._seen: dict[str, int] = {}

    def notify_order(self, order: Any) -> None:
        live = self._live[order.data._name]
        if not order.alive():
            self._live[order.data._name] = [o for o in live if o.ref != order.ref]

    def _enter(self, d: Any, long: bool) -> None:
        atr = getattr(d.lines, self.p.atr_feature)[0]
        if not math.isfinite(atr) or atr <= 0:
            return
        ref = d.close[0]
        if long:
            size = self.getsizing(d, isbuy=True)
            orders = self.buy_bracket(
                data=d,
                size=size,
                exectype=bt.Order.Market,
                stopprice=ref - self.p.stop_atr * atr,
                limitprice=ref + self.p.take_atr * atr,
            )
        else:
            size = self.getsizing(d, isbuy=False)
            orders = self.sell_bracket(
                data=d,
                size=size,
                exectype=bt.Order.Market,
                stopprice=ref + self.p.stop_atr * atr,
                limitprice=ref - self.p.take_atr * atr,
            )
        self._live[d._name] = list(orders)

    def next(self) -> None:
        for d in self.datas:
            n = len(d)
            if self._seen.get(d._name) == n:
                continue
            self._seen[d._name] = n
            rsi = getattr(d.lines, self.p.rsi_feature)[0]
            if not math.isfinite(rsi):
                continue
            pos = self.getposition(d).size
            live = self._live[d._name]
            if pos == 0:
                if live:
                    continue  # an entry is pending
                if rsi < self.p.lower:
                    self._enter(d, long=True)
                elif rsi > self.p.upper and self.p.allow_short:
                    self._enter(d, long=False)
            elif (pos > 0 and rsi >= self.p.mid) or (pos < 0 and rsi <= self.p.mid):
                if any(o.exectype in (bt.Order.Market, bt.Order.Close) for o in live):
                    continue  # already exiting
                for o in live:
                    self.cancel(o)
                exit_order = self.close(data=d)
                self._live[d._name] = [exit_order] if exit_order is not None else []


STRATEGY = RsiMeanRev
