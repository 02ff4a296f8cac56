"""Positions from fills, and P&L in the account currency.

A position is netted per instrument. Its average price follows Backtrader's rule (the same
as ``tradewind.policy.PositionBook``): adding to a position averages the price, reducing it
keeps the price, crossing through zero starts again at the fill price. Realised P&L is the
broker's own figure on each fill (``pl`` + ``financing`` - ``commission``, in the account
currency) plus the daily financing charged on the position, so it matches the account
balance; unrealised P&L is marked at the mid.
"""

from __future__ import annotations

from collections.abc import Mapping

from tradewind.domain.broker import OrderFilled
from tradewind.domain.orders import FillRecord, PositionRecord

_EPS = 1e-9


def apply_fill(current: PositionRecord | None, fill: FillRecord) -> PositionRecord:
    """The position after ``fill``."""
    units = current.units if current is not None else 0.0
    avg = current.avg_price if current is not None else 0.0
    realised = current.realized_pl if current is not None else 0.0
    new_units = units + fill.units
    if abs(new_units) < _EPS:
        new_units, new_avg = 0.0, 0.0
    elif units == 0.0 or (units > 0) != (new_units > 0):
        new_avg = fill.price  # opened, or crossed through zero
    elif abs(new_units) > abs(units):
        new_avg = (units * avg + fill.units * fill.price) / new_units
    else:
        new_avg = avg  # reduced
    return PositionRecord(
        fill.account_id,
        fill.instrument,
        new_units,
        new_avg,
        realised + fill.pl + fill.financing - fill.commission,
        fill.ts_us,
    )


def apply_financing(
    current: PositionRecord | None, account_id: str, instrument: str, amount: float, ts_us: int
) -> PositionRecord:
    """The position after the broker's daily financing ``amount`` (account currency) on it:
    units and price unchanged, realised P&L moved by the amount."""
    if current is None:
        return PositionRecord(account_id, instrument, 0.0, 0.0, amount, ts_us)
    return PositionRecord(
        account_id,
        instrument,
        current.units,
        current.avg_price,
        current.realized_pl + amount,
        max(ts_us, current.updated_us),
    )


def fill_record(account_id: str, fill: OrderFilled, ts_us: int) -> FillRecord:
    """The ``FillRecord`` of a broker's fill event."""
    return FillRecord(
        account_id=account_id,
        transaction_id=fill.transaction_id,
        order_id=fill.broker_order_id,
        instrument=fill.instrument,
        units=fill.units,
        price=fill.price,
        pl=fill.pl,
        financing=fill.financing,
        commission=fill.commission,
        ts_us=ts_us,
        client_id=fill.client_id or None,
    )


def to_account_factor(
    instrument: str, account_currency: str, mids: Mapping[str, float]
) -> float | None:
    """Multiply an amount in ``instrument``'s quote currency by this to get the account
    currency; None when no price converts it."""
    base, _, quote = instrument.partition("_")
    if quote == account_currency:
        return 1.0
    if base == account_currency:
        mid = mids.get(instrument)
        return 1.0 / mid if mid else None
    direct = mids.get(f"{quote}_{account_currency}")
    if direct:
        return direct
    inverse = mids.get(f"{account_currency}_{quote}")
    return 1.0 / inverse if inverse else None


def unrealized_pl(position: PositionRecord, mid: float, factor: float) -> float:
    """Mark-to-mid P&L of the open units, in the account currency."""
    return position.units * (mid - position.avg_price) * factor if position.units else 0.0
