"""Order requests -> the fields of their create transaction, or a v20 reject reason."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from tradewind.venue.engine import numbers
from tradewind.venue.instruments import VenueInstrument
from tradewind.venue.wire import VenueError, dec, format_time, parse_time

ORDER_KINDS = ("MARKET", "LIMIT", "STOP", "TAKE_PROFIT", "STOP_LOSS")
POSITION_FILLS = ("DEFAULT", "OPEN_ONLY", "REDUCE_FIRST", "REDUCE_ONLY")
TRIGGERS = ("DEFAULT", "INVERSE", "BID", "ASK", "MID")
MESSAGES = {
    "UNITS_MISSING": "The Order's units were not specified",
    "UNITS_INVALID": "The units specified are invalid",
    "INSTRUMENT_MISSING": "The Order's instrument was not specified",
    "INSTRUMENT_UNKNOWN": "The instrument specified is unknown",
    "INSUFFICIENT_MARGIN": "Insufficient margin",
    "INSTRUMENT_PRICE_UNKNOWN": "The instrument's price is unknown",
    "TRAILING_STOP_LOSS_ORDERS_NOT_SUPPORTED": "Trailing Stop Loss Orders are not supported",
    "STOP_LOSS_ORDER_GUARANTEED_NOT_ALLOWED": "A guaranteed Stop Loss Order is not allowed",
    "STOP_LOSS_ON_FILL_GUARANTEED_NOT_ALLOWED": "A guaranteed Stop Loss on fill is not allowed",
}
# Not implemented yet: answered as v20 answers an account that does not allow them, with a
# reject transaction (v20 of this description has no GUARANTEED_STOP_LOSS order type: a
# guaranteed stop is a STOP_LOSS with ``guaranteed``, rejected as STOP_LOSS_ORDER_REJECT).
TRAILING_NOT_SUPPORTED = "TRAILING_STOP_LOSS_ORDERS_NOT_SUPPORTED"
GUARANTEED_NOT_ALLOWED = "STOP_LOSS_ORDER_GUARANTEED_NOT_ALLOWED"
GUARANTEED_ON_FILL_NOT_ALLOWED = "STOP_LOSS_ON_FILL_GUARANTEED_NOT_ALLOWED"


class Reject(Exception):
    """A request the venue answers with a reject transaction."""

    def __init__(self, reason: str, fields: dict[str, Any]) -> None:
        super().__init__(reason)
        self.reason, self.fields = reason, fields


def guaranteed(spec: Any) -> bool:
    """Whether a stop loss request (an object) asks for a guaranteed stop."""
    return isinstance(spec, dict) and spec.get("guaranteed") not in (None, False)


def message(reason: str) -> str:
    return MESSAGES.get(reason, reason.replace("_", " ").capitalize())


def positive(value: Any) -> Decimal | None:
    """A close request's units: a positive DecimalNumber (string or JSON number) below any
    instrument's maximum order units, else None (``numbers.positive_units``)."""
    return numbers.positive_units(value)


def _places(d: Decimal) -> int:
    exp = d.normalize().as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 99


def client_extensions(value: Any, prefix: str) -> dict[str, str]:
    """A ClientExtensions object; ``Reject({prefix}_ID_INVALID ...)`` when malformed."""
    if not isinstance(value, dict):
        raise Reject(f"{prefix}_ID_INVALID", {})
    out: dict[str, str] = {}
    for key, limit, reason in (("id", 128, "ID"), ("tag", 128, "TAG"), ("comment", 128, "COMMENT")):
        if key in value:
            v = value[key]
            if not isinstance(v, str) or len(v) > limit or (key == "id" and not v):
                raise Reject(f"{prefix}_{reason}_INVALID", {})
            out[key] = v
    return out


class OrderParser:
    """Validates one order request; ``self.tx`` holds what was valid so far (echoed in a
    reject transaction)."""

    def __init__(
        self,
        instruments: dict[str, VenueInstrument],
        now_ns: int,
        taken_order_ids: set[str],
        taken_trade_ids: set[str],
        trade_instrument: Callable[[str], str | None] = lambda _tid: None,
    ) -> None:
        self.trade_instrument = trade_instrument
        self.instruments, self.now_ns = instruments, now_ns
        self.taken_order_ids, self.taken_trade_ids = taken_order_ids, taken_trade_ids
        self.tx: dict[str, Any] = {}
        self.instrument: VenueInstrument | None = None

    def fail(self, reason: str) -> Reject:
        return Reject(reason, dict(self.tx))

    def parse(self, spec: Any, kind: str | None = None) -> dict[str, Any]:
        if not isinstance(spec, dict):
            raise VenueError(400, "Invalid value specified for 'order'", "INVALID_VALUE")
        kind = self._kind(kind or spec.get("type", "MARKET"))
        if kind in ("TAKE_PROFIT", "STOP_LOSS"):
            self._trade_fields(spec)
            if kind == "STOP_LOSS" and guaranteed(spec):
                self.tx["guaranteed"] = True
                raise self.fail(GUARANTEED_NOT_ALLOWED)
        else:
            self._instrument(spec)
            self._units(spec)
        self._prices(spec, kind)
        self._time_in_force(spec)
        self._fill_and_trigger(spec, kind)
        if spec.get("clientExtensions") is not None:
            ext = self._ext(spec["clientExtensions"], "CLIENT_ORDER")
            if ext.get("id") in self.taken_order_ids:
                raise self.fail("CLIENT_ORDER_ID_ALREADY_EXISTS")
            self.tx["clientExtensions"] = ext
        if kind in ("MARKET", "LIMIT", "STOP"):
            self._on_fill(spec)
        return self.tx

    def _kind(self, kind: Any) -> str:
        """The order type, one the venue makes (the transaction begun with it)."""
        if kind == "TRAILING_STOP_LOSS":
            self.tx = {"type": "TRAILING_STOP_LOSS_ORDER"}
            raise self.fail(TRAILING_NOT_SUPPORTED)
        if kind == "GUARANTEED_STOP_LOSS":  # a later v20's type for a guaranteed stop loss
            self.tx = {"type": "STOP_LOSS_ORDER", "guaranteed": True}
            raise self.fail(GUARANTEED_NOT_ALLOWED)
        if kind not in ORDER_KINDS:
            raise VenueError(400, "Invalid value specified for 'type'", "INVALID_VALUE")
        self.kind = kind
        self.tx = {"type": f"{kind}_ORDER"}
        return str(kind)

    def _prices(self, spec: dict[str, Any], kind: str) -> None:
        """The price, a stop loss's distance (one of the two) and the price bound."""
        if kind in ("LIMIT", "STOP", "TAKE_PROFIT") or (kind == "STOP_LOSS" and "price" in spec):
            self.tx["price"] = self._price(spec.get("price"), "PRICE", required=True)
        if kind == "STOP_LOSS" and "price" not in spec:
            if "distance" not in spec:
                raise self.fail("STOP_LOSS_ORDER_PRICE_AND_DISTANCE_BOTH_MISSING")
            self.tx["distance"] = self._price(spec["distance"], "PRICE_DISTANCE", True)
        elif kind == "STOP_LOSS" and "distance" in spec:
            raise self.fail("STOP_LOSS_ORDER_PRICE_AND_DISTANCE_BOTH_SPECIFIED")
        if kind in ("MARKET", "STOP") and spec.get("priceBound") is not None:
            self.tx["priceBound"] = self._price(spec["priceBound"], "PRICE_BOUND", True)

    def _fill_and_trigger(self, spec: dict[str, Any], kind: str) -> None:
        """The position fill (orders that open) and the trigger condition (pending orders)."""
        if kind in ("MARKET", "LIMIT", "STOP"):
            pf = spec.get("positionFill", "DEFAULT")
            if pf not in POSITION_FILLS:
                raise self.fail("ORDER_FILL_POSITION_ACTION_INVALID")
            self.tx["positionFill"] = pf
        if kind != "MARKET":
            trig = spec.get("triggerCondition", "DEFAULT")
            if trig not in TRIGGERS:
                raise self.fail("TRIGGER_CONDITION_INVALID")
            self.tx["triggerCondition"] = trig

    def _ext(self, value: Any, prefix: str) -> dict[str, str]:
        try:
            return client_extensions(value, prefix)
        except Reject as r:
            raise self.fail(r.reason) from None

    def _instrument(self, spec: dict[str, Any]) -> None:
        name = spec.get("instrument")
        if name is None:
            raise self.fail("INSTRUMENT_MISSING")
        if not isinstance(name, str) or name not in self.instruments:
            raise self.fail("INSTRUMENT_UNKNOWN")
        self.instrument = self.instruments[name]
        self.tx["instrument"] = name

    def _units(self, spec: dict[str, Any]) -> None:
        assert self.instrument is not None
        if spec.get("units") is None:
            raise self.fail("UNITS_MISSING")
        u = numbers.decimal_number(spec["units"])
        if u is None or u == 0:
            raise self.fail("UNITS_INVALID")
        if _places(u) > self.instrument.tradeUnitsPrecision:
            raise self.fail("UNITS_PRECISION_EXCEEDED")
        if abs(u) > Decimal(str(self.instrument.maximumOrderUnits)):
            raise self.fail("UNITS_LIMIT_EXCEEDED")
        if abs(u) < Decimal(str(self.instrument.minimumTradeSize)):
            raise self.fail("UNITS_MIMIMUM_NOT_MET")
        self.tx["units"] = dec(u, self.instrument.tradeUnitsPrecision)

    def _price(self, value: Any, what: str, required: bool, prefix: str = "") -> str:
        assert self.instrument is not None
        if value is None:
            raise self.fail(f"{prefix}{what}_MISSING")
        if what == "PRICE_DISTANCE":
            bad = numbers.distance_reason(value)
            p = None if bad else numbers.decimal_number(value)
        else:
            bad, p = None, numbers.price(value)
        if p is None:
            raise self.fail(f"{prefix}{what}_{bad or 'INVALID'}")
        if _places(p) > self.instrument.displayPrecision:
            raise self.fail(f"{prefix}{what}_PRECISION_EXCEEDED")
        return dec(p, self.instrument.displayPrecision)

    def _time_in_force(self, spec: dict[str, Any], prefix: str = "", into: Any = None) -> None:
        into = self.tx if into is None else into
        market = self.kind == "MARKET" and not prefix
        allowed: tuple[str, ...] = ("FOK", "IOC") if market else ("GTC", "GTD", "GFD")
        if self.kind in ("LIMIT", "STOP") and not prefix:
            allowed = ("GTC", "GTD", "GFD", "FOK", "IOC")
        tif = spec.get("timeInForce", "FOK" if market else "GTC")
        if tif not in allowed:
            raise self.fail(f"{prefix}TIME_IN_FORCE_INVALID")
        into["timeInForce"] = tif
        if tif == "GTD":
            gtd = spec.get("gtdTime")
            if gtd is None:
                raise self.fail(f"{prefix}TIME_IN_FORCE_GTD_TIMESTAMP_MISSING")
            try:
                ns = parse_time(gtd) if isinstance(gtd, str) else -1
            except VenueError:
                ns = -1
            if ns < 0:
                raise self.fail(f"{prefix}TIME_IN_FORCE_GTD_TIMESTAMP_MISSING")
            if ns <= self.now_ns:
                raise self.fail(f"{prefix}TIME_IN_FORCE_GTD_TIMESTAMP_IN_PAST")
            into["gtdTime"] = format_time(ns)

    def _trade_fields(self, spec: dict[str, Any]) -> None:
        tid = spec.get("tradeID")
        if tid is None or not isinstance(tid, str | int) or isinstance(tid, bool):
            raise self.fail("TRADE_ID_UNSPECIFIED")
        self.tx["tradeID"] = str(tid)
        name = self.trade_instrument(str(tid))
        if name is None or name not in self.instruments:
            raise self.fail("TRADE_DOESNT_EXIST")
        self.instrument = self.instruments[name]
        if isinstance(spec.get("clientTradeID"), str):
            self.tx["clientTradeID"] = spec["clientTradeID"]

    def _on_fill(self, spec: dict[str, Any]) -> None:
        """The orders placed on fill (take profit, stop loss) and the new trade's extensions."""
        if spec.get("takeProfitOnFill") is not None:
            self.tx["takeProfitOnFill"] = self._tp_on_fill(spec["takeProfitOnFill"])
        if spec.get("stopLossOnFill") is not None:
            self.tx["stopLossOnFill"] = self._sl_on_fill(spec["stopLossOnFill"])
        if spec.get("trailingStopLossOnFill") is not None:
            raise self.fail(TRAILING_NOT_SUPPORTED)
        if spec.get("guaranteedStopLossOnFill") is not None:  # a later v20's field
            raise self.fail(GUARANTEED_ON_FILL_NOT_ALLOWED)
        tce = spec.get("tradeClientExtensions")
        if tce is not None:
            ext = self._ext(tce, "CLIENT_TRADE")
            if ext.get("id") in self.taken_trade_ids:
                raise self.fail("CLIENT_TRADE_ID_ALREADY_EXISTS")
            self.tx["tradeClientExtensions"] = ext

    def _tp_on_fill(self, tp: Any) -> dict[str, Any]:
        if not isinstance(tp, dict):
            raise self.fail("TAKE_PROFIT_ON_FILL_PRICE_MISSING")
        out: dict[str, Any] = {
            "price": self._price(tp.get("price"), "PRICE", True, "TAKE_PROFIT_ON_FILL_")
        }
        self._time_in_force(tp, "TAKE_PROFIT_ON_FILL_", out)
        if tp.get("clientExtensions") is not None:
            out["clientExtensions"] = self._ext(
                tp["clientExtensions"], "TAKE_PROFIT_ON_FILL_CLIENT_ORDER"
            )
        return out

    def _sl_on_fill(self, sl: Any) -> dict[str, Any]:
        if not isinstance(sl, dict):
            raise self.fail("STOP_LOSS_ON_FILL_PRICE_AND_DISTANCE_BOTH_MISSING")
        if guaranteed(sl):
            raise self.fail(GUARANTEED_ON_FILL_NOT_ALLOWED)
        if "price" in sl and "distance" in sl:
            raise self.fail("STOP_LOSS_ON_FILL_PRICE_AND_DISTANCE_BOTH_SPECIFIED")
        out: dict[str, Any]
        if "price" in sl:
            out = {"price": self._price(sl["price"], "PRICE", True, "STOP_LOSS_ON_FILL_")}
        elif "distance" in sl:
            bad = numbers.distance_reason(sl["distance"])
            if bad is not None:
                raise self.fail(
                    "STOP_LOSS_ON_FILL_DISTANCE_INVALID"
                    if bad == "INVALID"
                    else "STOP_LOSS_ON_FILL_PRICE_DISTANCE_MAXIMUM_EXCEEDED"
                )
            d = numbers.decimal_number(sl["distance"])
            assert self.instrument is not None
            assert d is not None
            if _places(d) > self.instrument.displayPrecision:
                raise self.fail("STOP_LOSS_ON_FILL_DISTANCE_PRECISION_EXCEEDED")
            out = {"distance": dec(d, self.instrument.displayPrecision)}
        else:
            raise self.fail("STOP_LOSS_ON_FILL_PRICE_AND_DISTANCE_BOTH_MISSING")
        self._time_in_force(sl, "STOP_LOSS_ON_FILL_", out)
        if sl.get("clientExtensions") is not None:
            out["clientExtensions"] = self._ext(
                sl["clientExtensions"], "STOP_LOSS_ON_FILL_CLIENT_ORDER"
            )
        return out
