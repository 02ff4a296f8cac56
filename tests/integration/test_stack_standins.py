"""The stack's stand-in images (services/stack/standins.sh) behave as the compose stack needs.

Real containers on a network of their own, reached by name from a second container, as the
stack's services reach them: the Postgres stand-in initialises once (init scripts included) and
takes password logins from other containers; the MinIO stand-in serves S3 with the root
credentials only, keeps data across restarts and answers ``mc ready local``; the Redis stand-in
started the way compose starts it requires the password.

Skipped where podman/docker or the images are missing: build them with
``services/stack/standins.sh``. Passwords are made per run and passed in env files.
"""

from __future__ import annotations

import io
import os
import secrets
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from minio import Minio
from minio.error import S3Error

PREFIX = "localhost/tradewind-standin"
POSTGRES = f"{PREFIX}/postgres:15"
MINIO = f"{PREFIX}/minio:latest-seaweedfs"
REDIS = f"{PREFIX}/redis:7"
PYTHON = f"{PREFIX}/python:3.11-slim-bookworm"


def _engine() -> str | None:
    name = os.environ.get("ENGINE") or ("podman" if shutil.which("podman") else "docker")
    return name if shutil.which(name) else None


ENGINE = _engine()


def run(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    assert ENGINE is not None
    return subprocess.run(
        [ENGINE, *args], capture_output=True, text=True, check=check, timeout=timeout
    )


def _missing_images() -> list[str]:
    if ENGINE is None:
        return []
    images = (POSTGRES, MINIO, REDIS, PYTHON)
    return [i for i in images if run("image", "inspect", i, check=False).returncode != 0]


pytestmark = [
    pytest.mark.skipif(ENGINE is None, reason="neither podman nor docker is installed"),
    pytest.mark.skipif(
        bool(_missing_images()),
        reason="stand-in images not built (run services/stack/standins.sh)",
    ),
]


def wait_until(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.5)


def logs(name: str) -> str:
    result = run("logs", name, check=False)
    return result.stdout + result.stderr


def pid1_uid(name: str) -> int:
    status = run("exec", name, "cat", "/proc/1/status").stdout
    line = next(x for x in status.splitlines() if x.startswith("Uid:"))
    return int(line.split()[1])


def env_file(directory: Path, name: str, **values: str) -> str:
    path = directory / name
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return str(path)


class Stack:
    """Containers, volumes and a network of one test, all removed afterwards."""

    def __init__(self, tmp_path: Path) -> None:
        self.tag = uuid.uuid4().hex[:8]
        self.tmp = tmp_path
        self.network = f"tw-standin-{self.tag}"
        self.containers: list[str] = []
        self.volumes: list[str] = []
        run("network", "create", self.network)

    def name(self, role: str) -> str:
        return f"tw-{role}-{self.tag}"

    def volume(self, role: str) -> str:
        name = f"tw-{role}-{self.tag}"
        run("volume", "create", name)
        self.volumes.append(name)
        return name

    def create(self, role: str, *args: str) -> str:
        name = self.name(role)
        run("create", "--name", name, "--network", self.network, *args)
        self.containers.append(name)
        return name

    def client(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        """A one-off container on the network, as another service of the stack."""
        return run("run", "--rm", "--network", self.network, *args, check=check)

    def close(self) -> None:
        for name in reversed(self.containers):
            run("rm", "-f", "-v", name, check=False)
        for name in self.volumes:
            run("volume", "rm", "-f", name, check=False)
        run("network", "rm", "-f", self.network, check=False)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    s = Stack(tmp_path)
    try:
        yield s
    finally:
        s.close()


INIT_SCRIPT = """#!/bin/bash
set -e
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<-SQL
\tCREATE ROLE app LOGIN PASSWORD '$APP_PASSWORD';
\tCREATE DATABASE appdb OWNER app;
\tCREATE TABLE init_runs (at timestamptz DEFAULT now());
\tINSERT INTO init_runs DEFAULT VALUES;
SQL
"""
# Not executable, so sourced: plain `psql` is the superuser on the local socket.
SOURCED_SCRIPT = 'psql -v ON_ERROR_STOP=1 -c "INSERT INTO init_runs DEFAULT VALUES"\n'
SQL_FILE = "CREATE TABLE from_sql (x int); INSERT INTO from_sql VALUES (42);\n"


def test_postgres_initialises_once_and_takes_password_logins(stack: Stack) -> None:
    password, app_password = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    init = stack.tmp / "initdb"
    init.mkdir()
    (init / "10-app.sh").write_text(INIT_SCRIPT)
    (init / "10-app.sh").chmod(0o755)
    (init / "20-sourced.sh").write_text(SOURCED_SCRIPT)
    (init / "30-table.sql").write_text(SQL_FILE)
    server_env = env_file(
        stack.tmp,
        "server.env",
        POSTGRES_USER="tw",
        POSTGRES_PASSWORD=password,
        POSTGRES_DB="twdb",
        APP_PASSWORD=app_password,
    )
    name = stack.create(
        "pg",
        "--env-file",
        server_env,
        "-v",
        f"{stack.volume('pgdata')}:/var/lib/postgresql/data",
        POSTGRES,
        "-c",
        "shared_buffers=32MB",
    )
    run("cp", f"{init}/.", f"{name}:/docker-entrypoint-initdb.d/")
    run("start", name)

    def ready() -> bool:
        probe = run("exec", name, "pg_isready", "-q", "-U", "tw", "-d", "twdb", check=False)
        return probe.returncode == 0

    wait_until(ready, "the Postgres stand-in to accept connections")
    assert "initialization complete" in logs(name)
    assert pid1_uid(name) == 999

    def psql(user: str, db: str, pw: str, sql: str) -> subprocess.CompletedProcess[str]:
        client_env = env_file(stack.tmp, "client.env", PGPASSWORD=pw)
        return stack.client(
            "--env-file", client_env, POSTGRES, "psql", "-h", name, "-U", user, "-d", db,
            "-w", "-Atc", sql,
        )  # fmt: skip

    ok = psql("tw", "twdb", password, "SHOW shared_buffers; SELECT count(*) FROM init_runs")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.split() == ["32MB", "2"]
    assert psql("tw", "twdb", password, "SELECT x FROM from_sql").stdout.strip() == "42"
    app = psql("app", "appdb", app_password, "SELECT current_user, current_database()")
    assert app.stdout.strip() == "app|appdb", app.stderr
    wrong = psql("tw", "twdb", "not-the-password", "SELECT 1")
    assert wrong.returncode != 0
    assert 'password authentication failed for user "tw"' in wrong.stderr

    run("restart", name)
    wait_until(ready, "the restarted Postgres stand-in")
    assert "holds a database: skipping initialization" in logs(name)
    again = psql("tw", "twdb", password, "SELECT count(*) FROM init_runs")
    assert again.stdout.strip() == "2", "the init scripts ran again on restart"

    run("stop", name)
    assert run("inspect", name, "--format", "{{.State.ExitCode}}").stdout.strip() == "0"
    assert "received fast shutdown request" in logs(name)


def test_postgres_refuses_to_initialise_without_password(stack: Stack) -> None:
    name = stack.create("pg", POSTGRES)
    result = run("start", "-a", name, check=False, timeout=60)
    out = result.stdout + result.stderr + logs(name)
    assert "POSTGRES_PASSWORD is not set" in out
    assert run("inspect", name, "--format", "{{.State.ExitCode}}").stdout.strip() == "1"


def _published(name: str, port: int) -> str:
    line = run("port", name, f"{port}/tcp").stdout.split()[0]
    return line.replace("0.0.0.0", "127.0.0.1")


def test_minio_standin_serves_s3_with_the_root_credentials(stack: Stack) -> None:
    user, password = "tradewind", secrets.token_urlsafe(20)
    env = env_file(stack.tmp, "minio.env", MINIO_ROOT_USER=user, MINIO_ROOT_PASSWORD=password)
    data = stack.volume("s3data")
    name = stack.create(
        "s3", "--env-file", env, "-v", f"{data}:/data", "-p", "127.0.0.1::9000",
        MINIO, "server", "/data", "--console-address", ":9001",
    )  # fmt: skip
    run("start", name)

    def healthy(container: str) -> Callable[[], bool]:
        return lambda: run("exec", container, "mc", "ready", "local", check=False).returncode == 0

    wait_until(healthy(name), "`mc ready local` in the MinIO stand-in")
    assert "ignoring --console-address :9001" in logs(name)
    assert pid1_uid(name) == 999
    endpoint = _published(name, 9000)

    client = Minio(endpoint, access_key=user, secret_key=password, secure=False)
    client.make_bucket("tradewind-artifacts")
    client.put_object("tradewind-artifacts", "runs/1/model.bin", io.BytesIO(b"weights"), 7)
    got = client.get_object("tradewind-artifacts", "runs/1/model.bin")
    assert got.read() == b"weights"
    got.close()
    listed = client.list_objects("tradewind-artifacts", recursive=True)
    assert [o.object_name for o in listed] == ["runs/1/model.bin"]

    wrong = Minio(endpoint, access_key=user, secret_key="not-the-secret", secure=False)
    with pytest.raises(S3Error) as refused:
        wrong.list_buckets()
    assert refused.value.code == "SignatureDoesNotMatch"

    # MLflow's artifact store: boto3 with an endpoint URL.
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://{endpoint}",
        aws_access_key_id=user,
        aws_secret_access_key=password,
        region_name="us-east-1",
    )
    s3.put_object(Bucket="tradewind-artifacts", Key="mlflow/0/a/artifacts/x.json", Body=b"{}")
    body = s3.get_object(Bucket="tradewind-artifacts", Key="mlflow/0/a/artifacts/x.json")["Body"]
    assert body.read() == b"{}"
    big = os.urandom(12 * 1024 * 1024)  # over boto3's threshold: a multipart upload
    multipart = TransferConfig(multipart_threshold=5 * 1024 * 1024)
    s3.upload_fileobj(io.BytesIO(big), "tradewind-artifacts", "mlflow/big.bin", Config=multipart)
    assert s3.get_object(Bucket="tradewind-artifacts", Key="mlflow/big.bin")["Body"].read() == big

    # Another container of the stack reaches it by name; anonymous requests are refused.
    probe = (
        "import urllib.request, urllib.error, sys\n"
        f"base = 'http://{name}:9000'\n"
        "print(urllib.request.urlopen(base + '/healthz', timeout=10).status)\n"
        "try:\n"
        "    urllib.request.urlopen(base + '/tradewind-artifacts/runs/1/model.bin', timeout=10)\n"
        "except urllib.error.HTTPError as e:\n"
        "    print(e.code)\n"
    )
    by_name = stack.client(PYTHON, "python3", "-c", probe)
    assert by_name.stdout.split() == ["200", "403"], by_name.stderr

    run("restart", name)
    wait_until(healthy(name), "the restarted MinIO stand-in")
    endpoint = _published(name, 9000)
    client = Minio(endpoint, access_key=user, secret_key=password, secure=False)
    got = client.get_object("tradewind-artifacts", "runs/1/model.bin")
    assert got.read() == b"weights"
    got.close()
    run("stop", name)

    # The credentials are the environment's, not remembered in /data.
    new_password = secrets.token_urlsafe(20)
    env2 = env_file(stack.tmp, "m2.env", MINIO_ROOT_USER=user, MINIO_ROOT_PASSWORD=new_password)
    second = stack.create(
        "s3b", "--env-file", env2, "-v", f"{data}:/data", "-p", "127.0.0.1::9000", MINIO,
    )  # fmt: skip
    run("start", second)
    wait_until(healthy(second), "the MinIO stand-in with new credentials")
    endpoint = _published(second, 9000)
    with pytest.raises(S3Error):
        Minio(endpoint, access_key=user, secret_key=password, secure=False).list_buckets()
    renewed = Minio(endpoint, access_key=user, secret_key=new_password, secure=False)
    assert [b.name for b in renewed.list_buckets()] == ["tradewind-artifacts"]


REDIS_COMMAND = (
    'printf "requirepass %s\\n" "$REDIS_PASSWORD" > /tmp/redis.conf'
    " && exec redis-server /tmp/redis.conf --appendonly yes"
)


@pytest.mark.parametrize("user", [None, "redis"])
def test_redis_started_as_compose_does_requires_the_password(
    stack: Stack, user: str | None
) -> None:
    password = secrets.token_urlsafe(16)
    env = env_file(stack.tmp, "redis.env", REDIS_PASSWORD=password)
    as_user = ["--user", user] if user else []
    name = stack.create(
        "redis", "--env-file", env, *as_user, "-v", f"{stack.volume('redisdata')}:/data",
        REDIS, "sh", "-c", REDIS_COMMAND,
    )  # fmt: skip
    run("start", name)

    def ready() -> bool:
        ping = run("exec", "--env-file", env, name, "sh", "-c",
                   'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli ping', check=False)  # fmt: skip
        return ping.stdout.strip() == "PONG"

    wait_until(ready, "the Redis stand-in")
    assert pid1_uid(name) == (999 if user else 0)  # as the official image: compose's user

    no_auth = stack.client(REDIS, "redis-cli", "-h", name, "ping")
    assert "NOAUTH" in no_auth.stdout + no_auth.stderr
    auth_env = env_file(stack.tmp, "cli.env", REDISCLI_AUTH=password)
    cli = ["--env-file", auth_env, REDIS, "redis-cli", "-h", name]
    assert stack.client(*cli, "set", "k", "v").stdout.strip() == "OK"
    assert stack.client(*cli, "get", "k").stdout.strip() == "v"
    assert stack.client(*cli, "config", "get", "appendonly").stdout.split() == [
        "appendonly",
        "yes",
    ]
    wrong_env = env_file(stack.tmp, "wrong.env", REDISCLI_AUTH="not-the-password")
    wrong = stack.client("--env-file", wrong_env, REDIS, "redis-cli", "-h", name, "ping")
    assert "WRONGPASS" in wrong.stdout + wrong.stderr


def test_redis_default_command_runs_as_the_redis_user(stack: Stack) -> None:
    name = stack.create("redis", REDIS)
    run("start", name)
    wait_until(
        lambda: run("exec", name, "redis-cli", "ping", check=False).stdout.strip() == "PONG",
        "the Redis stand-in",
    )
    assert pid1_uid(name) == 999
    mode = run("exec", name, "redis-cli", "config", "get", "protected-mode").stdout.split()
    assert mode == ["protected-mode", "no"]
