"""Help screens read as a shell user expects (no ``<bool>``, no ``{run_id}``, no default eaten
as markup), ``--version`` answers, ports outside 1-65535 are refused, and every usage error
is one line on stderr with exit code 2 (no boxed usage panel)."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

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


def port_options() -> list[tuple[tuple[str, ...], str]]:
    """(command path, option) of every option that takes a port."""
    root = tidy_help(typer.main.get_command(app))
    found = []
    for path in PATHS:
        command = root
        for name in path:
            command = command.commands[name]
        for param in command.params:
            if "port" in (param.name or "").split("_"):
                found.append((path, max(param.opts, key=len)))
    return found


PORTS = port_options()


def test_every_port_option_is_found() -> None:
    assert (("venue", "serve"), "--port") in PORTS


@pytest.mark.parametrize(("path", "option"), PORTS, ids=[" ".join(p) for p, _ in PORTS])
@pytest.mark.parametrize("port", ["0", "65536", "70000", "-1"])
def test_ports_outside_the_range_are_refused(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    path: tuple[str, ...],
    option: str,
    port: str,
) -> None:
    code, out, err = run_main(monkeypatch, capsys, *path, f"{option}={port}")
    assert code == 2
    assert err.splitlines() == [
        f"error: {option}: {port} is not in the range 1<=x<=65535 "
        f"(try 'tradewind {' '.join(path)} --help')"
    ]
    assert out == ""


def test_a_bad_progress_mode_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_main(monkeypatch, capsys, "--progress", "loud", "runs", "ls")
    assert code == 2
    assert err.splitlines() == [
        "error: --progress: 'loud' is not one of auto, bar, plain, off (try 'tradewind --help')"
    ]


USAGE_ERRORS = [
    (
        ("venue", "serve", "--port", "x"),
        "--port: 'x' is not valid: input should be a valid integer",
    ),
    (
        ("--progress", "plain", "venue", "serve", "--port"),
        "option '--port' requires an argument (try 'tradewind venue serve --help')",
    ),
    (("runs", "show"), "missing argument 'RUN' (try 'tradewind runs show --help')"),
    (("data", "ls", "--bogus"), "no such option: --bogus (try 'tradewind data ls --help')"),
    (("nosuch",), "no such command 'nosuch' (try 'tradewind --help')"),
    (("runs", "ls", "extra"), "unexpected extra argument"),
    (("demo", "--timesteps", "0"), "--timesteps: 0 is not in the range x>=1"),
]


@pytest.mark.parametrize(
    ("args", "expected"), USAGE_ERRORS, ids=[" ".join(a) for a, _ in USAGE_ERRORS]
)
def test_a_usage_error_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    expected: str,
) -> None:
    code, out, err = run_main(monkeypatch, capsys, *args)
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith("error: ")
    assert expected in err
    for panel in ("╭", "Usage:", "Traceback"):
        assert panel not in err


def test_a_usage_error_is_one_line_under_the_cli_runner() -> None:
    got = CliRunner().invoke(app, ["venue", "serve", "--port", "65536"])
    assert got.exit_code == 2
    assert got.stdout == ""
    assert got.stderr.splitlines() == [
        "error: --port: 65536 is not in the range 1<=x<=65535 (try 'tradewind venue serve --help')"
    ]


def test_a_group_without_a_command_still_shows_its_help(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_main(monkeypatch, capsys, "runs")
    assert code == 2  # as typer has it: no command is a usage error, answered with the help
    assert "Usage: tradewind runs [OPTIONS] COMMAND" in out
    assert err == ""
