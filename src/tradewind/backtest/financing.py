"""Financing (overnight rollover) both engines charge, from one schedule and one formula.

OANDA charges financing at the daily rollover, 17:00 New York time (DST-aware, as
``domain.fxday``), on the notional of the position held then. The model:

* Every calendar day's 17:00 New York instant is a rollover worth one day of a 365-day year,
  so a year of holding pays the annual rate once, and a gap between bars that spans several
  rollovers pays them all at once: a position held over the weekend pays Friday's,
  Saturday's and Sunday's rollovers (3 days) on the first bar after the weekend. (OANDA books
  the weekend's extra days on Wednesday's rollover, for the value dates; the total over a
  week is the same.)
* The rollovers ``R`` with ``ts[i-1] < R <= ts[i]`` are charged on bar ``i``, the first bar
  whose timestamp is at or after them (``year_fractions``), before bar ``i``'s fills, on the
  position held after bar ``i-1`` (``units``) valued at bar ``i-1``'s close (``price``):
  ``|units| * price * years * rate``, with ``rate`` the long rate for a long position and the
  short rate for a short one (``charge``). A positive charge is paid (cash goes down), a
  negative one received. Bar 0 pays nothing; a position opened on bar ``i`` first pays on bar
  ``i+1``.
* The amount is in the instrument's quote currency, which the engines take as the account
  currency (as they do for every other cost).

Rates are ``Costs.financing_long_rate`` / ``financing_short_rate``; both 0 (the default) turn
financing off and leave every result exactly as before.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from tradewind.domain.fxday import NEW_YORK, fx_day

DAYS_PER_YEAR = 365.0

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def _utc(ts_us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ts_us)


def rollover_instants(first_us: int, last_us: int) -> I64:
    """Every 17:00 New York instant from the one before ``first_us`` to the one after
    ``last_us``, as UTC epoch microseconds (ascending, one per calendar day; read-only)."""
    first = _utc(first_us).astimezone(NEW_YORK).date() - timedelta(days=1)
    last = _utc(last_us).astimezone(NEW_YORK).date() + timedelta(days=1)
    return _instants(first, last)


@lru_cache(maxsize=32)
def _instants(first: date, last: date) -> I64:
    """Cached: a sweep asks for the same span at every point (a time-zone lookup per day)."""
    out = []
    day = first
    while day <= last:
        out.append(fx_day(day).end_us)
        day += timedelta(days=1)
    arr = np.asarray(out, dtype=np.int64)
    arr.flags.writeable = False
    return arr


def rollover_days(ts_us: npt.ArrayLike) -> I64:
    """Per bar, the rollovers in ``(ts[i-1], ts[i]]`` (0 for bar 0): the days of financing
    charged on that bar. ``ts_us`` are ascending UTC epoch microseconds."""
    ts = np.asarray(ts_us, dtype=np.int64)
    if ts.size == 0:
        return np.zeros(0, dtype=np.int64)
    rolls = rollover_instants(int(ts[0]), int(ts[-1]))
    passed = np.searchsorted(rolls, ts, side="right")  # rollovers at or before each bar
    days = np.zeros(ts.size, dtype=np.int64)
    days[1:] = np.diff(passed)
    return days


def year_fractions(ts_us: npt.ArrayLike) -> F64:
    """``rollover_days / 365``: the year fraction of financing charged on each bar."""
    return rollover_days(ts_us).astype(np.float64) / DAYS_PER_YEAR


def charge(units: float, price: float, years: float, long_rate: float, short_rate: float) -> float:
    """What holding ``units`` (signed) at ``price`` for ``years`` costs: positive = paid.

    The vectorised engine's kernel repeats this expression operation for operation, so both
    engines charge the same amount to the bit."""
    rate = long_rate if units > 0 else short_rate
    return abs(units) * price * years * rate
