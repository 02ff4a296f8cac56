"""Progress of long CLI steps on stderr: a rich bar on a terminal; otherwise (output piped,
CI) a plain line every few seconds with done/total, elapsed time and ETA.

``with task("training ppo", quiet=...) as update:`` yields a
:data:`tradewind.domain.progress.Progress` to hand to an engine (or to ignore, for a step
whose size is unknown: then the bar is a spinner and the plain line says the elapsed time).
A step that ends before the first interval prints nothing in plain mode.

Environment: ``TRADEWIND_PROGRESS`` = ``auto`` (default), ``bar``, ``plain`` or ``off``;
``TRADEWIND_PROGRESS_INTERVAL`` = seconds between plain lines (default 5); ``CI`` set
means plain."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TextIO

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from tradewind.cli.context import err
from tradewind.domain.progress import Progress as ProgressFn

MODES = ("auto", "bar", "plain", "off")


def mode() -> str:
    """The progress display this process uses: ``bar``, ``plain`` or ``off``."""
    chosen = os.environ.get("TRADEWIND_PROGRESS", "auto").strip().lower() or "auto"
    if chosen not in MODES:
        chosen = "auto"
    if chosen != "auto":
        return chosen
    if os.environ.get("CI") or not err.is_terminal:
        return "plain"
    return "bar"


def interval() -> float:
    try:
        return max(0.05, float(os.environ.get("TRADEWIND_PROGRESS_INTERVAL", "5")))
    except ValueError:
        return 5.0


def _clock(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds)))


def plain_line(label: str, done: int, total: int | None, elapsed: float) -> str:
    """``label: 4,096/20,480 (20%), elapsed 0:00:12, ETA 0:00:48`` (no counts when the
    size of the work is unknown, no ETA before any of it is done)."""
    if not total:
        return f"{label}: elapsed {_clock(elapsed)}"
    share = done / total
    eta = f", ETA {_clock(elapsed / share - elapsed)}" if done > 0 else ""
    return f"{label}: {done:,}/{total:,} ({share:.0%}), elapsed {_clock(elapsed)}{eta}"


class _PlainTicker:
    """Writes :func:`plain_line` to ``stream`` every ``every`` seconds until stopped."""

    def __init__(self, label: str, total: int | None, every: float, stream: TextIO) -> None:
        self.label, self.total, self.every, self.stream = label, total, every, stream
        self.done = 0
        self.started = time.monotonic()
        self.printed = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="progress", daemon=True)

    def update(self, done: int, total: int) -> None:
        self.done, self.total = done, total

    def _write(self) -> None:
        elapsed = time.monotonic() - self.started
        self.stream.write(plain_line(self.label, self.done, self.total, elapsed) + "\n")
        self.stream.flush()
        self.printed = True

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._write()

    def __enter__(self) -> _PlainTicker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        if self.printed and exc[0] is None:  # a closing line for a step that was reported
            self._write()


def _bar() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )


@contextmanager
def task(label: str, total: int | None = None, *, quiet: bool = False) -> Iterator[ProgressFn]:
    """Show the progress of one step on stderr while the block runs. ``quiet`` (``--json``
    output) keeps a terminal bar away but not the plain lines: they go to stderr, which a
    script reading stdout does not see mixed in."""
    shown = mode()
    if shown == "bar" and quiet:
        shown = "plain"
    if shown == "off":
        yield lambda done, total: None
    elif shown == "plain":
        with _PlainTicker(label, total, interval(), sys.stderr) as ticker:
            yield ticker.update
    else:
        with _bar() as bar:
            handle = bar.add_task(label, total=total)
            yield lambda done, total: bar.update(handle, completed=done, total=total)
