"""The matching engine: accounts, orders, fills, trades and positions, as OANDA's v20 does them.

Every change is a transaction: a command makes transactions, ``apply`` folds each into the
state as it is made, and the command's transactions are written to the store in one go before
the command returns (then pushed to subscribers). On start the stored transactions are
replayed through the same ``apply``, so a restarted engine has the same state and ids.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from tradewind.venue.engine.apply import apply
from tradewind.venue.engine.model import HOME_PLACES, ZERO, Account, Order, Trade
from tradewind.venue.engine.parse import OrderParser, Reject, client_extensions, message
from tradewind.venue.engine.store import AccountRecord, MemoryStore, TransactionStore
from tradewind.venue.engine.views import (
    QuoteFn,
    Valuation,
    account_json,
    money,
    order_json,
    position_json,
    summary_json,
    trade_json,
)
from tradewind.venue.instruments import VenueInstrument
from tradewind.venue.quotes import Quote
from tradewind.venue.wire import NS, VenueError, bad_value, dec, format_time, not_found, parse_time

Listener = Callable[[str, dict[str, Any]], None]
DEFAULT_ACCOUNT = "101-001-0000001-001"
_DAY = 86_400 * NS
_GFD_CUTOFF = 21 * 3600 * NS  # a good-for-day order ends at 21:00 UTC (17:00 New York)


def _round(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


def _ns(text: str) -> int:
    return parse_time(text)


class VenueEngine:
    """The venue's trading state. Thread-safe: every public method runs under one lock."""

    def __init__(
        self,
        instruments: dict[str, VenueInstrument],
        now: Callable[[], int],
        quote: QuoteFn,
        store: TransactionStore | None = None,
        *,
        hedging: bool = False,
        opening_balance: float = 100_000.0,
        currency: str = "USD",
        account_id: str = DEFAULT_ACCOUNT,
    ) -> None:
        self.instruments, self.now, self.quote = instruments, now, quote
        self.store: TransactionStore = store if store is not None else MemoryStore()
        self.lock = threading.RLock()
        self.accounts: dict[str, Account] = {}
        self._listeners: list[Listener] = []
        self._batch: list[tuple[str, dict[str, Any]]] = []
        self._new_accounts: list[AccountRecord] = []
        self._batch_id: dict[str, str] = {}
        self._depth = 0
        self._replay()
        if not self.accounts:
            self.open_account(account_id, opening_balance, currency=currency, hedging=hedging)

    # ------------------------------------------------------------------ state and storage

    def _replay(self) -> None:
        records, txs = self.store.load()
        self.accounts = {
            r.id: Account(r.id, r.currency, r.hedging, r.alias, r.created_time) for r in records
        }
        for account_id, tx in txs:
            apply(self.accounts[account_id], tx)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(account_id, transaction)`` after each transaction is stored (from
        the thread that made it; keep it quick). Returns the unsubscribe function."""
        with self.lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self.lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    @contextmanager
    def _unit(self) -> Iterator[None]:
        """One unit of work: its transactions are stored together when it ends (also when it
        ends with a VenueError: rejects are transactions too); any other error rebuilds the
        state from the store."""
        with self.lock:
            self._depth += 1
            if self._depth > 1:  # nested: the outer unit commits
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            try:
                yield
            except VenueError:
                self._commit()
                raise
            except BaseException:
                self._batch, self._new_accounts, self._batch_id = [], [], {}
                self._replay()
                raise
            else:
                self._commit()
            finally:
                self._depth -= 1

    def _commit(self) -> None:
        batch, accounts = self._batch, self._new_accounts
        self._batch, self._new_accounts, self._batch_id = [], [], {}
        if not batch and not accounts:
            return
        try:
            self.store.append(accounts, batch)
        except BaseException:
            self._replay()
            raise
        for account_id, tx in batch:
            for listener in list(self._listeners):
                with suppress(Exception):
                    listener(account_id, tx)

    def _emit(self, acct: Account, kind: str, **fields: Any) -> dict[str, Any]:
        tx_id = str(acct.last_tx + 1)
        batch = self._batch_id.setdefault(acct.id, tx_id)
        tx: dict[str, Any] = {
            "id": tx_id,
            "time": format_time(self.now()),
            "userID": 1,
            "accountID": acct.id,
            "batchID": batch,
            "requestID": batch,
            "type": kind,
        }
        tx.update({k: v for k, v in fields.items() if v is not None})
        apply(acct, tx)
        self._batch.append((acct.id, tx))
        return tx

    def _related(self, acct: Account) -> dict[str, Any]:
        ids = [tx["id"] for a, tx in self._batch if a == acct.id]
        return {"relatedTransactionIDs": ids, "lastTransactionID": str(acct.last_tx)}

    # ------------------------------------------------------------------ accounts

    def open_account(
        self,
        account_id: str,
        balance: float,
        *,
        currency: str = "USD",
        hedging: bool = False,
        alias: str = "Primary",
    ) -> dict[str, Any]:
        """Open a funded practice account: CREATE then TRANSFER_FUNDS."""
        with self.lock, self._unit():
            if account_id in self.accounts:
                raise VenueError(400, "The Account already exists", "INVALID_VALUE")
            created = format_time(self.now())
            record = AccountRecord(account_id, currency, hedging, alias, created)
            acct = Account(account_id, currency, hedging, alias, created)
            self.accounts[account_id] = acct
            self._new_accounts.append(record)
            site, division, user, number = (account_id.split("-") + ["0"] * 4)[:4]
            self._emit(
                acct,
                "CREATE",
                divisionID=int(division) if division.isdigit() else 1,
                siteID=int(site) if site.isdigit() else 101,
                accountUserID=int(user) if user.isdigit() else 1,
                accountNumber=int(number) if number.isdigit() else 1,
                homeCurrency=currency,
            )
            amount = _round(Decimal(str(balance)), HOME_PLACES)
            self._emit(
                acct,
                "TRANSFER_FUNDS",
                amount=money(amount),
                fundingReason="CLIENT_FUNDING",
                accountBalance=money(amount),
            )
            return {"account": summary_json(acct, self._val(acct))}

    def account(self, account_id: str) -> Account:
        acct = self.accounts.get(account_id)
        if acct is None:
            raise not_found("The Account specified does not exist")
        return acct

    def account_exists(self, account_id: str) -> bool:
        with self.lock:
            return account_id in self.accounts

    def _val(self, acct: Account) -> Valuation:
        return Valuation(acct, self.instruments, self.quote)

    def list_accounts(self) -> dict[str, Any]:
        with self.lock:
            return {"accounts": [{"id": a, "tags": []} for a in self.accounts]}

    def get_account(self, account_id: str) -> dict[str, Any]:
        with self.lock:
            acct = self.account(account_id)
            return {
                "account": account_json(acct, self._val(acct)),
                "lastTransactionID": str(acct.last_tx),
            }

    def get_summary(self, account_id: str) -> dict[str, Any]:
        with self.lock:
            acct = self.account(account_id)
            return {
                "account": summary_json(acct, self._val(acct)),
                "lastTransactionID": str(acct.last_tx),
            }

    def get_instruments(self, account_id: str, names: list[str] | None = None) -> dict[str, Any]:
        with self.lock:
            acct = self.account(account_id)
            if names is not None and any(n not in self.instruments for n in names):
                raise bad_value("instruments")
            chosen = names if names is not None else sorted(self.instruments)
            return {
                "instruments": [self.instruments[n].to_json() for n in chosen],
                "lastTransactionID": str(acct.last_tx),
            }

    def get_changes(self, account_id: str, since: int) -> dict[str, Any]:
        with self.lock:
            acct = self.account(account_id)
            if since < 0 or since > acct.last_tx:
                raise bad_value("sinceTransactionID")
            txs = acct.transactions[since:]  # ids are 1..n, in order
            created, filled, cancelled = set(), set(), set()
            opened, reduced, closed, positions = set(), set(), set(), set()
            for tx in txs:
                kind = tx["type"]
                if kind.endswith("_ORDER") and tx["id"] in acct.orders:
                    created.add(tx["id"])
                elif kind == "ORDER_FILL":
                    filled.add(tx["orderID"])
                    positions.add(tx["instrument"])
                    if "tradeOpened" in tx:
                        opened.add(tx["tradeOpened"]["tradeID"])
                    if "tradeReduced" in tx:
                        reduced.add(tx["tradeReduced"]["tradeID"])
                    closed.update(p["tradeID"] for p in tx.get("tradesClosed", []))
                elif kind == "ORDER_CANCEL":
                    cancelled.add(tx["orderID"])
            val = self._val(acct)

            def orders(ids: set[str], state: str | None = None) -> list[dict[str, Any]]:
                out = [acct.orders[i] for i in sorted(ids, key=int) if i in acct.orders]
                return [order_json(o) for o in out if state is None or o.state == state]

            def trades(ids: set[str]) -> list[dict[str, Any]]:
                return [trade_json(acct.trades[i], acct, val) for i in sorted(ids, key=int)]

            summary = summary_json(acct, val)
            state_keys = (
                "unrealizedPL", "NAV", "marginUsed", "marginAvailable", "positionValue",
                "marginCloseoutUnrealizedPL", "marginCloseoutNAV", "marginCloseoutMarginUsed",
                "marginCloseoutPercent", "marginCloseoutPositionValue", "withdrawalLimit",
                "marginCallMarginUsed", "marginCallPercent",
            )  # fmt: skip
            state: dict[str, Any] = {k: summary[k] for k in state_keys}
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
            return {
                "changes": {
                    "ordersCreated": orders(created, "PENDING"),
                    "ordersCancelled": orders(cancelled, "CANCELLED"),
                    "ordersFilled": orders(filled, "FILLED"),
                    "ordersTriggered": [],
                    "tradesOpened": trades(opened),
                    "tradesReduced": trades(reduced - closed),
                    "tradesClosed": trades(closed),
                    "positions": [position_json(i, acct, val) for i in sorted(positions)],
                    "transactions": list(txs),
                },
                "state": state,
                "lastTransactionID": str(acct.last_tx),
            }

    # ------------------------------------------------------------------ lookups

    def _order(self, acct: Account, spec: str) -> Order:
        oid = acct.client_orders.get(spec[1:]) if spec.startswith("@") else spec
        order = acct.orders.get(oid or "")
        if order is None:
            raise not_found("The Order specified does not exist")
        return order

    def _trade(self, acct: Account, spec: str) -> Trade:
        tid = acct.client_trades.get(spec[1:]) if spec.startswith("@") else spec
        trade = acct.trades.get(tid or "")
        if trade is None:
            raise not_found("The Trade specified does not exist")
        return trade

    def _parser(self, acct: Account, exclude_order: Order | None = None) -> OrderParser:
        taken = set(acct.client_orders)
        if exclude_order is not None and exclude_order.client_id:
            taken.discard(exclude_order.client_id)

        def trade_instrument(tid: str) -> str | None:
            t = acct.trades.get(tid)
            return t.instrument if t is not None and t.state == "OPEN" else None

        return OrderParser(
            self.instruments, self.now(), taken, set(acct.client_trades), trade_instrument
        )

    # ------------------------------------------------------------------ order queries

    def list_orders(
        self,
        account_id: str,
        *,
        state: str = "PENDING",
        instrument: str | None = None,
        count: int = 50,
        before_id: int | None = None,
        ids: list[str] | None = None,
    ) -> dict[str, Any]:
        with self.lock:
            acct = self.account(account_id)
            chosen = sorted(acct.orders.values(), key=lambda o: -int(o.id))
            out = [
                order_json(o)
                for o in chosen
                if (state == "ALL" or o.state == state)
                and (instrument is None or o.instrument == instrument)
                and (before_id is None or int(o.id) < before_id)
                and (ids is None or o.id in ids)
            ]
            return {"orders": out[:count], "lastTransactionID": str(acct.last_tx)}

    def get_order(self, account_id: str, spec: str) -> dict[str, Any]:
        with self.lock:
            acct = self.account(account_id)
            return {
                "order": order_json(self._order(acct, spec)),
                "lastTransactionID": str(acct.last_tx),
            }

    # ------------------------------------------------------------------ order commands

    def create_order(self, account_id: str, spec: Any) -> dict[str, Any]:
        """POST /orders: the create transaction and what followed (fill, cancel); a reject
        raises VenueError(400) carrying the reject transaction."""
        with self.lock, self._unit():
            acct = self.account(account_id)
            fields = self._parse_or_reject(acct, spec)
            return self._place(acct, fields, reason="CLIENT_ORDER")

    def _parse_or_reject(
        self, acct: Account, spec: Any, kind: str | None = None, exclude: Order | None = None,
        key: str = "orderRejectTransaction",
    ) -> dict[str, Any]:  # fmt: skip
        parser = self._parser(acct, exclude)
        try:
            fields = parser.parse(spec, kind)
        except Reject as r:
            self._reject(acct, f"{r.fields.get('type', 'MARKET_ORDER')}_REJECT", r, key)
        if fields["type"] == "MARKET_ORDER":
            q = self.quote(fields["instrument"])
            inst = self.instruments[fields["instrument"]]
            if (
                q is None
                or not q.bids
                or not q.asks
                or self._val(acct).rate(inst.quote_currency) is None
            ):
                self._reject(
                    acct, "MARKET_ORDER_REJECT", Reject("INSTRUMENT_PRICE_UNKNOWN", fields), key
                )
        return fields

    def _reject(self, acct: Account, kind: str, r: Reject, key: str, status: int = 400) -> None:
        fields = {k: v for k, v in r.fields.items() if k != "type"}
        tx = self._emit(acct, kind, **fields, rejectReason=r.reason)
        raise VenueError(status, message(r.reason), r.reason, **{key: tx}, **self._related(acct))

    def _place(self, acct: Account, fields: dict[str, Any], reason: str) -> dict[str, Any]:
        kind = fields.pop("type")
        tx = self._emit(acct, kind, **fields, reason=reason)
        order = acct.orders[tx["id"]]
        out: dict[str, Any] = {"orderCreateTransaction": tx}
        if order.type == "MARKET":
            out.update(self._execute_market(acct, order))
        else:
            out.update(self._try_trigger(acct, order))
        out.update(self._related(acct))
        return out

    def _execute_market(self, acct: Account, order: Order) -> dict[str, Any]:
        q = self.quote(order.instrument)
        ioc = order.body.get("timeInForce") == "IOC"
        bound = order.body.get("priceBound")
        return self._fill(
            acct, order, q, order.units, partial=ioc, bound=Decimal(bound) if bound else None
        )

    def cancel_order(self, account_id: str, spec: str) -> dict[str, Any]:
        with self.lock, self._unit():
            acct = self.account(account_id)
            order = self._order(acct, spec)
            if order.state != "PENDING":
                self._reject(
                    acct,
                    "ORDER_CANCEL_REJECT",
                    Reject("ORDER_DOESNT_EXIST", {"orderID": order.id}),
                    "orderCancelRejectTransaction",
                    status=404,
                )
            tx = self._cancel(acct, order, "CLIENT_REQUEST")
            return {"orderCancelTransaction": tx, **self._related(acct)}

    def _cancel(self, acct: Account, order: Order, reason: str, **extra: Any) -> dict[str, Any]:
        return self._emit(
            acct, "ORDER_CANCEL", orderID=order.id, reason=reason, **extra,
        )  # fmt: skip

    def replace_order(self, account_id: str, spec: str, body: Any) -> dict[str, Any]:
        """PUT /orders/{spec}: cancel the order and create its replacement (201)."""
        with self.lock, self._unit():
            acct = self.account(account_id)
            order = self._order(acct, spec)
            if order.state != "PENDING" or order.type == "MARKET":
                self._reject(
                    acct,
                    "ORDER_CANCEL_REJECT",
                    Reject("ORDER_DOESNT_EXIST", {"orderID": order.id}),
                    "orderCancelRejectTransaction",
                    status=404,
                )
            fields = self._parse_or_reject(acct, body, exclude=order)
            if order.type in ("TAKE_PROFIT", "STOP_LOSS") and (
                fields["type"] != f"{order.type}_ORDER" or fields.get("tradeID") != order.trade_id
            ):
                self._reject(
                    acct,
                    f"{fields['type']}_REJECT",
                    Reject("REPLACING_ORDER_INVALID", fields),
                    "orderRejectTransaction",
                )
            cancel = self._cancel(
                acct, order, "CLIENT_REQUEST_REPLACED", replacedByOrderID=str(acct.last_tx + 2)
            )
            fields["replacesOrderID"] = order.id
            if fields["type"] in ("TAKE_PROFIT_ORDER", "STOP_LOSS_ORDER"):
                out = self._place_dependent(acct, fields, "REPLACEMENT")
            else:
                out = self._place(acct, fields, reason="REPLACEMENT")
            out["orderCancelTransaction"] = cancel
            out.update(self._related(acct))
            return out

    def set_order_extensions(self, account_id: str, spec: str, body: Any) -> dict[str, Any]:
        with self.lock, self._unit():
            acct = self.account(account_id)
            order = self._order(acct, spec)
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
                self._reject(
                    acct, "ORDER_CLIENT_EXTENSIONS_MODIFY_REJECT", Reject(r.reason, fields), key
                )
            tx = self._emit(acct, "ORDER_CLIENT_EXTENSIONS_MODIFY", **fields)
            return {"orderClientExtensionsModifyTransaction": tx, **self._related(acct)}

    # ------------------------------------------------------------------ fills

    def _fill(
        self,
        acct: Account,
        order: Order,
        q: Quote | None,
        units: Decimal,
        *,
        partial: bool = False,
        bound: Decimal | None = None,
        force: bool = False,
        only_trade: Trade | None = None,
        fill_reason: str | None = None,
        position_fill: str | None = None,
    ) -> dict[str, Any]:
        """Fill ``order`` for ``units`` at the quote, or cancel it with OANDA's reason.
        Returns ``{"orderFillTransaction": ..., "orderCancelTransaction": ...}`` (either)."""
        inst = self.instruments[order.instrument]
        val = self._val(acct)
        rate = val.rate(inst.quote_currency)
        if q is None or not q.bids or not q.asks or rate is None:
            return {"orderCancelTransaction": self._cancel(acct, order, "MARKET_HALTED")}
        if not q.tradeable:
            return {"orderCancelTransaction": self._cancel(acct, order, "MARKET_HALTED")}
        buy = units > 0
        # what the fill does to the position
        if only_trade is not None:
            opposite = [only_trade]
            mode = "REDUCE_ONLY"
        else:
            opposite = sorted(
                (t for t in acct.open_trades(order.instrument) if (t.current_units > 0) != buy),
                key=lambda t: int(t.id),
            )
            mode = position_fill or order.body.get("positionFill", "DEFAULT")
            if mode == "DEFAULT":
                mode = "OPEN_ONLY" if acct.hedging else "REDUCE_FIRST"
        opp_units = sum((abs(t.current_units) for t in opposite), ZERO)
        want = abs(units)
        if mode == "OPEN_ONLY":
            if opp_units and not acct.hedging:
                return {"orderCancelTransaction": self._cancel(acct, order, "FIFO_VIOLATION")}
            reduce, open_ = ZERO, want
        elif mode == "REDUCE_ONLY":
            reduce, open_ = min(want, opp_units), ZERO
            if reduce == 0:
                return {
                    "orderCancelTransaction": self._cancel(acct, order, "POSITION_CLOSEOUT_FAILED")
                }
        else:
            reduce = min(want, opp_units)
            open_ = want - reduce
        wanted = reduce + open_
        # walk the book
        levels = [(Decimal(str(p)), Decimal(int(liq))) for p, liq in (q.asks if buy else q.bids)]
        filled, value, bounded = ZERO, ZERO, False
        for price, liq in levels:
            if bound is not None and (price > bound if buy else price < bound):
                bounded = True
                break
            take = min(liq, wanted - filled)
            if take > 0:
                filled += take
                value += take * price
            if filled >= wanted:
                break
        if filled < wanted and force and levels and not bounded:
            value += (wanted - filled) * levels[-1][0] if filled < wanted else ZERO
            filled = wanted
        if filled < wanted and (not partial or filled == 0):
            why = "BOUNDS_VIOLATION" if bounded else "INSUFFICIENT_LIQUIDITY"
            return {"orderCancelTransaction": self._cancel(acct, order, why)}
        if filled < wanted:  # IOC: the reducing part first, the rest opens
            reduce = min(reduce, filled)
            open_ = filled - reduce
        price = _round(value / filled, inst.displayPrecision)
        sign = Decimal(1 if buy else -1)
        # margin
        margin_rate = Decimal(str(inst.marginRate))
        if open_ > 0:
            sides = val.sides()
            long, short = sides.get(order.instrument, (ZERO, ZERO))
            before = val.margin_for(order.instrument, long, short)
            if buy:
                long_after, short_after = long + open_, short + reduce
            else:
                long_after, short_after = long - reduce, short - open_
            after = val.margin_for(order.instrument, long_after, short_after)
            tot = val.totals(sides)
            if after > before and tot["marginUsed"] - before + after > tot["NAV"]:
                return {"orderCancelTransaction": self._cancel(acct, order, "INSUFFICIENT_MARGIN")}
        # the fill transaction
        closed, reduced_part = [], None
        pl_total = ZERO
        remaining = reduce
        half_spread = Decimal(str(q.ask - q.bid)) / 2 * rate
        for t in opposite:
            if remaining <= 0:
                break
            take = min(abs(t.current_units), remaining)
            remaining -= take
            t_sign = Decimal(1 if t.current_units > 0 else -1)
            pl = _round((price - t.price) * t_sign * take * rate, HOME_PLACES)
            pl_total += pl
            part = {
                "tradeID": t.id,
                "units": dec(-t_sign * take, inst.tradeUnitsPrecision),
                "price": dec(price, inst.displayPrecision),
                "realizedPL": money(pl),
                "financing": "0.0000",
                "guaranteedExecutionFee": "0.0000",
                "halfSpreadCost": money(half_spread * take),
            }
            part = {k: v for k, v in part.items() if v is not None}
            if take == abs(t.current_units):
                closed.append(part)
            else:
                reduced_part = part
        tx_id = str(acct.last_tx + 1)
        opened = None
        if open_ > 0:
            opened = {
                "tradeID": tx_id,
                "units": dec(sign * open_, inst.tradeUnitsPrecision),
                "price": dec(price, inst.displayPrecision),
                "guaranteedExecutionFee": "0.0000",
                "halfSpreadCost": money(half_spread * open_),
                "initialMarginRequired": money(open_ * Decimal(str(q.mid)) * rate * margin_rate),
            }
            if order.body.get("tradeClientExtensions"):
                opened["clientExtensions"] = dict(order.body["tradeClientExtensions"])
        full_price = {
            "type": "PRICE",
            "instrument": q.instrument,
            "time": format_time(q.time_ns),
            "tradeable": q.tradeable,
            "bids": [
                {"price": dec(Decimal(str(p)), inst.displayPrecision), "liquidity": int(v)}
                for p, v in q.bids
            ],
            "asks": [
                {"price": dec(Decimal(str(p)), inst.displayPrecision), "liquidity": int(v)}
                for p, v in q.asks
            ],
            "closeoutBid": dec(Decimal(str(q.bid)), inst.displayPrecision),
            "closeoutAsk": dec(Decimal(str(q.ask)), inst.displayPrecision),
        }
        fill = self._emit(
            acct,
            "ORDER_FILL",
            orderID=order.id,
            clientOrderID=order.client_id,
            instrument=order.instrument,
            units=dec(sign * filled, inst.tradeUnitsPrecision),
            price=dec(price, inst.displayPrecision),
            fullVWAP=dec(price, inst.displayPrecision),
            fullPrice=full_price,
            reason=fill_reason or _FILL_REASONS.get(order.type, "MARKET_ORDER"),
            pl=money(pl_total),
            financing="0.0000",
            commission="0.0000",
            guaranteedExecutionFee="0.0000",
            accountBalance=money(acct.balance + pl_total),
            gainQuoteHomeConversionFactor=dec(rate, 8),
            lossQuoteHomeConversionFactor=dec(rate, 8),
            halfSpreadCost=money(half_spread * filled),
            tradeOpened=opened,
            tradesClosed=closed or None,
            tradeReduced=reduced_part,
        )
        out: dict[str, Any] = {"orderFillTransaction": fill}
        for part in closed:  # a closed trade's take profit / stop loss go with it
            t = acct.trades[part["tradeID"]]
            for oid in (t.tp_order, t.sl_order):
                if oid and acct.orders[oid].state == "PENDING":
                    self._cancel(acct, acct.orders[oid], "LINKED_TRADE_CLOSED")
        if opened is not None:
            self._on_fill_orders(acct, order, fill)
        if filled < want and partial:
            out["orderCancelTransaction"] = self._emit(
                acct, "ORDER_CANCEL", orderID=order.id, reason="INSUFFICIENT_LIQUIDITY",
            )  # fmt: skip
        return out

    def _on_fill_orders(self, acct: Account, order: Order, fill: dict[str, Any]) -> None:
        trade_id = fill["tradeOpened"]["tradeID"]
        trade = acct.trades[trade_id]
        inst = self.instruments[trade.instrument]
        for key, kind in (
            ("takeProfitOnFill", "TAKE_PROFIT_ORDER"),
            ("stopLossOnFill", "STOP_LOSS_ORDER"),
        ):
            spec = order.body.get(key)
            if not spec:
                continue
            fields: dict[str, Any] = {"type": kind, "tradeID": trade_id}
            if trade.client_id:
                fields["clientTradeID"] = trade.client_id
            if "distance" in spec:
                d = Decimal(spec["distance"])
                price = trade.price - d if trade.current_units > 0 else trade.price + d
                fields["distance"] = spec["distance"]
                fields["price"] = dec(price, inst.displayPrecision)
            else:
                fields["price"] = spec["price"]
            fields["timeInForce"] = spec.get("timeInForce", "GTC")
            if "gtdTime" in spec:
                fields["gtdTime"] = spec["gtdTime"]
            fields["triggerCondition"] = "DEFAULT"
            if spec.get("clientExtensions"):
                fields["clientExtensions"] = spec["clientExtensions"]
            fields["orderFillTransactionID"] = fill["id"]
            self._place_dependent(acct, fields, "ON_FILL")

    def _place_dependent(
        self, acct: Account, fields: dict[str, Any], reason: str
    ) -> dict[str, Any]:
        fields = dict(fields)
        kind = fields.pop("type")
        tx = self._emit(acct, kind, **fields, reason=reason)
        out: dict[str, Any] = {"orderCreateTransaction": tx}
        out.update(self._try_trigger(acct, acct.orders[tx["id"]]))
        return out

    # ------------------------------------------------------------------ triggers

    def _triggered(self, acct: Account, order: Order, q: Quote) -> bool:
        price = order.price
        if price is None or not q.bids or not q.asks:
            return False
        bid, ask = Decimal(str(q.bid)), Decimal(str(q.ask))
        if order.type in ("LIMIT", "STOP"):
            buy = order.units > 0
            if order.type == "LIMIT":
                return ask <= price if buy else bid >= price
            return ask >= price if buy else bid <= price
        trade = acct.trades.get(order.trade_id or "")
        if trade is None or trade.state != "OPEN":
            return False
        long = trade.current_units > 0
        if order.type == "TAKE_PROFIT":
            return bid >= price if long else ask <= price
        return bid <= price if long else ask >= price  # STOP_LOSS

    def _try_trigger(self, acct: Account, order: Order) -> dict[str, Any]:
        q = self.quote(
            order.instrument
            if order.type in ("LIMIT", "STOP")
            else self._trade_instrument(acct, order)
        )
        if q is None or not q.tradeable or not self._triggered(acct, order, q):
            if order.body.get("timeInForce") in ("FOK", "IOC") and order.type in ("LIMIT", "STOP"):
                return {
                    "orderCancelTransaction": self._cancel(acct, order, "TIME_IN_FORCE_EXPIRED")
                }
            return {}
        if order.type in ("LIMIT", "STOP"):
            bound = order.body.get("priceBound")
            return self._fill(
                acct, order, q, order.units, force=True, bound=Decimal(bound) if bound else None
            )
        trade = acct.trades[order.trade_id or ""]
        return self._fill(acct, order, q, -trade.current_units, force=True, only_trade=trade)

    def _trade_instrument(self, acct: Account, order: Order) -> str:
        trade = acct.trades.get(order.trade_id or "")
        return trade.instrument if trade is not None else ""

    def _expiry(self, order: Order) -> int | None:
        tif = order.body.get("timeInForce")
        if tif == "GTD" and "gtdTime" in order.body:
            return _ns(order.body["gtdTime"])
        if tif == "GFD":
            created = _ns(order.create_time)
            cutoff = created - created % _DAY + _GFD_CUTOFF
            return cutoff if cutoff > created else cutoff + _DAY
        return None

    def on_quote(self, quote: Quote) -> None:
        """A new price: expire, trigger and fill pending orders on its instrument (oldest
        first), then run the margin closeout check on every account."""
        with self.lock, self._unit():
            now = self.now()
            for acct in self.accounts.values():
                for order in sorted(acct.pending(), key=lambda o: int(o.id)):
                    if order.state != "PENDING":
                        continue
                    expiry = self._expiry(order)
                    if expiry is not None and now >= expiry:
                        self._cancel(acct, order, "TIME_IN_FORCE_EXPIRED")
                        continue
                    inst = order.instrument or self._trade_instrument(acct, order)
                    if (
                        inst == quote.instrument
                        and quote.tradeable
                        and self._triggered(acct, order, quote)
                    ):
                        if order.type in ("LIMIT", "STOP"):
                            self._fill(acct, order, quote, order.units, force=True)
                        else:
                            trade = acct.trades[order.trade_id or ""]
                            self._fill(
                                acct,
                                order,
                                quote,
                                -trade.current_units,
                                force=True,
                                only_trade=trade,
                            )
                self._margin_check(acct)

    def _margin_check(self, acct: Account) -> None:
        if not acct.open_trades():
            return
        tot = self._val(acct).totals()
        if tot["marginUsed"] <= 0 or tot["NAV"] * 2 > tot["marginUsed"]:
            return
        for inst, (long, short) in sorted(self._val(acct).sides().items()):
            q = self.quote(inst)
            if q is None or not q.tradeable:
                continue
            for units in (long, short):
                if units == 0:
                    continue
                tx = self._emit(
                    acct,
                    "MARKET_ORDER",
                    instrument=inst,
                    units=self.instruments[inst].units(float(-units)),
                    timeInForce="FOK",
                    positionFill="REDUCE_ONLY",
                    reason="MARGIN_CLOSEOUT",
                    marginCloseout={"reason": "MARGIN_CHECK_VIOLATION"},
                )
                self._fill(
                    acct,
                    acct.orders[tx["id"]],
                    q,
                    -units,
                    force=True,
                    position_fill="REDUCE_ONLY",
                    fill_reason="MARKET_ORDER_MARGIN_CLOSEOUT",
                )

    # ------------------------------------------------------------------ trades

    def list_trades(
        self,
        account_id: str,
        *,
        state: str = "OPEN",
        instrument: str | None = None,
        count: int = 50,
        before_id: int | None = None,
        ids: list[str] | None = None,
    ) -> dict[str, Any]:
        with self.lock:
            acct = self.account(account_id)
            val = self._val(acct)
            chosen = [
                trade_json(t, acct, val)
                for t in sorted(acct.trades.values(), key=lambda t: -int(t.id))
                if (state == "ALL" or t.state == state)
                and (instrument is None or t.instrument == instrument)
                and (before_id is None or int(t.id) < before_id)
                and (ids is None or t.id in ids)
            ]
            return {"trades": chosen[:count], "lastTransactionID": str(acct.last_tx)}

    def get_trade(self, account_id: str, spec: str) -> dict[str, Any]:
        with self.lock:
            acct = self.account(account_id)
            trade = self._trade(acct, spec)
            return {
                "trade": trade_json(trade, acct, self._val(acct)),
                "lastTransactionID": str(acct.last_tx),
            }

    def close_trade(self, account_id: str, spec: str, units: Any = "ALL") -> dict[str, Any]:
        with self.lock, self._unit():
            acct = self.account(account_id)
            trade = self._trade(acct, spec)
            if trade.state != "OPEN":
                raise not_found("The Trade specified does not exist")
            inst = self.instruments[trade.instrument]
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
                n = _positive(units)
                if n is None:
                    self._reject(
                        acct,
                        "MARKET_ORDER_REJECT",
                        Reject("CLOSE_TRADE_PARTIAL_UNITS_MISSING", {**base, "tradeClose": close}),
                        "orderRejectTransaction",
                    )
                assert n is not None
                close["units"] = dec(n, inst.tradeUnitsPrecision)
                if n > size:
                    self._reject(
                        acct,
                        "MARKET_ORDER_REJECT",
                        Reject(
                            "CLOSE_TRADE_UNITS_EXCEED_TRADE_SIZE", {**base, "tradeClose": close}
                        ),
                        "orderRejectTransaction",
                    )
            q = self.quote(trade.instrument)
            sign = -1 if trade.current_units > 0 else 1
            tx = self._emit(
                acct, "MARKET_ORDER", **base, units=dec(sign * n, inst.tradeUnitsPrecision),
                tradeClose=close, reason="TRADE_CLOSE",
            )  # fmt: skip
            order = acct.orders[tx["id"]]
            out: dict[str, Any] = {"orderCreateTransaction": tx}
            out.update(
                self._fill(
                    acct,
                    order,
                    q,
                    sign * n,
                    only_trade=trade,
                    fill_reason="MARKET_ORDER_TRADE_CLOSE",
                )
            )
            out.update(self._related(acct))
            return out

    def set_trade_extensions(self, account_id: str, spec: str, body: Any) -> dict[str, Any]:
        with self.lock, self._unit():
            acct = self.account(account_id)
            trade = self._trade(acct, spec)
            if not isinstance(body, dict):
                raise bad_value("clientExtensions")
            fields: dict[str, Any] = {"tradeID": trade.id, "clientTradeID": trade.client_id}
            try:
                ext = client_extensions(body.get("clientExtensions"), "CLIENT_TRADE")
                other = acct.client_trades.get(ext.get("id", ""))
                if other is not None and other != trade.id:
                    raise Reject("CLIENT_TRADE_ID_ALREADY_EXISTS", {})
            except Reject as r:
                self._reject(
                    acct,
                    "TRADE_CLIENT_EXTENSIONS_MODIFY_REJECT",
                    Reject(r.reason, fields),
                    "tradeClientExtensionsModifyRejectTransaction",
                )
            tx = self._emit(
                acct, "TRADE_CLIENT_EXTENSIONS_MODIFY", **fields, tradeClientExtensionsModify=ext
            )
            return {"tradeClientExtensionsModifyTransaction": tx, **self._related(acct)}

    def set_trade_orders(self, account_id: str, spec: str, body: Any) -> dict[str, Any]:
        """PUT /trades/{spec}/orders: create, replace or cancel the trade's take profit and
        stop loss (a ``null`` cancels)."""
        with self.lock, self._unit():
            acct = self.account(account_id)
            trade = self._trade(acct, spec)
            if trade.state != "OPEN":
                raise not_found("The Trade specified does not exist")
            if not isinstance(body, dict):
                raise bad_value("body")
            plans = []
            for key, kind, current in (
                ("takeProfit", "TAKE_PROFIT", trade.tp_order),
                ("stopLoss", "STOP_LOSS", trade.sl_order),
            ):
                if key not in body:
                    continue
                fields = None
                if body[key] is not None:
                    if not isinstance(body[key], dict):
                        raise bad_value(key)
                    spec_ = {**body[key], "tradeID": trade.id}
                    existing = acct.orders.get(current or "")
                    fields = self._parse_or_reject(
                        acct, spec_, kind, exclude=existing, key=f"{key}OrderRejectTransaction"
                    )
                plans.append((key, current, fields))
            out: dict[str, Any] = {}
            for key, current, fields in plans:
                if current is not None:
                    replaced = {"replacedByOrderID": str(acct.last_tx + 2)} if fields else {}
                    reason = "CLIENT_REQUEST_REPLACED" if fields else "CLIENT_REQUEST"
                    out[f"{key}OrderCancelTransaction"] = self._cancel(
                        acct, acct.orders[current], reason, **replaced
                    )
                if fields is not None:
                    if current is not None:
                        fields["replacesOrderID"] = current
                    if trade.client_id:
                        fields["clientTradeID"] = trade.client_id
                    placed = self._place_dependent(
                        acct, fields, "REPLACEMENT" if current else "CLIENT_ORDER"
                    )
                    out[f"{key}OrderTransaction"] = placed["orderCreateTransaction"]
                    if "orderFillTransaction" in placed:
                        out[f"{key}OrderFillTransaction"] = placed["orderFillTransaction"]
            out.update(self._related(acct))
            return out

    # ------------------------------------------------------------------ positions

    def list_positions(self, account_id: str, open_only: bool = False) -> dict[str, Any]:
        with self.lock:
            acct = self.account(account_id)
            val = self._val(acct)
            names = sorted(
                {t.instrument for t in acct.open_trades()} if open_only else acct.position_pl
            )
            return {
                "positions": [position_json(i, acct, val) for i in names],
                "lastTransactionID": str(acct.last_tx),
            }

    def get_position(self, account_id: str, instrument: str) -> dict[str, Any]:
        with self.lock:
            acct = self.account(account_id)
            if instrument not in self.instruments:
                raise bad_value("instrument")
            return {
                "position": position_json(instrument, acct, self._val(acct)),
                "lastTransactionID": str(acct.last_tx),
            }

    def close_position(self, account_id: str, instrument: str, body: Any) -> dict[str, Any]:
        with self.lock, self._unit():
            acct = self.account(account_id)
            if instrument not in self.instruments:
                raise bad_value("instrument")
            if not isinstance(body, dict):
                raise bad_value("body")
            inst = self.instruments[instrument]
            sides = self._val(acct).sides().get(instrument, (ZERO, ZERO))
            plans = []
            for side, held in (("long", sides[0]), ("short", -sides[1])):
                req = body.get(f"{side}Units", "NONE")
                if req == "NONE":
                    continue
                fields: dict[str, Any] = {
                    "instrument": instrument,
                    "timeInForce": "FOK",
                    "positionFill": "REDUCE_ONLY",
                }
                closeout = {
                    "instrument": instrument,
                    "units": req if isinstance(req, str) else str(req),
                }
                fields[f"{side}PositionCloseout"] = closeout
                key = f"{side}OrderRejectTransaction"
                n = held if req == "ALL" else _positive(req)
                if n is None:
                    self._reject(
                        acct,
                        "MARKET_ORDER_REJECT",
                        Reject(
                            "CLOSEOUT_POSITION_PARTIAL_UNITS_MISSING",
                            {k: v for k, v in fields.items() if k != f"{side}PositionCloseout"},
                        ),
                        key,
                    )
                assert n is not None
                if held == 0:
                    self._reject(
                        acct,
                        "MARKET_ORDER_REJECT",
                        Reject("CLOSEOUT_POSITION_DOESNT_EXIST", fields),
                        key,
                    )
                if n > held:
                    self._reject(
                        acct,
                        "MARKET_ORDER_REJECT",
                        Reject("CLOSEOUT_POSITION_UNITS_EXCEED_POSITION_SIZE", fields),
                        key,
                    )
                ext = body.get(f"{side}ClientExtensions")
                if ext is not None:
                    try:
                        fields["clientExtensions"] = client_extensions(ext, "CLIENT_ORDER")
                    except Reject:
                        raise bad_value(f"{side}ClientExtensions") from None
                plans.append((side, n, fields))
            if not plans:
                self._reject(
                    acct,
                    "MARKET_ORDER_REJECT",
                    Reject(
                        "CLOSEOUT_POSITION_INCOMPLETE_SPECIFICATION", {"instrument": instrument}
                    ),
                    "longOrderRejectTransaction",
                )
            q = self.quote(instrument)
            out: dict[str, Any] = {}
            for side, n, fields in plans:
                units = -n if side == "long" else n
                tx = self._emit(
                    acct,
                    "MARKET_ORDER",
                    units=dec(units, inst.tradeUnitsPrecision),
                    reason="POSITION_CLOSEOUT",
                    **fields,
                )
                order = acct.orders[tx["id"]]
                out[f"{side}OrderCreateTransaction"] = tx
                res = self._fill(
                    acct,
                    order,
                    q,
                    units,
                    position_fill="REDUCE_ONLY",
                    fill_reason="MARKET_ORDER_POSITION_CLOSEOUT",
                )
                if "orderFillTransaction" in res:
                    out[f"{side}OrderFillTransaction"] = res["orderFillTransaction"]
                if "orderCancelTransaction" in res:
                    out[f"{side}OrderCancelTransaction"] = res["orderCancelTransaction"]
            out.update(self._related(acct))
            return out

    # ------------------------------------------------------------------ transactions

    def transaction_pages(
        self,
        account_id: str,
        from_ns: int | None = None,
        to_ns: int | None = None,
        page_size: int = 100,
        types: list[str] | None = None,
    ) -> dict[str, Any]:
        """GET /transactions: the id ranges of pages (the route turns them into URLs)."""
        with self.lock:
            acct = self.account(account_id)
            now = self.now()
            lo = from_ns if from_ns is not None else 0
            hi = to_ns if to_ns is not None else now
            ids = [
                int(tx["id"])
                for tx in acct.transactions
                if lo <= _ns(tx["time"]) <= hi and (types is None or _type_match(tx["type"], types))
            ]
            pages = [
                (ids[i], ids[min(i + page_size, len(ids)) - 1])
                for i in range(0, len(ids), page_size)
            ]
            return {
                "from": format_time(lo),
                "to": format_time(hi),
                "pageSize": page_size,
                **({"type": list(types)} if types else {}),
                "count": len(ids),
                "pages": pages,
                "lastTransactionID": str(acct.last_tx),
            }

    def transactions_range(
        self, account_id: str, from_id: int, to_id: int, types: list[str] | None = None
    ) -> dict[str, Any]:
        with self.lock:
            acct = self.account(account_id)
            lo, hi = max(1, from_id), min(to_id, acct.last_tx)
            txs = [
                acct.transactions[i - 1]
                for i in range(lo, hi + 1)
                if types is None or _type_match(acct.transactions[i - 1]["type"], types)
            ]
            return {"transactions": txs, "lastTransactionID": str(acct.last_tx)}

    def transactions_since(self, account_id: str, since_id: int) -> dict[str, Any]:
        with self.lock:
            acct = self.account(account_id)
            return {
                "transactions": acct.transactions[max(0, since_id) :],
                "lastTransactionID": str(acct.last_tx),
            }

    def get_transaction(self, account_id: str, tx_id: str) -> dict[str, Any]:
        with self.lock:
            acct = self.account(account_id)
            if not tx_id.isdigit() or not 1 <= int(tx_id) <= acct.last_tx:
                raise not_found("The transaction ID specified does not exist")
            return {
                "transaction": acct.transactions[int(tx_id) - 1],
                "lastTransactionID": str(acct.last_tx),
            }

    def last_transaction_id(self, account_id: str) -> str:
        with self.lock:
            return str(self.account(account_id).last_tx)


# v20's TransactionFilter names that cover several types
_FILTERS = {
    "ORDER": {
        "MARKET_ORDER",
        "LIMIT_ORDER",
        "STOP_ORDER",
        "TAKE_PROFIT_ORDER",
        "STOP_LOSS_ORDER",
        "ORDER_FILL",
        "ORDER_CANCEL",
    },
    "FUNDING": {"TRANSFER_FUNDS"},
    "ADMIN": {"CREATE", "CLOSE", "REOPEN", "CLIENT_CONFIGURE"},
}
_FILL_REASONS = {
    "MARKET": "MARKET_ORDER",
    "LIMIT": "LIMIT_ORDER",
    "STOP": "STOP_ORDER",
    "TAKE_PROFIT": "TAKE_PROFIT_ORDER",
    "STOP_LOSS": "STOP_LOSS_ORDER",
}


def _type_match(kind: str, types: list[str]) -> bool:
    return kind in types or any(kind in _FILTERS.get(t, ()) for t in types)


def _positive(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        out = Decimal(str(value).strip())
    except ArithmeticError:
        return None
    return out if out.is_finite() and out > 0 else None
