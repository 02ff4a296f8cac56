"""Historical VaR/ES: a hand-computed value, its properties, and the portfolio check (history,
alignment, reducing orders, limits)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from risk_support import EUR, JPY, limits, order, portfolio

from tradewind.config.risk import MIN_VAR_RETURNS
from tradewind.risk import PortfolioVaR, PortfolioView, historical_var_es

TEN = np.array([-0.05, -0.04, -0.03, -0.02, -0.01, 0.01, 0.02, 0.03, 0.04, 0.05])


def test_known_value_by_hand() -> None:
    # P&L of 1000 exposure: -50, -40, ..., 50. At 80 %: quantile 0.2 with method "lower" is
    # the order statistic at floor(0.2 * 9) = 1: -40, so VaR 40; ES = mean(50, 40) = 45.
    var, es = historical_var_es(TEN[::-1].reshape(-1, 1), np.array([1000.0]), 0.8)
    assert var == pytest.approx(40.0)
    assert es == pytest.approx(45.0)


def test_two_instruments_hedge() -> None:
    returns = np.column_stack([TEN, TEN])
    alone, _ = historical_var_es(returns, np.array([1000.0, 0.0]), 0.8)
    hedged, hedged_es = historical_var_es(returns, np.array([1000.0, -1000.0]), 0.8)
    assert alone == pytest.approx(40.0)
    assert (hedged, hedged_es) == (pytest.approx(0.0, abs=1e-9), pytest.approx(0.0, abs=1e-9))


def test_a_portfolio_that_gains_in_the_tail_risks_nothing() -> None:
    var, es = historical_var_es(np.full((5, 1), 0.01), np.array([1000.0]), 0.99)
    assert (var, es) == (0.0, 0.0)


def test_zero_exposure_is_zero_not_minus_zero() -> None:
    var, es = historical_var_es(TEN.reshape(-1, 1), np.zeros(1), 0.99)
    assert (var, es) == (0.0, 0.0)
    assert str(var) == "0.0"
    assert str(es) == "0.0"


@pytest.mark.parametrize(
    ("returns", "exposure", "confidence", "message"),
    [
        (np.zeros((5, 2)), np.zeros(3), 0.99, "do not match"),
        (np.zeros(5), np.zeros(1), 0.99, "do not match"),
        (np.zeros((0, 1)), np.zeros(1), 0.99, "no return scenarios"),
        (np.zeros((5, 1)), np.zeros(1), 1.0, "confidence must be strictly between 0 and 1"),
        (np.full((5, 1), np.nan), np.zeros(1), 0.99, "must be finite"),
    ],
)
def test_nonsense_inputs(
    returns: np.ndarray, exposure: np.ndarray, confidence: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        historical_var_es(returns, exposure, confidence)


scenarios = arrays(
    np.float64,
    st.tuples(st.integers(1, 60), st.integers(1, 4)),
    elements=st.floats(-0.2, 0.2, allow_nan=False, width=64),
)


@settings(max_examples=200, deadline=None)
@given(
    returns=scenarios,
    data=st.data(),
    k=st.floats(0.01, 1e4),
    confidence=st.floats(0.5, 0.999),
)
def test_properties(returns: np.ndarray, data: st.DataObject, k: float, confidence: float) -> None:
    n = returns.shape[1]
    exposure = data.draw(
        arrays(np.float64, n, elements=st.floats(-1e6, 1e6, allow_nan=False, width=64))
    )
    var, es = historical_var_es(returns, exposure, confidence)
    assert var >= 0.0
    assert es >= var - 1e-9 * max(1.0, var)
    # linear in the exposure: the same scenario is the quantile at any positive scale
    var_k, es_k = historical_var_es(returns, k * exposure, confidence)
    scale = 1e-9 * max(1.0, k * var, k * es)
    assert var_k == pytest.approx(k * var, abs=scale)
    assert es_k == pytest.approx(k * es, abs=scale)
    assert historical_var_es(returns, 0 * exposure, confidence) == (0.0, 0.0)


# PortfolioVaR


def feed(pv: PortfolioVaR, instrument: str, returns: np.ndarray, start: float = 1.0) -> None:
    """Closes whose simple returns are ``returns``."""
    closes = start * np.cumprod(np.concatenate([[1.0], 1.0 + returns]))
    for c in closes:
        pv.update(instrument, float(c))


def cycle(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 0.005, n)


def test_no_limit_set_means_no_check() -> None:
    d = PortfolioVaR(limits()).check(order(1000), portfolio())
    assert d.approved
    assert d.reason == "no VaR limit set"


def test_not_enough_history_refuses(caplog: pytest.LogCaptureFixture) -> None:
    pv = PortfolioVaR(limits(max_var=1000))
    feed(pv, EUR, cycle(29, 1))
    with caplog.at_level(logging.INFO, logger="tradewind.risk"):
        d = pv.check(order(1000), portfolio())
    assert (d.approved, d.check) == (False, "var")
    assert d.reason == "not enough history for EUR_USD: 29 bar returns; need 30"
    assert "var: not enough history for EUR_USD" in caplog.text
    pv.update(EUR, 1.0)  # one more close, one more return: 30
    assert pv.returns(EUR).size == 30
    assert pv.check(order(1000), portfolio()).approved


def test_history_of_every_held_instrument_is_needed() -> None:
    pv = PortfolioVaR(limits(max_var=1000))
    feed(pv, EUR, cycle(100, 1))
    d = pv.check(order(1000), portfolio({JPY: 5000}))
    assert d.reason == "not enough history for USD_JPY: 0 bar returns; need 30"
    # positions pending count as held
    d = pv.check(order(1000), portfolio({}, {JPY: 5000}))
    assert d.reason == "not enough history for USD_JPY: 0 bar returns; need 30"


def test_reducing_orders_pass_without_history() -> None:
    pv = PortfolioVaR(limits(max_var=1.0))
    d = pv.check(order(-1000), portfolio({EUR: 5000}))
    assert d.approved
    assert d.reason == "reduces risk"
    assert not pv.check(order(1000), portfolio({EUR: 5000})).approved


def test_var_and_es_limits_with_exact_reasons() -> None:
    returns = np.tile(TEN, 4)  # 40 returns: 4 of each
    pv = PortfolioVaR(limits(max_var=50, var_confidence=0.8))
    feed(pv, EUR, returns)
    pf = portfolio({EUR: 1000}, mids={EUR: 1.0}, to_account={EUR: 1.0})
    # after: 2000 units x 1.0 -> P&L -100, -80, ...; quantile 0.2 of 40 (lower): index 7 -> -80
    d = pv.check(order(1000), pf)
    assert (d.approved, d.check) == (False, "var")
    assert d.reason == "1-bar VaR(80%) after the order would be 80.00; limit 50.00"
    assert pv.check(order(-500), pf).approved  # reduces
    ok = PortfolioVaR(limits(max_var=100, var_confidence=0.8))
    feed(ok, EUR, returns)
    d = ok.check(order(1000), pf)
    assert d.approved
    assert d.reason == "VaR 80.00, ES 90.00"
    es = PortfolioVaR(limits(max_expected_shortfall=85, var_confidence=0.8))
    feed(es, EUR, returns)
    d = es.check(order(1000), pf)
    assert d.reason == "1-bar expected shortfall(80%) after the order would be 90.00; limit 85.00"


def test_exposure_is_in_account_currency() -> None:
    pv = PortfolioVaR(limits(max_var=1e9, var_confidence=0.8))
    feed(pv, JPY, np.tile(TEN, 4), start=150.0)
    pf = portfolio()  # USD_JPY mid 150, factor 1/150: 1000 units are 1000 USD
    var, es = pv.measure({JPY: 1000}, pf)
    assert (var, es) == (pytest.approx(40.0), pytest.approx(45.0))
    with pytest.raises(ValueError, match="no mid price for USD_JPY"):
        pv.measure({JPY: 1000}, portfolio(mids={}))
    with pytest.raises(ValueError, match="no account-currency factor for USD_JPY"):
        pv.measure({JPY: 1000}, portfolio(to_account={}))


def test_returns_align_on_the_most_recent_common_length() -> None:
    pv = PortfolioVaR(limits(var_confidence=0.95))
    eur, jpy = cycle(200, 1), cycle(50, 2)
    feed(pv, EUR, eur)
    feed(pv, JPY, jpy, start=150.0)
    got = pv.measure({EUR: 1000, JPY: -3000}, portfolio(mids={EUR: 1.0, JPY: 150.0}))
    expected = historical_var_es(
        np.column_stack([pv.returns(EUR)[-50:], pv.returns(JPY)]),
        np.array([1000.0, -3000.0]),
        0.95,
    )
    assert got == pytest.approx(expected)
    np.testing.assert_allclose(pv.returns(EUR)[-50:], eur[-50:], rtol=1e-9)


def test_keeps_only_the_lookback() -> None:
    pv = PortfolioVaR(limits(var_lookback=30))
    feed(pv, EUR, cycle(100, 3))
    assert pv.returns(EUR).size == 30


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_closes_are_dropped(bad: float, caplog: pytest.LogCaptureFixture) -> None:
    pv = PortfolioVaR(limits())
    pv.update(EUR, 1.1)
    with caplog.at_level(logging.WARNING, logger="tradewind.risk"):
        pv.update(EUR, bad)
    pv.update(EUR, 1.21)
    np.testing.assert_allclose(pv.returns(EUR), [0.1])
    assert "dropping bad close" in caplog.text


# the incremental windows against the batch computation


def batch(pv: PortfolioVaR, units: dict[str, float], pf: PortfolioView) -> tuple[float, float]:
    """What ``measure`` computed per order before the windows: ``historical_var_es`` over the
    returns held, aligned on their most recent common length, in sorted-name order."""
    names = sorted(k for k, v in units.items() if v != 0)
    series = [pv.returns(k) for k in names]
    n = min(r.size for r in series)
    exposure = [units[k] * pf.mids[k] * pf.to_account[k] for k in names]
    matrix = np.column_stack([r[-n:] for r in series])
    return historical_var_es(matrix, np.array(exposure), pv.limits.var_confidence)


@pytest.mark.parametrize("seed", range(6))
def test_windows_equal_the_batch_computation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    names = ["EUR_USD", "GBP_USD", "AUD_USD", "NZD_USD"]
    lookback = int(rng.integers(30, 120))
    confidence = float(rng.choice([0.9, 0.95, 0.975, 0.99]))
    pv = PortfolioVaR(limits(var_lookback=lookback, var_confidence=confidence))
    mids = {k: float(rng.uniform(0.5, 2.0)) for k in names}
    pf = portfolio(mids=mids, to_account=dict.fromkeys(names, 1.0))
    closes = {k: mids[k] for k in names}
    for bar in range(lookback + 80):  # the windows fill, then roll
        for k in names[: 1 + bar % 4]:  # some instruments have less history than others
            step = rng.normal(0.0, 0.004)
            # ties: a few returns repeat exactly (a flat close, a price seen before)
            closes[k] = closes[k] if rng.random() < 0.1 else closes[k] * (1.0 + step)
            pv.update(k, closes[k])
        if bar < MIN_VAR_RETURNS + 1:
            continue
        for held in (names[:1], names[1:2], names[:2], names):
            units = {k: float(rng.choice([-1, 1]) * rng.integers(1, 200_000)) for k in held}
            if min(pv.returns(k).size for k in held) < MIN_VAR_RETURNS:
                continue
            got, expected = pv.measure(units, pf), batch(pv, units, pf)
            if len(held) == 1:  # the sorted window: the same order statistic, the tail
                assert got[0] == expected[0]  # mean summed in another order
                assert got[1] == pytest.approx(expected[1], rel=1e-12, abs=1e-12)
            else:  # the same matrix, exposure and numpy calls
                assert got == expected


def test_the_window_rolls_like_the_closes() -> None:
    pv = PortfolioVaR(limits(var_lookback=30))
    closes = 1.1 * np.cumprod(1.0 + cycle(75, 5))
    for c in closes:
        pv.update(EUR, float(c))
    np.testing.assert_array_equal(pv.returns(EUR), closes[-31:][1:] / closes[-31:][:-1] - 1.0)
    assert not pv.returns(EUR).flags.writeable


def test_a_non_finite_return_refuses_until_it_leaves_the_window() -> None:
    pv = PortfolioVaR(limits(var_lookback=30, max_var=1e300, max_expected_shortfall=1e300))
    feed(pv, EUR, cycle(40, 6), start=1e-300)
    pv.update(EUR, 1e300)  # the ratio overflows: an infinite return
    d = pv.check(order(1000), portfolio(mids={EUR: 1.1}))
    assert (d.approved, d.reason) == (False, "returns and exposure must be finite")
    for c in np.linspace(1.0, 1.1, 30):  # 30 more closes: the infinite return has left
        pv.update(EUR, float(c))
    assert pv.check(order(1000), portfolio(mids={EUR: 1.1})).approved
