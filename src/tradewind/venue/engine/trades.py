"""Trade commands: close a trade (all or part), re-label it, and set or cancel its take profit
and stop loss. Callers run these in a unit of work."""

from __future__ import annotations

from typing import Any

from tradewind.venue.engine.guaranteed import later_v20
from tradewind.venue.engine.ledger import Ledger, find_trade
from tradewind.venue.engine.model import Account, Trade
from tradewind.venue.engine.orders import Orders
from tradewind.venue.engine.parse import (
    GUARANTEED_NOT_ALLOWED,
    Reject,
    client_extensions,
    guaranteed,
    positive,
)
from tradewind.venue.engine.triggers import Triggers
from tradewind.venue.wire import bad_value, dec, not_found


class Trades:
    def __init__(self, ledger: Ledger, orders: Orders, triggers: Triggers) -> None:
        self.ledger, self.orders, self.triggers = ledger, orders, triggers

    def close(self, acct: Account, spec: str, units: Any) -> dict[str, Any]:
        """A TRADE_CLOSE market order for ``units`` (``"ALL"`` or a positive number)."""
        trade = find_trade(acct, spec)
        if trade.state != "OPEN":
            raise not_found("The Trade specified does not exist")
        inst = self.ledger.instruments[trade.instrument]
        size = abs(trade.current_units)
        base = {
            "instrument": trade.instrument,
            "timeInForce": "FOK",
            "positionFill": "REDUCE_ONLY",
        }
        close: dict[str, Any] = {"tradeID": trade.id}
        if trade.client_id:
            close["clientTradeID"] = trade.client_id
        if units == "ALL":
            n = size
            close["units"] = "ALL"
        else:
            asked = positive(units)
            if asked is None:
                self.ledger.reject(
                    acct,
                    "MARKET_ORDER_REJECT",
                    Reject("CLOSE_TRADE_PARTIAL_UNITS_MISSING", {**base, "tradeClose": close}),
                    "orderRejectTransaction",
                )
            assert asked is not None  # reject raised
            n = asked
            close["units"] = dec(n, inst.tradeUnitsPrecision)
            if n > size:
                self.ledger.reject(
                    acct,
                    "MARKET_ORDER_REJECT",
                    Reject("CLOSE_TRADE_UNITS_EXCEED_TRADE_SIZE", {**base, "tradeClose": close}),
                    "orderRejectTransaction",
                )
        q = self.ledger.quote(trade.instrument)
        sign = -1 if trade.current_units > 0 else 1
        tx = self.ledger.emit(
            acct, "MARKET_ORDER", **base, units=dec(sign * n, inst.tradeUnitsPrecision),
            tradeClose=close, reason="TRADE_CLOSE",
        )  # fmt: skip
        order = acct.orders[tx["id"]]
        out: dict[str, Any] = {"orderCreateTransaction": tx}
        out.update(
            self.triggers.matcher.fill(
                acct,
                order,
                q,
                sign * n,
                only_trade=trade,
                fill_reason="MARKET_ORDER_TRADE_CLOSE",
            )
        )
        out.update(self.ledger.related(acct))
        return out

    def set_extensions(self, acct: Account, spec: str, body: Any) -> dict[str, Any]:
        trade = find_trade(acct, spec)
        if not isinstance(body, dict):
            raise bad_value("clientExtensions")
        fields: dict[str, Any] = {"tradeID": trade.id, "clientTradeID": trade.client_id}
        try:
            ext = client_extensions(body.get("clientExtensions"), "CLIENT_TRADE")
            other = acct.client_trades.get(ext.get("id", ""))
            if other is not None and other != trade.id:
                raise Reject("CLIENT_TRADE_ID_ALREADY_EXISTS", {})
        except Reject as r:
            self.ledger.reject(
                acct,
                "TRADE_CLIENT_EXTENSIONS_MODIFY_REJECT",
                Reject(r.reason, fields),
                "tradeClientExtensionsModifyRejectTransaction",
            )
        tx = self.ledger.emit(
            acct, "TRADE_CLIENT_EXTENSIONS_MODIFY", **fields, tradeClientExtensionsModify=ext
        )
        return {"tradeClientExtensionsModifyTransaction": tx, **self.ledger.related(acct)}

    def _reject_unsupported(self, acct: Account, trade: Trade, body: dict[str, Any]) -> None:
        """An account without guaranteed stop losses rejects a request for any as a whole,
        with a reject transaction for each guaranteed stop loss asked for."""
        if acct.gsl_mode != "DISABLED":
            return
        unsupported = []
        if guaranteed(body.get("stopLoss")):
            unsupported.append(("stopLoss", "STOP_LOSS_ORDER", GUARANTEED_NOT_ALLOWED))
        if body.get("guaranteedStopLoss") is not None:  # a later v20's key
            unsupported.append(("guaranteedStopLoss", "STOP_LOSS_ORDER", GUARANTEED_NOT_ALLOWED))
        if not unsupported:
            return
        base: dict[str, Any] = {"tradeID": trade.id, "clientTradeID": trade.client_id}
        rejects = []
        for key, kind, reason in unsupported:
            extra = {"guaranteed": True} if kind == "STOP_LOSS_ORDER" else {}
            fields = Reject(reason, {**base, **extra})
            rejects.append((f"{kind}_REJECT", fields, f"{key}OrderRejectTransaction"))
        self.ledger.reject_all(acct, rejects)

    def set_orders(self, acct: Account, spec: str, body: Any) -> dict[str, Any]:
        """Create, replace or cancel (``null``) the trade's take profit, stop loss and
        trailing stop loss: every request is validated before any is carried out."""
        trade = find_trade(acct, spec)
        if trade.state != "OPEN":
            raise not_found("The Trade specified does not exist")
        if not isinstance(body, dict):
            raise bad_value("body")
        self._reject_unsupported(acct, trade, body)
        body = later_v20(body, "guaranteedStopLoss", "stopLoss")
        plans = [
            (key, current, self._plan(acct, trade, body, key, kind, current))
            for key, kind, current in (
                ("takeProfit", "TAKE_PROFIT", trade.tp_order),
                ("stopLoss", "STOP_LOSS", trade.sl_order),
                ("trailingStopLoss", "TRAILING_STOP_LOSS", trade.tsl_order),
            )
            if key in body
        ]
        out: dict[str, Any] = {}
        for key, current, fields in plans:
            self._carry_out(acct, trade, key, current, fields, out)
        out.update(self.ledger.related(acct))
        return out

    def _plan(
        self,
        acct: Account,
        trade: Trade,
        body: dict[str, Any],
        key: str,
        kind: str,
        current: str | None,
    ) -> dict[str, Any] | None:
        """The new order's fields for ``body[key]`` (None: cancel the current one), or the
        reject saying why not."""
        if body[key] is None:
            return None
        if not isinstance(body[key], dict):
            raise bad_value(key)
        spec_ = {**body[key], "tradeID": trade.id}
        existing = acct.orders.get(current or "")
        return self.orders.parse_or_reject(
            acct, spec_, kind, exclude=existing, key=f"{key}OrderRejectTransaction"
        )

    def _carry_out(
        self,
        acct: Account,
        trade: Trade,
        key: str,
        current: str | None,
        fields: dict[str, Any] | None,
        out: dict[str, Any],
    ) -> None:
        """Cancel the current order (replaced, or not) and place the new one, into ``out``."""
        if current is not None:
            replaced = {"replacedByOrderID": str(acct.last_tx + 2)} if fields else {}
            reason = "CLIENT_REQUEST_REPLACED" if fields else "CLIENT_REQUEST"
            out[f"{key}OrderCancelTransaction"] = self.ledger.cancel(
                acct, acct.orders[current], reason, **replaced
            )
        if fields is not None:
            if current is not None:
                fields["replacesOrderID"] = current
            if trade.client_id:
                fields["clientTradeID"] = trade.client_id
            placed = self.triggers.place_dependent(
                acct, fields, "REPLACEMENT" if current else "CLIENT_ORDER"
            )
            out[f"{key}OrderTransaction"] = placed["orderCreateTransaction"]
            if "orderFillTransaction" in placed:
                out[f"{key}OrderFillTransaction"] = placed["orderFillTransaction"]
