"""Read-only views of an account: its details and summary, instruments, orders, trades,
positions, and what changed since a transaction. Callers hold the lock."""

from __future__ import annotations

from typing import Any

from tradewind.venue.engine.ledger import Ledger, find_order, find_trade
from tradewind.venue.engine.model import Account
from tradewind.venue.engine.views import (
    Valuation,
    account_json,
    money,
    order_json,
    position_json,
    summary_json,
    trade_json,
)
from tradewind.venue.wire import bad_value

# the summary fields GET /changes reports as the account's state
_STATE_KEYS = (
    "unrealizedPL", "NAV", "marginUsed", "marginAvailable", "positionValue",
    "marginCloseoutUnrealizedPL", "marginCloseoutNAV", "marginCloseoutMarginUsed",
    "marginCloseoutPercent", "marginCloseoutPositionValue", "withdrawalLimit",
    "marginCallMarginUsed", "marginCallPercent",
)  # fmt: skip


class Queries:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def _last(self, acct: Account) -> dict[str, Any]:
        return {"lastTransactionID": str(acct.last_tx)}

    # ------------------------------------------------------------------ accounts

    def account(self, acct: Account) -> dict[str, Any]:
        return {"account": account_json(acct, self.ledger.val(acct)), **self._last(acct)}

    def summary(self, acct: Account) -> dict[str, Any]:
        return {"account": summary_json(acct, self.ledger.val(acct)), **self._last(acct)}

    def instruments(self, acct: Account, names: list[str] | None) -> dict[str, Any]:
        instruments = self.ledger.instruments
        if names is not None and any(n not in instruments for n in names):
            raise bad_value("instruments")
        chosen = names if names is not None else sorted(instruments)
        terms = self.ledger.guarantees
        listed = [
            {**instruments[n].to_json(), **terms.instrument_fields(instruments[n])} for n in chosen
        ]
        return {"instruments": listed, **self._last(acct)}

    # ------------------------------------------------------------------ orders, trades, positions

    def orders(
        self,
        acct: Account,
        state: str,
        instrument: str | None,
        count: int,
        before_id: int | None,
        ids: list[str] | None,
    ) -> dict[str, Any]:
        chosen = sorted(acct.orders.values(), key=lambda o: -int(o.id))
        out = [
            order_json(o)
            for o in chosen
            if (state == "ALL" or o.state == state)
            and (instrument is None or o.instrument == instrument)
            and (before_id is None or int(o.id) < before_id)
            and (ids is None or o.id in ids)
        ]
        return {"orders": out[:count], **self._last(acct)}

    def order(self, acct: Account, spec: str) -> dict[str, Any]:
        return {"order": order_json(find_order(acct, spec)), **self._last(acct)}

    def trades(
        self,
        acct: Account,
        state: str,
        instrument: str | None,
        count: int,
        before_id: int | None,
        ids: list[str] | None,
    ) -> dict[str, Any]:
        val = self.ledger.val(acct)
        chosen = [
            trade_json(t, acct, val)
            for t in sorted(acct.trades.values(), key=lambda t: -int(t.id))
            if (state == "ALL" or t.state == state)
            and (instrument is None or t.instrument == instrument)
            and (before_id is None or int(t.id) < before_id)
            and (ids is None or t.id in ids)
        ]
        return {"trades": chosen[:count], **self._last(acct)}

    def trade(self, acct: Account, spec: str) -> dict[str, Any]:
        trade = find_trade(acct, spec)
        return {"trade": trade_json(trade, acct, self.ledger.val(acct)), **self._last(acct)}

    def positions(self, acct: Account, open_only: bool) -> dict[str, Any]:
        val = self.ledger.val(acct)
        held = {t.instrument for t in acct.open_trades()} if open_only else acct.position_pl
        names = sorted(held)
        return {"positions": [position_json(i, acct, val) for i in names], **self._last(acct)}

    def position(self, acct: Account, instrument: str) -> dict[str, Any]:
        if instrument not in self.ledger.instruments:
            raise bad_value("instrument")
        return {
            "position": position_json(instrument, acct, self.ledger.val(acct)),
            **self._last(acct),
        }

    # ------------------------------------------------------------------ changes

    def changes(self, acct: Account, since: int) -> dict[str, Any]:
        """GET /changes: the orders, trades and positions the transactions after ``since``
        touched, and the account's state now."""
        if since < 0 or since > acct.last_tx:
            raise bad_value("sinceTransactionID")
        txs = acct.transactions[since:]  # ids are 1..n, in order
        created, filled, cancelled = set(), set(), set()
        opened, reduced, positions = set(), set(), set()
        closed: set[str] = set()
        triggered: set[str] = set()  # pending orders a price triggered (and filled)
        for tx in txs:
            kind = tx["type"]
            if kind.endswith("_ORDER") and tx["id"] in acct.orders:
                created.add(tx["id"])
            elif kind == "ORDER_FILL":
                filled.add(tx["orderID"])
                if getattr(acct.orders.get(tx["orderID"]), "type", "MARKET") != "MARKET":
                    triggered.add(tx["orderID"])
                positions.add(tx["instrument"])
                if "tradeOpened" in tx:
                    opened.add(tx["tradeOpened"]["tradeID"])
                if "tradeReduced" in tx:
                    reduced.add(tx["tradeReduced"]["tradeID"])
                closed.update(p["tradeID"] for p in tx.get("tradesClosed", []))
            elif kind == "ORDER_CANCEL":
                cancelled.add(tx["orderID"])
        val = self.ledger.val(acct)

        def orders(ids: set[str], state: str | None = None) -> list[dict[str, Any]]:
            out = [acct.orders[i] for i in sorted(ids, key=int) if i in acct.orders]
            return [order_json(o) for o in out if state is None or o.state == state]

        def trades(ids: set[str]) -> list[dict[str, Any]]:
            return [trade_json(acct.trades[i], acct, val) for i in sorted(ids, key=int)]

        state = _state(acct, val)
        return {
            "changes": {
                "ordersCreated": orders(created, "PENDING"),
                "ordersCancelled": orders(cancelled, "CANCELLED"),
                "ordersFilled": orders(filled, "FILLED"),
                "ordersTriggered": orders(triggered),
                "tradesOpened": trades(opened),
                "tradesReduced": trades(reduced - closed),
                "tradesClosed": trades(closed),
                "positions": [position_json(i, acct, val) for i in sorted(positions)],
                "transactions": list(txs),
            },
            "state": state,
            **self._last(acct),
        }


def _state(acct: Account, val: Valuation) -> dict[str, Any]:
    """The AccountChangesState: the summary's calculated fields, per trade and per position."""
    summary = summary_json(acct, val)
    state: dict[str, Any] = {k: summary[k] for k in _STATE_KEYS}
    state["orders"] = []
    state["trades"] = [
        {
            "id": t.id,
            "unrealizedPL": money(val.trade_upl(t)),
            "marginUsed": trade_json(t, acct, val)["marginUsed"],
        }
        for t in acct.open_trades()
    ]
    state["positions"] = []
    for inst in sorted({t.instrument for t in acct.open_trades()}):
        p = position_json(inst, acct, val)
        state["positions"].append(
            {
                "instrument": inst,
                "netUnrealizedPL": p["unrealizedPL"],
                "longUnrealizedPL": p["long"]["unrealizedPL"],
                "shortUnrealizedPL": p["short"]["unrealizedPL"],
                "marginUsed": p["marginUsed"],
            }
        )
    return state
