"""Daily financing in the daily P&L: which broker DAILY_FINANCING belongs to an FX day, how
it is shared among the deployments holding the instrument, and whether the OMS recorded it.

The broker charges financing at the 17:00 New York rollover, the instant FX day D ends (or
just after it). A charge at time t belongs to the last day that ended at or before t
(``fx_day_ending_by``): D's own rollover lands in D, never in D+1, whose window it opens.
So D's financing is read from the transactions after D's end; a run before the broker has
made it finds none, and a re-run (idempotent) adds it. Every charge counts in one day only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from tradewind.domain.broker import FinancingCharged
from tradewind.domain.fxday import FxDay, fx_day_ending_by

Json = dict[str, Any]
_FLAT = 1e-9


def day_financing(events: Iterable[object], day: FxDay) -> list[FinancingCharged]:
    """The DAILY_FINANCING charges of ``day``'s rollover among ``events``."""
    return [
        e
        for e in events
        if isinstance(e, FinancingCharged)
        and e.time_us is not None
        and fx_day_ending_by(datetime.fromtimestamp(e.time_us / 1e6, UTC)).day == day.day
    ]


def shares(
    charges: Sequence[FinancingCharged], held: Mapping[tuple[str, str], float]
) -> dict[tuple[str, str], float]:
    """Each (deployment, instrument)'s part of the charges: an instrument's amount shared
    among its holders at the rollover (``held``: units at the day's end) in proportion to
    their units; deployment '' when nobody holds it (the broker charged what it held)."""
    out: dict[tuple[str, str], float] = {}
    for charge in charges:
        for instrument, amount in charge.per_instrument:
            holders = {k: u for k, u in held.items() if k[1] == instrument and abs(u) > _FLAT}
            total = sum(holders.values())
            if abs(total) <= _FLAT:
                holders, total = {("", instrument): 1.0}, 1.0
            for key, units in holders.items():
                out[key] = out.get(key, 0.0) + amount * units / total
    return out


def compare(
    charges: Sequence[FinancingCharged],
    recorded: Mapping[tuple[int, str], float],
    tolerance: float,
) -> list[Json]:
    """The broker's charges the OMS did not record (``recorded``: its amount per transaction
    id and instrument), or recorded with another amount."""
    out: list[Json] = []
    for charge in charges:
        for instrument, amount in charge.per_instrument:
            ours = recorded.get((charge.transaction_id, instrument))
            if ours is None or abs(ours - amount) > tolerance:
                out.append(
                    {
                        "transaction_id": charge.transaction_id,
                        "instrument": instrument,
                        "broker": amount,
                        "oms": ours,
                    }
                )
    return out
