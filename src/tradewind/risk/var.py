"""Value at risk and expected shortfall by historical simulation, over one bar.

Each of the last ``var_lookback`` bars' simple returns is replayed on today's exposure
(units x mid x to_account, account currency): P&L scenarios are ``returns @ exposure``. VaR is
the loss at the ``1 - confidence`` quantile, taken with ``method="lower"`` so it is an actual
scenario (no interpolation: the same order statistic at any scale, so VaR is exactly linear in
the exposure); ES is the mean loss of the scenarios at or beyond it, so ES >= VaR always.

Returns are aligned by position from the most recent bar: the caller updates every
instrument once per bar close on the same timeframe grid. The work is done per bar, not per
order: each close updates its instrument's ``var_window.ReturnWindow`` (a ring buffer and the
returns sorted), so an order's check reads a single instrument's VaR/ES off the sorted returns
(the same order statistic as ``historical_var_es``; ES to float noise, the tail summed in
another order) and a portfolio's from an aligned matrix built once per bar.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping

import numpy as np

from tradewind.config.risk import MIN_VAR_RETURNS, RiskLimits
from tradewind.domain import OrderIntent
from tradewind.risk.var_window import ReturnWindow
from tradewind.risk.views import PortfolioView, RiskDecision, money, num, reduces

log = logging.getLogger("tradewind.risk")
_NOT_FINITE = "returns and exposure must be finite"


def historical_var_es(
    returns: np.ndarray, exposure: np.ndarray, confidence: float
) -> tuple[float, float]:
    """(VaR, ES) of ``exposure`` (n,) over the return scenarios ``returns`` (T, n): losses as
    positive amounts, both >= 0 (a portfolio that gains in every tail scenario risks 0)."""
    r = np.asarray(returns, dtype=np.float64)
    e = np.asarray(exposure, dtype=np.float64)
    if r.ndim != 2 or e.ndim != 1 or r.shape[1] != e.shape[0]:
        raise ValueError(f"returns {r.shape} and exposure {e.shape} do not match as (T, n), (n,)")
    if r.shape[0] == 0:
        raise ValueError("no return scenarios")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")
    if not (np.isfinite(r).all() and np.isfinite(e).all()):
        raise ValueError(_NOT_FINITE)
    return _tail(r @ e, confidence)


def _tail(pnl: np.ndarray, confidence: float) -> tuple[float, float]:
    """(VaR, ES) of the P&L scenarios ``pnl`` (finite, at least one)."""
    # numpy's quantile(method="lower"): the order statistic at floor((T - 1) * q), found by
    # a partial sort (the full quantile machinery costs more than the rest of the check)
    k = math.floor((pnl.size - 1) * (1.0 - confidence))
    cut = np.partition(pnl, k)[k]
    var = max(0.0, -float(cut))
    es = max(0.0, -float(pnl[pnl <= cut].mean()))
    return var + 0.0, es + 0.0  # + 0.0: no "-0.0"


class PortfolioVaR:
    """Bar closes per instrument and the VaR/ES check of the portfolio after an order.

    Each bar close updates its instrument's ``ReturnWindow`` (O(log n), no pass over the
    returns), so the check of an order costs no numpy call when the portfolio after it holds
    one instrument (the order statistic and the tail read off the sorted returns), and one
    product, a partial sort and a mean over an aligned matrix cached per bar when it holds
    several."""

    def __init__(self, limits: RiskLimits) -> None:
        self.limits = limits
        self._windows: dict[str, ReturnWindow] = {}
        self._version = 0  # bumped by every close: the aligned matrix below is per version
        self._matrix: tuple[int, tuple[str, ...], np.ndarray, bool] | None = None
        self._lock = threading.Lock()  # bars may arrive on another thread than orders
        self._conf = f"{limits.var_confidence:.1%}".replace(".0%", "%")

    def update(self, instrument: str, close: float) -> None:
        """One bar close of ``instrument``; keeps the last ``var_lookback`` returns.
        A non-finite or non-positive close is dropped (and logged): it would poison every
        scenario for ``var_lookback`` bars."""
        if not (math.isfinite(close) and close > 0):
            log.warning("VaR: dropping bad close %s of %s", close, instrument)
            return
        with self._lock:
            window = self._windows.get(instrument)
            if window is None:
                window = self._windows[instrument] = ReturnWindow(self.limits.var_lookback)
            window.add(float(close))
            self._version += 1

    def returns(self, instrument: str) -> np.ndarray:
        """The simple bar returns of ``instrument`` held now, oldest first (a read-only copy)."""
        with self._lock:
            window = self._windows.get(instrument)
            r = window.view().copy() if window is not None else np.empty(0)
        r.flags.writeable = False
        return r

    def measure(self, units: Mapping[str, float], portfolio: PortfolioView) -> tuple[float, float]:
        """(VaR, ES) of ``units`` per instrument valued at the portfolio's mids and factors;
        ValueError naming the instrument if a price, a factor or enough history is missing."""
        held = {k: v for k, v in units.items() if v != 0}
        if not held:
            return 0.0, 0.0
        if len(held) == 1:  # one instrument: read off its sorted returns, no numpy call
            ((name, one),) = held.items()
            with self._lock:
                window, value = self._exposure(name, one, portfolio)
                if window.bad or not math.isfinite(value):
                    raise ValueError(_NOT_FINITE)
                return window.var_es(value, self.limits.var_confidence)
        names = tuple(sorted(held))
        exposure = []
        with self._lock:
            windows = []
            for name in names:
                window, value = self._exposure(name, held[name], portfolio)
                windows.append(window)
                exposure.append(value)
            matrix, finite = self._aligned(names, windows)
        e = np.array(exposure)
        if not (finite and np.isfinite(e).all()):
            raise ValueError(_NOT_FINITE)
        return _tail(matrix @ e, self.limits.var_confidence)

    def _exposure(
        self, name: str, units: float, portfolio: PortfolioView
    ) -> tuple[ReturnWindow, float]:
        """``name``'s returns and the account-currency exposure of ``units`` of it; ValueError
        if a price, a factor or enough history is missing (called under the lock)."""
        mid, factor = portfolio.mids.get(name), portfolio.to_account.get(name)
        if mid is None or factor is None:
            missing = "mid price" if mid is None else "account-currency factor"
            raise ValueError(f"no {missing} for {name}")
        window = self._windows.get(name)
        size = window.count if window is not None else 0
        if window is None or size < MIN_VAR_RETURNS:
            raise ValueError(
                f"not enough history for {name}: {size} bar returns; need {MIN_VAR_RETURNS}"
            )
        return window, units * mid * factor

    def _aligned(
        self, names: tuple[str, ...], windows: list[ReturnWindow]
    ) -> tuple[np.ndarray, bool]:
        """The returns of ``names`` over their most recent common length, as columns, and
        whether all are finite; cached until the next close (called under the lock)."""
        cached = self._matrix
        if cached is not None and cached[0] == self._version and cached[1] == names:
            return cached[2], cached[3]
        n = min(w.count for w in windows)
        matrix = np.column_stack([w.view()[-n:] for w in windows])
        finite = bool(np.isfinite(matrix).all())
        matrix.flags.writeable = False
        self._matrix = (self._version, names, matrix, finite)
        return matrix, finite

    def check(
        self, intent: OrderIntent, portfolio: PortfolioView, *, quiet: bool = False
    ) -> RiskDecision:
        """Refuse (check "var") if the portfolio after the order (positions + pending +
        order) breaks ``max_var`` or ``max_expected_shortfall``, or cannot be measured.
        Approve when neither limit is set, and any order that reduces its instrument's
        position, whatever the history. ``quiet``: a dry run, refusals not logged."""
        limits, name = self.limits, intent.instrument
        if limits.max_var is None and limits.max_expected_shortfall is None:
            return RiskDecision.ok(intent, "no VaR limit set")
        position, pending = portfolio.position(name), portfolio.pending(name)
        if reduces(position, pending, intent.units):
            return RiskDecision.ok(intent, "reduces risk")
        after = {name: position + pending + intent.units}
        for k in portfolio.positions.keys() | portfolio.pending_units.keys():
            if k != name:
                after[k] = portfolio.position(k) + portfolio.pending(k)
        try:
            var, es = self.measure(after, portfolio)
        except ValueError as exc:
            return self._refuse(intent, str(exc), quiet)
        conf = self._conf
        if limits.max_var is not None and var > limits.max_var:
            return self._refuse(
                intent,
                f"1-bar VaR({conf}) after the order would be {money(var)}; "
                f"limit {money(limits.max_var)}",
                quiet,
            )
        es_limit = limits.max_expected_shortfall
        if es_limit is not None and es > es_limit:
            return self._refuse(
                intent,
                f"1-bar expected shortfall({conf}) after the order would be {money(es)}; "
                f"limit {money(es_limit)}",
                quiet,
            )
        return RiskDecision.ok(intent, f"VaR {var:.2f}, ES {es:.2f}")  # money(), inline

    def _refuse(self, intent: OrderIntent, reason: str, quiet: bool = False) -> RiskDecision:
        decision = RiskDecision.refuse(intent, "var", reason)
        if not quiet:
            log.info("risk refused %s %s units: %s", intent.instrument, num(intent.units), decision)
        return decision
