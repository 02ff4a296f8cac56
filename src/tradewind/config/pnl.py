"""How strict the daily P&L reconciliation is, and where it takes the day's-end marks from."""

from __future__ import annotations

from pydantic import Field

from tradewind.config.base import FrozenModel


class PnlCheckConfig(FrozenModel):
    """``units_tolerance``: the largest difference in units (a fill's, or a position at the
    day's end) that is still clean; ``money_tolerance``: the same for a fill's P&L, financing
    or commission, in the account currency. A difference beyond either trips the account's
    kill switch.

    ``prompt_s``: a run this many seconds or less after the day's end (by the broker's price
    clock), with no transaction since, marks unrealised P&L and NAV with the broker's own
    (its positions and account summary). ``snapshot_max_age_s``: otherwise the live trader's
    last ``live_pnl`` snapshot at or before the day's end, if it is at most this old."""

    units_tolerance: float = Field(default=0.0, ge=0.0)
    money_tolerance: float = Field(default=0.01, ge=0.0)
    prompt_s: float = Field(default=300.0, ge=0.0)
    snapshot_max_age_s: float = Field(default=3600.0, ge=0.0)
