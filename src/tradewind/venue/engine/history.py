"""An account's transaction history: pages by time, ranges by id, and single transactions.
Callers hold the lock."""

from __future__ import annotations

from typing import Any

from tradewind.venue.engine.model import Account
from tradewind.venue.wire import format_time, not_found, parse_time

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


# every name v20's TransactionFilter allows (its description's enum)
TRANSACTION_FILTERS = frozenset(
    {
        *_FILTERS,
        "CLIENT_CONFIGURE_REJECT",
        "TRANSFER_FUNDS_REJECT",
        *(
            f"{kind}{suffix}"
            for kind in (
                "MARKET_ORDER",
                "LIMIT_ORDER",
                "STOP_ORDER",
                "MARKET_IF_TOUCHED_ORDER",
                "TAKE_PROFIT_ORDER",
                "STOP_LOSS_ORDER",
                "TRAILING_STOP_LOSS_ORDER",
                "ONE_CANCELS_ALL_ORDER",
            )
            for suffix in ("", "_REJECT")
        ),
        "ONE_CANCELS_ALL_ORDER_TRIGGERED",
        "ORDER_FILL",
        "ORDER_CANCEL",
        "ORDER_CANCEL_REJECT",
        "ORDER_CLIENT_EXTENSIONS_MODIFY",
        "ORDER_CLIENT_EXTENSIONS_MODIFY_REJECT",
        "TRADE_CLIENT_EXTENSIONS_MODIFY",
        "TRADE_CLIENT_EXTENSIONS_MODIFY_REJECT",
        "MARGIN_CALL_ENTER",
        "MARGIN_CALL_EXTEND",
        "MARGIN_CALL_EXIT",
        "DELAYED_TRADE_CLOSURE",
        "DAILY_FINANCING",
        "RESET_RESETTABLE_PL",
    }
)


def pages(
    acct: Account,
    now: int,
    from_ns: int | None,
    to_ns: int | None,
    page_size: int,
    types: list[str] | None,
) -> dict[str, Any]:
    """GET /transactions: the id ranges of pages (the route turns them into URLs)."""
    lo = from_ns if from_ns is not None else 0
    hi = to_ns if to_ns is not None else now
    ids = [
        int(tx["id"])
        for tx in acct.transactions
        if lo <= parse_time(tx["time"]) <= hi and (types is None or _type_match(tx["type"], types))
    ]
    ranges = [
        (ids[i], ids[min(i + page_size, len(ids)) - 1]) for i in range(0, len(ids), page_size)
    ]
    return {
        "from": format_time(lo),
        "to": format_time(hi),
        "pageSize": page_size,
        **({"type": list(types)} if types else {}),
        "count": len(ids),
        "pages": ranges,
        "lastTransactionID": str(acct.last_tx),
    }


def id_range(acct: Account, from_id: int, to_id: int, types: list[str] | None) -> dict[str, Any]:
    lo, hi = max(1, from_id), min(to_id, acct.last_tx)
    txs = [
        acct.transactions[i - 1]
        for i in range(lo, hi + 1)
        if types is None or _type_match(acct.transactions[i - 1]["type"], types)
    ]
    return {"transactions": txs, "lastTransactionID": str(acct.last_tx)}


def since(acct: Account, since_id: int) -> dict[str, Any]:
    return {
        "transactions": acct.transactions[max(0, since_id) :],
        "lastTransactionID": str(acct.last_tx),
    }


def one(acct: Account, tx_id: str) -> dict[str, Any]:
    if not (tx_id.isascii() and tx_id.isdigit()) or not 1 <= int(tx_id) <= acct.last_tx:
        raise not_found("The transaction ID specified does not exist")
    return {
        "transaction": acct.transactions[int(tx_id) - 1],
        "lastTransactionID": str(acct.last_tx),
    }


def _type_match(kind: str, types: list[str]) -> bool:
    return kind in types or any(kind in _FILTERS.get(t, ()) for t in types)
