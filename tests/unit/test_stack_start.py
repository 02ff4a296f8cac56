"""tradewind.stack.start: what every container runs before its program."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from tradewind.stack import secrets as stack_secrets
from tradewind.stack.start import preflight, run_with_attempts


def _good(name: str) -> str:
    return stack_secrets.new_value(stack_secrets.BY_NAME[name])


def test_nothing_to_check_starts_at_once() -> None:
    assert preflight({}) is None


def test_a_placeholder_secret_stops_the_start_without_showing_it() -> None:
    env = {"TRADEWIND_REQUIRES": "REDIS_PASSWORD", "REDIS_PASSWORD": "changeme"}
    problem = preflight(env)
    assert problem is not None
    assert "REDIS_PASSWORD" in problem
    assert "changeme" not in problem


def test_a_secret_under_another_name_is_checked_there() -> None:
    env = {
        "TRADEWIND_REQUIRES": "MLFLOW_ADMIN_PASSWORD=MLFLOW_TRACKING_PASSWORD",
        "MLFLOW_TRACKING_PASSWORD": _good("MLFLOW_ADMIN_PASSWORD"),
    }
    assert preflight(env) is None
    problem = preflight({"TRADEWIND_REQUIRES": "MLFLOW_ADMIN_PASSWORD=MLFLOW_TRACKING_PASSWORD"})
    assert problem is not None
    assert "MLFLOW_TRACKING_PASSWORD" in problem


def test_an_unknown_name_is_refused() -> None:
    problem = preflight({"TRADEWIND_REQUIRES": "NOT_A_STACK_VARIABLE"})
    assert problem is not None
    assert "NOT_A_STACK_VARIABLE" in problem


def test_waits_for_a_listening_port_and_gives_up_on_a_closed_one() -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        assert preflight({"TRADEWIND_WAIT_FOR": f"127.0.0.1:{port}"}) is None
    problem = preflight({"TRADEWIND_WAIT_FOR": f"127.0.0.1:{port}", "TRADEWIND_WAIT_TIMEOUT": "1"})
    assert problem == f"127.0.0.1:{port} did not answer within 1 s"
    assert "not HOST:PORT" in (preflight({"TRADEWIND_WAIT_FOR": "postgres"}) or "")


def test_a_one_shot_is_tried_again_until_it_succeeds(tmp_path: Path) -> None:
    counter = tmp_path / "runs"
    script = (
        "import pathlib, sys; p = pathlib.Path(sys.argv[1]); "
        "n = int(p.read_text()) + 1 if p.exists() else 1; p.write_text(str(n)); "
        "sys.exit(0 if n == 3 else 7)"
    )
    command = [sys.executable, "-c", script, str(counter)]
    assert run_with_attempts(command, attempts=3, pause_s=0) == 0
    assert counter.read_text() == "3"
    counter.unlink()
    assert run_with_attempts(command, attempts=2, pause_s=0) == 7
    assert counter.read_text() == "2"


def test_the_command_runs_with_its_exit_code_and_refusal_is_exit_1() -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "tradewind.stack.start", "--", sys.executable, "-c", "exit(5)"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 5
    refused = subprocess.run(
        [sys.executable, "-m", "tradewind.stack.start", "--", "true"],
        capture_output=True,
        text=True,
        check=False,
        env={"TRADEWIND_REQUIRES": "REDIS_PASSWORD", "PATH": "/usr/bin:/bin"},
    )
    assert refused.returncode == 1
    assert "REDIS_PASSWORD is not set" in refused.stderr
