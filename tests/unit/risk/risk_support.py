"""Builders for the risk tests: limits, broker rules, ticks, portfolios, and a dict-backed
kill switch store (a real implementation of the port, kept in memory)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tradewind.config.risk import RiskLimits
from tradewind.domain import OrderIntent, Tick
from tradewind.risk import InstrumentRules, KillRecord, KillTransition, MarketView, PortfolioView

NOW = 1_700_000_000_000_000  # 2023-11-14T22:13:20Z, in µs
EUR = "EUR_USD"
JPY = "USD_JPY"


class MemoryKillStore:
    """Kill records in a dict and the transitions appended to ``events`` (with the record,
    all or nothing); ``saves`` counts writes, ``fail`` makes the next save raise."""

    def __init__(self) -> None:
        self.records: dict[str, KillRecord] = {}
        self.events: list[KillTransition] = []
        self.saves = 0
        self.fail = False

    def load(self, scope: str) -> KillRecord | None:
        return self.records.get(scope)

    def save(self, record: KillRecord, events: Sequence[KillTransition] = ()) -> None:
        if self.fail:
            raise OSError("disk full")
        self.records[record.scope] = record
        self.events.extend(events)
        self.saves += 1


def limits(**overrides: Any) -> RiskLimits:
    base: dict[str, Any] = {
        "max_order_units": 10_000,
        "max_position_units": 10_000,
        "max_total_notional": 50_000,
    }
    return RiskLimits(**(base | overrides))


def rules() -> dict[str, InstrumentRules]:
    return {
        EUR: InstrumentRules(EUR, 1.0, 0, 5, 0.0333, max_order_units=100_000_000),
        JPY: InstrumentRules(JPY, 1.0, 0, 3, 0.0333),
    }


def tick(bid: float = 1.0999, ask: float = 1.1001, *, age_s: float = 1.0, **kw: Any) -> Tick:
    return Tick(kw.pop("instrument", EUR), NOW - int(age_s * 1e6), bid, ask, **kw)


def market(t: Tick | None = None) -> MarketView:
    return MarketView(tick() if t is None else t)


def portfolio(
    positions: dict[str, float] | None = None,
    pending: dict[str, float] | None = None,
    *,
    nav: float = 100_000.0,
    margin_available: float = 100_000.0,
    mids: dict[str, float] | None = None,
    to_account: dict[str, float] | None = None,
) -> PortfolioView:
    return PortfolioView(
        positions=positions or {},
        pending_units=pending or {},
        mids={EUR: 1.1, JPY: 150.0} if mids is None else mids,
        to_account={EUR: 1.0, JPY: 1 / 150.0} if to_account is None else to_account,
        nav=nav,
        margin_available=margin_available,
    )


def order(units: float = 1000, instrument: str = EUR, **kw: Any) -> OrderIntent:
    return OrderIntent(instrument=instrument, units=units, **kw)
