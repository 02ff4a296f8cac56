"""The OANDA v20 broker adapter, on oandapyV20: for OANDA practice/live or the paper venue.

* One pooled session for every call (REST and streams), paced by two limiters: requests
  (below OANDA's 100/s) and new connections (at most 2/s); a timeout on every call.
* Reads (GET) are retried with exponential backoff and jitter on 429, 5xx, timeouts, dropped
  connections and torn bodies. Order-changing calls are sent once, never retried.
* The rule for an order-changing call whose answer is not a plain success:

  - *Refused*: only an answer that proves the server did nothing is a plain refusal: a 4xx
    (``RejectedOrder`` when it carries a reject transaction, ``RateLimited`` for 429, else
    the mapped error), or a connection that was never made (``BrokerUnavailable``).
  - *Unknown*: anything else (a 5xx, a timeout, a dropped connection, a torn body, a status
    the client does not expect) may come from a server that acted, or will act a moment
    later. The call is looked up, never sent again: an order by its client id
    (``GET orders/@<client id>``, then the transactions since the last id seen before
    sending), a trade or position close by its ``MARKET_ORDER`` and ``ORDER_FILL`` among those
    transactions. The lookups are spread over a grace window (``unknown_grace_s``, at least
    ``resolve_backoff.attempts`` of them, the resolve backoff between them). Found: its
    result (``recovered``). A reject found: ``RejectedOrder``. Still absent (or lookups
    failing) when the window ends: ``UnknownOutcome``, never "not placed": the OMS records
    the order UNKNOWN and its reconciliation resolves it by the client id later, closing it
    as never placed only once it is older than the OMS's own grace period.
* Streams reconnect with backoff when they drop, tear a line or stall (no heartbeat within
  ``stream_stall`` seconds), both through one reconnect loop; the transaction stream
  backfills from ``sinceid`` with the last id it yielded, so nothing is missed or repeated.
* The ``Broker`` port's methods answer in the domain (``tradewind.domain.broker``: events,
  snapshots, ticks), mapped by ``tradewind.broker.mapping``; the ``v20_*`` methods give the
  v20 payloads themselves (for the adapter's own tests and tools).
* The token goes into the session's header and nowhere else: not in logs, errors or repr.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import requests
from oandapyV20 import API
from oandapyV20.endpoints import accounts, instruments, orders, positions, pricing, trades
from oandapyV20.endpoints import transactions as txns
from oandapyV20.endpoints.apirequest import APIRequest
from oandapyV20.exceptions import V20Error

from tradewind.broker.environments import REDACTOR, load_token, resolve_environment
from tradewind.broker.errors import (
    BrokerError,
    BrokerUnavailable,
    NotFound,
    RejectedOrder,
    UnknownOutcome,
)
from tradewind.broker.http import make_session
from tradewind.broker.ledger import AccountLedger, ledger_from_v20
from tradewind.broker.limits import Backoff, RateLimiter
from tradewind.broker.mapping import (
    RETRYABLE,
    account_from_v20,
    client_id_of,
    event_from_v20,
    heartbeat_from_v20,
    map_error,
    never_sent,
    pending_order_from_v20,
    position_from_v20,
    reject_event,
    rules_from_v20,
    tick_from_v20,
)
from tradewind.broker.ports import Json, OrderRequest, OrderResult, TransactionPage
from tradewind.domain import Timeframe
from tradewind.domain.broker import (
    AccountSnapshot,
    BrokerEvent,
    Heartbeat,
    OrderCancelled,
    OrderFilled,
    PendingOrder,
    PositionSnapshot,
)
from tradewind.domain.ticks import Tick
from tradewind.risk.rules import InstrumentRules

log = logging.getLogger(__name__)

_T = TypeVar("_T")

CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
# Candles of H2 and longer are aligned to 00:00 UTC so they lie on our grid (OANDA's default
# is 17:00 America/New_York).
_ALIGNED = {t.value for t in Timeframe if t.day_aligned}


@dataclass(frozen=True)
class OandaOptions:
    """Timeouts, pacing and retry schedules (seconds)."""

    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    stream_stall: float = 12.0  # heartbeats come every 5 s
    requests_per_second: float = 60.0
    request_burst: int = 20
    connections_per_second: float = 2.0
    connection_burst: int = 2
    pool_maxsize: int = 10
    read_backoff: Backoff = field(default_factory=Backoff)
    stream_backoff: Backoff = field(
        default_factory=lambda: Backoff(base=0.25, cap=10.0, attempts=1_000_000)
    )
    resolve_backoff: Backoff = field(default_factory=lambda: Backoff(base=0.2, attempts=4))
    # how long lookups go on after a lost or 5xx answer to an order-changing call before it is
    # left UNKNOWN (for the OMS's reconciliation, whose grace period is longer)
    unknown_grace_s: float = 5.0


def new_client_id() -> str:
    return f"tw-{uuid.uuid4().hex}"


def _dec(value: Decimal | float | int | str) -> str:
    d = Decimal(str(value).strip())
    if not d.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return format(d.normalize(), "f") if d == d.to_integral_value() else format(d, "f")


def _txn_id(value: Any) -> int:
    return int(str(value))


def order_body(order: OrderRequest, client_id: str) -> Json:
    """The v20 order request for ``order``."""
    body: Json = {
        "type": order.type,
        "instrument": order.instrument,
        "units": _dec(order.units),
        "positionFill": order.position_fill,
        "clientExtensions": {"id": client_id},
    }
    if order.tag:
        body["clientExtensions"]["tag"] = order.tag
    if order.comment:
        body["clientExtensions"]["comment"] = order.comment
    if order.type == "MARKET":
        body["timeInForce"] = order.time_in_force or "FOK"
        if order.price_bound is not None:
            body["priceBound"] = _dec(order.price_bound)
        if order.price is not None:
            raise ValueError("a MARKET order takes price_bound, not price")
    else:
        if order.price is None:
            raise ValueError(f"a {order.type} order needs a price")
        body["price"] = _dec(order.price)
        body["timeInForce"] = order.time_in_force or "GTC"
        if order.time_in_force == "GTD":
            if not order.gtd_time:
                raise ValueError("timeInForce GTD needs gtd_time")
            body["gtdTime"] = order.gtd_time
        if order.price_bound is not None and order.type == "STOP":
            body["priceBound"] = _dec(order.price_bound)
    if order.stop_loss is not None:
        body["stopLossOnFill"] = {"price": _dec(order.stop_loss)}
    if order.take_profit is not None:
        body["takeProfitOnFill"] = {"price": _dec(order.take_profit)}
    return body


@dataclass(frozen=True, slots=True)
class V20Page:
    """v20 transactions after an id, oldest first, and the account's last transaction id."""

    transactions: tuple[Json, ...]
    last_transaction_id: str


def _fill_event(tx: Json | None) -> OrderFilled | None:
    event = event_from_v20(tx) if tx is not None else None
    return event if isinstance(event, OrderFilled) else None


def _cancel_event(tx: Json | None) -> OrderCancelled | None:
    event = event_from_v20(tx) if tx is not None else None
    return event if isinstance(event, OrderCancelled) else None


def _answer_events(resp: Json) -> tuple[BrokerEvent, ...]:
    """The transactions of a v20 answer (its ``*Transaction`` values) as events, in id order."""
    tx = sorted(
        (v for k, v in resp.items() if k.endswith("Transaction") and isinstance(v, dict)),
        key=lambda t: _txn_id(t.get("id", 0)),
    )
    return tuple(event_from_v20(t) for t in tx)


def result_from_response(client_id: str, resp: Json) -> OrderResult:
    """An order create/replace answer (201) as an ``OrderResult``."""
    create = resp.get("orderCreateTransaction") or {}
    oid = str(create.get("id", ""))
    # a replace answer also carries the cancel of the order it replaced: only this order's count
    fill = _own(resp.get("orderFillTransaction"), oid)
    cancel = _own(resp.get("orderCancelTransaction"), oid)
    state = "FILLED" if fill else "CANCELLED" if cancel else "PENDING"
    return OrderResult(
        client_id=client_id,
        order_id=oid,
        state=state,
        transactions=_answer_events(resp),
        last_transaction_id=resp.get("lastTransactionID"),
        fill=_fill_event(fill),
        cancel=_cancel_event(cancel),
        trade_opened_id=((fill or {}).get("tradeOpened") or {}).get("tradeID"),
        raw=resp,
    )


def _own(tx: Json | None, order_id: str) -> Json | None:
    return tx if tx is not None and str(tx.get("orderID", order_id)) == order_id else None


def _heartbeat(msg: Json) -> bool:
    return msg.get("type") == "HEARTBEAT"  # both streams (OANDA: {"type": "HEARTBEAT"})


class _Lost(Exception):
    """An order-changing call's answer was lost or says nothing sure (5xx, timeout, dropped
    connection, odd status): the server may have acted. ``sent`` is False when the request
    certainly never left (the connection was never made)."""

    def __init__(self, cause: BrokerError, *, sent: bool = True) -> None:
        super().__init__(str(cause))
        self.cause, self.sent = cause, sent


class OandaBroker:
    """A v20 account through oandapyV20. See the module docstring for the guarantees."""

    def __init__(
        self,
        environment: str = "practice",
        *,
        account_id: str | None = None,
        token: str | None = None,
        allow_live: bool = False,
        options: OandaOptions | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.environment = resolve_environment(environment, allow_live=allow_live)
        secret = token if token is not None else load_token()
        REDACTOR.add(secret)
        self._scrub_secret = secret
        self.options = opts = options or OandaOptions()
        self._sleep = sleep
        self._clock = clock
        self._requests = RateLimiter(
            opts.requests_per_second, opts.request_burst, clock=clock, sleep=sleep
        )
        self._connections = RateLimiter(
            opts.connections_per_second, opts.connection_burst, clock=clock, sleep=sleep
        )
        self._session = make_session(secret, self._connections, opts.pool_maxsize)
        self._api = self._client((opts.connect_timeout, opts.read_timeout))
        self._stream_api = self._client((opts.connect_timeout, opts.stream_stall))
        self._account_id = account_id
        self._last_txn: int | None = None

    @classmethod
    def from_env(
        cls,
        environment: str | None = None,
        *,
        allow_live: bool = False,
        account_id: str | None = None,
        options: OandaOptions | None = None,
    ) -> OandaBroker:
        """Token from ``OANDA_TOKEN``/``OANDA_TOKEN_FILE``, environment from the argument or
        ``OANDA_ENVIRONMENT`` (default practice), account from ``OANDA_ACCOUNT_ID`` or the
        first account the token sees."""
        import os

        env = environment or os.environ.get("OANDA_ENVIRONMENT") or "practice"
        acct = account_id or os.environ.get("OANDA_ACCOUNT_ID") or None
        return cls(env, account_id=acct, allow_live=allow_live, options=options)

    def _client(self, timeout: tuple[float, float]) -> API:
        api = API(access_token=None, environment=self.environment, request_params={})
        api.client.close()
        api.client = self._session
        api._request_params = {"timeout": timeout}
        return api

    def __repr__(self) -> str:
        return f"OandaBroker(environment={self.environment!r}, account_id={self._account_id!r})"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> OandaBroker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ plumbing

    def _scrub(self, text: str) -> str:
        return text.replace(self._scrub_secret, "***") if self._scrub_secret else text

    def _note(self, resp: Any) -> None:
        if isinstance(resp, dict) and resp.get("lastTransactionID") is not None:
            tid = _txn_id(resp["lastTransactionID"])
            if self._last_txn is None or tid > self._last_txn:
                self._last_txn = tid

    def _call(self, endpoint: APIRequest) -> Json:
        self._requests.acquire()
        resp = self._api.request(endpoint)
        self._note(resp)
        return resp  # type: ignore[no-any-return]  # oandapyV20 has no types

    def _read(self, make: Callable[[], APIRequest], what: str) -> Json:
        """A GET, retried with backoff on 429, 5xx, timeouts and dropped or torn answers."""
        schedule = self.options.read_backoff
        for attempt in range(schedule.attempts):
            try:
                return self._call(make())
            except Exception as exc:  # mapped below; anything unexpected is re-raised
                err = map_error(exc, what, self._scrub)
                if not isinstance(err, RETRYABLE) or attempt == schedule.attempts - 1:
                    if err is exc:
                        raise
                    raise err from None
                delay = schedule.delay(attempt)
                log.warning("%s; retry %d in %.2fs", err, attempt + 1, delay)
                self._sleep(delay)
        raise AssertionError("unreachable")

    def _write(self, endpoint: APIRequest, what: str) -> Json:
        """An order-changing call: sent once; failures mapped, never retried."""
        try:
            return self._call(endpoint)
        except Exception as exc:
            raise map_error(exc, what, self._scrub) from None

    @property
    def account_id(self) -> str:
        if self._account_id is None:
            found = self._read(accounts.AccountList, "list accounts").get("accounts") or []
            if not found:
                raise NotFound("the token sees no account")
            self._account_id = str(found[0]["id"])
        return self._account_id

    def last_transaction_id(self, refresh: bool = False) -> str:
        """The last transaction id seen (fetched from the account summary when unknown)."""
        if refresh or self._last_txn is None:
            self.v20_account_summary()
        return str(self._last_txn)

    # ------------------------------------------------------------------ reads

    def v20_account_summary(self) -> Json:
        acct = self.account_id
        summary = self._read(lambda: accounts.AccountSummary(acct), "account summary")
        return summary["account"]  # type: ignore[no-any-return]  # Json values are Any

    def account_summary(self) -> AccountSnapshot:
        return account_from_v20(self.v20_account_summary())

    def ledger(self) -> AccountLedger:
        """What moved the account's NAV since it opened, from all its transactions up to
        the summary's last one (read first, so a fill after it cannot skew the sum)."""
        summary = self.v20_account_summary()
        last = _txn_id(summary["lastTransactionID"])
        txs = (t for t in self._transactions_after(0) if _txn_id(t["id"]) <= last)
        return ledger_from_v20(txs, summary)

    def v20_instruments(self) -> list[Json]:
        """The account's tradeable instruments as v20 ``Instrument`` objects."""
        acct = self.account_id
        resp = self._read(lambda: accounts.AccountInstruments(acct), "account instruments")
        return list(resp.get("instruments", []))

    def instruments(self) -> dict[str, InstrumentRules]:
        return rules_from_v20(self.v20_instruments())

    def candles(
        self,
        instrument: str,
        granularity: str,
        *,
        price: str = "MBA",
        start: str | None = None,
        end: str | None = None,
        count: int | None = None,
        include_first: bool | None = None,
    ) -> list[Json]:
        params: dict[str, Any] = {"granularity": granularity, "price": price}
        if start is not None:
            params["from"] = start
        if end is not None:
            params["to"] = end
        if count is not None:
            params["count"] = int(count)
        if include_first is not None:
            params["includeFirst"] = "true" if include_first else "false"
        if granularity in _ALIGNED:
            params["dailyAlignment"] = 0
            params["alignmentTimezone"] = "UTC"
        what = f"candles {instrument} {granularity}"
        resp = self._read(lambda: instruments.InstrumentsCandles(instrument, dict(params)), what)
        return list(resp.get("candles", []))

    def v20_pricing(self, instruments_: Sequence[str]) -> list[Json]:
        acct, params = self.account_id, {"instruments": ",".join(instruments_)}
        resp = self._read(lambda: pricing.PricingInfo(acct, dict(params)), "pricing")
        return list(resp.get("prices", []))

    def pricing(self, instruments_: Sequence[str]) -> list[Tick]:
        """The latest price of each instrument as a tick (malformed ones dropped, logged)."""
        ticks = (tick_from_v20(p) for p in self.v20_pricing(instruments_))
        return [t for t in ticks if t is not None]

    def get_order(self, order_id: str | None = None, *, client_id: str | None = None) -> Json:
        ref = self._order_ref(order_id, client_id)
        acct = self.account_id
        found = self._read(lambda: orders.OrderDetails(acct, ref), f"order {ref}")
        return found["order"]  # type: ignore[no-any-return]  # Json values are Any

    def v20_list_orders(
        self, *, state: str = "PENDING", instrument: str | None = None
    ) -> list[Json]:
        acct, params = self.account_id, {"state": state, "count": 500}
        if instrument:
            params["instrument"] = instrument
        resp = self._read(lambda: orders.OrderList(acct, dict(params)), "list orders")
        return list(resp.get("orders", []))

    def list_orders(
        self, *, state: str = "PENDING", instrument: str | None = None
    ) -> list[PendingOrder]:
        return [
            pending_order_from_v20(o)
            for o in self.v20_list_orders(state=state, instrument=instrument)
        ]

    def list_trades(self, *, state: str = "OPEN", instrument: str | None = None) -> list[Json]:
        acct, params = self.account_id, {"state": state, "count": 500}
        if instrument:
            params["instrument"] = instrument
        resp = self._read(lambda: trades.TradesList(acct, dict(params)), "list trades")
        return list(resp.get("trades", []))

    def v20_list_positions(self, *, open_only: bool = True) -> list[Json]:
        acct = self.account_id
        make = positions.OpenPositions if open_only else positions.PositionList
        return list(self._read(lambda: make(acct), "list positions").get("positions", []))

    def list_positions(self, *, open_only: bool = True) -> list[PositionSnapshot]:
        return [position_from_v20(p) for p in self.v20_list_positions(open_only=open_only)]

    def v20_transactions_since(self, since_id: str) -> V20Page:
        acct, params = self.account_id, {"id": str(since_id)}
        resp = self._read(lambda: txns.TransactionsSinceID(acct, dict(params)), "transactions")
        items = sorted(resp.get("transactions", []), key=lambda t: _txn_id(t["id"]))
        return V20Page(tuple(items), str(resp.get("lastTransactionID", since_id)))

    def transactions_since(self, since_id: str) -> TransactionPage:
        page = self.v20_transactions_since(since_id)
        return TransactionPage(
            tuple(event_from_v20(t) for t in page.transactions), page.last_transaction_id
        )

    def v20_transactions_between(self, start: str, end: str | None = None) -> list[Json]:
        """v20 transactions with ``start <= time <= end`` (RFC 3339; None: up to now), oldest
        first: ``GET transactions`` (``from``/``to``) answers with the id ranges of its pages,
        each read with ``GET transactions/idrange``."""
        acct = self.account_id
        query: Json = {"from": start, "pageSize": 1000}
        if end is not None:
            query["to"] = end
        listing = self._read(lambda: txns.TransactionList(acct, dict(query)), "transactions")
        out: list[Json] = []
        for url in listing.get("pages", []):
            ids = parse_qs(urlsplit(str(url)).query)
            page = self._read(partial(_id_range, acct, ids["from"][0], ids["to"][0]), "idrange")
            out.extend(page.get("transactions", []))
        return sorted(out, key=lambda t: _txn_id(t["id"]))

    def transactions_between(
        self, start_us: int, end_us: int | None = None
    ) -> tuple[BrokerEvent, ...]:
        """The account's transactions with ``start_us <= time < end_us`` (epoch µs; None: up
        to now), oldest first."""
        end = None if end_us is None else _rfc3339(end_us)
        events = [event_from_v20(t) for t in self.v20_transactions_between(_rfc3339(start_us), end)]
        stop = end_us if end_us is not None else 2**63
        return tuple(e for e in events if e.time_us is not None and start_us <= e.time_us < stop)

    def _transactions_after(self, since_id: int) -> Iterator[Json]:
        """Every transaction after ``since_id``, oldest first, across pages."""
        cursor = since_id
        while True:
            page = self.v20_transactions_since(str(cursor))
            fresh = [t for t in page.transactions if _txn_id(t["id"]) > cursor]
            yield from fresh
            if not fresh or _txn_id(fresh[-1]["id"]) >= _txn_id(page.last_transaction_id):
                return
            cursor = _txn_id(fresh[-1]["id"])

    # ------------------------------------------------------------------ orders

    @staticmethod
    def _order_ref(order_id: str | None, client_id: str | None) -> str:
        if (order_id is None) == (client_id is None):
            raise ValueError("give exactly one of order_id and client_id")
        if client_id is not None:
            if not CLIENT_ID.match(client_id):
                raise ValueError(f"bad client id {client_id!r}")
            return f"@{client_id}"
        return str(order_id)

    def submit_order(self, order: OrderRequest) -> OrderResult:
        """Place ``order``. Rejections raise ``RejectedOrder``; a 5xx or lost answer is looked
        up by the client id over the grace window (see the module docstring), never by sending
        the order again; not found by then: ``UnknownOutcome``, never "not placed"."""
        cid = order.client_id or new_client_id()
        if not CLIENT_ID.match(cid):
            raise ValueError(f"bad client id {cid!r} (letters, digits, _ . : -; <= 128)")
        body = {"order": order_body(order, cid)}
        acct = self.account_id
        return self._place(lambda: orders.OrderCreate(acct, data=body), cid, f"order {cid}")

    def replace_order(self, order_id: str, order: OrderRequest) -> OrderResult:
        """Cancel-replace a pending order; the replacement is found by its own client id if
        the answer is lost."""
        cid = order.client_id or new_client_id()
        body = {"order": order_body(order, cid)}
        acct = self.account_id
        return self._place(
            lambda: orders.OrderReplace(acct, str(order_id), data=body),
            cid,
            f"replace order {order_id} by {cid}",
        )

    def _place(self, make: Callable[[], APIRequest], cid: str, what: str) -> OrderResult:
        since = _txn_id(self.last_transaction_id())
        try:
            resp = self._send(make(), what)
        except _Lost as lost:
            if not lost.sent:
                raise lost.cause from None
            log.warning("%s: %s; looking it up by client id", what, lost.cause)
            return self._resolve_lost(cid, since, lost)
        return result_from_response(cid, resp)

    def _send(self, endpoint: APIRequest, what: str) -> Json:
        """An order-changing call, sent once. A 4xx (429 included: v20 answers it before
        acting) raises the mapped error: nothing was done. Anything that leaves the outcome
        open raises ``_Lost``."""
        try:
            return self._call(endpoint)
        except V20Error as exc:
            err = map_error(exc, what, self._scrub)
            if int(exc.code) >= 500:
                raise _Lost(err) from None
            if isinstance(err, RejectedOrder) and err.transaction is not None:
                self._note({"lastTransactionID": err.transaction.get("id")})
            raise err from None  # 4xx: the broker refused it; nothing was done
        except requests.RequestException as exc:
            err = map_error(exc, what, self._scrub)
            raise _Lost(err, sent=not never_sent(exc)) from None
        except ValueError as exc:  # an unexpected 2xx/3xx status or a torn body
            raise _Lost(map_error(exc, what, self._scrub)) from None

    def _lookups(self) -> Iterator[int]:
        """The lookups after a lost answer: at least ``resolve_backoff.attempts`` of them,
        spread over ``unknown_grace_s`` (the last one at its end), the resolve backoff's delays
        between them."""
        schedule, grace = self.options.resolve_backoff, self.options.unknown_grace_s
        start, slept, attempt = self._clock(), 0.0, 0
        while True:
            yield attempt
            attempt += 1
            left = grace - max(self._clock() - start, slept)
            if attempt >= schedule.attempts and left <= 1e-6:
                return
            delay = schedule.delay(min(attempt - 1, 30))
            if attempt >= schedule.attempts:
                delay = min(delay, left)
            self._sleep(delay)
            slept += delay

    def _unknown(self, what: str, lost: _Lost, since: int, cid: str | None) -> UnknownOutcome:
        later = f"resolve_order({cid!r})" if cid else f"the transactions after {since}"
        return UnknownOutcome(
            f"{what}: {lost.cause}; not found within the {self.options.unknown_grace_s:g}s "
            f"grace window: it may or may not have been done (look again later with {later}; "
            "do not resend)",
            client_id=cid,
            cause=str(lost.cause),
            since_id=str(since),
        )

    def _resolve_lost(self, cid: str, since: int, lost: _Lost) -> OrderResult:
        found = self._look_up(cid, lambda: self._find(cid, since))
        if found is None:
            raise self._unknown(f"order {cid}", lost, since, cid)
        return found

    def _look_up(self, what: str, find: Callable[[], _T | None]) -> _T | None:
        """``find()`` over the grace window until it finds something (None: it never did);
        a reject found is raised, other broker errors are tried again."""
        for _ in self._lookups():
            try:
                found = find()
            except RejectedOrder:
                raise
            except BrokerError as exc:
                log.warning("resolving %s: %s", what, exc)
                continue
            if found is not None:
                return found
        return None

    def resolve_order(self, client_id: str, since_id: str | None = None) -> OrderResult:
        """What became of the order with ``client_id``: found by ``orders/@client_id``, or a
        reject among the transactions after ``since_id`` (raises ``RejectedOrder``). Raises
        ``NotFound`` when neither knows it."""
        since = _txn_id(since_id) if since_id is not None else 0
        found = self._find(client_id, since)
        if found is None:
            raise NotFound(f"no order with client id {client_id} after transaction {since}")
        return found

    def _find(self, cid: str, since: int) -> OrderResult | None:
        try:
            order = self.get_order(client_id=cid)
        except NotFound:
            order = None
        related = [
            t for t in self._transactions_after(since) if order is None or _related(t, order, cid)
        ]
        if order is None:
            mine = [t for t in related if client_id_of(t) == cid]
            rejects = [t for t in mine if str(t.get("type", "")).endswith("_REJECT")]
            if rejects:
                tx = rejects[-1]
                reason = tx.get("rejectReason")
                raise RejectedOrder(
                    f"order {cid}: rejected: {reason}",
                    reason=reason,
                    transaction=tx,
                    client_id=cid,
                    event=reject_event(tx),
                )
            if not mine:
                return None
            order = self.get_order(order_id=str(mine[0]["id"]))
            related = [t for t in related if _related(t, order, cid)]
        oid = str(order["id"])
        fill = next((t for t in related if t.get("type") == "ORDER_FILL"), None)
        cancel = next((t for t in related if t.get("type") == "ORDER_CANCEL"), None)
        trade_opened = order.get("tradeOpenedID") or ((fill or {}).get("tradeOpened") or {}).get(
            "tradeID"
        )
        return OrderResult(
            client_id=cid,
            order_id=oid,
            state=str(order.get("state", "PENDING")),
            transactions=tuple(event_from_v20(t) for t in related),
            last_transaction_id=str(self._last_txn) if self._last_txn is not None else None,
            recovered=True,
            fill=_fill_event(fill),
            cancel=_cancel_event(cancel),
            trade_opened_id=trade_opened,
            raw={"order": order},
        )

    def v20_cancel_order(
        self, order_id: str | None = None, *, client_id: str | None = None
    ) -> Json:
        ref = self._order_ref(order_id, client_id)
        return self._write(orders.OrderCancel(self.account_id, ref), f"cancel order {ref}")

    def cancel_order(
        self, order_id: str | None = None, *, client_id: str | None = None
    ) -> tuple[BrokerEvent, ...]:
        """Cancel a pending order; the answer's transactions (its ``OrderCancelled``)."""
        return _answer_events(self.v20_cancel_order(order_id, client_id=client_id))

    def close_trade(self, trade_id: str, units: Decimal | int | str | None = None) -> Json:
        """Close a trade (``units``, or all of it). A lost answer is settled by the close's
        MARKET_ORDER (``tradeClose.tradeID``) and its fill among the transactions since the
        call; not found within the grace window: ``UnknownOutcome``."""
        data = {"units": "ALL" if units is None else _dec(units)}
        tid = str(trade_id)

        def mine(tx: Json) -> bool:
            return str((tx.get("tradeClose") or {}).get("tradeID", "")) == tid

        return self._close(
            lambda acct: trades.TradeClose(acct, tid, data=data), f"close trade {tid}", {"": mine}
        )

    def close_position(
        self, instrument: str, *, long_units: str | None = None, short_units: str | None = None
    ) -> Json:
        """Close a position's long and/or short side; with neither given, whatever is open.
        A lost answer is settled like ``close_trade``'s (by each side's closeout order)."""
        if long_units is None and short_units is None:
            acct = self.account_id
            pos = self._read(
                lambda: positions.PositionDetails(acct, instrument), f"position {instrument}"
            )["position"]
            if Decimal(pos["long"]["units"]) != 0:
                long_units = "ALL"
            if Decimal(pos["short"]["units"]) != 0:
                short_units = "ALL"
            if long_units is None and short_units is None:
                raise NotFound(f"no open position in {instrument}")
        data = {}
        sides: dict[str, Callable[[Json], bool]] = {}

        def closes(key: str) -> Callable[[Json], bool]:
            return lambda tx: (tx.get(key) or {}).get("instrument") == instrument

        for side, wanted in (("long", long_units), ("short", short_units)):
            if wanted is None:
                continue
            data[f"{side}Units"] = wanted
            if wanted != "NONE":
                key = f"{side}PositionCloseout"
                sides[side] = lambda tx, key=key: (  # type: ignore[misc]  # defaulted lambda arg
                    (tx.get(key) or {}).get("instrument") == (instrument)
                )
                sides[side] = closes(f"{side}PositionCloseout")
        return self._close(
            lambda acct: positions.PositionClose(acct, instrument, data=data),
            f"close position {instrument}",
            sides,
        )

    def _close(
        self,
        make: Callable[[str], APIRequest],
        what: str,
        sides: dict[str, Callable[[Json], bool]],
    ) -> Json:
        acct = self.account_id
        since = _txn_id(self.last_transaction_id())
        try:
            return self._send(make(acct), what)
        except _Lost as lost:
            if not lost.sent:
                raise lost.cause from None
            log.warning("%s: %s; looking for it among the transactions", what, lost.cause)
            found = self._look_up(what, lambda: self._find_close(what, since, sides))
            if found is None:
                raise self._unknown(what, lost, since, None) from None
            return found

    def _find_close(
        self, what: str, since: int, sides: dict[str, Callable[[Json], bool]]
    ) -> Json | None:
        """The answer a close would have had, rebuilt from the transactions after ``since``
        (each side's MARKET_ORDER and its fill or cancel); None while any side is missing."""
        if not sides:
            return None
        txs = list(self._transactions_after(since))
        out: Json = {}
        batches: set[str] = set()
        for side, matches in sides.items():
            key = f"{side}Order" if side else "order"
            create = next((t for t in txs if t.get("type") == "MARKET_ORDER" and matches(t)), None)
            if create is None:
                reject = next(
                    (t for t in txs if t.get("type") == "MARKET_ORDER_REJECT" and matches(t)),
                    None,
                )
                if reject is not None:
                    reason = reject.get("rejectReason")
                    raise RejectedOrder(
                        f"{what}: rejected: {reason}",
                        reason=reason,
                        transaction=reject,
                        event=reject_event(reject),
                    )
                return None
            oid = str(create["id"])
            done = next(
                (
                    t
                    for t in txs
                    if t.get("type") in ("ORDER_FILL", "ORDER_CANCEL")
                    and str(t.get("orderID", "")) == oid
                ),
                None,
            )
            if done is None:
                return None
            out[f"{key}CreateTransaction"] = create
            kind = "Fill" if done["type"] == "ORDER_FILL" else "Cancel"
            out[f"{key}{kind}Transaction"] = done
            batches.add(str(create.get("batchID", oid)))
        out["relatedTransactionIDs"] = [
            str(t["id"]) for t in txs if str(t.get("batchID", t["id"])) in batches
        ]
        out["lastTransactionID"] = str(self._last_txn)
        return out

    # ------------------------------------------------------------------ streams

    def _stream(self, endpoint: APIRequest) -> Iterator[Json]:
        self._requests.acquire()
        return self._stream_api.request(endpoint)  # type: ignore[no-any-return]  # untyped v20

    def _reconnect_wait(
        self, failures: int, cause: str, what: str, max_failures: int | None
    ) -> None:
        if max_failures is not None and failures > max_failures:
            raise BrokerUnavailable(f"{what}: gave up after {failures - 1} reconnects: {cause}")
        delay = self.options.stream_backoff.delay(min(failures - 1, 12))
        log.warning("%s: %s; reconnecting in %.2fs", what, cause, delay)
        self._sleep(delay)

    def _reconnecting(
        self,
        what: str,
        connection: Callable[[], Iterator[Json | None]],
        max_failures: int | None,
    ) -> Iterator[Json]:
        """The one reconnect loop of both streams: ``connection()`` runs one connection and
        yields what it receives (None for a message that only shows the stream is alive, e.g.
        a heartbeat not asked for). When it ends, drops, tears a line or stalls, it is opened
        again after the stream backoff; any message resets the failure count, and
        ``max_failures`` consecutive failed connections raise ``BrokerUnavailable``. An error
        that is not retryable (a 4xx) is raised at once."""
        failures = 0
        while True:
            conn: Iterator[Json | None] | None = None
            try:
                conn = connection()
                for msg in conn:
                    failures = 0
                    if msg is not None:
                        yield msg
                cause = "stream ended"
            except Exception as exc:
                err = map_error(exc, what, self._scrub)
                if not isinstance(err, RETRYABLE):
                    raise err from None
                cause = str(err)
            finally:
                close = getattr(conn, "close", None)
                if close is not None:
                    close()
            failures += 1
            if max_failures is not None and failures > max_failures:
                raise BrokerUnavailable(f"{what}: gave up after {failures - 1} reconnects: {cause}")
            delay = self.options.stream_backoff.delay(min(failures - 1, 12))
            log.warning("%s: %s; reconnecting in %.2fs", what, cause, delay)
            self._sleep(delay)

    def v20_price_stream(
        self,
        instruments_: Sequence[str],
        *,
        heartbeats: bool = False,
        max_failures: int | None = None,
    ) -> Generator[Json, None, None]:
        """v20 prices as they come, reconnecting on drops, torn lines and stalls. A price no
        newer than the last one yielded for its instrument (a duplicate or out-of-order tick)
        is skipped. ``max_failures`` consecutive failed connections raise
        ``BrokerUnavailable``."""
        acct, params = self.account_id, {"instruments": ",".join(instruments_)}
        latest: dict[str, str] = {}

        def connection() -> Iterator[Json | None]:
            gen = self._stream(pricing.PricingStream(acct, dict(params)))
            try:
                for msg in gen:
                    if _heartbeat(msg):
                        yield msg if heartbeats else None
                        continue
                    inst, t = msg.get("instrument"), _time_key(msg.get("time"))
                    if inst is not None and t is not None:
                        if inst in latest and t <= latest[inst]:
                            yield None
                            continue
                        latest[inst] = t
                    yield msg
            finally:
                _close(gen)

        yield from self._reconnecting("price stream", connection, max_failures)

    def price_stream(
        self,
        instruments_: Sequence[str],
        *,
        heartbeats: bool = False,
        max_failures: int | None = None,
    ) -> Iterator[Tick | Heartbeat]:
        """Ticks as they come (see ``v20_price_stream``); a malformed price message is
        dropped, logged and counted (``mapping.parse_dropped``), never the stream's end."""
        stream = self.v20_price_stream(
            instruments_, heartbeats=heartbeats, max_failures=max_failures
        )
        try:
            for msg in stream:
                if _heartbeat(msg):
                    yield heartbeat_from_v20(msg)
                    continue
                tick = tick_from_v20(msg)
                if tick is not None:
                    yield tick
        finally:
            stream.close()

    def v20_transaction_stream(
        self,
        since_id: str | None = None,
        *,
        heartbeats: bool = False,
        max_failures: int | None = None,
    ) -> Generator[Json, None, None]:
        """Every v20 transaction after ``since_id`` (default: from now), each once, in id
        order.

        Missed ones are fetched from ``sinceid`` with the last id yielded: before each
        connection, once it is up, and whenever an id or a heartbeat's lastTransactionID shows
        a gap. Reconnects on drops, torn lines and stalls."""
        last = _txn_id(since_id if since_id is not None else self.last_transaction_id(True))
        acct = self.account_id

        def catch_up() -> Iterator[Json]:
            nonlocal last
            for tx in self._transactions_after(last):
                tid = _txn_id(tx["id"])
                if tid > last:
                    last = tid
                    yield tx

        def connection() -> Iterator[Json | None]:
            nonlocal last
            yield from catch_up()
            gen = self._stream(txns.TransactionsStream(acct))
            try:
                connected = False
                for msg in gen:
                    if _heartbeat(msg):
                        seen = msg.get("lastTransactionID")
                        if not connected or (seen is not None and _txn_id(seen) > last):
                            yield from catch_up()
                        connected = True
                        yield msg if heartbeats else None
                        continue
                    tid = _txn_id(msg["id"])
                    if not connected or tid > last + 1:
                        yield from catch_up()
                        connected = True
                    if tid <= last:
                        yield None
                        continue
                    last = tid
                    yield msg
            finally:
                _close(gen)

        yield from self._reconnecting("transaction stream", connection, max_failures)

    def transaction_stream(
        self,
        since_id: str | None = None,
        *,
        heartbeats: bool = False,
        max_failures: int | None = None,
    ) -> Iterator[BrokerEvent | Heartbeat]:
        """Every transaction after ``since_id`` as an event (see ``v20_transaction_stream``)."""
        stream = self.v20_transaction_stream(
            since_id, heartbeats=heartbeats, max_failures=max_failures
        )
        try:
            for msg in stream:
                yield heartbeat_from_v20(msg) if _heartbeat(msg) else event_from_v20(msg)
        finally:
            stream.close()


def _close(gen: Any) -> None:
    close = getattr(gen, "close", None)
    if close is not None:
        close()


def _related(tx: Json, order: Json, cid: str) -> bool:
    oid = str(order["id"])
    return (
        str(tx.get("id")) == oid
        or str(tx.get("orderID", "")) == oid
        or str(tx.get("replacedByOrderID", "")) == oid
        or client_id_of(tx) == cid
    )


def _time_key(value: Any) -> str | None:
    """A sortable key for a v20 time (RFC3339 with any fraction, or UNIX seconds)."""
    if not isinstance(value, str) or not value:
        return None
    if value[0].isdigit() and "T" not in value:
        whole, _, frac = value.partition(".")
        return f"{int(whole):020d}.{frac.ljust(9, '0')}"
    head, _, frac = value.rstrip("Z").partition(".")
    return f"{head}.{frac.ljust(9, '0')}"


def _id_range(account_id: str, first: str, last: str) -> APIRequest:
    return txns.TransactionIDRange(account_id, {"from": first, "to": last})


def _rfc3339(ts_us: int) -> str:
    """Epoch µs as a v20 RFC 3339 time with microseconds."""
    secs, us = divmod(ts_us, 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{us:06d}Z"
