"""How the account-level transactions fold into an account (``apply`` calls these): the
commission and financing of an ORDER_FILL, DAILY_FINANCING, and CLIENT_CONFIGURE."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradewind.venue.engine.model import ZERO, Account


def position_costs(acct: Account, instrument: str) -> list[Decimal]:
    """``[long financing, short financing, commission]`` of ``instrument``'s position."""
    return acct.position_costs.setdefault(instrument, [ZERO, ZERO, ZERO])


def fill_costs(acct: Account, tx: dict[str, Any]) -> None:
    """An ORDER_FILL's commission (a positive amount charged) and financing (signed)."""
    commission = Decimal(tx.get("commission", "0"))
    financing = Decimal(tx.get("financing", "0"))
    acct.commission += commission
    acct.financing += financing
    if commission:
        position_costs(acct, tx["instrument"])[2] += commission


def daily_financing(acct: Account, tx: dict[str, Any]) -> None:
    """A DAILY_FINANCING: the balance, the account's, positions' and trades' financing."""
    acct.balance = Decimal(tx["accountBalance"])
    acct.financing += Decimal(tx["financing"])
    for pf in tx.get("positionFinancings", []):
        costs = position_costs(acct, pf["instrument"])
        acct.position_pl.setdefault(pf["instrument"], [ZERO, ZERO])
        for tf in pf.get("openTradeFinancings", []):
            amount = Decimal(tf["financing"])
            trade = acct.trades.get(tf["tradeID"])
            if trade is None:
                continue
            trade.financing += amount
            costs[0 if trade.initial_units > 0 else 1] += amount


def client_configure(acct: Account, tx: dict[str, Any]) -> None:
    if "alias" in tx:
        acct.alias = tx["alias"]
    if "marginRate" in tx:
        acct.margin_rate = Decimal(tx["marginRate"])
