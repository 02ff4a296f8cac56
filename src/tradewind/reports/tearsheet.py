"""One self-contained HTML tearsheet for a backtest run: inline CSS, charts as base64 PNG data
URIs, the trade list as a CSV data URI, one small inline script (sorting the trade table) and
no external references, so the file opens offline and can be mailed.

Per strategy: metrics, the strategy against its benchmark (buy-and-hold of the run's first
instrument unless the run names one), the equity curve with the benchmark, drawdowns and the
five worst, monthly returns, the trade P&L histogram, rolling Sharpe and volatility, exposure,
the cost breakdown (commission, spread, slippage, financing), exit reasons and
every trade (sortable, downloadable as CSV). Trades are ``backtest.trades``' trades: a trade
still open at the end is marked to the last close and counted everywhere."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

from tradewind.backtest import metrics as m
from tradewind.backtest.result import BacktestResult, Trade
from tradewind.reports import charts
from tradewind.reports.tables import (
    REASON_LABELS,
    Benchmark,
    cost_breakdown,
    exit_reasons,
    trades_csv,
    worst_drawdowns,
)

# Section titles, as they appear in the document (one set per strategy, plus the run-wide ones).
SECTION_TITLES = (
    "Metrics",
    "Equity curve",
    "Drawdown",
    "Monthly returns",
    "Trade P&L distribution",
    "Rolling Sharpe",
    "Rolling volatility",
    "Exposure",
    "Benchmark",
    "Worst drawdowns",
    "Costs",
    "Exit reasons",
    "Trades",
    "Configuration",
)
COMPARISON_TITLE = "Strategy comparison"

# key -> (label, format); format is one of pct, ratio, money, int, num1
_KNOWN_METRICS: dict[str, tuple[str, str]] = {
    "total_return": ("Total return", "pct"),
    "annual_return": ("Annual return", "pct"),
    "annual_volatility": ("Annual volatility", "pct"),
    "sharpe": ("Sharpe ratio", "ratio"),
    "sortino": ("Sortino ratio", "ratio"),
    "calmar": ("Calmar ratio", "ratio"),
    "max_drawdown": ("Max drawdown", "pct"),
    "max_drawdown_value": ("Max drawdown (value)", "money"),
    "max_drawdown_duration_bars": ("Max drawdown duration (bars)", "int"),
    "trades": ("Trades", "int"),
    "win_rate": ("Win rate", "pct"),
    "profit_factor": ("Profit factor", "ratio"),
    "expectancy": ("Expectancy per trade", "money"),
    "sqn": ("SQN", "ratio"),
    "avg_bars_held": ("Avg bars held", "num1"),
    "exposure": ("Avg exposure", "pct"),
    "turnover": ("Turnover", "ratio"),
    "var_95": ("VaR 95% (per bar)", "pct"),
    "es_95": ("ES 95% (per bar)", "pct"),
    "var_99": ("VaR 99% (per bar)", "pct"),
    "es_99": ("ES 99% (per bar)", "pct"),
    "beta": ("Beta", "ratio"),
    "alpha": ("Alpha (annual)", "pct"),
}
# Metrics where a negative value is bad news and gets coloured.
_SIGNED = {"total_return", "annual_return", "sharpe", "sortino", "calmar", "expectancy", "alpha"}

_RUN_FACTS = (
    ("id", "Run id"),
    ("name", "Name"),
    ("kind", "Kind"),
    ("status", "Status"),
    ("code_version", "Code version"),
    ("config_fingerprint", "Config fingerprint"),
    ("started_at", "Started"),
    ("finished_at", "Finished"),
    ("data_start", "Data start"),
    ("data_end", "Data end"),
    ("marks", "Marks"),  # in-sample models, allowed contract overrides (runs.marks)
)


# --- formatting --------------------------------------------------------------------------------


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def format_value(value: Any, kind: str = "auto") -> str:
    """A metric value for humans: inf as ∞, NaN/None as —, percent/ratio/money by kind."""
    x = _as_float(value)
    if x is None:
        return "—" if value is None else str(value)
    if math.isnan(x):
        return "—"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if kind == "pct":
        return f"{x * 100:,.2f}%"
    if kind == "ratio":
        return f"{x:,.2f}"
    if kind == "money":
        return f"{x:,.2f}"
    if kind == "int":
        return f"{x:,.0f}"
    if kind == "num1":
        return f"{x:,.1f}"
    if x == int(x) and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:,.4g}" if abs(x) < 1e4 else f"{x:,.0f}"


def metric_label(key: str) -> str:
    known = _KNOWN_METRICS.get(key)
    return known[0] if known else key.replace("_", " ").capitalize()


def metric_keys(results: list[BacktestResult]) -> list[str]:
    """Known keys present in any result, in a fixed order, then the rest in first-seen order."""
    present: dict[str, None] = {}
    for r in results:
        for k in r.metrics:
            present.setdefault(k, None)
    return [k for k in _KNOWN_METRICS if k in present] + [
        k for k in present if k not in _KNOWN_METRICS
    ]


def _metric_cell(key: str, value: Any) -> dict[str, str]:
    text = format_value(value, _KNOWN_METRICS.get(key, ("", "auto"))[1])
    x = _as_float(value)
    css = ""
    if x is not None and not math.isnan(x) and (key in _SIGNED or key == "max_drawdown"):
        css = "neg" if x < 0 else ("pos" if key in _SIGNED and x > 0 else "")
    return {"text": text, "css": css}


def _ts(ts_us: int | None) -> str:
    if ts_us is None:
        return "open"
    return datetime.fromtimestamp(ts_us / 1e6, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _price(x: float | None) -> str:
    """Prices (and MAE/MFE, in price units): 5 decimals below 10 (FX), else 2."""
    if x is None or not math.isfinite(x):
        return format_value(x)
    return f"{x:,.5f}" if abs(x) < 10 else f"{x:,.2f}"


def _units(x: float) -> str:
    if not math.isfinite(x):
        return format_value(x)
    return f"{x:,.0f}" if x == round(x) else f"{x:,.4f}".rstrip("0")


def _num(x: float | None) -> str:
    """A sort key for a numeric cell: NaN/None sort last."""
    return repr(float(x)) if x is not None and math.isfinite(x) else "inf"


def _pips(x: float, pip: int | None) -> tuple[str, str]:
    if pip is None or not math.isfinite(x):
        return "—", "inf"
    v = x / 10.0**pip
    return f"{v:,.1f}", repr(v)


def _trade_row(i: int, t: Trade, pip: int | None) -> dict[str, Any]:
    mae_p, mae_v = _pips(t.mae, pip)
    mfe_p, mfe_v = _pips(t.mfe, pip)
    return {
        "n": i,
        "instrument": t.instrument,
        "side": "Long" if t.units > 0 else "Short",
        "entry": _ts(t.entry_ts_us),
        "exit": _ts(t.exit_ts_us) if t.closed else "open",
        "exit_v": _ts(t.exit_ts_us) if t.closed else "9999",
        "reason": REASON_LABELS.get(t.exit_reason, t.exit_reason),
        "units": _units(t.units),
        "units_v": _num(t.units),
        "entry_price": _price(t.entry_price),
        "entry_price_v": _num(t.entry_price),
        "exit_price": _price(t.exit_price) if t.closed else "—",
        "exit_price_v": _num(t.exit_price),
        "pnl": format_value(t.pnl, "money"),
        "pnl_v": _num(t.pnl),
        "pnl_css": "neg" if t.pnl < 0 else ("pos" if t.pnl > 0 else ""),
        "commission": format_value(t.commission, "money"),
        "commission_v": _num(t.commission),
        "bars": t.bars_held,
        "mae": _price(t.mae),
        "mae_v": _num(t.mae),
        "mfe": _price(t.mfe),
        "mfe_v": _num(t.mfe),
        "mae_pips": mae_p,
        "mae_pips_v": mae_v,
        "mfe_pips": mfe_p,
        "mfe_pips_v": mfe_v,
    }


# --- sections ----------------------------------------------------------------------------------


@dataclass
class _Chart:
    title: str
    image: str | None  # base64 PNG, or None with a note instead
    note: str = ""


def _slug(text: str, taken: set[str]) -> str:
    base = "".join(c.lower() if c.isalnum() else "-" for c in text).strip("-") or "strategy"
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    taken.add(slug)
    return slug


def _rolling_window(n_returns: int, ppy: float, window: int | None) -> tuple[int, str]:
    if window is not None:
        return max(2, int(window)), f"{int(window)}-bar window"
    month = max(2, round(ppy / 12))
    if n_returns >= 2 * month:
        return month, f"{month}-bar window (≈ 1 month)"
    short = max(2, n_returns // 4)
    return short, f"{short}-bar window (history shorter than 2 months)"


def _vs_benchmark(
    r: BacktestResult, eq: np.ndarray, bench: np.ndarray, ppy: float
) -> list[tuple[str, dict[str, str], dict[str, str]]]:
    """Rows (label, strategy cell, benchmark cell) of the strategy against its benchmark."""
    rs, rb = m.simple_returns(eq), m.simple_returns(bench)
    rows: list[tuple[str, float, float]] = [
        ("total_return", m.total_return(eq), m.total_return(bench)),
        ("annual_return", m.annual_return(rs, ppy), m.annual_return(rb, ppy)),
        ("annual_volatility", m.annual_volatility(rs, ppy), m.annual_volatility(rb, ppy)),
        ("sharpe", m.sharpe(rs, ppy), m.sharpe(rb, ppy)),
        ("max_drawdown", m.max_drawdown(eq), m.max_drawdown(bench)),
    ]
    beta = m.beta(rs, rb)
    rows.append(("beta", beta, 1.0))
    rows.append(("alpha", m.alpha(rs, rb, ppy, beta_=beta), 0.0))
    return [(metric_label(k), _metric_cell(k, a), _metric_cell(k, b)) for k, a, b in rows]


def _drawdown_rows(ts: np.ndarray, eq: np.ndarray) -> list[dict[str, str]]:
    out = []
    for d in worst_drawdowns(eq, 5):
        end = d.recovery if d.recovery is not None else len(eq) - 1
        out.append(
            {
                "depth": format_value(d.depth, "pct"),
                "peak": _ts(int(ts[d.peak])),
                "trough": _ts(int(ts[d.trough])),
                "recovery": _ts(int(ts[d.recovery])) if d.recovery is not None else "not yet",
                "to_trough": f"{d.trough - d.peak:,}",
                "length": f"{end - d.peak:,}" + ("" if d.recovery is not None else "+"),
            }
        )
    return out


def _share(x: float) -> str:
    """A small fraction as a percent with enough decimals to not read 0.00% (3 significant)."""
    if x == 0.0 or not math.isfinite(x):
        return format_value(x, "pct")
    decimals = max(2, 2 - math.floor(math.log10(abs(x) * 100)))
    return f"{x * 100:,.{decimals}f}%"


def _cost_rows(r: BacktestResult, start: float) -> list[tuple[str, str, str]]:
    """(label, amount, % of starting equity) per cost, then the total."""
    c = cost_breakdown(r)

    def row(label: str, x: float | None) -> tuple[str, str, str]:
        if x is None:
            return label, "not modelled", "—"
        if not math.isfinite(x):
            return label, "not recorded", "—"
        return label, format_value(x, "money"), _share(x / start) if start > 0 else "—"

    return [
        row("Commission", c.commission),
        row("Spread (half spread per fill)", c.spread),
        row("Slippage", c.slippage),
        row("Financing", c.financing),
        row("Total", c.total),
    ]


def _strategy_section(
    r: BacktestResult,
    slug: str,
    ppy: float,
    window: int | None,
    benchmark: Benchmark | None,
    pip_locations: Mapping[str, int],
) -> dict[str, Any]:
    ts = np.asarray(r.ts_us, dtype=np.int64)
    eq = np.asarray(r.equity, dtype=np.float64)
    ex = np.asarray(r.exposure, dtype=np.float64)
    n = len(ts)
    bench = benchmark.equity(ts, float(eq[0])) if benchmark is not None and n else None
    bench_label = benchmark.label if benchmark is not None else ""
    out: list[_Chart] = []
    if n == 0:
        for title in (
            "Equity curve",
            "Drawdown",
            "Monthly returns",
            "Rolling Sharpe",
            "Rolling volatility",
            "Exposure",
        ):
            out.append(_Chart(title, None, "No bars in this result."))
    else:
        out.append(_Chart("Equity curve", charts.equity_chart(ts, eq, bench, bench_label)))
        out.append(_Chart("Drawdown", charts.drawdown_chart(ts, eq)))
        table = charts.monthly_returns(ts, eq)
        out.append(_Chart("Monthly returns", charts.monthly_heatmap(table)))
    pnl = [t.pnl for t in r.trades if math.isfinite(t.pnl)]
    if pnl:
        out.insert(3, _Chart("Trade P&L distribution", charts.trade_pnl_histogram(pnl)))
    else:
        out.insert(3, _Chart("Trade P&L distribution", None, "No trades: nothing to plot."))
    if n:
        win, label = _rolling_window(n - 1, ppy, window)
        rs = charts.rolling_sharpe(eq, win, ppy)
        full = _as_float(r.metrics.get("sharpe"))
        if np.isfinite(rs).any():
            img = charts.rolling_sharpe_chart(ts, rs, f"{label} · {ppy:,.0f} bars/year", full)
            out.append(_Chart("Rolling Sharpe", img))
        else:
            why = "too few bars" if n - 1 < win else "zero volatility (flat equity)"
            out.append(_Chart("Rolling Sharpe", None, f"Rolling Sharpe undefined: {why}."))
        rv = charts.rolling_volatility(eq, win, ppy)
        if np.isfinite(rv).any():
            bv = charts.rolling_volatility(bench, win, ppy) if bench is not None else None
            vol = m.annual_volatility(m.simple_returns(eq), ppy)
            img = charts.rolling_volatility_chart(ts, rv, label, vol, bv, bench_label)
            out.append(_Chart("Rolling volatility", img))
        else:
            out.append(_Chart("Rolling volatility", None, "Rolling volatility: too few bars."))
        out.append(_Chart("Exposure", charts.exposure_chart(ts, ex)))
    trades = [_trade_row(i + 1, t, pip_locations.get(t.instrument)) for i, t in enumerate(r.trades)]
    csv_text = trades_csv(r.trades, pip_locations)
    keys = metric_keys([r])
    return {
        "name": r.strategy,
        "slug": slug,
        "instruments": ", ".join(r.instruments) or "—",
        "params": json.dumps(r.params, indent=None, sort_keys=True, default=str),
        "bars": n,
        "period": f"{_ts(int(ts[0]))} → {_ts(int(ts[-1]))} UTC" if n else "—",
        "metrics": [(metric_label(k), _metric_cell(k, r.metrics[k])) for k in keys],
        "charts": out,
        "benchmark": bench_label,
        "vs_benchmark": _vs_benchmark(r, eq, bench, ppy) if bench is not None else [],
        "drawdowns": _drawdown_rows(ts, eq) if n else [],
        "costs": _cost_rows(r, float(eq[0]) if n else math.nan),
        "reasons": [
            {
                "reason": REASON_LABELS.get(x.reason, x.reason),
                "trades": f"{x.trades:,}",
                "win_rate": format_value(x.win_rate, "pct"),
                "pnl": format_value(x.pnl, "money"),
                "pnl_css": "neg" if x.pnl < 0 else ("pos" if x.pnl > 0 else ""),
            }
            for x in exit_reasons(r.trades)
        ],
        "trades": trades,
        "n_trades": len(r.trades),
        "n_open": sum(1 for t in r.trades if not t.closed),
        "pips": any(t.instrument in pip_locations for t in r.trades),
        "csv": base64.b64encode(csv_text.encode()).decode("ascii"),
        "csv_name": f"{slug}-trades.csv",
    }


def render_tearsheet(
    results: list[BacktestResult],
    run: dict[str, Any],
    config: dict[str, Any],
    *,
    rolling_window: int | None = None,
    periods_per_year: float | None = None,
    benchmark: Benchmark | None = None,
    pip_locations: Mapping[str, int] | None = None,
) -> str:
    """The whole report as one HTML string.

    ``rolling_window`` (bars) and ``periods_per_year`` may also come from ``run``; by default
    bars/year follow from the median bar spacing and the window is about one month of bars.
    ``benchmark`` is drawn and measured beside each strategy; ``pip_locations`` (per
    instrument) give MAE/MFE in pips.
    """
    window = rolling_window if rolling_window is not None else run.get("rolling_window")
    ppy_given = periods_per_year if periods_per_year is not None else run.get("periods_per_year")
    taken: set[str] = set()
    sections = []
    for r in results:
        ppy = _as_float(ppy_given) or charts.periods_per_year(np.asarray(r.ts_us))
        sections.append(
            _strategy_section(
                r, _slug(r.strategy, taken), ppy, window, benchmark, pip_locations or {}
            )
        )
    keys = metric_keys(results)
    comparison = {
        "names": [r.strategy for r in results],
        "rows": [
            (metric_label(k), [_metric_cell(k, r.metrics.get(k, math.nan)) for r in results])
            for k in keys
        ],
    }
    growth = None
    if len(results) > 1:
        growth = charts.comparison_chart([(r.strategy, r.ts_us, r.equity) for r in results])
    facts = [(label, str(run[k])) for k, label in _RUN_FACTS if run.get(k) not in (None, "")]
    title = str(run.get("name") or run.get("id") or "Backtest")
    return _template().render(
        title=title,
        facts=facts,
        synthetic=bool(run.get("synthetic")),
        in_sample=bool(run.get("in_sample")),
        sections=sections,
        comparison=comparison,
        show_comparison=len(results) > 1,
        comparison_title=COMPARISON_TITLE,
        growth=growth,
        config=json.dumps(config, indent=2, sort_keys=False, default=str, ensure_ascii=False),
        generated=datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def write_tearsheet(path: str | Path, html: str) -> Path:
    """Write the report (UTF-8), creating parent directories; returns the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(html, encoding="utf-8")
    return p


# --- template ----------------------------------------------------------------------------------

_ENV = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)


def _template() -> jinja2.Template:
    return _ENV.from_string(_TEMPLATE)


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · tearsheet</title>
<style>
:root { --ink:#2c3e50; --mute:#7f8c8d; --line:#e3e7eb; --bg:#f6f7f9; --pos:#1e8449;
        --neg:#c0392b; --blue:#1f5fa8; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
       font:14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width:1040px; margin:0 auto; padding:24px 20px 48px; }
header.run { background:#fff; border:1px solid var(--line); border-radius:8px; padding:18px 22px; }
h1 { margin:0 0 4px; font-size:24px; }
h2 { margin:0 0 12px; font-size:20px; border-bottom:2px solid var(--blue); padding-bottom:6px; }
h3 { margin:22px 0 8px; font-size:15px; text-transform:uppercase; letter-spacing:.04em;
     color:var(--mute); }
.sub { color:var(--mute); font-size:12px; }
.badge { display:inline-block; margin-left:10px; padding:3px 10px; border-radius:4px;
         background:#f39c12; color:#fff; font-size:12px; font-weight:700; letter-spacing:.08em;
         vertical-align:middle; }
dl.facts { display:grid; grid-template-columns:max-content 1fr max-content 1fr; gap:4px 16px;
           margin:14px 0 0; font-size:13px; }
dl.facts dt { color:var(--mute); }
dl.facts dd { margin:0; font-family:ui-monospace, Menlo, Consolas, monospace;
              word-break:break-all; }
section { background:#fff; border:1px solid var(--line); border-radius:8px; padding:18px 22px;
          margin-top:20px; }
nav { margin-top:12px; font-size:13px; }
nav a { color:var(--blue); margin-right:14px; text-decoration:none; }
table { border-collapse:collapse; width:100%; font-size:13px; }
th, td { padding:5px 10px; border-bottom:1px solid var(--line); text-align:right;
         white-space:nowrap; }
th:first-child, td:first-child { text-align:left; }
thead th { background:#eef2f6; font-weight:600; position:sticky; top:0; }
tbody tr:nth-child(even) { background:#fafbfc; }
td.num, td { font-variant-numeric: tabular-nums; }
.pos { color:var(--pos); } .neg { color:var(--neg); }
.metrics { display:grid; grid-template-columns:repeat(3, 1fr); gap:0 24px; align-items:start; }
.metrics table td:first-child { color:var(--mute); }
.chart img { width:100%; height:auto; display:block; }
.note { color:var(--mute); font-style:italic; padding:10px 0; }
.trades { max-height:520px; overflow:auto; border:1px solid var(--line); border-radius:4px; }
.trades table { font-size:12px; }
.trades th, .trades td { padding:4px 7px; }
.trades td.t, .trades th.t { text-align:left; }
table.sortable thead th { cursor:pointer; user-select:none; }
table.sortable thead th[aria-sort=ascending]::after { content:" ▲"; font-size:10px; }
table.sortable thead th[aria-sort=descending]::after { content:" ▼"; font-size:10px; }
table.narrow { width:auto; min-width:50%; }
table.narrow td.t, table.narrow th.t { text-align:left; }
tr.total td { font-weight:600; border-top:2px solid var(--line); }
a { color:var(--blue); }
pre { background:#f4f6f8; border:1px solid var(--line); border-radius:4px; padding:12px;
      font-size:12px; overflow:auto; max-height:600px; margin:0; }
.kv { font-size:13px; margin:0 0 6px; }
.kv b { color:var(--mute); font-weight:600; margin-right:6px; }
code { font-family:ui-monospace, Menlo, Consolas, monospace; font-size:12px; }
footer { color:var(--mute); font-size:12px; text-align:center; margin-top:24px; }
@media print { body { background:#fff; } section, header.run { break-inside:avoid-page; } }
</style>
</head>
<body>
<main>
<header class="run">
  <h1>{{ title }}{% if synthetic %}<span class="badge">SYNTHETIC DATA</span>{% endif %}
  {%- if in_sample %}<span class="badge">IN-SAMPLE</span>{% endif %}</h1>
  <div class="sub">Backtest tearsheet · {{ sections|length }} strateg{{ "y" if sections|length == 1
  else "ies" }} · generated {{ generated }}</div>
  {% if facts %}
  <dl class="facts">
  {% for label, value in facts %}<dt>{{ label }}</dt><dd>{{ value }}</dd>{% endfor %}
  </dl>
  {% endif %}
  {% if sections|length > 1 %}
  <nav>{% for s in sections %}<a href="#{{ s.slug }}">{{ s.name }}</a>{% endfor %}
  <a href="#configuration">Configuration</a></nav>
  {% endif %}
</header>

{% if show_comparison %}
<section id="comparison">
  <h2>{{ comparison_title }}</h2>
  <table>
    <thead><tr><th>Metric</th>{% for n in comparison.names %}<th>{{ n }}</th>{% endfor %}</tr>
    </thead>
    <tbody>
    {% for label, cells in comparison.rows %}
      <tr><td>{{ label }}</td>{% for c in cells %}<td class="{{ c.css }}">{{ c.text }}</td>
      {% endfor %}</tr>
    {% endfor %}
    </tbody>
  </table>
  {% if growth %}
  <div class="chart" style="margin-top:16px"><img alt="Growth of 1"
    src="data:image/png;base64,{{ growth }}"></div>
  {% endif %}
</section>
{% endif %}

{% for s in sections %}
<section id="{{ s.slug }}">
  <h2>{{ s.name }}</h2>
  <p class="kv"><b>Instruments</b>{{ s.instruments }}</p>
  <p class="kv"><b>Period</b>{{ s.period }} · {{ "{:,}".format(s.bars) }}
  bar{{ "" if s.bars == 1 else "s" }}</p>
  <p class="kv"><b>Parameters</b><code>{{ s.params }}</code></p>

  <h3>Metrics</h3>
  {% if s.metrics %}
  {% set per_col = ((s.metrics|length + 2) // 3) %}
  <div class="metrics">
  {% for col in s.metrics|batch(per_col) %}
    <table><tbody>
    {% for label, cell in col %}
      <tr><td>{{ label }}</td><td class="{{ cell.css }}">{{ cell.text }}</td></tr>
    {% endfor %}
    </tbody></table>
  {% endfor %}
  </div>
  {% else %}
  <p class="note">No metrics were computed for this result.</p>
  {% endif %}

  <h3>Benchmark</h3>
  {% if s.vs_benchmark %}
  <p class="sub">{{ s.benchmark }}, from the same starting equity, on the same bars (no
  costs).</p>
  <table class="narrow">
    <thead><tr><th>Metric</th><th>Strategy</th><th>{{ s.benchmark }}</th></tr></thead>
    <tbody>
    {% for label, a, b in s.vs_benchmark %}
      <tr><td>{{ label }}</td><td class="{{ a.css }}">{{ a.text }}</td>
      <td class="{{ b.css }}">{{ b.text }}</td></tr>
    {% endfor %}
    </tbody>
  </table>
  {% else %}
  <p class="note">No benchmark prices for this run.</p>
  {% endif %}

  {% for c in s.charts %}
  <h3>{{ c.title }}</h3>
  {% if c.image %}
  <div class="chart"><img alt="{{ c.title }}" src="data:image/png;base64,{{ c.image }}"></div>
  {% else %}
  <p class="note">{{ c.note }}</p>
  {% endif %}
  {% endfor %}

  <h3>Worst drawdowns</h3>
  {% if s.drawdowns %}
  <p class="sub">The five deepest, from the peak to the first bar back at it; lengths in
  bars (+: not recovered by the end).</p>
  <table class="narrow">
    <thead><tr><th>#</th><th>Depth</th><th class="t">Peak</th><th class="t">Trough</th>
    <th class="t">Recovered</th><th>Peak → trough</th><th>Length</th></tr></thead>
    <tbody>
    {% for d in s.drawdowns %}
      <tr><td>{{ loop.index }}</td><td class="neg">{{ d.depth }}</td><td class="t">{{ d.peak }}</td>
      <td class="t">{{ d.trough }}</td><td class="t">{{ d.recovery }}</td>
      <td>{{ d.to_trough }}</td><td>{{ d.length }}</td></tr>
    {% endfor %}
    </tbody>
  </table>
  {% else %}
  <p class="note">No drawdown.</p>
  {% endif %}

  <h3>Costs</h3>
  <table class="narrow">
    <thead><tr><th>Cost</th><th>Amount</th><th>% of starting equity</th></tr></thead>
    <tbody>
    {% for label, amount, share in s.costs %}
      <tr{% if loop.last %} class="total"{% endif %}><td>{{ label }}</td><td>{{ amount }}</td>
      <td>{{ share }}</td></tr>
    {% endfor %}
    </tbody>
  </table>

  <h3>Exit reasons</h3>
  {% if s.reasons %}
  <table class="narrow">
    <thead><tr><th>Exit reason</th><th>Trades</th><th>Win rate</th><th>P&amp;L</th></tr></thead>
    <tbody>
    {% for x in s.reasons %}
      <tr><td>{{ x.reason }}</td><td>{{ x.trades }}</td><td>{{ x.win_rate }}</td>
      <td class="{{ x.pnl_css }}">{{ x.pnl }}</td></tr>
    {% endfor %}
    </tbody>
  </table>
  {% else %}
  <p class="note">No trades.</p>
  {% endif %}

  <h3>Trades</h3>
  {% if s.trades %}
  <p class="sub">All {{ "{:,}".format(s.n_trades) }} trade{{ "" if s.n_trades == 1 else "s" }}
  {%- if s.n_open %}, {{ s.n_open }} still open at the end (marked to the last close and
  counted like the others){% endif %}. Click a column to sort;
  <a download="{{ s.csv_name }}" href="data:text/csv;charset=utf-8;base64,{{ s.csv }}">download
  CSV</a>. Times UTC; P&amp;L net of commission; MAE/MFE over the bars held, in
  {% if s.pips %}pips (the CSV has them in price units too){% else %}price units{% endif %}.</p>
  <div class="trades"><table class="sortable">
    <thead><tr><th data-type="num">#</th><th class="t">Instrument</th><th class="t">Side</th>
    <th class="t">Entry</th><th class="t">Exit</th><th class="t">Exit reason</th>
    <th data-type="num">Units</th><th data-type="num">Entry px</th>
    <th data-type="num">Exit px</th><th data-type="num">P&amp;L</th>
    <th data-type="num">Comm.</th><th data-type="num">Bars</th>
    {% if s.pips %}<th data-type="num">MAE pips</th><th data-type="num">MFE pips</th>
    {% else %}<th data-type="num">MAE</th><th data-type="num">MFE</th>{% endif %}</tr></thead>
    <tbody>
    {% for t in s.trades %}
      <tr><td>{{ t.n }}</td><td class="t">{{ t.instrument }}</td><td class="t">{{ t.side }}</td>
      <td class="t">{{ t.entry }}</td><td class="t" data-v="{{ t.exit_v }}">{{ t.exit }}</td>
      <td class="t">{{ t.reason }}</td><td data-v="{{ t.units_v }}">{{ t.units }}</td>
      <td data-v="{{ t.entry_price_v }}">{{ t.entry_price }}</td>
      <td data-v="{{ t.exit_price_v }}">{{ t.exit_price }}</td>
      <td class="{{ t.pnl_css }}" data-v="{{ t.pnl_v }}">{{ t.pnl }}</td>
      <td data-v="{{ t.commission_v }}">{{ t.commission }}</td><td>{{ t.bars }}</td>
      {% if s.pips %}<td data-v="{{ t.mae_pips_v }}">{{ t.mae_pips }}</td>
      <td data-v="{{ t.mfe_pips_v }}">{{ t.mfe_pips }}</td>
      {% else %}<td data-v="{{ t.mae_v }}">{{ t.mae }}</td>
      <td data-v="{{ t.mfe_v }}">{{ t.mfe }}</td>{% endif %}</tr>
    {% endfor %}
    </tbody>
  </table></div>
  {% else %}
  <p class="note">No trades.</p>
  {% endif %}
</section>
{% endfor %}

<section id="configuration">
  <h2>Configuration</h2>
  <pre>{{ config }}</pre>
</section>
<footer>tradewind · self-contained report, no external resources</footer>
</main>
<script>
/* sort a table.sortable by the clicked column: numbers by data-v (or the text), else text */
document.querySelectorAll("table.sortable").forEach(function (table) {
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, col) {
    th.tabIndex = 0;
    function sort() {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var num = th.getAttribute("data-type") === "num";
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      function key(row) {
        var cell = row.cells[col];
        var v = cell.hasAttribute("data-v") ? cell.getAttribute("data-v") : cell.textContent;
        return num ? parseFloat(v.replace(/,/g, "")) : v;
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (num && isNaN(x)) { x = Infinity; }
        if (num && isNaN(y)) { y = Infinity; }
        return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
      });
      rows.forEach(function (r) { body.appendChild(r); });
    }
    th.addEventListener("click", sort);
    th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sort(); } });
  });
});
</script>
</body>
</html>
"""
