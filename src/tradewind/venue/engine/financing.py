"""Daily financing, as OANDA charges it: at each 17:00 America/New_York rollover, every trade
open across it is charged (or paid) its instrument's annual long/short rate on its value at
that instant, for the days the rollover's weekday counts (Friday's carries the weekend), over
a 365-day year; one DAILY_FINANCING per account and rollover lists it per position and trade.

The venue's clock drives it (``settle(upto)``: every rollover up to ``upto`` not yet settled),
so a fast or stepped clock that jumps several days makes one DAILY_FINANCING per rollover it
crossed, in order. A trade's units at a rollover come from the transaction history (what
closed after the rollover is added back), so settling late charges what was held then. Where
it has got to is the last DAILY_FINANCING (or the account's creation): a restart resumes there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tradewind.venue.engine.ledger import Ledger
from tradewind.venue.engine.model import HOME_PLACES, ZERO, Account, Trade, round_even
from tradewind.venue.engine.views import Valuation, money
from tradewind.venue.quotes import Quote
from tradewind.venue.wire import NS, format_time, parse_time

QuoteAt = Callable[[str, int], Quote | None]
NEW_YORK = ZoneInfo("America/New_York")
ROLLOVER_HOUR = 17
YEAR_DAYS = Decimal(365)
_NEVER = 2**63


def rollovers(lo_ns: int, hi_ns: int) -> Iterator[tuple[int, int]]:
    """``(instant, weekday)`` of each 17:00 New York rollover in ``(lo_ns, hi_ns]`` (weekday
    0 = Monday, of the New York day), daylight saving time included."""
    day = datetime.fromtimestamp(lo_ns // NS, NEW_YORK).date()
    while True:
        at = datetime(day.year, day.month, day.day, ROLLOVER_HOUR, tzinfo=NEW_YORK)
        ns = int(at.timestamp()) * NS
        if ns > hi_ns:
            return
        if ns > lo_ns:
            yield ns, at.weekday()
        day += timedelta(days=1)


def next_rollover(after_ns: int) -> int:
    return next(rollovers(after_ns, _NEVER))[0]


class Financing:
    """Settles rollovers for the ledger's accounts (in the caller's unit of work).
    ``quote_at(instrument, ns)`` prices a past instant (else the latest quote is used)."""

    def __init__(self, ledger: Ledger, quote_at: QuoteAt | None = None) -> None:
        self.ledger, self.quote_at = ledger, quote_at
        self._next: dict[str, int] = {}  # account -> its next unsettled rollover

    def settle(self, upto_ns: int) -> list[dict[str, Any]]:
        """Every rollover up to ``upto_ns``; returns the DAILY_FINANCING transactions made."""
        if not any(i.costs.financed for i in self.ledger.instruments.values()):
            return []
        made: list[dict[str, Any]] = []
        for acct in self.ledger.accounts.values():
            due = self._next.get(acct.id)
            if due is None:
                due = self._next[acct.id] = next_rollover(_settled_until(acct))
            if upto_ns < due:
                continue
            for at, weekday in rollovers(due - 1, upto_ns):
                tx = self._charge(acct, at, weekday)
                if tx is not None:
                    made.append(tx)
            self._next[acct.id] = next_rollover(upto_ns)
        return made

    def _charge(self, acct: Account, at: int, weekday: int) -> dict[str, Any] | None:
        """The DAILY_FINANCING of rollover ``at`` (None when nothing is due)."""
        val = Valuation(acct, self.ledger.instruments, lambda name: self._quote(name, at))
        by_instrument: dict[str, list[dict[str, str]]] = {}
        total = ZERO
        for trade in sorted(acct.trades.values(), key=lambda t: int(t.id)):
            amount = self._trade_financing(acct, val, trade, at, weekday)
            if amount:
                total += amount
                by_instrument.setdefault(trade.instrument, []).append(
                    {"tradeID": trade.id, "financing": money(amount)}
                )
        if not by_instrument:
            return None
        last = parse_time(acct.transactions[-1]["time"]) if acct.transactions else at
        return self.ledger.emit(
            acct,
            "DAILY_FINANCING",
            time=format_time(max(at, last)),  # the rollover, never before an earlier transaction
            financing=money(total),
            accountBalance=money(acct.balance + total),
            accountFinancingMode="DAILY",
            positionFinancings=[
                {
                    "instrument": name,
                    "financing": money(sum((Decimal(t["financing"]) for t in trades), ZERO)),
                    "openTradeFinancings": trades,
                }
                for name, trades in sorted(by_instrument.items())
            ],
        )

    def _trade_financing(
        self, acct: Account, val: Valuation, trade: Trade, at: int, weekday: int
    ) -> Decimal:
        inst = self.ledger.instruments.get(trade.instrument)
        if inst is None or parse_time(trade.open_time) >= at:
            return ZERO
        if trade.close_time is not None and parse_time(trade.close_time) <= at:
            return ZERO
        units = units_at(acct, trade, at)
        days = inst.costs.days_charged[weekday]
        rate = inst.costs.long_rate if units > 0 else inst.costs.short_rate
        if not units or not days or not rate:
            return ZERO
        value = val.value(trade.instrument, units)  # |units| x mid x quote->home, at ``at``
        return round_even(value * rate * days / YEAR_DAYS, HOME_PLACES)

    def _quote(self, name: str, at: int) -> Quote | None:
        return self.quote_at(name, at) if self.quote_at is not None else self.ledger.quote(name)


def units_at(acct: Account, trade: Trade, at: int) -> Decimal:
    """The trade's units at instant ``at``: its units now plus what closed after ``at``."""
    units = trade.current_units
    for tx_id in trade.closing_ids:
        tx = acct.transactions[int(tx_id) - 1]  # ids are 1..n, in order
        if parse_time(tx["time"]) <= at:
            continue
        reduced = [tx["tradeReduced"]] if "tradeReduced" in tx else []
        parts = [*tx.get("tradesClosed", []), *reduced]
        units -= sum((Decimal(p["units"]) for p in parts if p["tradeID"] == trade.id), ZERO)
    return units


def _settled_until(acct: Account) -> int:
    """The last rollover settled: the last DAILY_FINANCING's time, else the account's start."""
    for tx in reversed(acct.transactions):
        if tx["type"] == "DAILY_FINANCING":
            return parse_time(tx["time"])
    return parse_time(acct.created_time)
