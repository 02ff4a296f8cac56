"""Tearsheet charts: matplotlib's object-oriented API on the Agg canvas, returned as base64 PNG.

No pyplot, no global style changes: every figure is styled explicitly, so rendering is safe from
several threads at once. Times on x axes are UTC.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence

import matplotlib.dates as mdates
import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter, FuncFormatter, MaxNLocator, PercentFormatter

from tradewind.domain import FX_TRADING_DAYS_PER_YEAR, FX_TRADING_SECONDS_PER_YEAR

FloatArray = npt.NDArray[np.float64]

WIDTH_IN = 10.0  # with DPI below: 1200 px, shown at <= 1000 px, crisp on HiDPI screens
DPI = 120
BLUE = "#1f5fa8"
RED = "#c0392b"
GREEN = "#1e8449"
GREY = "#7f8c8d"
INK = "#2c3e50"
SERIES = ["#1f5fa8", "#e67e22", "#1e8449", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

_SECONDS_PER_DAY = 86_400.0


def periods_per_year(ts_us: npt.NDArray[np.int64]) -> float:
    """Bars per year from the median bar spacing, when no timeframe is known, on the FX
    year ``Timeframe.periods_per_year`` uses (52 x 5 x 24 hours: 260 daily bars); calendar
    time for weekly and longer."""
    if len(ts_us) < 2:
        return float(FX_TRADING_DAYS_PER_YEAR)
    spacing = float(np.median(np.diff(np.asarray(ts_us, dtype=np.int64)))) / 1e6
    if spacing <= 0:
        return float(FX_TRADING_DAYS_PER_YEAR)
    if spacing < 20 * 3600:
        return FX_TRADING_SECONDS_PER_YEAR / spacing
    if spacing < 5 * _SECONDS_PER_DAY:
        return FX_TRADING_DAYS_PER_YEAR / max(1, round(spacing / _SECONDS_PER_DAY))
    return 365.25 * _SECONDS_PER_DAY / spacing


def to_datetimes(ts_us: npt.NDArray[np.int64]) -> npt.NDArray[np.datetime64]:
    return np.asarray(ts_us, dtype=np.int64).astype("datetime64[us]")


def bar_returns(equity: FloatArray) -> FloatArray:
    eq = np.asarray(equity, dtype=np.float64)
    if len(eq) < 2:
        return np.zeros(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = eq[1:] / eq[:-1] - 1.0
    r[~np.isfinite(r)] = np.nan
    return r


def drawdown(equity: FloatArray) -> FloatArray:
    eq = np.asarray(equity, dtype=np.float64)
    if len(eq) == 0:
        return eq
    peak = np.fmax.accumulate(eq)
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.where(peak > 0, eq / peak - 1.0, 0.0)
    return np.nan_to_num(dd, nan=0.0, posinf=0.0, neginf=0.0)


def monthly_returns(ts_us: npt.NDArray[np.int64], equity: FloatArray) -> pd.DataFrame:
    """Year x month table of compounded returns (fractions), with a ``Year`` column."""
    if len(ts_us) == 0:
        return pd.DataFrame(columns=[*MONTHS, "Year"], dtype=float)
    s = pd.Series(
        np.asarray(equity, dtype=np.float64), index=pd.to_datetime(ts_us, unit="us", utc=True)
    )
    s = s[np.isfinite(s.to_numpy())]
    if s.empty:
        return pd.DataFrame(columns=[*MONTHS, "Year"], dtype=float)
    month_end = s.resample("ME").last().dropna()
    prev = month_end.shift(1)
    prev.iloc[0] = s.iloc[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        rets = (month_end / prev - 1.0).replace([np.inf, -np.inf], np.nan)
    stamps = pd.DatetimeIndex(rets.index)
    table = pd.DataFrame(np.nan, index=sorted(set(stamps.year)), columns=[*MONTHS, "Year"])
    for stamp, value in zip(stamps, rets, strict=True):
        table.loc[stamp.year, MONTHS[stamp.month - 1]] = value
    for year in table.index:
        months = table.loc[year, MONTHS].dropna().to_numpy(dtype=float)
        table.loc[year, "Year"] = float(np.prod(1.0 + months) - 1.0) if len(months) else np.nan
    return table


# --- figure plumbing ---------------------------------------------------------------------------


def _figure(height: float) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    _style(ax)
    return fig, ax


def _style(ax: Axes) -> None:
    ax.set_facecolor("white")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#b0b7bf")
    ax.grid(True, color="#e5e8eb", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.tick_params(colors=INK, labelsize=9, length=3)


def _title(ax: Axes, subtitle: str) -> None:
    """A small grey caption top right; the HTML around the image carries the section title."""
    ax.set_title(subtitle, loc="right", fontsize=9, color=GREY, pad=6)


def _legend(ax: Axes, ncols: int = 4) -> None:
    """Legend in a row above the axes, left, so it never hides the data."""
    ax.legend(
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        ncols=ncols,
        fontsize=8,
        frameon=False,
        borderaxespad=0.2,
        handlelength=1.8,
    )


def _date_axis(ax: Axes) -> None:
    locator = mdates.AutoDateLocator(tz="UTC", minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz="UTC"))


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _money(x: float, _pos: object = None) -> str:
    ax_ = abs(x)
    if ax_ >= 1e6:
        return f"{x / 1e6:,.2f}M"
    if ax_ >= 1e4:
        return f"{x / 1e3:,.0f}k"
    return f"{x:,.0f}" if ax_ >= 100 else f"{x:,.2f}"


def _tick(x: float, _pos: object = None) -> str:
    return _money(x) if abs(x) >= 100 or x != round(x) else f"{x:,.0f}"


class _Thousands(Formatter):
    """Thousands separators, with just enough decimals for the axis' tick spacing."""

    def __init__(self) -> None:
        self._decimals = 2

    def format_ticks(self, values: Sequence[float]) -> list[str]:
        locs = sorted(v for v in values if math.isfinite(v))
        step = float(np.min(np.diff(locs))) if len(locs) > 1 else 0.0
        self._decimals = max(0, min(6, -math.floor(math.log10(step) + 1e-9))) if step > 0 else 2
        return [self(v, i) for i, v in enumerate(values)]

    def __call__(self, x: float, pos: int | None = None) -> str:
        return f"{x:,.{self._decimals}f}"


def _single_point(ax: Axes, x: npt.NDArray[np.datetime64], y: FloatArray, color: str) -> None:
    if len(x) == 1:
        ax.plot(x, y, marker="o", color=color, markersize=6)
        day = np.timedelta64(1, "D")
        ax.set_xlim(x[0] - day, x[0] + day)


# --- charts ------------------------------------------------------------------------------------


def equity_chart(
    ts_us: npt.NDArray[np.int64],
    equity: FloatArray,
    benchmark: FloatArray | None = None,
    benchmark_label: str = "Benchmark",
) -> str:
    """The equity curve; ``benchmark`` (aligned, same starting value) drawn beside it."""
    x, eq = to_datetimes(ts_us), np.asarray(equity, dtype=np.float64)
    fig, ax = _figure(3.6)
    if benchmark is not None and len(benchmark) == len(eq):
        ax.plot(x, benchmark, color=SERIES[1], linewidth=1.1, label=benchmark_label)
    ax.plot(x, eq, color=BLUE, linewidth=1.4, label="Equity")
    _single_point(ax, x, eq, BLUE)
    if len(eq):
        peak = np.fmax.accumulate(eq)
        ax.plot(x, peak, color=GREY, linewidth=0.8, linestyle=":", label="High-water mark")
        ax.axhline(eq[0], color=GREY, linewidth=0.8, linestyle="--", label="Start")
        lo = float(np.nanmin(eq)) if np.isfinite(eq).any() else 0.0
        dd = drawdown(eq)
        if len(eq) > 1 and dd.min() < 0:
            trough = int(np.argmin(dd))
            start = int(np.argmax(eq[: trough + 1]))
            ax.axvspan(x[start], x[trough], color=RED, alpha=0.07, label="Max drawdown")
        if np.isfinite(eq).any() and float(np.nanmax(eq)) == lo:  # flat: give the line air
            pad = max(abs(lo) * 0.01, 1.0)
            ax.set_ylim(lo - pad, lo + pad)
    ax.yaxis.set_major_formatter(_Thousands())
    _legend(ax)
    _title(ax, "account value at each bar close · UTC")
    _date_axis(ax)
    return _png(fig)


def drawdown_chart(ts_us: npt.NDArray[np.int64], equity: FloatArray) -> str:
    x, dd = to_datetimes(ts_us), drawdown(equity)
    fig, ax = _figure(2.6)
    ax.fill_between(x, dd, 0.0, color=RED, alpha=0.35, linewidth=0)
    ax.plot(x, dd, color=RED, linewidth=0.9)
    _single_point(ax, x, dd, RED)
    worst = float(dd.min()) if len(dd) else 0.0
    ax.set_ylim(min(worst * 1.12, -0.001), 0.0005)
    if worst < 0:
        i = int(np.argmin(dd))
        ax.annotate(
            f"{worst:.2%}",
            (x[i], worst),
            xytext=(6, -2),
            textcoords="offset points",
            fontsize=8,
            color=RED,
            va="top",
        )
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    _title(ax, "equity below its running peak · UTC")
    _date_axis(ax)
    return _png(fig)


def monthly_heatmap(table: pd.DataFrame) -> str:
    n_years = max(len(table.index), 1)
    fig, ax = _figure(0.95 + 0.4 * n_years)
    ax.grid(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    values = table.to_numpy(dtype=float) if len(table.index) else np.full((1, 13), np.nan)
    finite = values[np.isfinite(values)]
    lim = float(np.max(np.abs(finite))) if finite.size else 0.0
    lim = max(lim, 1e-4)
    norm = TwoSlopeNorm(vmin=-lim, vcenter=0.0, vmax=lim)
    masked = np.ma.masked_invalid(values)
    ax.imshow(masked, cmap="RdYlGn", norm=norm, aspect="auto", interpolation="nearest")
    ax.axvline(11.5, color="white", linewidth=4)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            if not np.isfinite(v):
                continue
            strong = abs(v) > 0.6 * lim
            ax.text(
                j,
                i,
                f"{v * 100:+.1f}",
                ha="center",
                va="center",
                fontsize=8.5,
                color="white" if strong else INK,
                fontweight="bold" if j == 12 else "normal",
            )
    ax.set_xticks(range(13), [*MONTHS, "Year"])
    ax.set_yticks(range(values.shape[0]), [str(y) for y in table.index] or [""])
    ax.tick_params(length=0)
    ax.xaxis.tick_top()
    _title(ax, "percent, compounded, by UTC calendar month")
    return _png(fig)


def trade_pnl_histogram(pnl: Sequence[float]) -> str:
    values = np.asarray([p for p in pnl if math.isfinite(p)], dtype=np.float64)
    fig, ax = _figure(3.0)
    winners, losers = values[values > 0], values[values <= 0]
    lo, hi = float(values.min()), float(values.max())
    n_bins = int(np.clip(np.sqrt(len(values)) * 2, 8, 40))
    width = (hi - lo) / n_bins if hi > lo else max(abs(hi), 1.0) / 4
    start = math.floor(min(lo, 0.0) / width) * width  # zero falls on a bin edge
    edges = start + width * np.arange(math.ceil((max(hi, 0.0) - start) / width) + 2)
    ax.hist(
        [losers, winners],
        bins=edges.tolist(),
        stacked=True,
        color=[RED, GREEN],
        alpha=0.85,
        edgecolor="white",
        linewidth=0.6,
        label=[f"Losers ({len(losers)})", f"Winners ({len(winners)})"],
    )
    ax.axvline(0.0, color=INK, linewidth=0.8)
    mean = float(values.mean())
    ax.axvline(mean, color=BLUE, linewidth=1.2, linestyle="--", label=f"Mean {_money(mean)}")
    ax.xaxis.set_major_formatter(FuncFormatter(_tick))
    ax.set_ylabel("trades", fontsize=9, color=GREY)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    _legend(ax, 3)
    plural = "" if len(values) == 1 else "s"
    _title(ax, f"{len(values)} trade{plural} · P&L net of commission")
    return _png(fig)


def rolling_sharpe(equity: FloatArray, window: int, ppy: float) -> FloatArray:
    """Annualised rolling Sharpe of bar returns (aligned with bars 1..n-1)."""
    r = pd.Series(bar_returns(equity))
    mean = r.rolling(window, min_periods=window).mean()
    std = r.rolling(window, min_periods=window).std()
    m, sd = mean.to_numpy(dtype=float), std.to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(sd > 1e-12, m / sd * math.sqrt(ppy), np.nan)
    out[~np.isfinite(out)] = np.nan
    return out


def rolling_volatility(equity: FloatArray, window: int, ppy: float) -> FloatArray:
    """Annualised rolling volatility (sample std of bar returns times ``sqrt(ppy)``), aligned
    with bars 1..n-1."""
    r = pd.Series(bar_returns(equity))
    std = r.rolling(window, min_periods=window).std().to_numpy(dtype=float)
    return std * math.sqrt(ppy)


def rolling_volatility_chart(
    ts_us: npt.NDArray[np.int64],
    values: FloatArray,
    window_label: str,
    full: float | None,
    benchmark: FloatArray | None = None,
    benchmark_label: str = "Benchmark",
) -> str:
    x = to_datetimes(ts_us)[1:]
    fig, ax = _figure(2.8)
    if benchmark is not None and len(benchmark) == len(values):
        ax.plot(x, benchmark, color=SERIES[1], linewidth=0.9, label=benchmark_label)
    ax.plot(x, values, color=BLUE, linewidth=1.1, label="Strategy")
    if full is not None and math.isfinite(full):
        ax.axhline(full, color=GREY, linewidth=1.0, linestyle="--", label=f"Full period {full:.1%}")
    ax.set_ylim(bottom=0.0)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    _legend(ax)
    _title(ax, f"annualised · {window_label} · UTC")
    _date_axis(ax)
    return _png(fig)


def rolling_sharpe_chart(
    ts_us: npt.NDArray[np.int64], values: FloatArray, window_label: str, full: float | None
) -> str:
    x = to_datetimes(ts_us)[1:]
    fig, ax = _figure(2.8)
    ax.plot(x, values, color=BLUE, linewidth=1.1)
    ax.fill_between(x, values, 0.0, where=values >= 0, color=GREEN, alpha=0.12, linewidth=0)
    ax.fill_between(x, values, 0.0, where=values < 0, color=RED, alpha=0.12, linewidth=0)
    ax.axhline(0.0, color=INK, linewidth=0.8)
    if full is not None and math.isfinite(full):
        ax.axhline(full, color=GREY, linewidth=1.0, linestyle="--", label=f"Full period {full:.2f}")
        _legend(ax)
    _title(ax, f"{window_label} · UTC")
    _date_axis(ax)
    return _png(fig)


def exposure_chart(ts_us: npt.NDArray[np.int64], exposure: FloatArray) -> str:
    x, ex = to_datetimes(ts_us), np.asarray(exposure, dtype=np.float64)
    fig, ax = _figure(2.4)
    ax.fill_between(x, ex, 0.0, step="post", color=BLUE, alpha=0.25, linewidth=0)
    ax.step(x, ex, where="post", color=BLUE, linewidth=0.9)
    _single_point(ax, x, ex, BLUE)
    ax.axhline(0.0, color=INK, linewidth=0.8)
    finite = ex[np.isfinite(ex)]
    if finite.size == 0 or float(np.max(np.abs(finite))) == 0.0:
        ax.set_ylim(-0.05, 1.0)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    mean = float(finite.mean()) if finite.size else 0.0
    _title(ax, f"gross position value / equity · mean {mean:.0%} · UTC")
    _date_axis(ax)
    return _png(fig)


def comparison_chart(series: Sequence[tuple[str, npt.NDArray[np.int64], FloatArray]]) -> str:
    fig, ax = _figure(3.6)
    for k, (name, ts_us, equity) in enumerate(series):
        eq = np.asarray(equity, dtype=np.float64)
        if len(eq) == 0 or not math.isfinite(eq[0]) or eq[0] == 0:
            continue
        x = to_datetimes(ts_us)
        color = SERIES[k % len(SERIES)]
        ax.plot(x, eq / eq[0], color=color, linewidth=1.3, label=name)
        _single_point(ax, x, eq / eq[0], color)
    ax.axhline(1.0, color=GREY, linewidth=0.8, linestyle="--")
    _legend(ax, min(len(series), 4))
    _title(ax, "growth of 1: equity / starting equity · UTC")
    _date_axis(ax)
    return _png(fig)
