"""SMA crossover on precomputed feature lines (never Backtrader indicators).

Decided on each bar's close: a cross above is ``fast > slow`` now and ``fast <= slow`` on the
previous bar (a NaN on either bar is no cross, so nothing happens during warm-up); a cross
below mirrors it. Above → target long ``size``; below → flat, or short ``size`` with
``allow_short``. ``size`` comes from the run's sizer. The vectorised engine's
``sma_crossover_signals`` uses exactly this definition.
"""

from __future__ import annotations

import backtrader as bt


class SmaCrossover(bt.Strategy):
    params = (
        ("fast_feature", "sma_fast"),
        ("slow_feature", "sma_slow"),
        ("allow_short", False),
    )

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def next(self) -> None:
        for d in self.datas:
            n = len(d)
            if n < 2 or self._seen.get(d._name) == n:  # not a new bar of this data
                continue
            self._seen[d._name] = n
            fast = getattr(d.lines, self.p.fast_feature)
            slow = getattr(d.lines, self.p.slow_feature)
            f0, s0, f1, s1 = fast[0], slow[0], fast[-1], slow[-1]
            if f0 > s0 and f1 <= s1:
                target = self.getsizing(d, isbuy=True)
            elif f0 < s0 and f1 >= s1:
                target = -self.getsizing(d, isbuy=False) if self.p.allow_short else 0.0
            else:
                continue
            if target != self.getposition(d).size:
                self.order_target_size(data=d, target=target)


STRATEGY = SmaCrossover
