"""Progress of long steps: the engines' callback protocol and the CLI's two displays."""

from __future__ import annotations

import io
import itertools
import re
import time

import pytest

from tradewind.cli import progress as cli_progress
from tradewind.cli.progress import _PlainTicker, mode, plain_line, task
from tradewind.domain.progress import every


def test_plain_line_has_counts_elapsed_and_eta() -> None:
    assert plain_line("training ppo", 4096, 20480, 12.0) == (
        "training ppo: 4,096/20,480 (20%), elapsed 0:00:12, ETA 0:00:48"
    )
    assert plain_line("sweeping", 0, 100, 3.0) == "sweeping: 0/100 (0%), elapsed 0:00:03"
    assert plain_line("importing x.csv", 0, None, 75.4) == "importing x.csv: elapsed 0:01:15"


def test_every_reports_about_parts_times_and_always_the_end() -> None:
    seen: list[tuple[int, int]] = []
    report = every(lambda d, t: seen.append((d, t)), 10_000, parts=100)
    for step in range(0, 10_001, 8):  # an SB3 learner's steps, 8 envs at a time
        report(step)
    report(10_000)
    assert 90 <= len(seen) <= 102
    assert seen[0] == (0, 10_000)
    assert seen[-1] == (10_000, 10_000)
    assert all(b[0] - a[0] >= 100 for a, b in itertools.pairwise(seen[:-1]))


def test_the_plain_ticker_writes_every_interval_and_a_closing_line() -> None:
    stream = io.StringIO()
    with _PlainTicker("folds", None, 0.05, stream) as ticker:
        ticker.update(1, 4)
        time.sleep(0.18)
        ticker.update(4, 4)
    lines = stream.getvalue().splitlines()
    assert len(lines) >= 3
    assert re.fullmatch(r"folds: 1/4 \(25%\), elapsed 0:00:00, ETA 0:00:00", lines[0])
    assert lines[-1].startswith("folds: 4/4 (100%)")


def test_a_quick_step_prints_nothing() -> None:
    stream = io.StringIO()
    with _PlainTicker("quick", 10, 5.0, stream) as ticker:
        ticker.update(10, 10)
    assert stream.getvalue() == ""


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "plain"),  # pytest's stderr is not a terminal
        ({"TRADEWIND_PROGRESS": "off"}, "off"),
        ({"TRADEWIND_PROGRESS": "bar"}, "bar"),
        ({"TRADEWIND_PROGRESS": "nonsense"}, "plain"),
    ],
)
def test_mode_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    monkeypatch.delenv("TRADEWIND_PROGRESS", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert mode() == expected


def test_task_in_plain_mode_writes_to_stderr(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRADEWIND_PROGRESS", "plain")
    monkeypatch.setenv("TRADEWIND_PROGRESS_INTERVAL", "0.05")
    with task("training ppo", 2048) as update:
        update(1024, 2048)
        time.sleep(0.12)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "training ppo: 1,024/2,048 (50%)" in captured.err


def test_task_off_is_silent(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRADEWIND_PROGRESS", "off")
    with task("x", 3) as update:
        update(3, 3)
    assert capsys.readouterr() == ("", "")
    assert cli_progress.MODES == ("auto", "bar", "plain", "off")
