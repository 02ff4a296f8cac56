"""Performance metrics of a backtest, computed with numpy alone.

Conventions
-----------
* ``equity`` is the account value at each bar's close; bar ``i``'s simple return is
  ``equity[i + 1] / equity[i] - 1``, so ``n`` bars give ``n - 1`` returns. Equity is assumed
  positive: return-based metrics of a curve that touches zero or below are meaningless.
* ``periods_per_year`` (ppy) is the number of bars in a year; for a timeframe it is
  ``Timeframe.periods_per_year`` (an FX year of 52 x 5 x 24 hours: 260 daily bars, 6240
  hourly bars). It may be fractional.
* ``risk_free`` is a constant risk-free return *per bar* (empyrical's convention); it enters
  Sharpe (as excess return), Sortino (as the required return), alpha and beta.
* A curve with fewer than 2 bars has no returns: every return and drawdown metric is NaN.
* Risk numbers (VaR, ES) are positive when they are losses.
* ``float('inf')`` is returned where a ratio's denominator is exactly zero and its numerator
  positive (profit_factor with no losing trade, sortino with no return below the required
  one); turning it into something JSON can hold is the caller's job.
* Definitions follow empyrical (empyrical-reloaded 0.7) wherever it has one; the only
  deliberate differences are listed at the end.

Keys of :func:`compute_metrics`
-------------------------------
total_return: ``equity[-1] / equity[0] - 1``.
annual_return: CAGR, ``(1 + total_return) ** (ppy / n_returns) - 1``.
annual_volatility: sample standard deviation (ddof=1) of bar returns times ``sqrt(ppy)``.
sharpe: ``mean(r - rf) / std(r - rf, ddof=1) * sqrt(ppy)``; NaN when the std is zero.
sortino: ``mean(r - rf) * ppy / (sqrt(mean(min(r - rf, 0) ** 2)) * sqrt(ppy))``.
calmar: ``annual_return / |max_drawdown|``; NaN when there is no drawdown.
max_drawdown: deepest fall from a running peak as a fraction, ``min(equity / peak - 1)`` (<= 0).
max_drawdown_value: deepest fall from a running peak in currency, ``min(equity - peak)`` (<= 0).
max_drawdown_duration_bars: longest drawdown episode, in bars from its peak to the bar that
    regains the peak (equity >= peak) or to the last bar when it is never regained.
max_drawdown_episode_bars: the same duration for the episode that holds ``max_drawdown``'s
    trough (the first such trough if several tie).
trades: ``backtest.trades.count_trades``: every trade of ``result.trades`` (round trips as
    ``backtest.trades`` defines them; a position still open at the end is one trade, marked
    to the last close), the count the CLI, the tear sheet and the RL metrics show too. Every
    trade statistic below is over the same trades.
win_rate: fraction of trades with ``pnl > 0``; NaN with no trades.
profit_factor: gross profit / gross loss of trades; inf with profits and no losses,
    NaN when both are zero (including no trades).
expectancy: mean ``pnl`` per trade; NaN with no trades.
sqn: System Quality Number, ``sqrt(n) * mean(pnl) / std(pnl, ddof=1)``; NaN for < 2 trades
    or zero std.
avg_bars_held: mean ``bars_held`` of trades; NaN with no trades.
exposure: mean of ``result.exposure`` (gross position value / equity at each bar's close).
turnover: annualised ``sum(|units * price|)`` over all fills / ``mean(equity)``, i.e. that
    ratio divided by the curve's length in years, ``n_returns / ppy``.
var_95, var_99: historical Value at Risk, ``-q`` where ``q = np.percentile(r, 5 | 1)`` with
    numpy's default 'linear' interpolation.
es_95, es_99: historical Expected Shortfall, ``-mean(r[r <= q])`` with the same ``q``.
beta: ``cov(r, b) / var(b)`` against benchmark bar returns ``b`` (only with a benchmark; NaN
    when ``var(b) < 1e-30``). rf cancels out of the ratio.
alpha: annualised Jensen alpha, ``(1 + mean((r - rf) - beta * (b - rf))) ** ppy - 1`` (only
    with a benchmark).

Deliberate differences from empyrical
-------------------------------------
* sharpe: NaN for constant returns, where empyrical gives +-inf when the constant is
  non-zero (it agrees on NaN for constant equity, i.e. zero returns).
* es_*: ``mean(r[r <= q])`` includes every return tied with the VaR quantile; empyrical's
  ``conditional_value_at_risk`` averages exactly ``floor((n - 1) * cutoff) + 1`` lowest
  returns. The two agree whenever no return is tied with ``q`` other than the one it sits on.
* Sign: empyrical's VaR/CVaR are the (negative) return quantile / tail mean; ours are their
  negatives.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from tradewind.backtest.columns import fill_notional, trade_arrays
from tradewind.backtest.result import BacktestResult
from tradewind.backtest.trades import count_trades

FloatArray = npt.NDArray[np.float64]

__all__ = [
    "alpha",
    "annual_return",
    "annual_volatility",
    "beta",
    "calmar",
    "compute_metrics",
    "drawdown_stats",
    "expected_shortfall",
    "max_drawdown",
    "sharpe",
    "simple_returns",
    "sortino",
    "total_return",
    "trade_stats",
    "turnover",
    "value_at_risk",
]

NAN = float("nan")
INF = float("inf")


def _f(x: npt.ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def _is_constant(x: FloatArray) -> bool:
    """All values equal: their std is exactly zero even if the float residue is not."""
    return bool(x.max() == x.min())


# --------------------------------------------------------------------------------- returns


def simple_returns(equity: npt.ArrayLike) -> FloatArray:
    """Bar-on-bar simple returns ``equity[1:] / equity[:-1] - 1`` (length ``n - 1``)."""
    e = _f(equity)
    if e.size < 2:
        return np.empty(0, dtype=np.float64)
    return e[1:] / e[:-1] - 1.0


def total_return(equity: npt.ArrayLike) -> float:
    """``equity[-1] / equity[0] - 1``; NaN for fewer than 2 bars."""
    e = _f(equity)
    if e.size < 2:
        return NAN
    return float(e[-1] / e[0] - 1.0)


def annual_return(returns: npt.ArrayLike, periods_per_year: float) -> float:
    """CAGR: compounded growth of ``returns`` over ``len(returns) / ppy`` years (empyrical)."""
    r = _f(returns)
    if r.size < 1:
        return NAN
    ending = float(np.prod(1.0 + r))
    years = r.size / periods_per_year
    if ending < 0.0:
        return NAN
    return ending ** (1.0 / years) - 1.0


def annual_volatility(returns: npt.ArrayLike, periods_per_year: float) -> float:
    """Sample std (ddof=1) of returns times ``sqrt(ppy)``; NaN for < 2 returns."""
    r = _f(returns)
    if r.size < 2:
        return NAN
    if _is_constant(r):
        return 0.0
    return float(np.std(r, ddof=1) * math.sqrt(periods_per_year))


def sharpe(returns: npt.ArrayLike, periods_per_year: float, risk_free: float = 0.0) -> float:
    """``mean(r - rf) / std(r - rf, ddof=1) * sqrt(ppy)``; NaN for < 2 returns or zero std."""
    r = _f(returns)
    if r.size < 2:
        return NAN
    adj = r - risk_free
    if _is_constant(adj):
        return NAN
    return float(np.mean(adj) / np.std(adj, ddof=1) * math.sqrt(periods_per_year))


def sortino(returns: npt.ArrayLike, periods_per_year: float, required_return: float = 0.0) -> float:
    """empyrical's Sortino: annualised mean excess over annualised downside deviation.

    Downside deviation is ``sqrt(mean(min(r - required, 0) ** 2)) * sqrt(ppy)`` — the mean is
    over *all* returns, not only the negative ones. With no return below ``required`` the
    result is inf (positive mean excess) or NaN (all returns equal ``required``), as in
    empyrical. NaN for < 2 returns.
    """
    r = _f(returns)
    if r.size < 2:
        return NAN
    adj = r - required_return
    downside = math.sqrt(float(np.mean(np.minimum(adj, 0.0) ** 2))) * math.sqrt(periods_per_year)
    numerator = float(np.mean(adj)) * periods_per_year
    if downside == 0.0:
        if numerator == 0.0:
            return NAN
        return math.copysign(INF, numerator)
    return numerator / downside


def calmar(annual_ret: float, max_dd: float) -> float:
    """``annual_return / |max_drawdown|``; NaN when ``max_dd`` is not negative or the ratio
    is not finite (as empyrical)."""
    if not max_dd < 0.0:
        return NAN
    out = annual_ret / abs(max_dd)
    return out if math.isfinite(out) else NAN


# ------------------------------------------------------------------------------- drawdowns


def drawdown_stats(equity: npt.ArrayLike) -> dict[str, float]:
    """Drawdowns of an equity curve measured from its running peak.

    Returns ``max_drawdown`` (fraction, <= 0), ``max_drawdown_value`` (currency, <= 0),
    ``max_drawdown_duration_bars`` (longest episode) and ``max_drawdown_episode_bars``
    (episode of the deepest fractional trough). An episode starts at a peak bar ``p`` whose
    successor is below it and ends at the first bar ``r > p`` with ``equity[r] >=
    equity[p]``, or at the last bar if none; its duration is ``r - p`` bars. So a recovered
    episode lasts one bar more than the bars spent under water; an unrecovered one lasts
    exactly the bars under water. All NaN for fewer than 2 bars; zeros without a drawdown.
    """
    keys = (
        "max_drawdown",
        "max_drawdown_value",
        "max_drawdown_duration_bars",
        "max_drawdown_episode_bars",
    )
    e = _f(equity)
    n = e.size
    if n < 2:
        return dict.fromkeys(keys, NAN)
    peak = np.maximum.accumulate(e)
    dd = e / peak - 1.0
    under = e < peak
    if not under.any():
        return dict.fromkeys(keys, 0.0)

    # Runs of consecutive under-water bars: [starts[k], ends[k]) ; under[0] is always False.
    edges = np.diff(under.astype(np.int8), append=np.int8(0))
    starts = np.flatnonzero(edges == 1) + 1
    ends = np.flatnonzero(edges == -1) + 1
    recovered = ends < n  # the bar at `ends` regains the peak
    durations = (ends - starts) + recovered.astype(np.int64)

    trough = int(np.argmin(dd))
    episode = int(np.searchsorted(starts, trough, side="right")) - 1
    return {
        "max_drawdown": float(dd[trough]),
        "max_drawdown_value": float(np.min(e - peak)),
        "max_drawdown_duration_bars": float(durations.max()),
        "max_drawdown_episode_bars": float(durations[episode]),
    }


def max_drawdown(equity: npt.ArrayLike) -> float:
    """Deepest fall from a running peak as a (negative) fraction; NaN for < 2 bars."""
    return drawdown_stats(equity)["max_drawdown"]


# ------------------------------------------------------------------------------ tail risk


def _tail_quantile(returns: FloatArray, level: float) -> float:
    return float(np.percentile(returns, 100.0 * (1.0 - level), method="linear"))


def _tail_risk(r: FloatArray, levels: dict[str, float]) -> dict[str, float]:
    """``var_{tag}`` and ``es_{tag}`` for every level, from one ``np.percentile`` call (the
    same quantiles, to the bit, as ``value_at_risk``/``expected_shortfall`` one by one)."""
    if r.size < 1:
        return {f"{k}_{tag}": NAN for tag in levels for k in ("var", "es")}
    qs = np.percentile(r, [100.0 * (1.0 - lv) for lv in levels.values()], method="linear")
    out: dict[str, float] = {}
    for tag, q in zip(levels, qs.tolist(), strict=True):
        out[f"var_{tag}"] = -q
        out[f"es_{tag}"] = -float(np.mean(r[r <= q]))
    return out


def value_at_risk(returns: npt.ArrayLike, level: float = 0.95) -> float:
    """Historical VaR at ``level``: ``-np.percentile(r, 100 * (1 - level))`` ('linear').

    Positive = a loss. NaN with no returns.
    """
    r = _f(returns)
    if r.size < 1:
        return NAN
    return -_tail_quantile(r, level)


def expected_shortfall(returns: npt.ArrayLike, level: float = 0.95) -> float:
    """Historical ES at ``level``: ``-mean(r[r <= q])`` with ``q`` the VaR quantile.

    Positive = a loss. NaN with no returns. The set is never empty: ``q >= min(r)``.
    """
    r = _f(returns)
    if r.size < 1:
        return NAN
    q = _tail_quantile(r, level)
    return -float(np.mean(r[r <= q]))


# ------------------------------------------------------------------------------ benchmark


def beta(returns: npt.ArrayLike, benchmark_returns: npt.ArrayLike) -> float:
    """``cov(r, b) / var(b)``, population moments as empyrical (the ddof cancels anyway).

    A constant risk-free rate cancels out. NaN for < 2 returns or ``var(b) < 1e-30``.
    """
    r, b = _f(returns), _f(benchmark_returns)
    _check_aligned(r, b)
    if r.size < 2:
        return NAN
    b_res = b - b.mean()
    var = float(np.mean(b_res * b_res))
    if var < 1.0e-30:
        return NAN
    return float(np.mean(b_res * r)) / var


def alpha(
    returns: npt.ArrayLike,
    benchmark_returns: npt.ArrayLike,
    periods_per_year: float,
    risk_free: float = 0.0,
    beta_: float | None = None,
) -> float:
    """Annualised alpha, ``(1 + mean((r - rf) - beta * (b - rf))) ** ppy - 1`` (empyrical)."""
    r, b = _f(returns), _f(benchmark_returns)
    _check_aligned(r, b)
    if r.size < 2:
        return NAN
    bt = beta(r, b) if beta_ is None else beta_
    per_bar = float(np.mean((r - risk_free) - bt * (b - risk_free)))
    return (1.0 + per_bar) ** periods_per_year - 1.0


def _check_aligned(r: FloatArray, b: FloatArray) -> None:
    if r.shape != b.shape:
        raise ValueError(
            f"benchmark_returns must have one return per strategy return: {b.shape} != {r.shape}"
        )


# ---------------------------------------------------------------------------------- trades


def trade_stats(pnl: npt.ArrayLike, bars_held: npt.ArrayLike) -> dict[str, float]:
    """Statistics of trades' net ``pnl`` and ``bars_held`` (see the module doc)."""
    p, h = _f(pnl), _f(bars_held)
    n = p.size
    out: dict[str, float] = {"trades": float(n)}
    if n == 0:
        out.update(win_rate=NAN, profit_factor=NAN, expectancy=NAN, sqn=NAN, avg_bars_held=NAN)
        return out
    gross_profit = float(p[p > 0].sum())
    gross_loss = -float(p[p < 0].sum())
    if gross_loss > 0.0:
        pf = gross_profit / gross_loss
    elif gross_profit > 0.0:
        pf = INF
    else:
        pf = NAN
    mean = float(p.mean())
    sqn = NAN if n < 2 or _is_constant(p) else math.sqrt(n) * mean / float(np.std(p, ddof=1))
    out.update(
        win_rate=float(np.count_nonzero(p > 0)) / n,
        profit_factor=pf,
        expectancy=mean,
        sqn=sqn,
        avg_bars_held=float(h.mean()),
    )
    return out


def turnover(fill_notional: npt.ArrayLike, equity: npt.ArrayLike, periods_per_year: float) -> float:
    """``sum(|notional|) / mean(equity) / (n_returns / ppy)``: equity traded per year.

    A round trip of the whole account once a year is 2.0. NaN for < 2 bars.
    """
    e = _f(equity)
    if e.size < 2:
        return NAN
    traded = float(np.abs(_f(fill_notional)).sum())
    years = (e.size - 1) / periods_per_year
    return traded / float(e.mean()) / years


# ------------------------------------------------------------------------------------- all


def compute_metrics(
    result: BacktestResult,
    periods_per_year: float,
    benchmark_returns: np.ndarray | None = None,
    risk_free: float = 0.0,
) -> dict[str, float]:
    """Every metric of the module docstring for ``result``.

    ``benchmark_returns`` are per-bar simple returns aligned with the strategy's, i.e. of
    length ``len(result.equity) - 1``; ``beta`` and ``alpha`` are present only when given.
    ``risk_free`` is per bar.
    """
    if not periods_per_year > 0:
        raise ValueError(f"periods_per_year must be positive, got {periods_per_year}")
    equity = _f(result.equity)
    r = simple_returns(equity)
    dd = drawdown_stats(equity)
    ann = annual_return(r, periods_per_year)
    out: dict[str, float] = {
        "total_return": total_return(equity),
        "annual_return": ann,
        "annual_volatility": annual_volatility(r, periods_per_year),
        "sharpe": sharpe(r, periods_per_year, risk_free),
        "sortino": sortino(r, periods_per_year, risk_free),
        "calmar": calmar(ann, dd["max_drawdown"]),
        **dd,
    }

    trades = result.trades
    out.update(trade_stats(*trade_arrays(trades)))
    out["trades"] = float(count_trades(trades))

    exposure = _f(result.exposure)
    out["exposure"] = float(exposure.mean()) if exposure.size else NAN
    out["turnover"] = turnover(fill_notional(result.fills), equity, periods_per_year)
    out.update(_tail_risk(r, {"95": 0.95, "99": 0.99}))

    if benchmark_returns is not None:
        b = _f(benchmark_returns)
        bt = beta(r, b)
        out["beta"] = bt
        out["alpha"] = alpha(r, b, periods_per_year, risk_free, beta_=bt)
    return out
