"""Medians, goals and the RESULTS.md table."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import load_average_line

RESULTS = Path(__file__).parent / "RESULTS.md"


@dataclass
class Measurement:
    backend: str  # postgres | sqlite | - (no database)
    name: str
    bars: int  # bars handled by one sample
    seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def rate(self) -> float:
        """Bars per second at the median time."""
        return self.bars / self.median if self.seconds and self.median > 0 else 0.0


@dataclass(frozen=True)
class Goal:
    text: str
    value: float
    target: float
    unit: str  # "bars/s" or "x"
    reference: bool = False  # shown against the target, but not a stated goal

    @property
    def met(self) -> bool:
        return self.value >= self.target


class Results:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Measurement] = {}

    def add(self, backend: str, name: str, bars: int, seconds: float) -> None:
        key = (backend, name)
        if key not in self.items:
            self.items[key] = Measurement(backend, name, bars)
        m = self.items[key]
        if m.bars != bars:
            raise AssertionError(f"{backend} {name}: {bars} bars, earlier samples had {m.bars}")
        m.seconds.append(seconds)

    def get(self, backend: str, name: str) -> Measurement | None:
        m = self.items.get((backend, name))
        return m if m is not None and m.seconds else None


def fmt_rate(x: float) -> str:
    return f"{x:,.0f}"


def table(results: Results, order: list[str]) -> list[str]:
    """One row per measurement: the no-database ones, then by backend, in ``order``."""
    backends = ["-", "postgres", "postgres-fsync", "sqlite"]

    def key(m: Measurement) -> tuple[int, int, str]:
        rank = order.index(m.name) if m.name in order else len(order)
        return backends.index(m.backend) if m.backend in backends else 9, rank, m.name

    rows = [
        "| backend | measurement | bars | runs | median s | min s | max s | bars/s (median) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for m in sorted(results.items.values(), key=key):
        if not m.seconds:
            continue
        rows.append(
            f"| {m.backend} | {m.name} | {m.bars:,} | {len(m.seconds)} | {m.median:.3f} | "
            f"{min(m.seconds):.3f} | {max(m.seconds):.3f} | {fmt_rate(m.rate)} |"
        )
    return rows


def goal_rows(goals: list[Goal]) -> list[str]:
    rows = ["| goal | measured | target | met |", "|---|---:|---:|---|"]
    for g in goals:
        if g.unit == "x":
            measured, target = f"{g.value:.1f}x", f"{g.target:.0f}x"
        else:
            measured, target = f"{fmt_rate(g.value)} bars/s", f"{fmt_rate(g.target)} bars/s"
        met = "yes" if g.met else "**no**"
        if g.reference:
            met = f"no goal ({'above' if g.met else 'below'} it)"
        rows.append(f"| {g.text} | {measured} | {target} | {met} |")
    return rows


def ratio_rows(ratios: list[tuple[str, float]]) -> list[str]:
    rows = ["| ours vs baseline (bars/s at the medians) | ratio |", "|---|---:|"]
    rows += [f"| {label} | {value:.1f}x |" for label, value in ratios]
    return rows


def write_section(section: str, body: str, header: str, path: Path = RESULTS) -> None:
    """Replace (or append) one generated section of RESULTS.md, keeping everything else."""
    begin, end = f"<!-- bench:begin {section} -->", f"<!-- bench:end {section} -->"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else header
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


def with_load_average(text: str) -> str:
    """``text`` with the load average at start and end after its ``- Date:`` line (or its
    first list line; at its end if it has none), unless it already states it."""
    line = load_average_line()
    if "- Load average" in text:
        return text
    lines = text.splitlines()
    at = next((i for i, x in enumerate(lines) if x.startswith("- Date")), None)
    if at is None:
        at = next((i for i, x in enumerate(lines) if x.startswith("- ")), len(lines) - 1)
    lines.insert(at + 1, line)
    return "\n".join(lines)


def publish(section: str, text: str, header: str, write: bool) -> None:
    """Print a benchmark's report and, with ``write``, put it in its section of RESULTS.md;
    every report states the load average at the start and at the end of its run."""
    text = with_load_average(text)
    print(f"\n{text}", flush=True)
    if write:
        write_section(section, text, header)
        print(f"\nwrote {RESULTS} (section {section})", flush=True)
