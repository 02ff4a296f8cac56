"""tradewind.stack.secrets: the stack's .env, generated and checked, no value ever shown."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tradewind.stack import secrets as stack

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "src" / "tradewind" / "stack" / "secrets.py"
GOOD_PASSWORD = stack.new_value(stack.BY_NAME["REDIS_PASSWORD"])  # drawn per run: no literal


def _generated() -> dict[str, str]:
    return stack.parse_env(stack.generate())


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_env_example_is_generated_from_the_table() -> None:
    assert (REPO / ".env.example").read_text(encoding="utf-8") == stack.example(), (
        "regenerate it: python -m tradewind.stack.secrets example > .env.example"
    )


def test_example_declares_every_variable_and_no_secret_value() -> None:
    declared = stack.parse_env(stack.example())
    assert set(declared) == set(stack.BY_NAME)
    for var in stack.VARIABLES:
        assert declared[var.name] == ("" if var.generated else var.default)
    assert len(stack.check(declared)) == sum(v.generated for v in stack.VARIABLES)


def test_generate_then_check_round_trip() -> None:
    values = _generated()
    assert set(values) == set(stack.BY_NAME)
    assert stack.check(values) == []


def test_generated_values_have_their_kind_shape() -> None:
    values = _generated()
    for var in stack.VARIABLES:
        value = values[var.name]
        if var.kind is stack.Kind.PASSWORD:
            assert value.isascii(), var.name
            assert value.isalnum(), var.name
            assert len(value) >= 32, var.name
        elif var.kind is stack.Kind.HEX_TOKEN:
            assert len(value) == 64, var.name
            int(value, 16)  # hex digits only
        elif var.kind is stack.Kind.FERNET_KEY:
            Fernet(value.encode())  # raises on anything but the urlsafe base64 of 32 bytes
        elif var.kind is stack.Kind.USERNAME:
            assert value.startswith(stack.USERNAME_PREFIX)
            assert len(value) > 12
        else:
            assert value == var.default


def test_every_secret_is_fresh() -> None:
    first, second = _generated(), _generated()
    secrets = [v.name for v in stack.VARIABLES if v.secret]
    assert len({first[n] for n in secrets}) == len(secrets)  # no two variables share one
    assert all(first[n] != second[n] for n in secrets)


def test_generate_keeps_valid_values_and_replaces_the_rest() -> None:
    existing = {
        "POSTGRES_PASSWORD": GOOD_PASSWORD,
        "REDIS_PASSWORD": "changeme",
        "AIRFLOW_PORT": "9090",
        "MLFLOW_PORT": "http",
        "MY_OWN": "kept",
    }
    values = stack.parse_env(stack.generate(existing))
    assert values["POSTGRES_PASSWORD"] == GOOD_PASSWORD
    assert values["REDIS_PASSWORD"] != "changeme"
    assert values["AIRFLOW_PORT"] == "9090"
    assert values["MLFLOW_PORT"] == "5000"
    assert values["MY_OWN"] == "kept"
    assert stack.check(values) == []


def test_generate_rotate_draws_new_secrets() -> None:
    old = _generated()
    new = stack.parse_env(stack.generate(old, rotate=["REDIS_PASSWORD"]))
    assert new["REDIS_PASSWORD"] != old["REDIS_PASSWORD"]
    assert {k: v for k, v in new.items() if k != "REDIS_PASSWORD"} == {
        k: v for k, v in old.items() if k != "REDIS_PASSWORD"
    }


BAD_VALUES = [
    ("POSTGRES_PASSWORD", "changeme", "placeholder"),
    ("POSTGRES_PASSWORD", "CHANGE-ME-please-0123456789", "placeholder"),
    ("POSTGRES_PASSWORD", "password", "placeholder"),
    ("POSTGRES_PASSWORD", "secret", "placeholder"),
    ("POSTGRES_PASSWORD", "admin", "placeholder"),
    ("POSTGRES_PASSWORD", "example-password-0123456789", "placeholder"),
    ("POSTGRES_PASSWORD", "xxxxxxxxxxxxxxxxxxxxxxxx", "placeholder"),
    ("POSTGRES_PASSWORD", "<your postgres password>", "placeholder"),
    ("POSTGRES_PASSWORD", "${POSTGRES_PASSWORD}", "placeholder"),
    ("POSTGRES_PASSWORD", "TODO-set-a-real-one-0123456789", "placeholder"),
    ("POSTGRES_PASSWORD", "hunter2hunter2", "too short: 14 characters"),
    ("POSTGRES_PASSWORD", "", "is empty"),
    ("POSTGRES_PASSWORD", "Kd8#mQ2@vL9!xR4%tW7&", "may hold only"),
    ("POSTGRES_PASSWORD", "qqqqqqqqqqqqqqqqqqqqqqqq", "repeated"),
    ("MINIO_ROOT_USER", "minioadmin", "placeholder"),
    ("MINIO_ROOT_USER", "a b", "letters, digits"),
    ("SUPERSET_SECRET_KEY", "3f9a1c0b7e", "too short"),
    ("AIRFLOW_FERNET_KEY", "c2hvcnQta2V5LW9ubHktMjQtYnl0ZXM=", "decodes to 23 bytes"),
    ("AIRFLOW_FERNET_KEY", "not/base64+at+all+but+quite+long+enough+0000", "not URL-safe base64"),
    ("AIRFLOW_PORT", "eighty", "not a TCP port"),
    ("AIRFLOW_PORT", "70000", "not a TCP port"),
    ("TRADEWIND_REDIS_IMAGE", "redis:latest", "not pinned"),
    ("TRADEWIND_REDIS_IMAGE", "localhost:5000/redis", "not pinned"),
]


@pytest.mark.parametrize(("name", "value", "what"), BAD_VALUES)
def test_check_names_the_variable_and_what_is_wrong_never_the_value(
    name: str, value: str, what: str
) -> None:
    values = _generated() | {name: value}
    problems = stack.check(values)
    assert len(problems) == 1
    assert problems[0].startswith(f"{name} ")
    assert what in problems[0]
    if value:
        assert value not in problems[0]


def test_check_missing_and_pinned_images() -> None:
    values = _generated()
    del values["AIRFLOW_JWT_SECRET"], values["AIRFLOW_PORT"]
    values["TRADEWIND_IMAGE"] = "localhost/tradewind@sha256:" + "ab" * 32
    assert stack.check(values) == ["AIRFLOW_JWT_SECRET is not set"]  # a setting has a default
    assert stack.check(values, ["AIRFLOW_PORT"]) == ["AIRFLOW_PORT is not set"]


def test_check_only_some_and_under_another_name() -> None:
    key = Fernet.generate_key().decode()
    env = {"AIRFLOW__CORE__FERNET_KEY": key, "REDIS_PASSWORD": "changeme"}
    assert stack.check(env, ["AIRFLOW_FERNET_KEY=AIRFLOW__CORE__FERNET_KEY"]) == []
    assert stack.check(env, ["AIRFLOW_FERNET_KEY"]) == ["AIRFLOW_FERNET_KEY is not set"]
    problems = stack.check(env, ["REDIS_PASSWORD=REDIS_PASSWORD", "AIRFLOW_JWT_SECRET=JWT"])
    assert problems == [
        "REDIS_PASSWORD looks like a placeholder, not a generated value",
        "JWT (AIRFLOW_JWT_SECRET) is not set",
    ]
    with pytest.raises(ValueError, match="NOT_OURS"):
        stack.check(env, ["NOT_OURS"])


def test_check_reads_a_secret_file(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text(GOOD_PASSWORD + "\n")
    assert stack.check({"REDIS_PASSWORD_FILE": str(secret)}, ["REDIS_PASSWORD"]) == []
    secret.write_text("changeme\n")
    assert stack.check({"REDIS_PASSWORD_FILE": str(secret)}, ["REDIS_PASSWORD"]) == [
        "REDIS_PASSWORD looks like a placeholder, not a generated value"
    ]
    missing = stack.check({"REDIS_PASSWORD_FILE": str(tmp_path / "no")}, ["REDIS_PASSWORD"])
    assert missing == [
        f"REDIS_PASSWORD_FILE: cannot read {tmp_path / 'no'}: No such file or directory"
    ]


def test_image_pinned() -> None:
    assert stack.image_pinned("postgres:15.10-bookworm")
    assert stack.image_pinned("localhost:5000/tradewind:0.1.0")
    assert stack.image_pinned("redis@sha256:" + "0" * 64)
    assert not stack.image_pinned("redis")
    assert not stack.image_pinned("redis:latest")
    assert not stack.image_pinned("localhost:5000/tradewind")


def test_parse_env_reads_what_compose_reads() -> None:
    text = "# A=comment\nexport B=1\nC = '2 # x'\nD=\"3\"\nE=4  # note\n  \nnot a line\nB=5\n"
    assert stack.parse_env(text) == {"B": "5", "C": "2 # x", "D": "3", "E": "4"}


# -- the command line ----------------------------------------------------------------------------


def _run(*argv: str | Path) -> int:
    return stack.main([str(a) for a in argv])


def test_env_writes_a_private_complete_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / ".env"
    assert _run("env", "--file", path) == 0
    assert _mode(path) == 0o600
    assert os.listdir(tmp_path) == [".env"]  # the temporary file was renamed, none left
    assert stack.check(stack.parse_env(path.read_text())) == []
    assert _run("check", "--file", path) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"ok: {len(stack.VARIABLES)} variables"


def test_env_again_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / ".env"
    _run("env", "--file", path)
    before = path.read_text()
    assert _run("env", "--file", path) == 0
    assert path.read_text() == before
    assert "nothing changed" in capsys.readouterr().out


def test_env_completes_in_place_keeping_unknown_lines(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    mine = [
        "# my notes",
        "MY_SETTING=keep me",
        f"POSTGRES_PASSWORD={GOOD_PASSWORD}",
        "export AIRFLOW_PORT=9090",
        "REDIS_PASSWORD=changeme",
        "some line compose would not read",
    ]
    path.write_text("\n".join(mine) + "\n")
    path.chmod(0o644)
    assert _run("env", "--file", path) == 0
    lines = path.read_text().splitlines()
    assert lines[:4] == mine[:4]  # untouched, in place
    assert lines[5] == mine[5]
    assert lines[4].startswith("REDIS_PASSWORD=")
    assert lines[4] != mine[4]
    values = stack.parse_env(path.read_text())
    assert values["MY_SETTING"] == "keep me"
    assert values["AIRFLOW_PORT"] == "9090"
    assert stack.check(values) == []
    assert _mode(path) == 0o600


def test_env_keeps_a_file_of_other_variables(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("TRADEWIND_HOME=./.tradewind\n")
    assert _run("env", "--file", path) == 0
    values = stack.parse_env(path.read_text())
    assert values["TRADEWIND_HOME"] == "./.tradewind"
    assert stack.check(values) == []


def test_env_rotate(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    _run("env", "--file", path)
    old = stack.parse_env(path.read_text())
    assert _run("env", "--file", path, "--rotate", "--only", "REDIS_PASSWORD") == 0
    one = stack.parse_env(path.read_text())
    assert [k for k in old if old[k] != one[k]] == ["REDIS_PASSWORD"]
    assert _run("env", "--file", path, "--rotate") == 0
    new = stack.parse_env(path.read_text())
    for var in stack.VARIABLES:
        assert (new[var.name] != one[var.name]) is var.generated, var.name
    assert _run("env", "--file", path, "--only", "REDIS_PASSWORD") == 2  # --only needs --rotate


def test_check_lists_problems_without_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / ".env"
    _run("env", "--file", path)
    values = stack.parse_env(path.read_text())
    text = path.read_text().replace(values["AIRFLOW_FERNET_KEY"], values["AIRFLOW_FERNET_KEY"][:20])
    text = text.replace(f"REDIS_PASSWORD={values['REDIS_PASSWORD']}", "REDIS_PASSWORD=change-me")
    path.write_text(text)
    capsys.readouterr()
    assert _run("check", "--file", path) == 1
    err = capsys.readouterr().err
    assert "AIRFLOW_FERNET_KEY is not a Fernet key" in err
    assert "REDIS_PASSWORD looks like a placeholder" in err
    assert "change-me" not in err
    assert values["AIRFLOW_FERNET_KEY"][:20] not in err


def test_check_refuses_a_readable_or_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / ".env"
    assert _run("check", "--file", path) == 1
    assert "make env" in capsys.readouterr().err
    _run("env", "--file", path)
    path.chmod(0o644)
    assert _run("check", "--file", path) == 1
    assert "readable by others" in capsys.readouterr().err


def test_check_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_PASSWORD", GOOD_PASSWORD)
    monkeypatch.delenv("POSTGRES_PASSWORD", raising=False)
    assert _run("check", "--env", "--only", "REDIS_PASSWORD") == 0
    assert _run("check", "--env", "--only", "REDIS_PASSWORD,POSTGRES_PASSWORD") == 1
    assert _run("check", "--env", "--only", "NOT_OURS") == 2


def _python(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8"}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=base | env, timeout=60
    )


def test_runs_as_a_plain_script_on_the_standard_library_alone() -> None:
    """As in the Superset image: the file alone, no site-packages (-S), its directory first on
    sys.path (so a stray `import secrets` would import itself)."""
    good = _python(
        "-E",
        "-s",
        "-S",
        str(SCRIPT),
        "check",
        "--env",
        "--only",
        "REDIS_PASSWORD",
        env={"REDIS_PASSWORD": GOOD_PASSWORD},
    )
    assert (good.returncode, good.stdout) == (0, "ok: 1 variables\n"), good.stderr
    bad = _python(
        "-E",
        "-s",
        "-S",
        str(SCRIPT),
        "check",
        "--env",
        "--only",
        "REDIS_PASSWORD",
        env={"REDIS_PASSWORD": "changeme"},
    )
    assert bad.returncode == 1
    assert "REDIS_PASSWORD looks like a placeholder" in bad.stderr
    assert "changeme" not in bad.stderr


def test_module_imports_nothing_outside_the_standard_library() -> None:
    code = (
        "import sys, tradewind.stack.secrets\n"
        "print(' '.join(sorted(m for m in sys.modules"
        " if m != '__main__' and m.split('.')[0] not in sys.stdlib_module_names)))"
    )
    done = _python("-S", "-c", code, env={"PYTHONPATH": str(REPO / "src")})  # -S: no .pth
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["tradewind", "tradewind.stack", "tradewind.stack.secrets"]
