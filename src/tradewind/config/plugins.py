"""User code loaded by name from a folder (strategies/, models/) or by path.

A name ``x`` is ``<folder>/x.py``; anything with a ``/`` or ending ``.py`` is a path. The file
is imported as ``<namespace>.<stem>`` and its module-level ``attr`` returned; a missing file
is a ``LookupError`` that lists what the folder offers."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def available(folder: Path, marker: str | None = None) -> list[str]:
    """Names of the ``*.py`` files in ``folder`` (not starting with ``_``; containing
    ``marker`` when given)."""
    return sorted(
        p.stem
        for p in folder.glob("*.py")
        if not p.name.startswith("_")
        and (marker is None or marker in p.read_text(encoding="utf-8"))
    )


def load_named(
    name_or_path: str, folder: Path, attr: str, kind: str, namespace: str
) -> tuple[Path, ModuleType, object]:
    """``(path, module, module.<attr>)`` of the ``kind`` (e.g. "strategy") named
    ``name_or_path``; the attribute is None when the file does not define it."""
    if "/" in name_or_path or name_or_path.endswith(".py"):
        path = Path(name_or_path)
        if not path.is_file():
            raise LookupError(f"{kind} file {path} does not exist")
    else:
        path = folder / f"{name_or_path}.py"
        if not path.is_file():
            names = ", ".join(available(folder, attr)) or "none"
            raise LookupError(f"unknown {kind} {name_or_path!r}; available in {folder}: {names}")
    module_name = f"{namespace}.{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise LookupError(f"cannot load {kind} file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return path, module, getattr(module, attr, None)
