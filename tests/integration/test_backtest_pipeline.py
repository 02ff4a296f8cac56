"""A backtest run end to end on both databases: stored, reloadable, reported; bad input fails
before anything is recorded."""

from __future__ import annotations

import base64
import json
import math
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from tradewind.backtest.bt_engine import StrategyParamError
from tradewind.config import SyntheticConfig, load_config
from tradewind.config.backtest import BacktestConfig
from tradewind.pipelines.backtest import BacktestInputError, load_inputs, run_backtest
from tradewind.pipelines.report import write_report
from tradewind.pipelines.setup import initialise
from tradewind.pipelines.synthetic import synthesize_to_db
from tradewind.storage import runs
from tradewind.storage.backtests import load_results
from tradewind.storage.engine import make_engine
from tradewind.storage.schema import RunRow

DEMO = Path("configs/backtests/demo.yaml")


@pytest.fixture
def engine(db_url: str):  # type: ignore[no-untyped-def]
    eng = make_engine(db_url)
    initialise(eng)
    synthesize_to_db(eng, SyntheticConfig(instrument="EUR_USD", bars=1500, seed=9))
    yield eng
    eng.dispose()


def test_demo_config_runs_stores_and_reports(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cfg = load_config(DEMO, BacktestConfig)
    done = run_backtest(engine, cfg)
    assert [r.strategy for r in done.results] == ["sma_crossover", "rsi_meanrev"]
    payload = done.to_json()
    assert payload["run_id"] == done.run_id
    assert payload["trades"] == sum(len(r.trades) for r in done.results) > 0
    for key in ("sharpe", "max_drawdown", "total_return"):
        assert key in payload["metrics"]
    json.dumps(payload)  # no inf/NaN leaks into the JSON
    with engine.connect() as conn:
        run = runs.get_run(conn, done.run_id)
        assert run is not None
        assert run.status == "succeeded"
        assert run.config_fingerprint == cfg.fingerprint
        assert run.data_start == datetime(2024, 1, 1, tzinfo=UTC)
        stored = load_results(conn, done.run_id)
    for original, back in zip(done.results, stored, strict=True):
        np.testing.assert_array_equal(back.equity, original.equity)
        assert back.trades == original.trades
        assert back.fills == original.fills
        assert back.orders == original.orders
    # Every fill belongs to a recorded order; the RSI brackets leave cancelled legs on record.
    for r in done.results:
        refs = {o.ref for o in r.orders}
        assert {f.order_ref for f in r.fills} <= refs
    rsi = done.results[1]
    assert {"completed", "canceled"} <= {o.status for o in rsi.orders}
    assert any(o.kind == "stop" and o.stop_price is not None for o in rsi.orders)
    out = write_report(engine, done.run_id, tmp_path / "r.html")
    html = out.read_text()
    assert "SYNTHETIC DATA" in html
    assert html.count("data:image/png;base64,") >= 6
    # one count of trades: JSON, metrics, the report's metrics, its table and its CSV
    csvs = re.findall(r'href="data:text/csv;charset=utf-8;base64,([^"]+)"', html)
    for r, per, data in zip(done.results, payload["results"], csvs, strict=True):
        n = len(r.trades)
        assert per["trades"] == r.metrics["trades"] == n
        section = html[html.index(f'<section id="{r.strategy.replace("_", "-")}">') :]
        section = section[: section.index("</section>")]
        assert f'<tr><td>Trades</td><td class="">{n:,}</td></tr>' in section
        assert section.count("<tr><td>", section.index('class="sortable"')) == n
        assert len(base64.b64decode(data).decode().splitlines()) == n + 1
    assert "Buy and hold EUR_USD" in html  # the default benchmark: the first instrument
    for r in done.results:  # measured against it in the stored metrics too
        assert {"beta", "alpha"} <= r.metrics.keys()
        assert math.isfinite(r.metrics["beta"])
    assert "MAE pips" in html  # EUR_USD's pip is known
    assert "Limit (take-profit)" in html or "Stop" in html  # exit reasons of the brackets


@pytest.mark.parametrize(
    ("change", "error", "needle"),
    [
        ({"strategies": [{"name": "no_such_strategy"}]}, LookupError, "unknown strategy"),
        ({"instruments": ["USD_JPY"]}, BacktestInputError, "no USD_JPY H1 mid bars"),
        ({"start": "2030-01-01T00:00:00Z"}, BacktestInputError, "no EUR_USD H1 mid bars"),
        (
            {"strategies": [{"name": "rsi_meanrev", "params": {"stop_atrr": 2.0}}]},
            StrategyParamError,
            r"strategies\[0\] rsi_meanrev \(rsi_meanrev\): unknown parameter 'stop_atrr' "
            r"\(did you mean 'stop_atr'\?\); valid: rsi_feature, atr_feature, lower, upper, "
            r"mid, allow_short, stop_atr, take_atr$",
        ),
    ],
)
def test_bad_input_fails_before_a_run_is_recorded(engine, change, error, needle) -> None:  # type: ignore[no-untyped-def]
    body = {**load_config(DEMO, BacktestConfig).model_dump(mode="json"), **change}
    cfg = BacktestConfig.model_validate(body)
    with engine.connect() as conn:
        before = conn.scalar(select(func.count()).select_from(RunRow))
    with pytest.raises(error, match=needle):
        run_backtest(engine, cfg)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(RunRow)) == before


def test_cli_backtest_json_and_one_line_errors(tmp_path: Path) -> None:
    exe = str(Path(sys.executable).with_name("tradewind"))
    env = {"TRADEWIND_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    if "PYTHONPATH" in os.environ:  # the code under test, not whatever is installed
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]

    def tw(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([exe, *args], env=env, capture_output=True, text=True, timeout=120)

    assert tw("init").returncode == 0
    assert tw("data", "synth", "--bars", "1200").returncode == 0
    done = tw("backtest", "run", "--config", str(DEMO), "--json")
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert {"run_id", "trades", "metrics"} <= payload.keys()
    assert {"sharpe", "max_drawdown", "total_return"} <= payload["metrics"].keys()
    report = tw("report", payload["run_id"], "--out", str(tmp_path / "r.html"))
    assert report.returncode == 0, report.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(DEMO.read_text().replace("name: sma_crossover", "name: nope"))
    misspelt = tmp_path / "misspelt.yaml"
    misspelt.write_text(DEMO.read_text().replace("{allow_short: true}", "{allow_shrt: true}"))
    for args in (
        ("backtest", "run", "--config", str(bad)),
        ("backtest", "run", "--config", str(misspelt)),
        ("backtest", "run", "--config", str(tmp_path / "missing.yaml")),
        ("report", "no-such-run", "--out", str(tmp_path / "x.html")),
    ):
        r = tw(*args)
        assert r.returncode == 1
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "Traceback" not in r.stderr
        if args[-1] == str(misspelt):
            assert "unknown parameter 'allow_shrt' (did you mean 'allow_short'?)" in r.stderr


def test_warmup_bars_compute_features_on_history_but_trade_only_from_start(engine) -> None:  # type: ignore[no-untyped-def]
    from tradewind.config.features import FeatureSpec
    from tradewind.features import build_features
    from tradewind.storage.market import load_bars

    base = load_config(DEMO, BacktestConfig)
    start = datetime(2024, 2, 1, tzinfo=UTC)
    cold = base.model_copy(update={"start": start})
    warm = base.model_copy(update={"start": start, "warmup_bars": 10_000})  # all history
    spec = load_config(base.features, FeatureSpec)
    bars_cold, feats_cold = load_inputs(engine, cold, spec)
    bars_warm, feats_warm = load_inputs(engine, warm, spec)
    np.testing.assert_array_equal(bars_cold["EUR_USD"].ts, bars_warm["EUR_USD"].ts)
    with engine.connect() as conn:
        everything = load_bars(conn, "EUR_USD", "H1")
    full = build_features(everything, spec)
    skip = int(np.searchsorted(everything.ts, bars_warm["EUR_USD"].ts[0]))
    for i, col in enumerate(full.columns):
        np.testing.assert_array_equal(feats_warm["EUR_USD"][col], full.values[skip:, i])
    assert np.isnan(feats_cold["EUR_USD"]["rsi_14"][0])  # cold: warm-up inside the range
    assert not np.isnan(feats_warm["EUR_USD"]["rsi_14"][0])
    done = run_backtest(engine, warm)
    first_ts = int(bars_warm["EUR_USD"].ts[0])
    for r in done.results:
        assert int(r.ts_us[0]) >= first_ts
        assert all(f.ts_us > first_ts for f in r.fills)  # decided at start at the earliest
