"""Helpers every benchmark uses: logging, timing a call, correctness checks."""

from __future__ import annotations

import contextlib
import gc
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

LOAD_AT_START = os.getloadavg()  # when the benchmark's process started (this module's import)


def load_average_line() -> str:
    """The load average at the benchmark's start and now, for its report: on a shared machine
    it says how much else was running while the figures were taken."""
    now = os.getloadavg()

    def fmt(x: tuple[float, float, float]) -> str:
        return " / ".join(f"{v:.2f}" for v in x)

    cores = len(os.sched_getaffinity(0))
    return (
        f"- Load average (1 / 5 / 15 min, {cores} cores): {fmt(LOAD_AT_START)} at start, "
        f"{fmt(now)} at end"
    )


def log(msg: str) -> None:
    print(msg, flush=True)


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """Wall time of one call (after a garbage collection, so earlier garbage isn't billed)."""
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def check(cond: bool, what: str) -> None:
    if not cond:
        raise AssertionError(f"benchmark correctness check failed: {what}")


def package_version(pkg: str) -> str:
    try:
        return version(pkg)
    except PackageNotFoundError:
        return "not installed"


def machine_info(packages: Sequence[str]) -> dict[str, str]:
    """The machine, Python and ``packages``' versions, for a benchmark's report."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 2**20:.0f} GiB RAM"
    return {
        "Machine": f"{len(os.sched_getaffinity(0))} cores (nproc), {cpu}{mem}, "
        f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "Libraries": ", ".join(f"{p} {package_version(p)}" for p in packages),
    }


def command_line(module: str, argv: Sequence[str] | None = None) -> str:
    """How this benchmark was run, for its section of RESULTS.md: the interpreter (relative
    to the working directory when inside it), ``-m module`` and the arguments."""
    python = Path(sys.executable)
    with contextlib.suppress(ValueError):
        python = python.relative_to(Path.cwd())
    args = argv if argv is not None else sys.argv[1:]
    return f"{python} -m {module}" + "".join(f" {shlex.quote(a)}" for a in args)
