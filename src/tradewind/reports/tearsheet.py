"""One self-contained HTML tearsheet for a backtest run: inline CSS, charts as base64 PNG data
URIs, no scripts and no external references, so the file opens offline and can be mailed."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

from tradewind.backtest.result import BacktestResult, Trade
from tradewind.reports import charts

MAX_TRADES_SHOWN = 200

# Section titles, as they appear in the document (one set per strategy, plus the run-wide ones).
SECTION_TITLES = (
    "Metrics",
    "Equity curve",
    "Drawdown",
    "Monthly returns",
    "Trade P&L distribution",
    "Rolling Sharpe",
    "Exposure",
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


def _trade_row(i: int, t: Trade) -> dict[str, Any]:
    return {
        "n": i,
        "instrument": t.instrument,
        "side": "Long" if t.units > 0 else "Short",
        "entry": _ts(t.entry_ts_us),
        "exit": _ts(t.exit_ts_us) if t.closed else "open",
        "units": _units(t.units),
        "entry_price": _price(t.entry_price),
        "exit_price": _price(t.exit_price),
        "pnl": format_value(t.pnl, "money"),
        "pnl_css": "neg" if t.pnl < 0 else ("pos" if t.pnl > 0 else ""),
        "commission": format_value(t.commission, "money"),
        "bars": t.bars_held,
        "mae": _price(t.mae),
        "mfe": _price(t.mfe),
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


def _strategy_section(
    r: BacktestResult, slug: str, ppy: float, window: int | None
) -> dict[str, Any]:
    ts = np.asarray(r.ts_us, dtype=np.int64)
    eq = np.asarray(r.equity, dtype=np.float64)
    ex = np.asarray(r.exposure, dtype=np.float64)
    n = len(ts)
    out: list[_Chart] = []
    if n == 0:
        for title in ("Equity curve", "Drawdown", "Monthly returns", "Rolling Sharpe", "Exposure"):
            out.append(_Chart(title, None, "No bars in this result."))
    else:
        out.append(_Chart("Equity curve", charts.equity_chart(ts, eq)))
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
        out.append(_Chart("Exposure", charts.exposure_chart(ts, ex)))
    trades = [_trade_row(i + 1, t) for i, t in enumerate(r.trades[:MAX_TRADES_SHOWN])]
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
        "trades": trades,
        "n_trades": len(r.trades),
        "truncated": len(r.trades) > MAX_TRADES_SHOWN,
    }


def render_tearsheet(
    results: list[BacktestResult],
    run: dict[str, Any],
    config: dict[str, Any],
    *,
    rolling_window: int | None = None,
    periods_per_year: float | None = None,
) -> str:
    """The whole report as one HTML string.

    ``rolling_window`` (bars) and ``periods_per_year`` may also come from ``run``; by default
    bars/year follow from the median bar spacing and the window is about one month of bars.
    """
    window = rolling_window if rolling_window is not None else run.get("rolling_window")
    ppy_given = periods_per_year if periods_per_year is not None else run.get("periods_per_year")
    taken: set[str] = set()
    sections = []
    for r in results:
        ppy = _as_float(ppy_given) or charts.periods_per_year(np.asarray(r.ts_us))
        sections.append(_strategy_section(r, _slug(r.strategy, taken), ppy, window))
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
        max_trades=MAX_TRADES_SHOWN,
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

  {% for c in s.charts %}
  <h3>{{ c.title }}</h3>
  {% if c.image %}
  <div class="chart"><img alt="{{ c.title }}" src="data:image/png;base64,{{ c.image }}"></div>
  {% else %}
  <p class="note">{{ c.note }}</p>
  {% endif %}
  {% endfor %}

  <h3>Trades</h3>
  {% if s.trades %}
  <p class="sub">{% if s.truncated %}Showing the first {{ max_trades }} of
  {{ "{:,}".format(s.n_trades) }} trades.{% else %}All {{ s.n_trades }} trades.{% endif %}
  Times UTC; P&amp;L net of commission; MAE/MFE in price units.</p>
  <div class="trades"><table>
    <thead><tr><th>#</th><th class="t">Instrument</th><th class="t">Side</th>
    <th class="t">Entry</th><th class="t">Exit</th>
    <th>Units</th><th>Entry px</th><th>Exit px</th><th>P&amp;L</th><th>Comm.</th>
    <th>Bars</th><th>MAE</th><th>MFE</th></tr></thead>
    <tbody>
    {% for t in s.trades %}
      <tr><td>{{ t.n }}</td><td class="t">{{ t.instrument }}</td><td class="t">{{ t.side }}</td>
      <td class="t">{{ t.entry }}</td><td class="t">{{ t.exit }}</td><td>{{ t.units }}</td>
      <td>{{ t.entry_price }}</td><td>{{ t.exit_price }}</td>
      <td class="{{ t.pnl_css }}">{{ t.pnl }}</td><td>{{ t.commission }}</td>
      <td>{{ t.bars }}</td><td>{{ t.mae }}</td><td>{{ t.mfe }}</td></tr>
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
</body>
</html>
"""
