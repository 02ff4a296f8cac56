"""Value at risk and expected shortfall by historical simulation, over one bar.

Each of the last ``var_lookback`` bars' simple returns is replayed on today's exposure
(units x mid x to_account, account currency): P&L scenarios are ``returns @ exposure``. VaR is
the loss at the ``1 - confidence`` quantile, taken with ``method="lower"`` so it is an actual
scenario (no interpolation: the same order statistic at any scale, so VaR is exactly linear in
the exposure); ES is the mean loss of the scenarios at or beyond it, so ES >= VaR always.

Returns are aligned by position from the most recent bar: the caller updates every
instrument once per bar close on the same timeframe grid.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Mapping

import numpy as np

from tradewind.config.risk import MIN_VAR_RETURNS, RiskLimits
from tradewind.domain import OrderIntent
from tradewind.risk.views import PortfolioView, RiskDecision, money, num, reduces

log = logging.getLogger("tradewind.risk")


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
        raise ValueError("returns and exposure must be finite")
    pnl = r @ e
    # numpy's quantile(method="lower"): the order statistic at floor((T - 1) * q), found by
    # a partial sort (the full quantile machinery costs more than the rest of the check)
    k = math.floor((pnl.size - 1) * (1.0 - confidence))
    cut = np.partition(pnl, k)[k]
    var = max(0.0, -float(cut))
    es = max(0.0, -float(pnl[pnl <= cut].mean()))
    return var + 0.0, es + 0.0  # + 0.0: no "-0.0"


class PortfolioVaR:
    """Bar closes per instrument and the VaR/ES check of the portfolio after an order."""

    def __init__(self, limits: RiskLimits) -> None:
        self.limits = limits
        self._closes: dict[str, deque[float]] = {}
        self._returns: dict[str, np.ndarray] = {}  # per instrument, until its next close
        self._lock = threading.Lock()  # bars may arrive on another thread than orders

    def update(self, instrument: str, close: float) -> None:
        """One bar close of ``instrument``; keeps the last ``var_lookback + 1`` closes.
        A non-finite or non-positive close is dropped (and logged): it would poison every
        scenario for ``var_lookback`` bars."""
        if not (math.isfinite(close) and close > 0):
            log.warning("VaR: dropping bad close %s of %s", close, instrument)
            return
        with self._lock:
            closes = self._closes.get(instrument)
            if closes is None:
                closes = self._closes[instrument] = deque(maxlen=self.limits.var_lookback + 1)
            closes.append(float(close))
            self._returns.pop(instrument, None)

    def returns(self, instrument: str) -> np.ndarray:
        """The simple bar returns of ``instrument`` held now, oldest first."""
        with self._lock:
            cached = self._returns.get(instrument)
            if cached is not None:
                return cached
            c = np.array(self._closes.get(instrument, ()), dtype=np.float64)
            r = c[1:] / c[:-1] - 1.0 if c.size > 1 else np.empty(0)
            r.flags.writeable = False
            self._returns[instrument] = r
            return r

    def measure(self, units: Mapping[str, float], portfolio: PortfolioView) -> tuple[float, float]:
        """(VaR, ES) of ``units`` per instrument valued at the portfolio's mids and factors;
        ValueError naming the instrument if a price, a factor or enough history is missing."""
        held = {k: v for k, v in units.items() if v != 0}
        if not held:
            return 0.0, 0.0
        names = sorted(held)
        series, exposure = [], []
        for name in names:
            mid, factor = portfolio.mids.get(name), portfolio.to_account.get(name)
            if mid is None or factor is None:
                missing = "mid price" if mid is None else "account-currency factor"
                raise ValueError(f"no {missing} for {name}")
            r = self.returns(name)
            if r.size < MIN_VAR_RETURNS:
                raise ValueError(
                    f"not enough history for {name}: {r.size} bar returns; need {MIN_VAR_RETURNS}"
                )
            series.append(r)
            exposure.append(held[name] * mid * factor)
        n = min(r.size for r in series)  # the most recent common length
        matrix = np.column_stack([r[-n:] for r in series])
        return historical_var_es(matrix, np.array(exposure), self.limits.var_confidence)

    def check(self, intent: OrderIntent, portfolio: PortfolioView) -> RiskDecision:
        """Refuse (check "var") if the portfolio after the order (positions + pending +
        order) breaks ``max_var`` or ``max_expected_shortfall``, or cannot be measured.
        Approve when neither limit is set, and any order that reduces its instrument's
        position, whatever the history."""
        limits, name = self.limits, intent.instrument
        if limits.max_var is None and limits.max_expected_shortfall is None:
            return RiskDecision.ok(intent, "no VaR limit set")
        position, pending = portfolio.position(name), portfolio.pending(name)
        if reduces(position, pending, intent.units):
            return RiskDecision.ok(intent, "reduces risk")
        held = {*portfolio.positions, *portfolio.pending_units}
        after = {k: portfolio.position(k) + portfolio.pending(k) for k in held}
        after[name] = position + pending + intent.units
        try:
            var, es = self.measure(after, portfolio)
        except ValueError as exc:
            return self._refuse(intent, str(exc))
        conf = f"{limits.var_confidence:.1%}".replace(".0%", "%")
        if limits.max_var is not None and var > limits.max_var:
            return self._refuse(
                intent,
                f"1-bar VaR({conf}) after the order would be {money(var)}; "
                f"limit {money(limits.max_var)}",
            )
        es_limit = limits.max_expected_shortfall
        if es_limit is not None and es > es_limit:
            return self._refuse(
                intent,
                f"1-bar expected shortfall({conf}) after the order would be {money(es)}; "
                f"limit {money(es_limit)}",
            )
        return RiskDecision.ok(intent, f"VaR {money(var)}, ES {money(es)}")

    def _refuse(self, intent: OrderIntent, reason: str) -> RiskDecision:
        decision = RiskDecision.refuse(intent, "var", reason)
        log.info("risk refused %s %s units: %s", intent.instrument, num(intent.units), decision)
        return decision
