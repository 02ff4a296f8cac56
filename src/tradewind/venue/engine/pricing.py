"""What v20's pricing adds for an account: ``unitsAvailable`` per price (how many units an
order could fill in each position fill mode, from the margin available) and
``homeConversions`` (each currency's factors into the account's currency). Callers hold the
lock."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal
from typing import Any

from tradewind.venue.engine.model import ZERO, Account
from tradewind.venue.engine.views import Valuation
from tradewind.venue.instruments import VenueInstrument
from tradewind.venue.quotes import Quote
from tradewind.venue.wire import dec

FACTOR_PLACES = 8


def home_conversions(val: Valuation, currencies: list[str]) -> list[dict[str, str]]:
    """v20's ``HomeConversions`` of each currency (left out when no price converts it): a
    gain is converted at the side that sells the currency for the home one, a loss at the
    side that buys it, a position's value at the mid."""
    out = []
    home = val.acct.currency
    for ccy in currencies:
        sides = _factors(val, ccy, home)
        if sides is None:
            continue
        gain, loss, mid = sides
        out.append(
            {
                "currency": ccy,
                "accountGain": dec(gain, FACTOR_PLACES),
                "accountLoss": dec(loss, FACTOR_PLACES),
                "positionValue": dec(mid, FACTOR_PLACES),
            }
        )
    return out


def _factors(val: Valuation, ccy: str, home: str) -> tuple[Decimal, Decimal, Decimal] | None:
    if ccy == home:
        return Decimal(1), Decimal(1), Decimal(1)
    q = val.quote(f"{ccy}_{home}")
    if q is not None and q.bids and q.asks:
        return Decimal(str(q.bid)), Decimal(str(q.ask)), Decimal(str(q.mid))
    q = val.quote(f"{home}_{ccy}")
    if q is not None and q.bids and q.asks:
        one = Decimal(1)
        return one / Decimal(str(q.ask)), one / Decimal(str(q.bid)), one / Decimal(str(q.mid))
    return None


def units_available(val: Valuation, inst: VenueInstrument, q: Quote) -> dict[str, Any]:
    """v20's ``UnitsAvailable`` for ``inst`` at quote ``q``: per mode, the units a buy
    (``long``) and a sell (``short``) could fill. Reducing is bounded by the opposite side;
    opening by the margin available over the margin a unit needs (and maximumOrderUnits);
    opening against an opposite position is not allowed without hedging (FIFO)."""
    acct: Account = val.acct
    long, short = val.sides().get(inst.name, (ZERO, ZERO))
    rate = val.rate(inst.quote_currency)
    available = val.totals()["marginAvailable"]
    cap = {True: ZERO, False: ZERO}
    if rate is not None and q.bids and q.asks:
        for buy in (True, False):
            price = Decimal(str(q.ask if buy else q.bid))
            per_unit = price * rate * val.margin_rate(inst.name)
            if per_unit > 0:
                cap[buy] = min(available / per_unit, Decimal(str(inst.maximumOrderUnits)))
    reduce = {True: abs(short), False: long}

    def side(open_: dict[bool, Decimal], red: dict[bool, Decimal]) -> dict[str, str]:
        return {
            "long": _units(open_[True] + red[True], inst),
            "short": _units(open_[False] + red[False], inst),
        }

    none = {True: ZERO, False: ZERO}
    opposite = {True: short != 0, False: long != 0}
    open_only = {b: ZERO if opposite[b] and not acct.hedging else cap[b] for b in (True, False)}
    reduce_first = side(cap, reduce)
    only_open = side(open_only, none)
    return {
        "default": only_open if acct.hedging else reduce_first,
        "reduceFirst": reduce_first,
        "reduceOnly": side(none, reduce),
        "openOnly": only_open,
    }


def _units(value: Decimal, inst: VenueInstrument) -> str:
    step = Decimal(1).scaleb(-inst.tradeUnitsPrecision)
    return dec(max(ZERO, value).quantize(step, rounding=ROUND_FLOOR), inst.tradeUnitsPrecision)
