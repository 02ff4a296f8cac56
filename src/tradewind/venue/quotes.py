"""A venue price: what the price source hands the matching engine and the pricing endpoints."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Quote:
    """One instrument's price at ``time_ns`` (epoch ns, UTC): ``bids``/``asks`` are
    ``(price, liquidity)`` levels, best first; ``tradeable`` False while the market is
    halted (a MARKET order is then cancelled with MARKET_HALTED)."""

    instrument: str
    time_ns: int
    bids: tuple[tuple[float, float], ...]
    asks: tuple[tuple[float, float], ...]
    tradeable: bool = True

    @property
    def bid(self) -> float:
        return self.bids[0][0]

    @property
    def ask(self) -> float:
        return self.asks[0][0]

    @property
    def mid(self) -> float:
        return (self.bids[0][0] + self.asks[0][0]) / 2.0
