"""Order requests -> the fields of their create transaction, or a v20 reject reason."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from tradewind.venue.engine import numbers
from tradewind.venue.engine.guaranteed import (
    Guarantees,
    later_v20,
    mode_reject,
    wants_guarantee,
)
from tradewind.venue.engine.model import ENTRY_TYPES, TRADE_ORDER_TYPES
from tradewind.venue.instruments import VenueInstrument
from tradewind.venue.wire import VenueError, dec, format_time, parse_time

ORDER_KINDS = ("MARKET", *ENTRY_TYPES, *TRADE_ORDER_TYPES)
POSITION_FILLS = ("DEFAULT", "OPEN_ONLY", "REDUCE_FIRST", "REDUCE_ONLY")
TRIGGERS = ("DEFAULT", "INVERSE", "BID", "ASK", "MID")
MESSAGES = {
    "UNITS_MISSING": "The Order's units were not specified",
    "UNITS_INVALID": "The units specified are invalid",
    "INSTRUMENT_MISSING": "The Order's instrument was not specified",
    "INSTRUMENT_UNKNOWN": "The instrument specified is unknown",
    "INSUFFICIENT_MARGIN": "Insufficient margin",
    "INSTRUMENT_PRICE_UNKNOWN": "The instrument's price is unknown",
    "STOP_LOSS_ORDER_GUARANTEED_NOT_ALLOWED": "A guaranteed Stop Loss Order is not allowed",
    "STOP_LOSS_ON_FILL_GUARANTEED_NOT_ALLOWED": "A guaranteed Stop Loss on fill is not allowed",
}
# v20 of this description has no GUARANTEED_STOP_LOSS order type: a guaranteed stop is a
# STOP_LOSS with ``guaranteed`` (see ``guaranteed``), rejected as STOP_LOSS_ORDER_REJECT.
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
        gsl_mode: str = "DISABLED",
        guarantees: Guarantees | None = None,
    ) -> None:
        self.gsl_mode = gsl_mode
        self.guarantees = guarantees if guarantees is not None else Guarantees()
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
        kind = kind or spec.get("type", "MARKET")
        if kind == "GUARANTEED_STOP_LOSS":  # a later v20's type for a guaranteed stop loss
            kind, spec = "STOP_LOSS", {**spec, "guaranteed": True}
        kind = self._kind(kind)
        if kind in TRADE_ORDER_TYPES:
            self._trade_fields(spec)
            if kind == "STOP_LOSS":
                self._guarantee(spec, "STOP_LOSS_ORDER", self.tx)
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
        if kind in ("MARKET", *ENTRY_TYPES):
            self._on_fill(spec)
        return self.tx

    def _kind(self, kind: Any) -> str:
        """The order type, one the venue makes (the transaction begun with it)."""
        if kind not in ORDER_KINDS:
            raise VenueError(400, "Invalid value specified for 'type'", "INVALID_VALUE")
        self.kind = kind
        self.tx = {"type": f"{kind}_ORDER"}
        return str(kind)

    def _guarantee(self, spec: dict[str, Any], prefix: str, into: dict[str, Any]) -> None:
        """A stop loss's ``guaranteed`` flag as the account's mode has it (and its premium)."""
        flag = wants_guarantee(spec, self.gsl_mode)
        if flag is None:
            raise VenueError(400, "Invalid value specified for 'guaranteed'", "INVALID_VALUE")
        if flag or self.gsl_mode != "DISABLED":
            into["guaranteed"] = flag
        reason = mode_reject(flag, self.gsl_mode, prefix)
        if reason is not None:
            raise self.fail(reason)
        if flag and prefix == "STOP_LOSS_ORDER":
            assert self.instrument is not None
            premium = self.guarantees.premium(self.instrument)
            into["guaranteedExecutionPremium"] = dec(premium, self.instrument.displayPrecision)

    def _trailing_distance(self, value: Any, prefix: str = "") -> str:
        """A trailing stop's distance, within the instrument's trailing distance range."""
        out = self._price(value, "PRICE_DISTANCE", True, prefix)
        assert self.instrument is not None
        terms = self.instrument.to_json()
        if Decimal(out) < Decimal(terms["minimumTrailingStopDistance"]):
            raise self.fail(f"{prefix}PRICE_DISTANCE_MINIMUM_NOT_MET")
        if Decimal(out) > Decimal(terms["maximumTrailingStopDistance"]):
            raise self.fail(f"{prefix}PRICE_DISTANCE_MAXIMUM_EXCEEDED")
        return out

    def _prices(self, spec: dict[str, Any], kind: str) -> None:
        """The price, a stop loss's distance (one of the two) and the price bound."""
        if kind == "TRAILING_STOP_LOSS":
            self.tx["distance"] = self._trailing_distance(spec.get("distance"))
            return
        if kind in (*ENTRY_TYPES, "TAKE_PROFIT") or (kind == "STOP_LOSS" and "price" in spec):
            self.tx["price"] = self._price(spec.get("price"), "PRICE", required=True)
        if kind == "STOP_LOSS" and "price" not in spec:
            if "distance" not in spec:
                raise self.fail("STOP_LOSS_ORDER_PRICE_AND_DISTANCE_BOTH_MISSING")
            self.tx["distance"] = self._price(spec["distance"], "PRICE_DISTANCE", True)
        elif kind == "STOP_LOSS" and "distance" in spec:
            raise self.fail("STOP_LOSS_ORDER_PRICE_AND_DISTANCE_BOTH_SPECIFIED")
        if kind in ("MARKET", "STOP", "MARKET_IF_TOUCHED") and spec.get("priceBound") is not None:
            self.tx["priceBound"] = self._price(spec["priceBound"], "PRICE_BOUND", True)

    def _fill_and_trigger(self, spec: dict[str, Any], kind: str) -> None:
        """The position fill (orders that open) and the trigger condition (pending orders)."""
        if kind in ("MARKET", *ENTRY_TYPES):
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
            # v20's reasons: TIME_IN_FORCE_GTD_..., but <ON_FILL_PREFIX>_GTD_...
            gtd_prefix = prefix or "TIME_IN_FORCE_"
            if gtd is None:
                raise self.fail(f"{gtd_prefix}GTD_TIMESTAMP_MISSING")
            try:
                ns = parse_time(gtd) if isinstance(gtd, str) else -1
            except VenueError:
                ns = -1
            if ns < 0:
                raise self.fail(f"{gtd_prefix}GTD_TIMESTAMP_MISSING")
            if ns <= self.now_ns:
                raise self.fail(f"{gtd_prefix}GTD_TIMESTAMP_IN_PAST")
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
        """The orders placed on fill (take profit, stop losses) and the new trade's extensions."""
        spec = later_v20(spec, "guaranteedStopLossOnFill", "stopLossOnFill")
        if spec.get("takeProfitOnFill") is not None:
            self.tx["takeProfitOnFill"] = self._tp_on_fill(spec["takeProfitOnFill"])
        if spec.get("stopLossOnFill") is not None:
            self.tx["stopLossOnFill"] = self._sl_on_fill(spec["stopLossOnFill"])
        if spec.get("trailingStopLossOnFill") is not None:
            self.tx["trailingStopLossOnFill"] = self._tsl_on_fill(spec["trailingStopLossOnFill"])
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
        flags: dict[str, Any] = {}
        self._guarantee(sl, "STOP_LOSS_ON_FILL", flags)
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
        out.update(flags)
        return out

    def _tsl_on_fill(self, tsl: Any) -> dict[str, Any]:
        prefix = "TRAILING_STOP_LOSS_ON_FILL_"
        if not isinstance(tsl, dict):
            raise self.fail(f"{prefix}PRICE_DISTANCE_MISSING")
        out: dict[str, Any] = {"distance": self._trailing_distance(tsl.get("distance"), prefix)}
        self._time_in_force(tsl, prefix, out)
        if tsl.get("clientExtensions") is not None:
            out["clientExtensions"] = self._ext(tsl["clientExtensions"], f"{prefix}CLIENT_ORDER")
        return out
