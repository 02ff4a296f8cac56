"""A market set by hand, for tests of the paper venue's engine: the engine's clock
(``now``) and its quotes (``quotes``, by instrument) are whatever the test last set."""

from __future__ import annotations

from tradewind.venue.quotes import Quote

Levels = tuple[tuple[float, float], ...]


class ManualMarket:
    """``now()`` is ``t`` (epoch ns); ``set`` quotes an instrument at ``t`` after moving the
    clock ``step_ns`` on (0: the clock stays where the test put it)."""

    def __init__(self, t0: int, step_ns: int = 0) -> None:
        self.t = t0
        self.step_ns = step_ns
        self.quotes: dict[str, Quote] = {}

    def now(self) -> int:
        return self.t

    def set(
        self,
        name: str,
        bid: float,
        ask: float,
        liq: float = 10_000_000,
        tradeable: bool = True,
        bids: Levels | None = None,
        asks: Levels | None = None,
    ) -> Quote:
        """Quote ``name`` at one level each side (``liq`` units), or at ``bids``/``asks``."""
        self.t += self.step_ns
        q = Quote(name, self.t, bids or ((bid, liq),), asks or ((ask, liq),), tradeable)
        self.quotes[name] = q
        return q
