"""The running compose stack that `make stack-test` (services/stack/stack-test.sh) started.

Its .env (``TRADEWIND_STACK_ENV_FILE``) holds the generated secrets and the published ports;
``TRADEWIND_STACK_COMPOSE`` and ``TRADEWIND_STACK_PROJECT`` reach the services inside
(``compose exec``), as an operator would.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Stack:
    env: dict[str, str]
    project: str
    compose_cmd: tuple[str, ...]
    env_file: str
    engine: str

    def url(self, port_var: str, default: int) -> str:
        return f"http://127.0.0.1:{self.env.get(port_var, default)}"

    def compose(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        cmd = [*self.compose_cmd, "--env-file", self.env_file, "-p", self.project, *args]
        return subprocess.run(
            cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
        )

    def services(self) -> list[dict[str, Any]]:
        """`compose ps -a` as one dict per container."""
        got = self.compose("ps", "-a", "--format", "json")
        assert got.returncode == 0, got.stderr
        text = got.stdout.strip()
        if text.startswith("["):
            return list(json.loads(text))
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def psql(self, database: str, query: str) -> str:
        """One query as the superuser inside the postgres container (password from its env)."""
        script = (
            'PGPASSWORD="$POSTGRES_PASSWORD" psql -h 127.0.0.1 -U postgres -At '
            f"-d {shlex.quote(database)} -c {shlex.quote(query)}"
        )
        got = self.compose("exec", "-T", "postgres", "sh", "-c", script)
        assert got.returncode == 0, got.stderr
        return got.stdout.strip()


def read_env(path: str) -> dict[str, str]:
    env = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            env[name.strip()] = value.strip()
    return env


@pytest.fixture(scope="session")
def stack() -> Stack:
    env_file = os.environ["TRADEWIND_STACK_ENV_FILE"]
    return Stack(
        env=read_env(env_file),
        project=os.environ["TRADEWIND_STACK_PROJECT"],
        compose_cmd=tuple(shlex.split(os.environ["TRADEWIND_STACK_COMPOSE"])),
        env_file=env_file,
        engine=os.environ.get("TRADEWIND_STACK_ENGINE", "docker"),
    )
