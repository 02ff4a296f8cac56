"""Order commands: validate a request (or record its reject), place it, cancel, replace and
re-label orders. Callers run these in a unit of work."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradewind.venue.engine import guaranteed
from tradewind.venue.engine.ledger import Ledger, find_order
from tradewind.venue.engine.model import TRADE_ORDER_TYPES, Account, Order
from tradewind.venue.engine.parse import OrderParser, Reject, client_extensions
from tradewind.venue.engine.triggers import Triggers
from tradewind.venue.wire import bad_value


class Orders:
    """Placing and changing orders; fills go through the triggers' matcher."""

    def __init__(self, ledger: Ledger, triggers: Triggers) -> None:
        self.ledger, self.triggers = ledger, triggers

    # ------------------------------------------------------------------ validation

    def _parser(self, acct: Account, exclude_order: Order | None = None) -> OrderParser:
        taken = set(acct.client_orders)
        if exclude_order is not None and exclude_order.client_id:
            taken.discard(exclude_order.client_id)

        def trade_instrument(tid: str) -> str | None:
            t = acct.trades.get(tid)
            return t.instrument if t is not None and t.state == "OPEN" else None

        return OrderParser(
            self.ledger.instruments,
            self.ledger.now(),
            taken,
            set(acct.client_trades),
            trade_instrument,
            gsl_mode=acct.gsl_mode,
            guarantees=self.ledger.guarantees,
        )

    def parse_or_reject(
        self, acct: Account, spec: Any, kind: str | None = None, exclude: Order | None = None,
        key: str = "orderRejectTransaction",
    ) -> dict[str, Any]:  # fmt: skip
        """The create-transaction fields of an order request; a reject transaction (raised as
        a VenueError under ``key``) when it is invalid or a market order has no price."""
        parser = self._parser(acct, exclude)
        try:
            fields = parser.parse(spec, kind)
        except Reject as r:
            self.ledger.reject(acct, f"{r.fields.get('type', 'MARKET_ORDER')}_REJECT", r, key)
        reason = self._trade_order_reason(acct, fields, exclude)
        if reason is not None:
            self.ledger.reject(acct, f"{fields['type']}_REJECT", Reject(reason, fields), key)
        if fields["type"] == "MARKET_ORDER":
            q = self.ledger.quote(fields["instrument"])
            inst = self.ledger.instruments[fields["instrument"]]
            if (
                q is None
                or not q.bids
                or not q.asks
                or self.ledger.val(acct).rate(inst.quote_currency) is None
            ):
                self.ledger.reject(
                    acct, "MARKET_ORDER_REJECT", Reject("INSTRUMENT_PRICE_UNKNOWN", fields), key
                )
        return fields

    def _trade_order_reason(
        self, acct: Account, fields: dict[str, Any], exclude: Order | None
    ) -> str | None:
        """Why a valid request cannot be placed on this account now: a second trailing stop
        loss on a trade, or a guaranteed stop loss too close to the market."""
        kind, trade = fields["type"], acct.trades.get(fields.get("tradeID", ""))
        if trade is not None and kind == "TRAILING_STOP_LOSS_ORDER":
            current = trade.tsl_order
            if current is not None and (exclude is None or exclude.id != current):
                return "TRAILING_STOP_LOSS_ORDER_ALREADY_EXISTS"
        if trade is not None and kind == "STOP_LOSS_ORDER" and fields.get("guaranteed"):
            short = trade.current_units < 0
            if self._too_close(trade.instrument, short, fields):
                return "STOP_LOSS_ORDER_GUARANTEED_MINIMUM_DISTANCE_NOT_MET"
        sl = fields.get("stopLossOnFill") or {}
        on_fill_checked = kind == "MARKET_ORDER" or "distance" in sl
        if sl.get("guaranteed") and on_fill_checked:
            sells = fields["units"].startswith("-")
            if self._too_close(fields["instrument"], sells, sl):
                return "STOP_LOSS_ON_FILL_GUARANTEED_MINIMUM_DISTANCE_NOT_MET"
        return None

    def _too_close(self, instrument: str, buy: bool, stop: dict[str, Any]) -> bool:
        """Whether a guaranteed ``stop`` (its price or distance) is nearer the market than
        the instrument's minimum distance (the market: the side the stop closes at, ``buy``
        for a short trade's)."""
        minimum = self.ledger.guarantees.minimum_distance(self.ledger.instruments[instrument])
        if "distance" in stop:
            return Decimal(stop["distance"]) < minimum
        q = self.ledger.quote(instrument)
        if stop.get("price") is None or q is None or not q.bids or not q.asks:
            return False
        market = Decimal(str(q.ask)) if buy else Decimal(str(q.bid))
        return guaranteed.too_close(Decimal(stop["price"]), market, minimum)

    # ------------------------------------------------------------------ placing

    def _place(self, acct: Account, fields: dict[str, Any], reason: str) -> dict[str, Any]:
        kind = fields.pop("type")
        tx = self.ledger.emit(acct, kind, **fields, reason=reason)
        order = acct.orders[tx["id"]]
        out: dict[str, Any] = {"orderCreateTransaction": tx}
        if order.type == "MARKET":
            out.update(self._execute_market(acct, order))
        else:
            out.update(self.triggers.try_trigger(acct, order))
        out.update(self.ledger.related(acct))
        return out

    def _execute_market(self, acct: Account, order: Order) -> dict[str, Any]:
        q = self.ledger.quote(order.instrument)
        ioc = order.body.get("timeInForce") == "IOC"
        bound = order.body.get("priceBound")
        return self.triggers.matcher.fill(
            acct, order, q, order.units, partial=ioc, bound=Decimal(bound) if bound else None
        )

    # ------------------------------------------------------------------ commands

    def create(self, acct: Account, spec: Any) -> dict[str, Any]:
        fields = self.parse_or_reject(acct, spec)
        return self._place(acct, fields, reason="CLIENT_ORDER")

    def _reject_missing(self, acct: Account, order: Order) -> None:
        self.ledger.reject(
            acct,
            "ORDER_CANCEL_REJECT",
            Reject("ORDER_DOESNT_EXIST", {"orderID": order.id}),
            "orderCancelRejectTransaction",
            status=404,
        )

    def cancel(self, acct: Account, spec: str) -> dict[str, Any]:
        order = find_order(acct, spec)
        if order.state != "PENDING":
            self._reject_missing(acct, order)
        tx = self.ledger.cancel(acct, order, "CLIENT_REQUEST")
        return {"orderCancelTransaction": tx, **self.ledger.related(acct)}

    def replace(self, acct: Account, spec: str, body: Any) -> dict[str, Any]:
        order = find_order(acct, spec)
        if order.state != "PENDING" or order.type == "MARKET":
            self._reject_missing(acct, order)
        fields = self.parse_or_reject(acct, body, exclude=order)
        if order.type in TRADE_ORDER_TYPES and (
            fields["type"] != f"{order.type}_ORDER" or fields.get("tradeID") != order.trade_id
        ):
            self.ledger.reject(
                acct,
                f"{fields['type']}_REJECT",
                Reject("REPLACING_ORDER_INVALID", fields),
                "orderRejectTransaction",
            )
        cancel = self.ledger.cancel(
            acct, order, "CLIENT_REQUEST_REPLACED", replacedByOrderID=str(acct.last_tx + 2)
        )
        fields["replacesOrderID"] = order.id
        if fields["type"].removesuffix("_ORDER") in TRADE_ORDER_TYPES:
            out = self.triggers.place_dependent(acct, fields, "REPLACEMENT")
        else:
            out = self._place(acct, fields, reason="REPLACEMENT")
        out["orderCancelTransaction"] = cancel
        out.update(self.ledger.related(acct))
        return out

    def set_extensions(self, acct: Account, spec: str, body: Any) -> dict[str, Any]:
        order = find_order(acct, spec)
        if not isinstance(body, dict):
            raise bad_value("clientExtensions")
        fields: dict[str, Any] = {"orderID": order.id, "clientOrderID": order.client_id}
        key = "orderClientExtensionsModifyRejectTransaction"
        try:
            if body.get("clientExtensions") is not None:
                ext = client_extensions(body["clientExtensions"], "CLIENT_ORDER")
                other = acct.client_orders.get(ext.get("id", ""))
                if other is not None and other != order.id:
                    raise Reject("CLIENT_ORDER_ID_ALREADY_EXISTS", {})
                fields["clientExtensionsModify"] = ext
            if body.get("tradeClientExtensions") is not None:
                fields["tradeClientExtensionsModify"] = client_extensions(
                    body["tradeClientExtensions"], "CLIENT_TRADE"
                )
            if len(fields) == 2:
                raise Reject("CLIENT_EXTENSIONS_DATA_MISSING", {})
        except Reject as r:
            self.ledger.reject(
                acct, "ORDER_CLIENT_EXTENSIONS_MODIFY_REJECT", Reject(r.reason, fields), key
            )
        tx = self.ledger.emit(acct, "ORDER_CLIENT_EXTENSIONS_MODIFY", **fields)
        return {"orderClientExtensionsModifyTransaction": tx, **self.ledger.related(acct)}
