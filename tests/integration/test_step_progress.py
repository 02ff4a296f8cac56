"""Importing a file and synthesizing into the database report done/total as they go, on
SQLite and Postgres; `tradewind data import --json` keeps stdout one JSON object while its
progress lines go to stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tradewind.config import ImportSpec, SyntheticConfig
from tradewind.domain import Timeframe
from tradewind.pipelines.ingest import IMPORT_PHASES, import_file
from tradewind.pipelines.setup import initialise
from tradewind.pipelines.synthetic import synthesize_to_db, synthesize_to_file
from tradewind.storage.engine import make_engine

TRADEWIND = Path(sys.executable).parent / "tradewind"
M1 = SyntheticConfig(instrument="GBP_USD", timeframe=Timeframe.M1, bars=20_000, seed=11)
SPEC = ImportSpec(instrument="GBP_USD", timeframe=Timeframe.M1, vendor="synthetic")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    initialise(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def m1_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("progress") / "GBP_USD_M1.csv"
    synthesize_to_file(M1, path)
    return path


def test_an_import_reports_each_phase(engine: Engine, m1_csv: Path) -> None:
    seen: list[tuple[int, int]] = []
    report = import_file(engine, m1_csv, SPEC, progress=lambda d, t: seen.append((d, t)))
    assert report.inserted == 20_000
    assert len(IMPORT_PHASES) == 4
    assert seen == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]


def test_a_failed_import_does_not_report_done(engine: Engine, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("nothing,here\n1,2\n")
    seen: list[tuple[int, int]] = []
    with pytest.raises(ValueError, match=r"bad\.csv"):
        import_file(engine, bad, SPEC, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(0, 4)]


def test_synthesizing_reports_generating_then_each_side_stored(engine: Engine) -> None:
    seen: list[tuple[int, int]] = []
    reports = synthesize_to_db(
        engine, SyntheticConfig(bars=300), progress=lambda d, t: seen.append((d, t))
    )
    assert [r.side for r in reports] == ["mid", "bid", "ask"]
    assert seen == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]


def test_import_json_on_stdout_progress_on_stderr(
    engine: Engine, db_url: str, m1_csv: Path, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND_")}
    env.update(
        TRADEWIND_HOME=str(tmp_path),
        TRADEWIND_DATABASE_URL=db_url,
        TRADEWIND_PROGRESS="plain",
        TRADEWIND_PROGRESS_INTERVAL="0.05",
    )
    args = ["data", "import", str(m1_csv), "--instrument", "GBP_USD", "--timeframe", "M1"]
    done = subprocess.run(
        [str(TRADEWIND), *args, "--vendor", "synthetic", "--json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout
    assert json.loads(lines[0])["inserted"] == 20_000
    progress = done.stderr.splitlines()
    assert progress, "an import longer than the interval reports on stderr"
    assert all(line.startswith(f"importing {m1_csv}: ") for line in progress), progress
    assert progress[-1].startswith(f"importing {m1_csv}: 4/4 (100%)")
