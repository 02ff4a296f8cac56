"""Sweeps and walk-forward on SQLite: ranking, skipped points, custom targets, the Backtrader
re-run matching the vectorised engine, train-only fold selection and the CLI's JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, select

from tradewind.backtest.sweep import grid_points, parse_grid
from tradewind.config import SyntheticConfig
from tradewind.config.backtest import BacktestConfig, Costs, Sizing, StrategySpec
from tradewind.domain import Timeframe
from tradewind.pipelines.backtest import load_inputs
from tradewind.pipelines.setup import initialise
from tradewind.pipelines.sweep import (
    SweepError,
    fold_windows,
    resolve_target,
    select_on,
    sma_feature_spec,
    sweep,
    walkforward,
)
from tradewind.pipelines.synthetic import synthesize_to_db
from tradewind.storage.catalog import get_config
from tradewind.storage.engine import make_engine
from tradewind.storage.schema import RunRow

REPO = Path(__file__).resolve().parents[2]
TRADEWIND = Path(sys.executable).parent / "tradewind"
GRID = "fast=5:25:5,slow=10:40:10"  # 20 points, 6 with fast >= slow


def total_trades_target(metrics: dict[str, float]) -> float:
    """A custom target (module:function): fewest trades first."""
    return -metrics["trades"]


def _cfg() -> BacktestConfig:
    return BacktestConfig(
        name="sweep-test",
        instruments=("EUR_USD",),
        timeframe=Timeframe.H1,
        features=str(REPO / "configs" / "features" / "default.yaml"),
        strategies=(StrategySpec(name="sma_crossover", params={"allow_short": True}),),
        sizing=Sizing(value=10_000),
        costs=Costs(commission_bps=0.2, spread="fixed", spread_pips=0.8, slippage_bps=0.1),
    )


def _seed(url: str) -> Engine:
    engine = make_engine(url)
    initialise(engine)
    synthesize_to_db(engine, SyntheticConfig(instrument="EUR_USD", bars=3000, seed=4))
    return engine


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return _seed(f"sqlite:///{tmp_path_factory.mktemp('sweep')}/tw.db")


def test_sweep_ranks_skips_and_reruns_on_backtrader(engine: Engine) -> None:
    seen: list[tuple[int, int]] = []
    report = sweep(
        engine,
        _cfg(),
        GRID,
        None,
        "sharpe",
        top=2,
        max_workers=2,
        progress=lambda d, t: seen.append((d, t)),
    )
    total = len(grid_points(parse_grid(GRID)))
    assert report.skipped == sum(p["fast"] >= p["slow"] for p in grid_points(parse_grid(GRID)))
    assert report.skipped == 6
    assert len(report.points) == total - report.skipped
    assert all(p.params["fast"] < p.params["slow"] for p in report.points)
    assert [d for d, _ in seen] == list(range(1, len(report.points) + 1))
    scores = [p.score for p in report.points]
    assert scores == sorted(scores, reverse=True)
    assert scores == [p.metrics["sharpe"] for p in report.points]

    # the engines match by design: Backtrader's re-run == the vectorised result of each point
    assert len(report.rerun) == 2
    for rerun, point in zip(report.rerun, report.points, strict=False):
        assert rerun.params == point.params
        assert rerun.metrics["trades"] == point.metrics["trades"] > 0
        assert rerun.metrics["total_return"] == pytest.approx(
            point.metrics["total_return"], rel=1e-9, abs=1e-12
        )
        with engine.connect() as conn:
            row = conn.execute(select(RunRow).where(RunRow.id == rerun.run_id)).one()
            assert row.status == "succeeded"
            stored = get_config(conn, row.config_fingerprint).body
            assert stored["strategies"][0]["params"] == {"allow_short": True}
            spec_fp = stored["features"].removeprefix("config:")
            spec = get_config(conn, spec_fp).body
        assert spec == sma_feature_spec(point.params["fast"], point.params["slow"]).model_dump(
            mode="json"
        )


def test_sweep_total_return_custom_target_and_random(engine: Engine) -> None:
    by_return = sweep(engine, _cfg(), GRID, None, "total_return", top=0, max_workers=1)
    returns = [p.metrics["total_return"] for p in by_return.points]
    assert returns == sorted(returns, reverse=True)
    assert by_return.rerun == []

    target = f"{__name__}:total_trades_target"
    custom = sweep(engine, _cfg(), GRID, None, target, top=0, max_workers=1)
    trades = [p.metrics["trades"] for p in custom.points]
    assert trades == sorted(trades)
    assert [p.score for p in custom.points] == [-t for t in trades]

    rnd = sweep(engine, _cfg(), GRID, 5, "sharpe", top=0, seed=3, max_workers=1)
    assert len(rnd.points) == 5
    assert all(p.params["fast"] < p.params["slow"] for p in rnd.points)

    with pytest.raises(SweepError, match="no function 'nope'"):
        resolve_target(f"{__name__}:nope")
    with pytest.raises(SweepError, match="cannot import"):
        resolve_target("no_such_module_xyz:f")
    with pytest.raises(SweepError, match="unknown target"):
        resolve_target("sortino_plus")
    with pytest.raises(SweepError, match="fast=5:x"):
        sweep(engine, _cfg(), "fast=5:x:5,slow=10", None, "sharpe")


def test_walkforward_is_out_of_sample_only(engine: Engine) -> None:
    cfg = _cfg()
    for mode in ("rolling", "expanding"):
        report = walkforward(engine, cfg, GRID, "sharpe", 1000, 500, mode, max_workers=1)
        windows = fold_windows(3000, 1000, 500, mode)
        assert [(f.train, f.test) for f in report.folds] == windows
        # test windows are consecutive and never overlap; each follows its train window
        for prev, nxt in zip(report.folds, report.folds[1:], strict=False):
            assert prev.test[1] == nxt.test[0]
        for f in report.folds:
            assert f.train[1] == f.test[0]
            assert f.train[0] == (f.test[0] - 1000 if mode == "rolling" else 0)

        # each fold's choice comes from its train window alone
        bars, _ = load_inputs(engine, cfg, sma_feature_spec(2, 3))
        pts = [
            {**cfg.strategies[0].params, **p}
            for p in grid_points(parse_grid(GRID))
            if p["fast"] < p["slow"]
        ]
        _, scorer = resolve_target("sharpe")
        for f in report.folds:
            idx = np.arange(*f.train)
            train_only = {s: b.take(idx) for s, b in bars.items()}
            best = select_on(
                train_only, pts, cfg, scorer, cfg.timeframe.periods_per_year, max_workers=1
            )
            assert {k: best.params[k] for k in ("fast", "slow")} == f.params
            assert best.score == pytest.approx(f.train_score)

        # the stitched OOS curve spans the test windows only, trades inside them only
        ts = next(iter(bars.values())).ts
        oos = report.oos
        assert np.array_equal(oos.ts_us, ts[report.folds[0].test[0] :])
        assert len(oos.equity) == sum(f.test[1] - f.test[0] for f in report.folds)
        first_test_ts = ts[report.folds[0].test[0]]
        assert all(fill.ts_us > first_test_ts for fill in oos.fills)
        for f in report.folds:
            lo, hi = ts[f.test[0]], ts[f.test[1] - 1]
            assert f.metrics["trades"] >= 0
            fold_fills = [x for x in oos.fills if lo <= x.ts_us <= hi]
            assert all(lo < x.ts_us for x in fold_fills)  # no fill on the first bar: flat start
        growth = np.prod([1 + f.metrics["total_return"] for f in report.folds]) - 1
        assert report.oos_metrics["total_return"] == pytest.approx(growth, rel=1e-9)
        assert report.to_json()["oos_metrics"]["total_return"] == pytest.approx(growth)


def test_walkforward_ignores_bars_after_the_test_window(engine: Engine) -> None:
    """Changing bars after a test window cannot change that window's OOS result."""
    from tradewind.pipelines.sweep import evaluate_oos

    cfg = _cfg()
    bars, _ = load_inputs(engine, cfg, sma_feature_spec(2, 3))
    params = {"fast": 5, "slow": 20, "allow_short": True}
    base = evaluate_oos(bars, params, cfg, 500, (1500, 2000), "sma_crossover")
    cut = {s: b.take(np.arange(0, 2000)) for s, b in bars.items()}
    again = evaluate_oos(cut, params, cfg, 500, (1500, 2000), "sma_crossover")
    assert np.array_equal(base.equity, again.equity)
    assert base.ts_us[0] == bars["EUR_USD"].ts[1500]


# ----------------------------------------------------------------------------------- CLI


def tradewind(home: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND_")}
    env.update({"TRADEWIND_HOME": str(home), "COLUMNS": "200"})
    return subprocess.run(
        [str(TRADEWIND), *map(str, args)],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_cli_sweep_and_walkforward_json(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    _seed(f"sqlite:///{home / 'tradewind.db'}").dispose()
    config = home / "bt.yaml"
    config.write_text(json.dumps(_cfg().model_dump(mode="json")))

    done = tradewind(
        home, "backtest", "sweep", "--config", config, "--grid", GRID, "--target", "sharpe",
        "--top", "1", "--workers", "2", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert {"points", "skipped", "rerun"} <= set(out)
    assert out["skipped"] == 6
    assert len(out["points"]) == 14
    assert set(out["points"][0]) >= {"params", "target", "metrics"}
    targets = [p["target"] for p in out["points"]]
    assert targets == sorted(targets, reverse=True)
    assert len(out["rerun"]) == 1
    assert set(out["rerun"][0]) == {"run_id", "params", "metrics"}
    assert out["rerun"][0]["params"] == out["points"][0]["params"]

    done = tradewind(
        home, "backtest", "walkforward", "--config", config, "--grid", GRID,
        "--target", "sharpe", "--train-bars", "1000", "--test-bars", "1000",
        "--mode", "expanding", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    wf = json.loads(done.stdout)
    assert {"folds", "oos_metrics"} <= set(wf)
    assert [f["test"] for f in wf["folds"]] == [[1000, 2000], [2000, 3000]]
    assert all(set(f) >= {"params", "oos_metrics", "test_period"} for f in wf["folds"])
    assert "total_return" in wf["oos_metrics"]

    bad = tradewind(home, "backtest", "sweep", "--config", config, "--grid", "fast=5:50,slow=20")
    assert bad.returncode == 1
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1, bad.stderr
    assert "fast=5:50" in lines[0]
    assert "Traceback" not in bad.stderr
