"""Valuation (unrealized P&L, margin, NAV at the current quotes) and the v20 JSON of orders,
trades, positions and accounts. Times stay RFC3339 here; ``in_format`` converts for UNIX."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from tradewind.venue.engine.model import HOME_PLACES, ZERO, Account, Order, Trade
from tradewind.venue.instruments import VenueInstrument
from tradewind.venue.quotes import Quote
from tradewind.venue.wire import TimeFormat, dec, format_time, parse_time

QuoteFn = Callable[[str], Quote | None]
TIME_KEYS = {
    "time", "createTime", "filledTime", "cancelledTime", "triggeredTime", "openTime",
    "closeTime", "gtdTime", "createdTime", "lastOrderFillTimestamp", "resettablePLTime",
    "from", "to",
}  # fmt: skip


def money(value: Decimal) -> str:
    return dec(value, HOME_PLACES)


def in_format(obj: Any, fmt: TimeFormat) -> Any:
    """``obj`` with every time field rendered in ``fmt`` (a no-op for RFC3339)."""
    if fmt == "RFC3339":
        return obj
    if isinstance(obj, dict):
        return {
            k: format_time(parse_time(v), fmt)
            if k in TIME_KEYS and isinstance(v, str) and not v.startswith("http")
            else in_format(v, fmt)
            for k, v in obj.items()
        }
    if isinstance(obj, list):
        return [in_format(v, fmt) for v in obj]
    return obj


class Valuation:
    """An account valued at the current quotes (a missing quote values its trades at zero).

    Each instrument's quote is looked up once per valuation: one consistent set of prices
    for all its trades (and no price look-up per open trade)."""

    def __init__(
        self, acct: Account, instruments: dict[str, VenueInstrument], quote: QuoteFn
    ) -> None:
        self.acct, self.instruments, self._source = acct, instruments, quote
        self._quotes: dict[str, Quote | None] = {}

    def quote(self, instrument: str) -> Quote | None:
        if instrument not in self._quotes:
            self._quotes[instrument] = self._source(instrument)
        return self._quotes[instrument]

    def rate(self, ccy: str) -> Decimal | None:
        """Units of the account currency per unit of ``ccy`` (mid prices)."""
        home = self.acct.currency
        if ccy == home:
            return Decimal(1)
        q = self.quote(f"{ccy}_{home}")
        if q is not None and q.bids and q.asks:
            return Decimal(str(q.mid))
        q = self.quote(f"{home}_{ccy}")
        if q is not None and q.bids and q.asks:
            return Decimal(1) / Decimal(str(q.mid))
        return None

    def mid(self, instrument: str) -> Decimal | None:
        q = self.quote(instrument)
        return Decimal(str(q.mid)) if q is not None and q.bids and q.asks else None

    def trade_upl(self, t: Trade) -> Decimal:
        q = self.quote(t.instrument)
        inst = self.instruments.get(t.instrument)
        if q is None or inst is None or not q.bids or not q.asks:
            return ZERO
        rate = self.rate(inst.quote_currency)
        if rate is None:
            return ZERO
        close = Decimal(str(q.bid if t.current_units > 0 else q.ask))
        return (close - t.price) * t.current_units * rate

    def value(self, instrument: str, units: Decimal) -> Decimal:
        """The account-currency value of ``|units|`` at the mid price (0 without a price)."""
        inst = self.instruments.get(instrument)
        mid = self.mid(instrument)
        rate = self.rate(inst.quote_currency) if inst is not None else None
        if inst is None or mid is None or rate is None:
            return ZERO
        return abs(units) * mid * rate

    def margin_rate(self, instrument: str) -> Decimal:
        return margin_rate(self.acct, self.instruments.get(instrument))

    def margin_for(self, instrument: str, long: Decimal, short: Decimal) -> Decimal:
        return self.value(instrument, max(long, abs(short))) * self.margin_rate(instrument)

    def sides(self) -> dict[str, tuple[Decimal, Decimal]]:
        out: dict[str, tuple[Decimal, Decimal]] = {}
        for t in self.acct.open_trades():
            long, short = out.get(t.instrument, (ZERO, ZERO))
            if t.current_units > 0:
                long += t.current_units
            else:
                short += t.current_units
            out[t.instrument] = (long, short)
        return out

    def totals(self, sides: dict[str, tuple[Decimal, Decimal]] | None = None) -> dict[str, Decimal]:
        sides = self.sides() if sides is None else sides
        upl = sum((self.trade_upl(t) for t in self.acct.open_trades()), ZERO)
        margin = sum((self.margin_for(i, lg, sh) for i, (lg, sh) in sides.items()), ZERO)
        pos_value = sum((self.value(i, lg - sh) for i, (lg, sh) in sides.items()), ZERO)
        nav = self.acct.balance + upl
        return {
            "unrealizedPL": upl,
            "NAV": nav,
            "marginUsed": margin,
            "marginAvailable": max(ZERO, nav - margin),
            "positionValue": pos_value,
            "marginCloseoutPercent": margin / (2 * nav) if nav > 0 else Decimal(1 if margin else 0),
            "withdrawalLimit": max(ZERO, nav - margin),
        }


def margin_rate(acct: Account, inst: VenueInstrument | None) -> Decimal:
    """The margin rate of ``inst`` in ``acct``: the instrument's, or the account's configured
    rate where that is higher (a configured rate caps the leverage, as on OANDA)."""
    rate = Decimal(str(inst.marginRate)) if inst is not None else Decimal("0.05")
    return rate if acct.margin_rate is None else max(rate, acct.margin_rate)


def order_json(o: Order) -> dict[str, Any]:
    out: dict[str, Any] = {"id": o.id, "createTime": o.create_time, "type": o.type}
    out.update(o.body)
    out["state"] = o.state
    out.update(o.extra)
    out.pop("orderFillTransactionID", None)  # a field of the create transaction only
    return out


def trade_json(t: Trade, acct: Account, val: Valuation) -> dict[str, Any]:
    inst = val.instruments.get(t.instrument)
    places = inst.displayPrecision if inst else 5
    uplaces = inst.tradeUnitsPrecision if inst else 0
    out: dict[str, Any] = {
        "id": t.id,
        "instrument": t.instrument,
        "price": dec(t.price, places),
        "openTime": t.open_time,
        "state": t.state,
        "initialUnits": dec(t.initial_units, uplaces),
        "initialMarginRequired": t.initial_margin,
        "currentUnits": dec(t.current_units, uplaces),
        "realizedPL": money(t.realized_pl),
        "financing": money(t.financing),
    }
    if t.state == "OPEN":
        out["unrealizedPL"] = money(val.trade_upl(t))
        rate = val.margin_rate(t.instrument) if inst else ZERO
        out["marginUsed"] = money(val.value(t.instrument, t.current_units) * rate)
    else:
        out["unrealizedPL"] = out["marginUsed"] = "0.0000"
    if t.closed_units:
        out["averageClosePrice"] = dec(t.closed_units_value / t.closed_units, places)
    if t.closing_ids:
        out["closingTransactionIDs"] = list(t.closing_ids)
    if t.close_time:
        out["closeTime"] = t.close_time
    if t.client_ext:
        out["clientExtensions"] = dict(t.client_ext)
    keys = ("takeProfitOrder", "stopLossOrder", "trailingStopLossOrder")
    for key, oid in zip(keys, t.order_ids, strict=True):
        if oid and oid in acct.orders:
            out[key] = order_json(acct.orders[oid])
    return out


def position_json(instrument: str, acct: Account, val: Valuation) -> dict[str, Any]:
    inst = val.instruments.get(instrument)
    places = inst.displayPrecision if inst else 5
    uplaces = inst.tradeUnitsPrecision if inst else 0
    pls = acct.position_pl.get(instrument, [ZERO, ZERO])
    costs = acct.position_costs.get(instrument, [ZERO, ZERO, ZERO])
    sides = []
    trades = acct.open_trades(instrument)
    total_upl = ZERO
    for idx, sign in ((0, 1), (1, -1)):
        mine = [t for t in trades if (t.current_units > 0) == (sign > 0)]
        units = sum((t.current_units for t in mine), ZERO)
        upl = sum((val.trade_upl(t) for t in mine), ZERO)
        total_upl += upl
        side: dict[str, Any] = {
            "units": dec(units, uplaces),
            "pl": money(pls[idx]),
            "resettablePL": money(pls[idx]),
            "financing": money(costs[idx]),
            "guaranteedExecutionFees": "0.0000",
            "unrealizedPL": money(upl),
        }
        if mine:
            side["averagePrice"] = dec(sum(t.price * t.current_units for t in mine) / units, places)
            side["tradeIDs"] = [t.id for t in mine]
        sides.append(side)
    long = sum((t.current_units for t in trades if t.current_units > 0), ZERO)
    short = sum((t.current_units for t in trades if t.current_units < 0), ZERO)
    return {
        "instrument": instrument,
        "pl": money(pls[0] + pls[1]),
        "resettablePL": money(pls[0] + pls[1]),
        "unrealizedPL": money(total_upl),
        "marginUsed": money(val.margin_for(instrument, long, short)),
        "financing": money(costs[0] + costs[1]),
        "commission": money(costs[2]),
        "guaranteedExecutionFees": "0.0000",
        "long": sides[0],
        "short": sides[1],
    }


def summary_json(acct: Account, val: Valuation) -> dict[str, Any]:
    tot = val.totals()
    open_positions = {t.instrument for t in acct.open_trades()}
    out: dict[str, Any] = {
        "id": acct.id,
        "alias": acct.alias,
        "currency": acct.currency,
        "balance": money(acct.balance),
        "createdByUserID": 1,
        "createdTime": acct.created_time,
        "guaranteedStopLossOrderMode": acct.gsl_mode,
        "pl": money(acct.pl),
        "resettablePL": money(acct.pl),
        "financing": money(acct.financing),
        "commission": money(acct.commission),
        "guaranteedExecutionFees": money(acct.gsl_fees),
        "marginRate": "0.0333" if acct.margin_rate is None else f"{acct.margin_rate.normalize():f}",
        "openTradeCount": len(acct.open_trades()),
        "openPositionCount": len(open_positions),
        "pendingOrderCount": len(acct.pending()),
        "hedgingEnabled": acct.hedging,
        "unrealizedPL": money(tot["unrealizedPL"]),
        "NAV": money(tot["NAV"]),
        "marginUsed": money(tot["marginUsed"]),
        "marginAvailable": money(tot["marginAvailable"]),
        "positionValue": money(tot["positionValue"]),
        "marginCloseoutUnrealizedPL": money(tot["unrealizedPL"]),
        "marginCloseoutNAV": money(tot["NAV"]),
        "marginCloseoutMarginUsed": money(tot["marginUsed"]),
        "marginCloseoutPercent": dec(tot["marginCloseoutPercent"], 5),
        "marginCloseoutPositionValue": money(tot["positionValue"]),
        "withdrawalLimit": money(tot["withdrawalLimit"]),
        "marginCallMarginUsed": money(tot["marginUsed"]),
        "marginCallPercent": dec(tot["marginCloseoutPercent"], 5),
        "lastTransactionID": str(acct.last_tx),
    }
    if acct.last_fill_time:
        out["lastOrderFillTimestamp"] = acct.last_fill_time
    return out


def account_json(acct: Account, val: Valuation) -> dict[str, Any]:
    out = summary_json(acct, val)
    out["orders"] = [order_json(o) for o in sorted(acct.pending(), key=lambda o: int(o.id))]
    out["trades"] = [trade_json(t, acct, val) for t in acct.open_trades()]
    out["positions"] = [position_json(i, acct, val) for i in sorted(acct.position_pl)]
    return out
