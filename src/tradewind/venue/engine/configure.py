"""``PATCH /accounts/{id}/configuration``: the account's alias and margin rate, as v20 sets
them: a CLIENT_CONFIGURE transaction, or a CLIENT_CONFIGURE_REJECT (400) that says why."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tradewind.venue.engine import numbers
from tradewind.venue.engine.ledger import Ledger
from tradewind.venue.engine.model import Account
from tradewind.venue.engine.views import Valuation
from tradewind.venue.wire import VenueError

MAX_ALIAS = 100
_MESSAGES = {
    "CLIENT_CONFIGURE_DATA_MISSING": "No configuration was given: set 'alias' or 'marginRate'",
    "ALIAS_INVALID": f"Invalid value specified for 'alias': a name of 1 to {MAX_ALIAS} characters",
    "MARGIN_RATE_INVALID": (
        "Invalid value specified for 'marginRate': a decimal number above 0, at most 1"
    ),
    "MARGIN_RATE_WOULD_TRIGGER_CLOSEOUT": (
        "The margin rate would put the Account into margin closeout"
    ),
}


class _Reject(Exception):
    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.field = reason, field


def configure(ledger: Ledger, acct: Account, body: dict[str, Any]) -> dict[str, Any]:
    """Apply ``{"alias"?, "marginRate"?}`` (in the caller's unit of work)."""
    # the reject transaction repeats what was asked, where it has the field's type
    shown = {k: body[k] for k in ("alias", "marginRate") if isinstance(body.get(k), str)}
    if "marginRate" in shown and numbers.decimal_number(shown["marginRate"]) is None:
        del shown["marginRate"]
    fields: dict[str, Any] = {}
    try:
        unknown = sorted(set(body) - {"alias", "marginRate"})
        if unknown:
            raise VenueError(
                400, f"Invalid value specified for '{unknown[0]}': not a configuration field",
                "INVALID_VALUE",
            )  # fmt: skip
        if not body:
            raise _Reject("CLIENT_CONFIGURE_DATA_MISSING")
        if "alias" in body:
            fields["alias"] = _check_alias(body["alias"])
        if "marginRate" in body:
            fields["marginRate"] = _check_margin_rate(ledger, acct, body["marginRate"])
    except _Reject as r:
        tx = ledger.emit(acct, "CLIENT_CONFIGURE_REJECT", **shown, rejectReason=r.reason)
        raise VenueError(
            400,
            _MESSAGES.get(r.reason, r.reason),
            r.reason,
            clientConfigureRejectTransaction=tx,
            lastTransactionID=str(acct.last_tx),
        ) from None
    tx = ledger.emit(acct, "CLIENT_CONFIGURE", **fields)
    return {"clientConfigureTransaction": tx, "lastTransactionID": str(acct.last_tx)}


def _check_alias(alias: Any) -> str:
    if not isinstance(alias, str) or not alias.strip() or len(alias) > MAX_ALIAS:
        raise _Reject("ALIAS_INVALID")
    return alias


def _check_margin_rate(ledger: Ledger, acct: Account, value: Any) -> str:
    """The margin rate as text (v20's DecimalNumber), if it is one in (0, 1] that does not
    put the account into margin closeout at today's prices."""
    rate = numbers.decimal_number(value)  # v20's format only: no exponent, no blanks
    if rate is None or not 0 < rate <= 1:
        raise _Reject("MARGIN_RATE_INVALID")
    trial = replace(acct, margin_rate=rate)
    tot = Valuation(trial, ledger.instruments, ledger.quote).totals()
    if tot["marginUsed"] > 0 and tot["marginUsed"] >= 2 * tot["NAV"]:
        raise _Reject("MARGIN_RATE_WOULD_TRIGGER_CLOSEOUT")
    return f"{rate.normalize():f}"
