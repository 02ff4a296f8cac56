"""The HTML tearsheet: self-contained, every section present, survives degenerate results."""

from __future__ import annotations

import base64
import csv
import io
import math
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from tradewind.backtest.result import BacktestResult, Fill, Trade
from tradewind.domain import Timeframe
from tradewind.reports import render_tearsheet, write_tearsheet
from tradewind.reports.charts import monthly_returns, periods_per_year
from tradewind.reports.tables import Benchmark, trades_csv, worst_drawdowns
from tradewind.reports.tearsheet import COMPARISON_TITLE, SECTION_TITLES, format_value

HOUR_US = 3_600_000_000
T0_US = 1_704_067_200_000_000  # 2024-01-01 00:00 UTC

RUN = {
    "id": "run-42",
    "name": "demo run",
    "kind": "backtest",
    "status": "finished",
    "code_version": "abc1234",
    "config_fingerprint": "f00dfeed",
    "started_at": "2024-04-01T00:00:00Z",
    "finished_at": "2024-04-01T00:01:00Z",
    "data_start": "2024-01-01",
    "data_end": "2024-03-24",
    "synthetic": True,
}
CONFIG = {"strategy": {"name": "sma", "note": "<script>alert(1)</script>"}, "cash": 100000}

METRICS = {
    "total_return": 0.1234,
    "annual_return": 0.55,
    "annual_volatility": 0.2,
    "sharpe": 1.7,
    "sortino": 2.4,
    "calmar": 3.1,
    "max_drawdown": -0.08,
    "max_drawdown_value": -8000.0,
    "max_drawdown_duration_bars": 310.0,
    "trades": 50.0,
    "win_rate": 0.54,
    "profit_factor": math.inf,
    "expectancy": 12.5,
    "sqn": math.nan,
    "avg_bars_held": 12.3,
    "exposure": 0.61,
    "turnover": 4.2,
    "var_95": -0.004,
    "es_95": -0.006,
    "var_99": -0.008,
    "es_99": -0.011,
    "custom_thing": 0.123456,
}


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []
        self.imgs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "img":
            self.imgs.append(dict(attrs).get("src") or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Collector:
    p = _Collector()
    p.feed(html)
    p.close()
    return p


def _result(
    n_bars: int = 2000, n_trades: int = 50, flat: bool = False, seed: int = 7, name: str = "sma"
) -> BacktestResult:
    rng = np.random.default_rng(seed)
    ts = T0_US + HOUR_US * np.arange(n_bars, dtype=np.int64)
    if flat:
        equity = np.full(n_bars, 100_000.0)
    else:
        equity = 100_000.0 * np.cumprod(1.0 + rng.normal(0.0001, 0.003, n_bars))
    exposure = np.clip(rng.normal(0.6, 0.4, n_bars), 0.0, 1.5) * (not flat)
    trades = []
    for _ in range(n_trades):
        i = int(rng.integers(0, max(n_bars - 30, 1)))
        held = int(rng.integers(1, 30))
        units = float(rng.choice([-1.0, 1.0]) * rng.integers(1, 10) * 1000)
        pnl = float(rng.normal(10.0, 150.0))
        trades.append(
            Trade(
                instrument="EUR_USD",
                strategy=name,
                entry_ts_us=int(ts[i]),
                exit_ts_us=int(ts[min(i + held, n_bars - 1)]),
                units=units,
                entry_price=1.1 + rng.normal(0, 0.01),
                exit_price=1.1 + rng.normal(0, 0.01),
                pnl=pnl,
                commission=0.5,
                bars_held=held,
                mae=-abs(float(rng.normal(0, 0.002))),
                mfe=abs(float(rng.normal(0, 0.002))),
            )
        )
    metrics = dict(METRICS) if not flat else {k: math.nan for k in METRICS}
    return BacktestResult(
        strategy=name,
        params={"fast": 10, "slow": 50},
        instruments=("EUR_USD",),
        ts_us=ts,
        equity=equity,
        exposure=exposure,
        trades=trades,
        metrics=metrics,
    )


def _check(html: str, min_images: int) -> _Collector:
    doc = _parse(html)
    assert html.lstrip().startswith("<!DOCTYPE html>")
    text = "\n".join(doc.text)
    for title in SECTION_TITLES:
        assert title in text, title
    pngs = [s for s in doc.imgs if s.startswith("data:image/png;base64,")]
    assert len(pngs) >= min_images
    assert len(pngs) == len(doc.imgs)
    assert "http://" not in html
    assert "https://" not in html
    # one inline script (the trade table's sorting), nothing loaded from anywhere
    assert html.lower().count("<script") == 1
    assert "<script>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    return doc


def test_full_report_is_self_contained() -> None:
    html = render_tearsheet([_result()], RUN, CONFIG)
    doc = _check(html, min_images=6)
    text = "\n".join(doc.text)
    assert "SYNTHETIC DATA" in text
    assert "∞" in text  # profit factor
    assert "12.34%" in text  # total return as a percent
    assert "Custom thing" in text  # unknown metric keys still shown
    assert "run-42" in text
    assert "abc1234" in text


def test_several_strategies_get_a_comparison() -> None:
    results = [_result(name="sma"), _result(name="breakout", seed=3, n_trades=250)]
    html = render_tearsheet(results, {**RUN, "synthetic": False}, CONFIG)
    doc = _check(html, min_images=12)
    text = "\n".join(doc.text)
    assert COMPARISON_TITLE in text
    assert "SYNTHETIC DATA" not in text
    assert "All 250 trades" in " ".join(text.split())  # every trade, none left out
    assert html.count('<tr><td>250</td><td class="t">EUR_USD</td>') == 1
    assert html.count('id="sma"') == 1
    assert html.count('id="breakout"') == 1


@pytest.mark.parametrize(
    "result",
    [
        pytest.param(_result(n_trades=0), id="no-trades"),
        pytest.param(_result(n_bars=1, n_trades=0), id="one-bar"),
        pytest.param(_result(n_bars=1, n_trades=1), id="one-bar-one-trade"),
        pytest.param(_result(n_bars=300, n_trades=5, flat=True), id="flat-nan-metrics"),
        pytest.param(_result(n_bars=0, n_trades=0), id="no-bars"),
    ],
)
def test_edge_cases_render(result: BacktestResult) -> None:
    html = render_tearsheet([result], RUN, CONFIG)
    _check(html, min_images=0)


def test_empty_metrics_and_config() -> None:
    r = _result(n_bars=50, n_trades=3)
    r.metrics = {}
    html = render_tearsheet([r], {}, {})
    _parse(html)
    assert "No metrics" in html


def test_formatting() -> None:
    assert format_value(math.inf, "ratio") == "∞"
    assert format_value(-math.inf, "ratio") == "−∞"
    assert format_value(math.nan, "pct") == "—"
    assert format_value(None) == "—"
    assert format_value(-0.0812, "pct") == "-8.12%"
    assert format_value(1.234567, "ratio") == "1.23"
    assert format_value(310.0, "int") == "310"


def test_periods_per_year_and_monthly_returns() -> None:
    hourly = T0_US + HOUR_US * np.arange(100, dtype=np.int64)
    assert periods_per_year(hourly) == pytest.approx(52 * 5 * 24)
    daily = T0_US + 24 * HOUR_US * np.arange(100, dtype=np.int64)
    assert periods_per_year(daily) == pytest.approx(260)  # FX: 52 x 5 weekdays
    assert periods_per_year(daily) == Timeframe.D.periods_per_year
    # 10% up in January, flat in February: Jan +10%, Feb 0%, year +10%.
    ts = np.array([T0_US, T0_US + 20 * 24 * HOUR_US, T0_US + 40 * 24 * HOUR_US], dtype=np.int64)
    table = monthly_returns(ts, np.array([100.0, 110.0, 110.0]))
    assert table.loc[2024, "Jan"] == pytest.approx(0.10)
    assert table.loc[2024, "Feb"] == pytest.approx(0.0)
    assert table.loc[2024, "Year"] == pytest.approx(0.10)
    assert np.isnan(table.loc[2024, "Mar"])


def test_write_tearsheet(tmp_path: Path) -> None:
    out = write_tearsheet(tmp_path / "sub" / "report.html", "<!DOCTYPE html><p>ü</p>")
    assert out.read_text(encoding="utf-8").endswith("ü</p>")


# --- benchmark, drawdowns, costs, exit reasons, the trade list ---------------------------------


def _small_result() -> BacktestResult:
    """Three trades (a stop, a take-profit, one open at the end) and their fills' costs."""
    ts = T0_US + HOUR_US * np.arange(8, dtype=np.int64)

    def trade(i: int, j: int | None, pnl: float, reason: str) -> Trade:
        return Trade(
            instrument="EUR_USD",
            strategy="s",
            entry_ts_us=int(ts[i]),
            exit_ts_us=None if j is None else int(ts[j]),
            units=10_000.0,
            entry_price=1.1,
            exit_price=None if j is None else 1.1 + pnl / 10_000,
            pnl=pnl,
            commission=0.5,
            bars_held=(7 if j is None else j) - i,
            mae=-0.0012,
            mfe=0.00305,
            closed=j is not None,
            exit_reason=reason,
        )

    fills = [
        Fill(int(ts[k]), "EUR_USD", "s", u, 1.1, 0.25, k, spread_cost=0.5, slippage_cost=0.125)
        for k, u in ((0, 1e4), (2, -1e4), (3, 1e4), (5, -1e4), (6, 1e4))
    ]
    return BacktestResult(
        strategy="s",
        params={},
        instruments=("EUR_USD",),
        ts_us=ts,
        equity=np.array([100.0, 90.0, 95.0, 100.0, 80.0, 85.0, 110.0, 100.0]) * 1000,
        exposure=np.ones(8),
        fills=fills,
        trades=[
            trade(0, 2, -30.0, "stop"),
            trade(3, 5, 45.0, "limit"),
            trade(6, None, 7.5, "end_of_data"),
        ],
        metrics={"trades": 3.0},
    )


def _text(html: str) -> str:
    return " ".join("\n".join(_parse(html).text).split())


def test_worst_drawdowns_deepest_first_with_peak_trough_and_recovery() -> None:
    got = worst_drawdowns([100.0, 90.0, 95.0, 100.0, 80.0, 85.0, 110.0, 100.0])
    assert [(d.peak, d.trough, d.recovery) for d in got] == [(3, 4, 6), (0, 1, 3), (6, 7, None)]
    assert [d.depth for d in got] == pytest.approx([-0.2, -0.1, -1 / 11])
    assert worst_drawdowns(np.linspace(1, 2, 50)) == []
    steps = np.repeat(np.arange(10.0), 3) + 100.0  # ten dips of 0.5 from ever higher peaks
    steps[1::3] -= 0.5
    got = worst_drawdowns(steps)
    assert [d.trough for d in got] == [1, 4, 7, 10, 13]  # of 10, the five deepest


def test_benchmark_is_drawn_and_measured_beside_the_strategy() -> None:
    r = _small_result()
    # the benchmark's bars start an hour earlier: each strategy bar takes the last close
    bts = T0_US + HOUR_US * np.arange(-1, 8, dtype=np.int64)
    bench = Benchmark(
        "Buy and hold EUR_USD", bts, np.array([9.0, 1.0, 1.0, 1.0, 1.0, 1.2, 1.1, 1.1, 1.1])
    )
    eq = bench.equity(r.ts_us, 100_000.0)
    assert eq is not None
    np.testing.assert_allclose(
        eq, [100_000, 100_000, 100_000, 100_000, 120_000, 110_000, 110_000, 110_000]
    )
    html = render_tearsheet([r], RUN, CONFIG, benchmark=bench)
    text = _text(html)
    assert "Metric Strategy Buy and hold EUR_USD Total return 0.00% 10.00%" in text
    assert "Max drawdown -20.00% -8.33%" in text
    assert "No benchmark prices" not in text
    assert "No benchmark prices" in _text(render_tearsheet([r], RUN, CONFIG))


def test_costs_exit_reasons_and_every_trade() -> None:
    html = render_tearsheet([_small_result()], RUN, CONFIG, pip_locations={"EUR_USD": -4})
    text = _text(html)
    assert "Commission 1.25 0.00125%" in text
    assert "Spread (half spread per fill) 2.50 0.00250%" in text
    assert "Slippage 0.62 0.000625%" in text
    assert "Financing not modelled" in text
    assert "Total 4.38" in text
    assert "Stop 1 0.00% -30.00" in text
    assert "Limit (take-profit) 1 100.00% 45.00" in text
    assert "Open at end of data 1 100.00% 7.50" in text
    assert "All 3 trades, 1 still open at the end" in text
    assert "Bars MAE pips MFE pips" in text
    assert "-12.0 30.5" in text  # MAE/MFE in pips


def test_the_trade_list_downloads_as_csv() -> None:
    r = _small_result()
    html = render_tearsheet([r], RUN, CONFIG, pip_locations={"EUR_USD": -4})
    ((name, data),) = re.findall(
        r'download="([^"]+)" href="data:text/csv;charset=utf-8;base64,([^"]+)"', html
    )
    assert name == "s-trades.csv"
    rows = list(csv.DictReader(io.StringIO(base64.b64decode(data).decode())))
    assert [row["exit_reason"] for row in rows] == ["stop", "limit", "end_of_data"]
    assert (rows[2]["exit_time_utc"], rows[2]["exit_price"]) == ("", "")
    assert [float(row["pnl"]) for row in rows] == [t.pnl for t in r.trades]
    assert (rows[0]["mae_pips"], rows[0]["mfe_pips"]) == ("-12.00", "30.50")
    assert trades_csv(r.trades, {}).splitlines()[1].endswith(",,")  # pips unknown: empty


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="needs headless Chromium")
def test_the_trade_table_sorts_in_a_browser_offline(tmp_path: Path) -> None:
    r = _result(n_trades=40)
    html = render_tearsheet([r], RUN, CONFIG)
    click = (
        '<script>var th = document.querySelector("table.sortable").tHead.rows[0].cells[9];'
        "th.click(); th.click();</script></body>"
    )
    page = tmp_path / "r.html"
    page.write_text(html.replace("</body>", click), encoding="utf-8")
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    table = done.stdout[done.stdout.index('class="sortable"') :]
    pnl = [float(v) for v in re.findall(r'<td class="(?:pos|neg|)" data-v="([^"]+)">', table)]
    assert len(pnl) == 40
    assert pnl == sorted((t.pnl for t in r.trades), reverse=True)  # P&L, descending
    assert 'aria-sort="descending"' in table
