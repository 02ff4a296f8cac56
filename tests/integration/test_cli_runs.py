"""`tradewind runs ls/show/compare` and `report` through the console script, on SQLite and
Postgres: short ids, any unique prefix accepted, one line for an ambiguous or unknown run,
--json everywhere, progress lines on stderr when output is piped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from run_support import add_runs

from tradewind.storage.engine import make_engine

REPO = Path(__file__).resolve().parents[2]
TRADEWIND = Path(sys.executable).parent / "tradewind"
DEMO = REPO / "configs" / "backtests" / "demo.yaml"


def run(home: Path, db_url: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND_")}
    env.update(
        TRADEWIND_HOME=str(home),
        TRADEWIND_DATABASE_URL=db_url,
        TRADEWIND_PROGRESS_INTERVAL="0.2",
        COLUMNS="200",
    )
    return subprocess.run(
        [str(TRADEWIND), *map(str, args)],
        env=env,
        cwd=REPO,  # the demo config names strategies/ and configs/ relative to the repository
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def ok_json(done: subprocess.CompletedProcess[str]) -> Any:
    lines = ok(done).splitlines()
    assert len(lines) == 1, done.stdout
    return json.loads(lines[0])


def one_line_error(done: subprocess.CompletedProcess[str], needle: str) -> None:
    assert done.returncode == 1
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert needle in done.stderr, done.stderr


def test_runs_by_short_id_and_prefix(tmp_path: Path, db_url: str) -> None:
    home = tmp_path / "home"
    ok(run(home, db_url, "init"))
    ok(run(home, db_url, "data", "synth", "--bars", "1500"))

    # piped: the plain progress line, on stderr only (stdout stays one JSON object)
    done = run(home, db_url, "backtest", "run", "--config", DEMO, "--json")
    run_id = ok_json(done)["run_id"]
    assert "backtesting demo-sma-rsi: 2/2 (100%), elapsed " in done.stderr

    listed = ok_json(run(home, db_url, "runs", "ls", "--json"))["runs"]
    assert {r["short_id"] for r in listed} >= {run_id[:8]}
    table = ok(run(home, db_url, "runs", "ls"))
    assert f"│ {run_id[:8]} │ backtest" in table
    assert run_id not in table  # short ids in the table

    prefix = run_id[:5]
    shown = ok_json(run(home, db_url, "runs", "show", prefix, "--json"))
    assert shown["id"] == run_id
    assert shown["config"]["body"]["name"] == "demo-sma-rsi"
    assert shown["data_start"] is not None
    assert shown["data_end"] is not None
    assert [r["strategy"] for r in shown["results"]] == ["sma_crossover", "rsi_meanrev"]
    assert shown["report"] is None
    human = ok(run(home, db_url, "runs", "show", prefix))
    assert f"run {run_id} (backtest demo-sma-rsi): succeeded" in human
    assert "metrics per strategy" in human
    assert f"report: none written yet (tradewind report {run_id[:8]})" in human

    written = ok_json(run(home, db_url, "report", prefix, "--json"))
    assert written == {
        "run_id": run_id,
        "path": str(home.resolve() / "reports" / f"{run_id[:8]}.html"),
    }
    assert Path(written["path"]).stat().st_size > 10_000
    again = ok_json(run(home, db_url, "runs", "show", run_id.upper()[:6], "--json"))
    assert again["report"] == written["path"]
    assert f"wrote {home}/reports/{run_id[:8]}.html (run {run_id[:8]})" in ok(
        run(home, db_url, "report", run_id[:8], "--out", home / "reports" / f"{run_id[:8]}.html")
    )

    columns = ok_json(run(home, db_url, "runs", "compare", prefix, run_id, "--json"))["columns"]
    assert [c["name"] for c in columns][:2] == [
        f"{run_id[:8]} sma_crossover",
        f"{run_id[:8]} rsi_meanrev",
    ]
    text = ok(run(home, db_url, "runs", "compare", prefix, prefix))
    assert "%" in text  # returns as percent

    # two runs sharing a prefix: one line naming both; a prefix of neither: one line
    engine = make_engine(db_url)
    twins = ("feedbee1-0000-4000-8000-000000000001", "feedbee2-0000-4000-8000-000000000002")
    add_runs(engine, twins, kind="synthesize", status="succeeded", name="twin")
    engine.dispose()
    ambiguous = run(home, db_url, "runs", "show", "feedbee")
    one_line_error(ambiguous, "run id prefix 'feedbee' matches several runs")
    assert "feedbee2 (synthesize twin1), feedbee1 (synthesize twin0)" in ambiguous.stderr
    one_line_error(run(home, db_url, "report", "feedbee"), "matches several runs")
    one_line_error(run(home, db_url, "runs", "compare", prefix, "feedbee"), "matches several")
    one_line_error(run(home, db_url, "report", "feedbee1"), "is a synthesize run, not a backtest")
    one_line_error(run(home, db_url, "runs", "show", "0123"), "no run '0123'")
    one_line_error(run(home, db_url, "runs", "show", "no-such-run"), "expected a run id")
