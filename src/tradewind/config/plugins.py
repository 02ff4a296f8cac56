"""User code and configs found by name along a search path.

The search path is a list of project roots, searched in order:

1. the folders in ``TRADEWIND_PATH`` (separated by ``os.pathsep``, ``:`` on Linux);
2. the working directory;
3. the defaults shipped inside the package (``tradewind/defaults``: the repository's
   ``configs/``, ``strategies/`` and ``models/``, so a wheel installed outside a checkout
   has them too).

A strategy ``x`` is ``<root>/strategies/x.py``, a model recipe ``<root>/models/x.py``, a config
named by a relative path (``configs/features/default.yaml``) ``<root>/<path>``. Anything with
a ``/`` or ending ``.py`` is a path to that very file. The file is imported as
``<namespace>.<stem>`` and its module-level ``attr`` returned; a missing file is a
``LookupError`` that says where it looked and what is available there."""

from __future__ import annotations

import importlib.resources
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

PATH_ENV = "TRADEWIND_PATH"


def packaged_defaults() -> Path:
    """The defaults shipped in the package (configs/, strategies/, models/)."""
    return Path(str(importlib.resources.files("tradewind") / "defaults"))


def search_roots() -> list[Path]:
    """The project roots searched, in order (see the module's docstring)."""
    extra = [Path(p) for p in os.environ.get(PATH_ENV, "").split(os.pathsep) if p.strip()]
    roots: list[Path] = []
    for root in (*extra, Path.cwd(), packaged_defaults()):
        if root.resolve() not in {r.resolve() for r in roots}:
            roots.append(root)
    return roots


def search_folders(folder: Path) -> list[Path]:
    """``folder`` first, then the folder of the same name under every root."""
    out: list[Path] = []
    for f in (folder, *(root / folder.name for root in search_roots())):
        if f.resolve() not in {o.resolve() for o in out}:
            out.append(f)
    return out


def find_config(path: str | Path) -> Path | None:
    """A file by path: as given when it exists, else a relative path under the first root
    that has it; None when none has."""
    p = Path(path)
    if p.is_absolute() or p.exists():
        return p if p.exists() else None
    for root in search_roots():
        if (root / p).is_file():
            return root / p
    return None


def _under() -> str:
    looked = ", ".join(str(r) for r in search_roots())
    return f" (looked under {looked}; add roots with {PATH_ENV})"


def _names(folder: Path, marker: str | None) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(
        p.stem
        for p in folder.glob("*.py")
        if not p.name.startswith("_")
        and (marker is None or marker in p.read_text(encoding="utf-8"))
    )


def available(folder: Path, marker: str | None = None) -> list[str]:
    """Names of the ``*.py`` files (not starting with ``_``; containing ``marker`` when
    given) in ``folder`` and the folders of its name along the search path."""
    return sorted({n for f in search_folders(folder) for n in _names(f, marker)})


def load_named(
    name_or_path: str, folder: Path, attr: str, kind: str, namespace: str
) -> tuple[Path, ModuleType, object]:
    """``(path, module, module.<attr>)`` of the ``kind`` (e.g. "strategy") named
    ``name_or_path``; the attribute is None when the file does not define it."""
    if "/" in name_or_path or name_or_path.endswith(".py"):
        found_file = find_config(name_or_path)
        if found_file is None or not found_file.is_file():
            where = "" if Path(name_or_path).is_absolute() else _under()
            raise LookupError(f"{kind} file {name_or_path} does not exist{where}")
        path = found_file
    else:
        folders = search_folders(folder)
        found = [f / f"{name_or_path}.py" for f in folders if (f / f"{name_or_path}.py").is_file()]
        if not found:
            names = ", ".join(available(folder, attr)) or "none"
            looked = ", ".join(str(f) for f in folders)
            raise LookupError(
                f"unknown {kind} {name_or_path!r}; looked in {looked} (add folders with "
                f"{PATH_ENV}); available: {names}"
            )
        path = found[0]
    module_name = f"{namespace}.{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise LookupError(f"cannot load {kind} file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return path, module, getattr(module, attr, None)
