"""Decision functions: ``obs -> target position in [-1, 1]``, named by a spec string.

A spec is ``"package.module:function"`` (an importable module) or ``"path/to/file.py:function"``
(a Python file; a relative path is tried from the working directory, then from the repository
root, so ``"models/momentum_sign.py:decide"`` works from anywhere). ``function`` may be dotted
(``"module:Policy.decide"``). ``load_decision`` is the one entry point the model-driven strategy
uses; registered (trained) models will plug in here.

Errors: a malformed spec is a ``ValueError``; a missing module, file or function a
``LookupError``; a name that is not callable a ``TypeError``. Each message quotes the spec.
``DecisionError`` is what a strategy raises when a decision function fails mid-run.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import numpy.typing as npt

# one DecisionError for backtest and live: the shared decision code raises it
from tradewind.config.plugins import search_roots
from tradewind.signals.targets import DecisionError as DecisionError

REPO_ROOT = Path(__file__).resolve().parents[3]


def search_paths(path: Path) -> list[Path]:
    """``path`` under every root of the search path (``tradewind.config.plugins``)."""
    return [root / path for root in search_roots()]


DecisionFn = Callable[[npt.NDArray[np.float64]], float]


def _is_path(target: str) -> bool:
    return "/" in target or "\\" in target or target.endswith(".py")


def _resolve_file(target: str, spec: str) -> Path:
    path = Path(target).expanduser()
    candidates = (
        [path]
        if path.is_absolute()
        else list(dict.fromkeys([Path.cwd() / path, REPO_ROOT / path, *search_paths(path)]))
    )
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    tried = ", ".join(str(c) for c in candidates)
    raise LookupError(f"decision {spec!r}: file {target} does not exist (tried {tried})")


_FILE_MODULES: dict[tuple[Path, int], ModuleType] = {}


def _load_file(path: Path, spec: str) -> ModuleType:
    key = (path, path.stat().st_mtime_ns)
    cached = _FILE_MODULES.get(key)
    if cached is not None:
        return cached
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    module_name = f"tradewind_decisions.{path.stem}_{digest}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise LookupError(f"decision {spec!r}: cannot load {path} as a Python file")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    try:
        module_spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    _FILE_MODULES[key] = module
    return module


def _import_module(target: str, spec: str) -> ModuleType:
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as exc:
        # only "the named module is missing" is a lookup error; a missing dependency of an
        # existing module propagates as itself
        if exc.name is not None and (target == exc.name or target.startswith(exc.name + ".")):
            raise LookupError(f"decision {spec!r}: no module named {target!r}") from exc
        raise


def load_decision(spec: str) -> DecisionFn:
    """The callable named by ``spec`` (``"module:function"`` or ``"path/file.py:function"``)."""
    if not isinstance(spec, str):
        raise ValueError(f"decision spec must be a string, got {type(spec).__name__}")
    target, sep, func_name = spec.strip().rpartition(":")
    if not sep or not target or not func_name:
        raise ValueError(
            f"decision spec {spec!r} is not 'module:function' or 'path/to/file.py:function'"
        )
    if not all(part.isidentifier() for part in func_name.split(".")):
        raise ValueError(f"decision spec {spec!r}: {func_name!r} is not a function name")
    if _is_path(target):
        module = _load_file(_resolve_file(target, spec), spec)
    else:
        module = _import_module(target, spec)
    obj: object = module
    for part in func_name.split("."):
        if not hasattr(obj, part):
            raise LookupError(f"decision {spec!r}: {target} has no attribute {func_name!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"decision {spec!r}: {func_name} is a {type(obj).__name__}, not callable")
    return obj


def decision_name(decision: object) -> str:
    """A readable name for a spec string or a callable (for error messages)."""
    if isinstance(decision, str):
        return decision
    module = getattr(decision, "__module__", None)
    name = getattr(decision, "__qualname__", None) or type(decision).__name__
    return f"{module}:{name}" if module else name
