"""Benchmark: the paper venue under concurrent load (issue 17).

``python -m bench.venue_load`` (``make bench``). The venue runs as it does in production,
``tradewind venue serve`` in a process of its own (fast clock at 1x from Tuesday 2024-01-02
12:00 UTC, the FX market open), on a fresh persisted database: a SQLite file and a fresh
Postgres database (``TRADEWIND_BENCH_DATABASE_URL``, default the local server at
127.0.0.1:5432). With 2 or more cores the venue is pinned to core 0 (``taskset``) and the load
client to core 1. The client (``bench.venue_load_client``: asyncio + aiohttp) keeps 1, 10, 50
and 200 connections busy for ``--seconds`` a run with a mix of pricing polls, account
summaries, MARKET orders and transactions-since-id polls; requests/s and the latency
percentiles of every answer, per run; the figures are medians of ``--runs`` runs.
Checks: no request failed or timed out (15 s), every order filled, the fills' transaction ids
distinct, and after the venue is killed with -9 and started again every order the client
got a 201 for is in its transactions.
``--write-results`` writes section ``venue-load`` of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import requests

from bench.common import check, command_line, log, machine_info
from bench.report import publish
from bench.venue_load_client import ACCOUNT, MIX, RunStats, run_load, summary
from tradewind.testing.postgres import drop_database, fresh_database

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / ".data" / "venue-load"
TOKEN = "bench-" + uuid.uuid4().hex
START = "2024-01-02T12:00:00Z"
ENV_URL = "TRADEWIND_BENCH_DATABASE_URL"
LOCAL_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TIMEOUT = 15.0
GOAL_P50, GOAL_MAX = 1.0, 5.0
HEADER = "# Benchmark results\n"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.venue_load", description=__doc__)
    p.add_argument("--connections", default="1,10,50,200", help="levels (1,10,50,200)")
    p.add_argument("--seconds", type=float, default=10.0, help="seconds a run (10)")
    p.add_argument("--runs", type=int, default=3, help="runs a level (3)")
    p.add_argument("--backends", default="sqlite,postgres", help="sqlite,postgres")
    p.add_argument("--label", default="", help="a name for this code in the report")
    p.add_argument(
        "--venue-src",
        type=Path,
        default=ROOT / "src",
        help="the src/ directory whose venue is served (A/B against another checkout)",
    )
    p.add_argument("--write-results", action="store_true")
    args = p.parse_args(argv)
    args.levels = [int(x) for x in args.connections.split(",")]
    args.backend_list = [b for b in args.backends.split(",") if b]
    return args


def _cores() -> tuple[list[str], int | None]:
    """The venue's ``taskset`` prefix and the client's core (none with fewer than 2)."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2 or shutil.which("taskset") is None:
        return [], None
    return ["taskset", "-c", str(cores[0])], cores[1]


@contextlib.contextmanager
def database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        d = Path(tempfile.mkdtemp(prefix="db-", dir=DATA))
        try:
            yield f"sqlite:///{d}/venue.db"
        finally:
            shutil.rmtree(d, ignore_errors=True)
        return
    url = fresh_database(os.environ.get(ENV_URL, "").strip() or LOCAL_PG)
    try:
        yield url
    finally:
        drop_database(url)


class VenueProcess:
    """``tradewind venue serve`` on a free port, the code of ``src`` (this checkout's)."""

    def __init__(self, db_url: str, port: int, prefix: list[str], src: Path) -> None:
        self.db_url, self.port, self.prefix, self.src = db_url, port, prefix, src
        self.base = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(self.src), os.environ.get("PYTHONPATH", "")]),
            "TRADEWIND_DATABASE_URL": self.db_url,
            "TRADEWIND_VENUE_TOKEN": TOKEN,
            "TRADEWIND_HOME": str(DATA / "home"),
        }
        cmd = [
            *self.prefix, sys.executable, "-c", "from tradewind.cli.app import main; main()",
            "venue", "serve", "--port", str(self.port), "--clock", "fast", "--speed", "1",
            "--start", START,
        ]  # fmt: skip
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            check(self.proc.poll() is None, "the venue process exited at start")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.base}/v3/accounts", headers=auth(), timeout=2).ok:
                    return
            time.sleep(0.2)
        raise AssertionError("the venue did not answer within 60 s")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stored_creates(base: str) -> set[str]:
    r = requests.get(
        f"{base}/v3/accounts/{ACCOUNT}/transactions/sinceid?id=0", headers=auth(), timeout=60
    )
    r.raise_for_status()
    return {t["id"] for t in r.json()["transactions"] if t["type"] == "MARKET_ORDER"}


def measure(backend: str, args: argparse.Namespace) -> dict[int, list[RunStats]]:
    prefix, client_core = args.cores
    if client_core is not None:
        os.sched_setaffinity(0, {client_core})
    out: dict[int, list[RunStats]] = {n: [] for n in args.levels}
    with database(backend) as url:
        venue = VenueProcess(url, free_port(), prefix, args.venue_src)
        venue.start()
        try:
            acked: set[str] = set()
            for run in range(args.runs):
                for n in args.levels:
                    st = asyncio.run(
                        run_load(venue.base, TOKEN, n, args.seconds, TIMEOUT, seed=run * 1000 + n)
                    )
                    out[n].append(st)
                    acked.update(st.order_ids)
                    s = summary(st.all)
                    log(
                        f"  {backend} {n:>3} conns run {run + 1}: {st.rate:,.0f} req/s, "
                        f"p50 {s['p50'] * 1e3:,.1f} ms, max {s['max'] * 1e3:,.0f} ms, "
                        f"{len(st.timeouts)} unanswered, {len(st.order_ids)} orders"
                    )
                    check(not st.failures, f"{backend} {n} conns: {st.failures[:3]}")
                    check(len(st.fill_ids) == len(st.order_ids), "an order did not fill")
                    check(len(set(st.fill_ids)) == len(st.fill_ids), "a fill id repeats")
            venue.kill()  # -9: every order answered 201 must be on disk
            venue.start()
            missing = acked - stored_creates(venue.base)
            check(not missing, f"{len(missing)} acknowledged orders lost by kill -9")
            log(f"  {backend}: all {len(acked):,} acknowledged orders survived kill -9")
        finally:
            venue.stop()
    return out


def ms(x: float) -> str:
    return f"{x * 1e3:,.0f}" if x >= 0.01 else f"{x * 1e3:,.1f}"


def med(runs: list[RunStats], key: str, kind: str | None = None) -> float:
    return statistics.median(
        summary(r.latencies[kind] if kind else r.all)[key] if key != "rate" else r.rate
        for r in runs
    )


def report(results: dict[str, dict[int, list[RunStats]]], args: argparse.Namespace) -> str:
    mix = ", ".join(f"{k} {v}%" for k, v in MIX.items())
    _, core = args.cores
    pin = "venue on core 0, client on core 1 (taskset)" if core is not None else "no pinning"
    lines = [
        f"## Paper venue under concurrent load{f' ({args.label})' if args.label else ''}",
        "",
        f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- Command: `{command_line('bench.venue_load')}`",
        *(f"- {k}: {v}" for k, v in args.machine.items()),
        f"- Setup: `tradewind venue serve` in its own process ({pin}); closed-loop "
        f"connections, {args.seconds:g} s a run, {args.runs} runs a level; mix: {mix}. "
        "Latency = send to last byte; medians of the per-run figures.",
        "",
        "| database | connections | requests/s | p50 ms | p90 ms | p99 ms | max ms "
        "| order p50 ms | order max ms | unanswered | goal (p50 <= 1 s, max <= 5 s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for backend, levels in results.items():
        for n, runs in levels.items():
            p50, mx = med(runs, "p50"), max(summary(r.all)["max"] for r in runs)
            lost = sum(len(r.timeouts) for r in runs)
            ok = "met" if p50 <= GOAL_P50 and mx <= GOAL_MAX and not lost else "**not met**"
            lines.append(
                f"| {backend} | {n} | {med(runs, 'rate'):,.0f} | {ms(p50)} | "
                f"{ms(med(runs, 'p90'))} | {ms(med(runs, 'p99'))} | {ms(med(runs, 'max'))} | "
                f"{ms(med(runs, 'p50', 'order'))} | {ms(med(runs, 'max', 'order'))} | "
                f"{lost} | {ok} |"
            )
    lines += [
        "",
        "The goal column uses the worst max of all runs; unanswered = requests of all runs "
        f"with no answer within {TIMEOUT:g} s (or a dropped connection). Every run: no "
        "answer other than v20's success status, every answered order filled; after the runs "
        "the venue was killed with -9 and restarted: every order answered 201 was stored.",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    args.machine = machine_info(["uvicorn", "starlette", "aiohttp"])  # before pinning
    args.cores = _cores()
    DATA.mkdir(parents=True, exist_ok=True)
    results = {b: measure(b, args) for b in args.backend_list}
    section = "venue-load" + (f"-{args.label}" if args.label else "")
    publish(section, report(results, args), HEADER, args.write_results)


if __name__ == "__main__":
    main()
