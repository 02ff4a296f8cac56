"""What moved an account's NAV, in the broker's own figures (v20 transactions).

An account's NAV is what was paid in, plus the fills' realised P&L, plus financing, minus
commission, plus the unrealised P&L of what is still open::

    nav = funded + realised + financing - commission + unrealised

``realised`` is the sum of the fills' ``pl``: the broker prices a fill at its bid or ask, so
it is already net of the spread, which ``spread`` reports on its own (the fills'
``halfSpreadCost``: what the fills paid against the mid). ``AccountLedger.residual`` is what
that sum leaves unexplained: rounding only (v20 money has 4 decimals), unless the account's
figures and its transactions disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Json = Mapping[str, Any]

# per transaction type: the fields that move money, read into AccountLedger's fields
_FUNDING = ("TRANSFER_FUNDS",)
_FINANCING = ("DAILY_FINANCING",)


def _money(tx: Json, key: str) -> float:
    value = tx.get(key)
    return float(value) if value not in (None, "") else 0.0


@dataclass(frozen=True, slots=True)
class AccountLedger:
    """An account's NAV and each part of what moved it, in the account currency."""

    nav: float
    funded: float
    realised: float
    unrealised: float
    financing: float  # signed: positive is a credit
    commission: float  # paid: positive is a cost
    spread: float  # paid against the mid; already inside realised and unrealised
    fills: int

    @property
    def explained(self) -> float:
        """The NAV the transactions account for."""
        return self.funded + self.realised + self.financing - self.commission + self.unrealised

    @property
    def residual(self) -> float:
        return self.nav - self.explained

    def to_json(self) -> dict[str, float | int]:
        return {
            "nav": self.nav,
            "funded": self.funded,
            "realised": self.realised,
            "unrealised": self.unrealised,
            "financing": self.financing,
            "commission": self.commission,
            "spread": self.spread,
            "fills": self.fills,
            "residual": self.residual,
        }


def ledger_from_v20(transactions: Iterable[Json], summary: Json) -> AccountLedger:
    """The ledger of an account from all its v20 transactions (oldest first, from the first)
    and its v20 account summary (``NAV``, ``unrealizedPL``)."""
    funded = realised = financing = commission = spread = 0.0
    fills = 0
    for tx in transactions:
        kind = tx.get("type")
        if kind in _FUNDING:
            funded += _money(tx, "amount")
        elif kind in _FINANCING:
            financing += _money(tx, "financing")
        elif kind == "ORDER_FILL":
            fills += 1
            realised += _money(tx, "pl")
            financing += _money(tx, "financing")
            commission += _money(tx, "commission") + _money(tx, "guaranteedExecutionFee")
            spread += _money(tx, "halfSpreadCost")
    return AccountLedger(
        nav=_money(summary, "NAV"),
        funded=funded,
        realised=realised,
        unrealised=_money(summary, "unrealizedPL"),
        financing=financing,
        commission=commission,
        spread=spread,
        fills=fills,
    )
