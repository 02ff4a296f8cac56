"""Closing a position: a POSITION_CLOSEOUT market order per side asked for. Callers run this in
a unit of work."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradewind.venue.engine.fills import Matcher
from tradewind.venue.engine.ledger import Ledger
from tradewind.venue.engine.model import ZERO, Account
from tradewind.venue.engine.parse import Reject, client_extensions, positive
from tradewind.venue.wire import bad_value, dec


class Positions:
    def __init__(self, ledger: Ledger, matcher: Matcher) -> None:
        self.ledger, self.matcher = ledger, matcher

    def close(self, acct: Account, instrument: str, body: Any) -> dict[str, Any]:
        """``body``'s ``longUnits`` / ``shortUnits`` (``"ALL"``, a number or ``"NONE"``): every
        side is validated before either is closed."""
        if instrument not in self.ledger.instruments:
            raise bad_value("instrument")
        if not isinstance(body, dict):
            raise bad_value("body")
        inst = self.ledger.instruments[instrument]
        sides = self.ledger.val(acct).sides().get(instrument, (ZERO, ZERO))
        plans = []
        for side, held in (("long", sides[0]), ("short", -sides[1])):
            req = body.get(f"{side}Units", "NONE")
            if req != "NONE":
                plans.append(self._plan(acct, instrument, body, side, held, req))
        if not plans:
            self.ledger.reject(
                acct,
                "MARKET_ORDER_REJECT",
                Reject("CLOSEOUT_POSITION_INCOMPLETE_SPECIFICATION", {"instrument": instrument}),
                "longOrderRejectTransaction",
            )
        q = self.ledger.quote(instrument)
        out: dict[str, Any] = {}
        for side, n, fields in plans:
            units = -n if side == "long" else n
            tx = self.ledger.emit(
                acct,
                "MARKET_ORDER",
                units=dec(units, inst.tradeUnitsPrecision),
                reason="POSITION_CLOSEOUT",
                **fields,
            )
            order = acct.orders[tx["id"]]
            out[f"{side}OrderCreateTransaction"] = tx
            res = self.matcher.fill(
                acct,
                order,
                q,
                units,
                position_fill="REDUCE_ONLY",
                fill_reason="MARKET_ORDER_POSITION_CLOSEOUT",
            )
            for name in ("Fill", "Cancel"):
                if f"order{name}Transaction" in res:
                    out[f"{side}Order{name}Transaction"] = res[f"order{name}Transaction"]
        out.update(self.ledger.related(acct))
        return out

    def _plan(
        self,
        acct: Account,
        instrument: str,
        body: dict[str, Any],
        side: str,
        held: Decimal,
        req: Any,
    ) -> tuple[str, Decimal, dict[str, Any]]:
        """``(side, units, the closeout order's fields)`` for one side asked for, or the
        MARKET_ORDER_REJECT saying why not."""
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
        n = held if req == "ALL" else positive(req)
        if n is None:
            self.ledger.reject(
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
            self.ledger.reject(
                acct,
                "MARKET_ORDER_REJECT",
                Reject("CLOSEOUT_POSITION_DOESNT_EXIST", fields),
                key,
            )
        if n > held:
            self.ledger.reject(
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
        return side, n, fields
