"""A price tick: best bid and ask of one instrument at one instant."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Tick:
    """Best bid/ask of ``instrument`` at ``ts_us`` (int epoch microseconds, UTC).
    ``tradeable`` is False while the market is halted or closed."""

    instrument: str
    ts_us: int
    bid: float
    ask: float
    tradeable: bool = True

    @property
    def mid(self) -> float:
        return (self.bid + self.ask) / 2.0

    @property
    def spread(self) -> float:
        return self.ask - self.bid
