"""The stack's image recipes (services/*/Dockerfile), checked without building them: the CPU
torch pin, non-root users, no secret in a layer, and the superset image's bare copy of the
bundle checker."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = {"tradewind": 10001, "superset": 10002}


def instructions(name: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of services/NAME/Dockerfile, continuation lines joined."""
    text = (ROOT / "services" / name / "Dockerfile").read_text(encoding="utf-8")
    text = re.sub(r"\\\n", " ", text)
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def pins() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    return {
        re.sub(r"[-_.]+", "-", name).lower(): version
        for name, _, version in (line.partition("==") for line in lines if "==" in line)
    }


def test_torch_is_pinned_to_its_cpu_build() -> None:
    assert pins()["torch"].endswith("+cpu")


@pytest.mark.parametrize("package", ["flask-wtf", "wtforms", "redis", "setuptools"])
def test_the_stack_extras_are_pinned(package: str) -> None:
    assert package in pins()


@pytest.mark.parametrize(("name", "uid"), DOCKERFILES.items())
def test_image_recipe(name: str, uid: int) -> None:
    steps = instructions(name)
    assert steps[0] == ("ARG", "BASE_IMAGE=python:3.11-slim-bookworm")
    users = [args for op, args in steps if op == "USER"]
    assert users[-1] == f"{uid}:{uid}"
    for op, args in steps:
        assert not (op in ("ARG", "ENV") and re.search(r"SECRET|PASSWORD|TOKEN|_KEY", args)), args
        if op in ("COPY", "ADD"):
            assert not re.search(r"\.(crt|pem|key)\b|secrets|ca-certificates", args), args
        if op == "RUN" and ("build-pip.sh" in args or "build-torch.sh" in args):
            assert "--mount=type=secret,id=ca,required=false" in args, args
    entrypoint = next(args for op, args in steps if op == "ENTRYPOINT")
    image_path = entrypoint.strip('[]"')
    source = {
        "/opt/tradewind/services/tradewind/entrypoint.sh": "services/tradewind/entrypoint.sh",
        "/opt/superset/entrypoint.sh": "services/superset/entrypoint.sh",
    }[image_path]
    assert (ROOT / source).stat().st_mode & 0o111


def test_dockerignore_keeps_local_state_out_of_the_context() -> None:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    for pattern in (".git", ".venv*", ".tradewind", ".env", "**/node_modules", "**/__pycache__"):
        assert pattern in lines


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def test_the_bundle_checker_runs_from_a_bare_copy() -> None:
    """The superset image copies only tradewind/__init__.py and tradewind/dashboards/."""
    package = ROOT / "src" / "tradewind"
    assert imported_modules(package / "__init__.py") <= {"__future__"}
    for path in (package / "dashboards").glob("*.py"):
        for module in imported_modules(path):
            top = module.split(".")[0]
            allowed = top in sys.stdlib_module_names or top == "yaml"
            assert allowed or module.startswith("tradewind.dashboards"), (path.name, module)


def test_images_script_parses() -> None:
    subprocess.run(["bash", "-n", str(ROOT / "services" / "stack" / "images.sh")], check=True)
