"""Transactions are the source of truth: ``apply`` folds one into an account's state. The
engine applies each transaction as it makes it, and replays stored ones the same way."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradewind.venue.engine.apply_costs import client_configure, daily_financing, fill_costs
from tradewind.venue.engine.model import ORDER_TYPES, TX_ONLY, ZERO, Account, Order, Trade


def apply(acct: Account, tx: dict[str, Any]) -> None:
    kind = tx["type"]
    handler = _HANDLERS.get(kind)
    if handler is None and kind in ORDER_TYPES:
        handler = _order_created
    if handler is not None:
        handler(acct, tx)
    acct.last_tx = int(tx["id"])
    acct.transactions.append(tx)


def _funds(acct: Account, tx: dict[str, Any]) -> None:
    acct.balance = Decimal(tx["accountBalance"])


def _order_created(acct: Account, tx: dict[str, Any]) -> None:
    body = {k: v for k, v in tx.items() if k not in TX_ONLY}
    order = Order(id=tx["id"], type=ORDER_TYPES[tx["type"]], body=body, create_time=tx["time"])
    acct.orders[order.id] = order
    acct.maybe_pending[order.id] = None
    if order.client_id:
        acct.client_orders[order.client_id] = order.id
    trade = acct.trades.get(order.trade_id or "")
    if trade is not None:
        order.linked_instrument = trade.instrument
        if order.type == "TAKE_PROFIT":
            trade.tp_order = order.id
        elif order.type == "STOP_LOSS":
            trade.sl_order = order.id
        elif order.type == "TRAILING_STOP_LOSS":
            trade.tsl_order = order.id


def _fill(acct: Account, tx: dict[str, Any]) -> None:
    order = acct.orders.get(tx["orderID"])
    if order is not None:
        order.state = "FILLED"
        order.extra.update(fillingTransactionID=tx["id"], filledTime=tx["time"])
    price = Decimal(tx["price"])
    opened = tx.get("tradeOpened")
    side_pl = acct.position_pl.setdefault(tx["instrument"], [ZERO, ZERO])
    if opened:
        units = Decimal(opened["units"])
        trade = Trade(
            id=opened["tradeID"],
            instrument=tx["instrument"],
            price=Decimal(opened["price"]),
            open_time=tx["time"],
            initial_units=units,
            current_units=units,
            initial_margin=opened.get("initialMarginRequired", "0.0000"),
            client_ext=opened.get("clientExtensions"),
        )
        acct.trades[trade.id] = trade
        acct.maybe_open[trade.id] = None
        if trade.client_id:
            acct.client_trades[trade.client_id] = trade.id
        if order is not None:
            order.extra["tradeOpenedID"] = trade.id
    reduced = [*tx.get("tradesClosed", []), *([tx["tradeReduced"]] if "tradeReduced" in tx else [])]
    for part in reduced:
        trade = acct.trades[part["tradeID"]]
        units = Decimal(part["units"])  # signed opposite to the trade
        pl = Decimal(part["realizedPL"])
        trade.current_units += units
        trade.realized_pl += pl
        trade.closed_units += abs(units)
        trade.closed_units_value += abs(units) * Decimal(part.get("price", price))
        trade.closing_ids.append(tx["id"])
        side_pl[0 if trade.initial_units > 0 else 1] += pl
        if trade.current_units == 0:
            trade.state, trade.close_time = "CLOSED", tx["time"]
    if order is not None:
        if tx.get("tradesClosed"):
            order.extra["tradeClosedIDs"] = [p["tradeID"] for p in tx["tradesClosed"]]
        if tx.get("tradeReduced"):
            order.extra["tradeReducedID"] = tx["tradeReduced"]["tradeID"]
    acct.balance = Decimal(tx["accountBalance"])
    acct.pl += Decimal(tx.get("pl", "0"))
    acct.gsl_fees += Decimal(tx.get("guaranteedExecutionFee", "0"))
    acct.last_fill_time = tx["time"]
    fill_costs(acct, tx)


def _cancel(acct: Account, tx: dict[str, Any]) -> None:
    order = acct.orders.get(tx["orderID"])
    if order is None or order.state != "PENDING":
        return
    order.state = "CANCELLED"
    order.extra.update(cancellingTransactionID=tx["id"], cancelledTime=tx["time"])
    if "replacedByOrderID" in tx:
        order.extra["replacedByOrderID"] = tx["replacedByOrderID"]
    trade = acct.trades.get(order.trade_id or "")
    if trade is not None:
        if trade.tp_order == order.id:
            trade.tp_order = None
        if trade.sl_order == order.id:
            trade.sl_order = None
        if trade.tsl_order == order.id:
            trade.tsl_order = None


def _order_ext(acct: Account, tx: dict[str, Any]) -> None:
    order = acct.orders[tx["orderID"]]
    if "clientExtensionsModify" in tx:
        old = order.client_id
        ext = {**(order.body.get("clientExtensions") or {}), **tx["clientExtensionsModify"]}
        order.body["clientExtensions"] = ext
        if old and acct.client_orders.get(old) == order.id and ext.get("id") != old:
            del acct.client_orders[old]
        if ext.get("id"):
            acct.client_orders[ext["id"]] = order.id
    if "tradeClientExtensionsModify" in tx:
        ext = {**(order.body.get("tradeClientExtensions") or {})}
        ext.update(tx["tradeClientExtensionsModify"])
        order.body["tradeClientExtensions"] = ext


def _trade_ext(acct: Account, tx: dict[str, Any]) -> None:
    trade = acct.trades[tx["tradeID"]]
    old = trade.client_id
    trade.client_ext = {**(trade.client_ext or {}), **tx["tradeClientExtensionsModify"]}
    if old and acct.client_trades.get(old) == trade.id and trade.client_id != old:
        del acct.client_trades[old]
    if trade.client_id:
        acct.client_trades[trade.client_id] = trade.id


_HANDLERS = {
    "TRANSFER_FUNDS": _funds,
    "ORDER_FILL": _fill,
    "ORDER_CANCEL": _cancel,
    "ORDER_CLIENT_EXTENSIONS_MODIFY": _order_ext,
    "TRADE_CLIENT_EXTENSIONS_MODIFY": _trade_ext,
    "DAILY_FINANCING": daily_financing,
    "CLIENT_CONFIGURE": client_configure,
}
