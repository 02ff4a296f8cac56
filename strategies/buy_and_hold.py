"""Buy and hold: the benchmark every model has to beat.

On the first bar of each instrument (after ``delay`` bars), buy the run's sizing (or
``units``) and hold to the end. With ``next_open`` fills the position is entered at the
second bar's open, paying the same costs as every other strategy.
"""

from __future__ import annotations

import backtrader as bt


class BuyAndHold(bt.Strategy):
    params = (
        ("units", None),  # None = the run's sizer
        ("delay", 0),  # bars to wait before buying (e.g. a model's warm-up, to compare alike)
    )

    def __init__(self) -> None:
        if self.p.units is not None and not self.p.units > 0:
            raise ValueError(f"units must be > 0, got {self.p.units!r}")
        if int(self.p.delay) < 0:
            raise ValueError(f"delay must be >= 0, got {self.p.delay!r}")
        self._bought: set[str] = set()

    def next(self) -> None:
        for d in self.datas:
            if d._name in self._bought or len(d) <= int(self.p.delay):
                continue
            units = (
                float(self.p.units)
                if self.p.units is not None
                else float(self.getsizing(d, isbuy=True))
            )
            self.order_target_size(data=d, target=units)
            self._bought.add(d._name)


STRATEGY = BuyAndHold
