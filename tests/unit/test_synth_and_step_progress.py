"""Synthesizing to a file reports done/total, and `--json` keeps stdout one JSON object while
the progress lines go to stderr."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tradewind.cli.app import main
from tradewind.config import SyntheticConfig
from tradewind.domain.progress import within
from tradewind.pipelines.synthetic import synthesize_to_file


def test_synthesizing_to_a_file_reports_generating_then_writing(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    n = synthesize_to_file(
        SyntheticConfig(bars=300), tmp_path / "f.csv", progress=lambda d, t: seen.append((d, t))
    )
    assert n == 300
    assert seen == [(0, 2), (1, 2), (2, 2)]


def test_parts_of_a_step_count_on_from_where_the_last_ended(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    whole = lambda d, t: seen.append((d, t))  # noqa: E731
    synthesize_to_file(SyntheticConfig(bars=50), tmp_path / "f.csv", progress=within(whole, 0, 5))
    within(whole, 2, 5)(3, 3)
    assert seen == [(0, 5), (1, 5), (2, 5), (5, 5)]


def test_json_stays_on_stdout_and_progress_on_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRADEWIND_HOME", str(tmp_path))
    monkeypatch.setenv("TRADEWIND_PROGRESS", "plain")
    monkeypatch.setenv("TRADEWIND_PROGRESS_INTERVAL", "0.05")
    out_file = tmp_path / "f.parquet"
    args = ["data", "synth", "--bars", "300000", "--timeframe", "M1", "--out", str(out_file)]
    monkeypatch.setattr(sys, "argv", ["tradewind", *args, "--json"])
    with pytest.raises(SystemExit) as exited:
        main()
    captured = capsys.readouterr()
    assert exited.value.code in (0, None), captured.err
    lines = captured.out.splitlines()
    assert len(lines) == 1, captured.out
    assert json.loads(lines[0])["bars"] == 300_000
    progress = captured.err.splitlines()
    assert progress, "a step longer than the interval reports on stderr"
    assert all(line.startswith("generating 300,000 synthetic M1 bars: ") for line in progress)
    assert progress[-1].startswith("generating 300,000 synthetic M1 bars: 2/2 (100%)")
