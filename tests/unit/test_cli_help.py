"""Help screens read as a shell user expects (no ``<bool>``, no ``{run_id}``, no default eaten
as markup), ``--version`` answers, and ports outside 1-65535 are refused."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import typer

from tradewind.cli.app import app, main
from tradewind.cli.helptext import tidy_help


def command_paths(command: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield prefix
    for name, sub in getattr(command, "commands", {}).items():
        yield from command_paths(sub, (*prefix, name))


PATHS = list(command_paths(tidy_help(typer.main.get_command(app))))


def run_main(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(sys, "argv", ["tradewind", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out, captured.err


def test_every_command_is_covered() -> None:
    assert len(PATHS) > 25
    assert ("runs", "show") in PATHS
    assert ("report",) in PATHS


@pytest.mark.parametrize("path", PATHS, ids=[" ".join(p) or "tradewind" for p in PATHS])
def test_help_has_no_type_artefacts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], path: tuple[str, ...]
) -> None:
    code, out, _ = run_main(monkeypatch, capsys, *path, "--help")
    assert code == 0
    assert "Usage: tradewind" in out
    for artefact in ("<bool>", "<str>", "<int>", "<path>", "<float>"):
        assert artefact not in out, f"{artefact} in `{' '.join(path)} --help`"
    usage = next(line for line in out.splitlines() if "Usage:" in line)
    assert not re.search(r"\{\w+\}", usage), usage
    assert not re.search(r"[a-z] \.(\s|$)", out), "a [default: ...] eaten as markup"


def test_arguments_are_named_in_capitals(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run_main(monkeypatch, capsys, "runs", "compare", "--help")
    assert "Usage: tradewind runs compare [OPTIONS] RUN..." in out
    _, out, _ = run_main(monkeypatch, capsys, "data", "import", "--help")
    assert "Usage: tradewind data import [OPTIONS] FILE" in out
    assert re.search(r"--side\s+mid\|bid\|ask", out)
    assert re.search(r"--json\s+Print one JSON object", out)


def test_version(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import tradewind

    code, out, _ = run_main(monkeypatch, capsys, "--version")
    assert code == 0
    assert out.startswith(f"tradewind {tradewind.__version__}")
    assert len(out.splitlines()) == 1


@pytest.mark.parametrize("port", ["0", "65536", "-1"])
def test_ports_outside_the_range_are_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], port: str
) -> None:
    code, out, err = run_main(monkeypatch, capsys, "venue", "serve", "--port", port)
    assert code == 2
    assert "--port" in err
    assert "venue on" not in out


def test_a_bad_progress_mode_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_main(monkeypatch, capsys, "--progress", "loud", "runs", "ls")
    assert code == 2
    assert "auto, bar, plain, off" in err
