"""v20 -> the domain: oandapyV20's failures as the platform's broker errors, and v20
transactions, prices, positions, orders and account summaries as domain events and snapshots
(``tradewind.domain.broker``). Nothing outside ``tradewind.broker`` reads a v20 field.

oandapyV20 raises ``V20Error(code, body)`` for statuses >= 400, ``ValueError`` when a 2xx/3xx
status is not the one it expects (201 for order create/replace, 200 otherwise) or the body is
not JSON, and lets requests' exceptions (timeouts, dropped connections) through.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import requests
from oandapyV20.exceptions import V20Error

from tradewind.broker.errors import (
    AuthError,
    BrokerError,
    BrokerUnavailable,
    NotFound,
    RateLimited,
    RejectedOrder,
)
from tradewind.broker.limits import RateLimitedLog
from tradewind.broker.times import v20_time_us
from tradewind.domain.broker import (
    AccountSnapshot,
    BrokerEvent,
    FinancingCharged,
    Heartbeat,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OtherTransaction,
    PendingOrder,
    PositionSnapshot,
)
from tradewind.domain.ticks import Tick
from tradewind.risk.rules import InstrumentRules

log = logging.getLogger(__name__)

RETRYABLE = (RateLimited, BrokerUnavailable)


def parse_body(text: str) -> dict[str, Any]:
    try:
        body = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def reject_transaction(body: dict[str, Any]) -> dict[str, Any] | None:
    """The ``*RejectTransaction`` of an error body (order, replace, close), if any."""
    for key, value in body.items():
        if key.endswith("RejectTransaction") and isinstance(value, dict):
            return value
    return None


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def map_error(exc: BaseException, what: str, scrub: Any = None) -> BrokerError:
    """The broker error for ``exc`` raised while doing ``what``; ``scrub(text)`` removes
    secrets from any text that came from the wire."""
    clean = scrub or (lambda s: s)
    if isinstance(exc, BrokerError):
        return exc
    if isinstance(exc, V20Error):
        status = int(exc.code)
        body = parse_body(exc.msg)
        code = body.get("errorCode")
        detail = body.get("errorMessage") or _short(exc.msg) or "no detail"
        message = clean(f"{what}: HTTP {status}: {detail}" + (f" [{code}]" if code else ""))
        reject = reject_transaction(body)
        if reject is not None:
            reason = reject.get("rejectReason") or code
            return RejectedOrder(
                clean(f"{what}: rejected: {reason}: {detail}"),
                reason=reason,
                transaction=reject,
                status=status,
                code=code,
                client_id=(reject.get("clientExtensions") or {}).get("id"),
                event=reject_event(reject),
            )
        if status in (401, 403):
            return AuthError(message, status=status, code=code)
        if status == 404:
            return NotFound(message, status=status, code=code)
        if status == 429:
            return RateLimited(message, status=status, code=code)
        if status >= 500:
            return BrokerUnavailable(message, status=status, code=code)
        return BrokerError(message, status=status, code=code)
    if isinstance(exc, requests.Timeout):
        return BrokerUnavailable(clean(f"{what}: timed out ({type(exc).__name__})"))
    if isinstance(exc, requests.RequestException):
        return BrokerUnavailable(clean(f"{what}: connection failed ({type(exc).__name__})"))
    if isinstance(exc, ValueError):  # unexpected 2xx/3xx status, or a body that is not JSON
        return BrokerUnavailable(clean(f"{what}: unexpected response: {_short(str(exc))}"))
    return BrokerError(clean(f"{what}: {type(exc).__name__}: {_short(str(exc))}"))


def never_sent(exc: BaseException) -> bool:
    """True when the request certainly never reached the server (the connection was never
    made), so an order cannot have been placed."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError):
        reason = exc.args[0] if exc.args else None
        inner = getattr(reason, "reason", None)
        return type(inner).__name__ in ("NewConnectionError", "NameResolutionError")
    return False


# ---------------------------------------------------------------- v20 -> domain

# orders a client places (their create transactions carry the client's extensions)
CREATE_TYPES = frozenset({"MARKET_ORDER", "LIMIT_ORDER", "STOP_ORDER", "MARKET_IF_TOUCHED_ORDER"})
REJECT_TYPES = frozenset(f"{t}_REJECT" for t in CREATE_TYPES)
# pending orders that hang on a trade: the broker's own, not the OMS's
ATTACHED_TYPES = frozenset(
    {"STOP_LOSS", "TAKE_PROFIT", "TRAILING_STOP_LOSS", "GUARANTEED_STOP_LOSS"}
)


def _float(value: Any, default: float = 0.0) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _opt_float(value: Any) -> float | None:
    return float(value) if value not in (None, "") else None


def _str_or_none(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def client_id_of(tx: Mapping[str, Any]) -> str | None:
    """The client id in a v20 object's ``clientExtensions``, if any."""
    ext = tx.get("clientExtensions") or {}
    cid = ext.get("id") if isinstance(ext, Mapping) else None
    return str(cid) if cid else None


def event_from_v20(tx: Mapping[str, Any]) -> BrokerEvent:
    """A v20 transaction as a domain event; ``raw`` is the transaction itself. Types the OMS
    does not act on become ``OtherTransaction``. Raises ``KeyError``/``ValueError`` for a
    transaction without an integer ``id`` (not a transaction)."""
    typ = str(tx.get("type", ""))
    common: dict[str, Any] = {
        "transaction_id": int(str(tx["id"])),
        "time_us": v20_time_us(tx.get("time")),
        "raw": tx,
    }
    if typ in CREATE_TYPES:
        return OrderAccepted(
            **common,
            reason=str(tx.get("reason") or ""),
            client_id=client_id_of(tx),
            broker_order_id=str(tx["id"]),
            instrument=str(tx.get("instrument", "")),
            units=_float(tx.get("units")),
            order_type=typ.removesuffix("_ORDER"),
        )
    if typ in REJECT_TYPES:
        return OrderRejected(
            **common,
            reason=str(tx.get("rejectReason") or typ),
            client_id=client_id_of(tx),
            instrument=str(tx.get("instrument", "")),
            units=_float(tx.get("units")),
        )
    if typ == "ORDER_FILL":
        return OrderFilled(
            **common,
            reason=str(tx.get("reason") or ""),
            client_id=_str_or_none(tx.get("clientOrderID")) or client_id_of(tx),
            broker_order_id=str(tx.get("orderID", "")),
            instrument=str(tx.get("instrument", "")),
            units=_float(tx.get("units")),
            price=_float(tx.get("price")),
            pl=_float(tx.get("pl")),
            financing=_float(tx.get("financing")),
            commission=_float(tx.get("commission")),
        )
    if typ == "ORDER_CANCEL":
        return OrderCancelled(
            **common,
            reason=str(tx.get("reason") or "CANCELLED"),
            client_id=_str_or_none(tx.get("clientOrderID")) or client_id_of(tx),
            broker_order_id=str(tx.get("orderID", "")),
            replaced_by=_str_or_none(tx.get("replacedByOrderID")),
        )
    if typ == "DAILY_FINANCING":
        return financing_from_v20(tx, common)
    return OtherTransaction(
        **common,
        reason=str(tx.get("rejectReason") or tx.get("reason") or ""),
        kind=typ,
        client_id=client_id_of(tx) or _str_or_none(tx.get("clientOrderID")),
    )


def financing_from_v20(tx: Mapping[str, Any], common: Mapping[str, Any]) -> FinancingCharged:
    """A DAILY_FINANCING as ``FinancingCharged``: one amount per instrument (summed if the
    broker lists one twice). Raises ``ValueError`` for an entry without an instrument."""
    amounts: dict[str, float] = {}
    for i, entry in enumerate(tx.get("positionFinancings") or ()):
        name = str(entry.get("instrument") or "") if isinstance(entry, Mapping) else ""
        if not name:
            raise ValueError(
                f"DAILY_FINANCING {tx.get('id')}: positionFinancings[{i}] has no instrument"
            )
        try:
            amount = float(entry["financing"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(
                f"DAILY_FINANCING {tx.get('id')}: positionFinancings[{i}] ({name}) has no "
                f"numeric financing: {entry.get('financing')!r}"
            ) from None
        amounts[name] = amounts.get(name, 0.0) + amount
    return FinancingCharged(
        **common,
        reason=str(tx.get("reason") or ""),
        account_id=str(tx.get("accountID") or ""),
        financing=_float(tx.get("financing")),
        per_instrument=tuple(sorted(amounts.items())),
    )


def reject_event(tx: Mapping[str, Any] | None) -> BrokerEvent | None:
    """The event of a reject transaction carried by an error body; None without one (or
    when it is not a transaction: no id)."""
    if tx is None:
        return None
    try:
        return event_from_v20(tx)
    except (KeyError, ValueError):
        return None


def heartbeat_from_v20(msg: Mapping[str, Any]) -> Heartbeat:
    last = msg.get("lastTransactionID")
    return Heartbeat(int(str(last)) if last not in (None, "") else None)


def _side_units(position: Mapping[str, Any], side: str) -> float:
    return _float((position.get(side) or {}).get("units", 0) or 0)


def position_from_v20(position: Mapping[str, Any]) -> PositionSnapshot:
    """A v20 ``Position`` (long and short sides) as the net position and the average price of
    the side that is open."""
    units = _side_units(position, "long") + _side_units(position, "short")
    side = position.get("long" if units > 0 else "short") or {}
    return PositionSnapshot(
        str(position["instrument"]),
        units,
        _float(side.get("averagePrice", 0.0) or 0.0),
        _float(position.get("unrealizedPL", 0.0) or 0.0),
    )


def account_from_v20(account: Mapping[str, Any]) -> AccountSnapshot:
    """A v20 ``AccountSummary``."""
    return AccountSnapshot(
        account_id=str(account.get("id", "")),
        currency=str(account.get("currency", "")),
        nav=_float(account.get("NAV")),
        balance=_float(account.get("balance")),
        margin_available=_float(account.get("marginAvailable")),
        last_transaction_id=int(str(account.get("lastTransactionID") or 0)),
    )


def pending_order_from_v20(order: Mapping[str, Any]) -> PendingOrder:
    """A v20 ``Order`` (as ``orders`` lists it)."""
    typ = str(order.get("type", ""))
    return PendingOrder(
        broker_order_id=str(order.get("id")),
        client_id=client_id_of(order),
        instrument=str(order.get("instrument", "")),
        units=_float(order.get("units")),
        type=typ,
        attached=typ in ATTACHED_TYPES,
        price=_opt_float(order.get("price")),
        price_bound=_opt_float(order.get("priceBound")),
        time_in_force=_str_or_none(order.get("timeInForce")),
        created_us=v20_time_us(order.get("createTime")),
        raw=order,
    )


_PARSE_LOG = RateLimitedLog(log)
parse_dropped: dict[str, int] = {}  # malformed messages by reason, for metrics


def tick_from_v20(msg: Any) -> Tick | None:
    """A v20 ``PRICE`` message (stream or ``/pricing``) as a ``Tick``: best bid (the highest of
    ``bids``), best ask (the lowest of ``asks``), ``time`` (RFC 3339 with up to nine fraction
    digits, or UNIX seconds) in µs, ``tradeable``. Heartbeats are None quietly; a malformed
    message is None with its reason logged (rate-limited) and counted in ``parse_dropped``,
    never an exception: one bad message must not end the price stream."""
    if not isinstance(msg, Mapping):
        return _malformed("not_object", "not an object", msg)
    kind = msg.get("type", "PRICE")
    if kind == "HEARTBEAT":
        return None
    if kind != "PRICE":
        return _malformed("type", f"type {kind!r}", msg)
    instrument = msg.get("instrument")
    if not isinstance(instrument, str) or not instrument:
        return _malformed("instrument", "no instrument", msg)
    ts_us = v20_time_us(msg.get("time"))
    if ts_us is None:
        return _malformed("time", f"bad time {msg.get('time')!r}", msg)
    bids, asks = _prices(msg.get("bids")), _prices(msg.get("asks"))
    if not bids or not asks:
        return _malformed("prices", "no or malformed bids/asks", msg)
    tradeable = msg.get("tradeable", msg.get("status", "tradeable") == "tradeable")
    if not isinstance(tradeable, bool):
        return _malformed("tradeable", f"tradeable {tradeable!r}", msg)
    return Tick(instrument, ts_us, _best(bids, max), _best(asks, min), tradeable)


def _best(prices: list[float], pick: Callable[[list[float]], float]) -> float:
    """The best level; NaN when any level is not finite (max/min of NaN depends on order),
    and a non-positive level itself when there is one: a book with a zero or negative price
    in it is a bad tick, which the ``TickFilter`` drops and counts, not something to mask by
    picking around it."""
    if not all(math.isfinite(p) for p in prices):
        return math.nan
    bad = [p for p in prices if p <= 0]
    return bad[0] if bad else pick(prices)


def _prices(levels: Any) -> list[float] | None:
    """The ``price`` of each ``{price, liquidity}`` level; None when any is malformed. NaN and
    non-positive prices parse (the ``TickFilter`` drops and counts them)."""
    if not isinstance(levels, list):
        return None
    out = []
    for level in levels:
        price = level.get("price") if isinstance(level, Mapping) else None
        if isinstance(price, bool) or not isinstance(price, str | int | float):
            return None
        try:
            out.append(float(price))
        except ValueError:
            return None
    return out


def _malformed(key: str, reason: str, msg: Any) -> Tick | None:
    parse_dropped[key] = parse_dropped.get(key, 0) + 1
    _PARSE_LOG.warning(key, "ignored price message (%s): %.200r", reason, msg)
    return None


def instrument_rules_from_v20(instrument: Mapping[str, Any]) -> InstrumentRules:
    """The rules of one v20 ``Instrument`` object. ``maximumOrderUnits`` of 0 or absent means
    no limit (OANDA's convention for its size limits); the other fields are required."""
    name = str(instrument.get("name", ""))

    def field(key: str) -> Any:
        if key not in instrument or instrument[key] in (None, ""):
            raise ValueError(f"instrument {name or '?'}: v20 Instrument lacks {key}")
        return instrument[key]

    raw_max = instrument.get("maximumOrderUnits")
    max_units = float(raw_max) if raw_max not in (None, "") else 0.0
    return InstrumentRules(
        symbol=str(field("name")),
        min_trade_size=float(field("minimumTradeSize")),
        trade_units_precision=int(field("tradeUnitsPrecision")),
        display_precision=int(field("displayPrecision")),
        margin_rate=float(field("marginRate")),
        max_order_units=max_units if max_units > 0 else None,
    )


def rules_from_v20(instruments: Iterable[Mapping[str, Any]]) -> dict[str, InstrumentRules]:
    """Rules by symbol from v20's account instruments."""
    rules = (instrument_rules_from_v20(i) for i in instruments)
    return {r.symbol: r for r in rules}
