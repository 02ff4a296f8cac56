"""Benchmark: the live desk's order path alone (issue 18), in the stream and warm, and the OMS's
statement building.

``python -m bench.order_path_bench [--runs 3] [--bars 500] [--orders 300] [--oms-only]
[--url URL]``: prints, does not write bench/RESULTS.md (``bench.live_bench`` writes the live
section). Per run: a fresh rule desk of ``bench.live_parts`` (2 features, 60 ticks a bar) fed
the same seeded ticks once untimed per part (for the tick -> intent latency) and once with a
timer around each order-path part; then the same parts in a warm loop; then ``OrderManager``
on ``SqlOmsStore`` (a temp SQLite file, or the database at ``--url``, migrated) with an
in-memory broker that fills every MARKET order at once: ``prepare`` (the order registered in
memory), ``OrderWorker.submit`` (what the desk's price thread pays for an order: prepare and
queue; the worker is started after the timed loop, then sends them all: each must fill) and
``submit`` (stored, SUBMITTED, the answer and its two transactions applied), wall time and this
thread's CPU time (the commit's wait for the disk is not CPU). ``--oms-only`` skips the desk.
Medians of runs.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench import live_parts as lp
from bench.common import check, log
from tradewind.domain.orders import OrderIntent
from tradewind.oms.execution import market_fields
from tradewind.testing.filling_broker import FillingBroker

ORDER_PARTS = lp.PART_NAMES[lp.PART_NAMES.index("make_algo: a new market algorithm") :]


def stream_run(bars: int) -> dict[str, float]:
    """One untimed-parts run (latencies) and one instrumented run (parts), µs medians."""
    history = lp.synthetic_bars()
    history = history.take(np.arange(len(history) - lp.HISTORY_BARS, len(history)))
    ticks = lp.tick_stream(history, bars, 60)
    d = lp.deployment("rule", model=False, features=lp.SMA_SPEC.name)
    desk, book, refused = lp.build_desk(d, lp.SMA_SPEC, history)
    lat, clock = [], time.perf_counter_ns
    gc.collect()
    for tick in ticks:
        t = clock()
        desk.on_tick(tick)
        lat.append(clock() - t)
    check(not refused and book.intents, "the rule desk sent intents, none refused")
    sent = {t.ts_us for t in book.sent_at}
    ns = np.array([x for x, t in zip(lat, ticks, strict=True) if t.ts_us in sent])
    out = {"intent p50": np.percentile(ns, 50) / 1e3, "intent p99": np.percentile(ns, 99) / 1e3}
    out["desk latency p50"] = float(np.median(np.array(desk.latency_ns))) / 1e3
    desk = lp.build_desk(d, lp.SMA_SPEC, history)[0]
    parts = lp.instrumented_run(desk, ticks)
    for name in ORDER_PARTS:
        out[name] = statistics.median(parts[name]) / 1e3
    bar = parts["bar close: Desk._on_bar"]
    out["bar close p50"] = statistics.median(bar) / 1e3
    out["order path"] = sum(out[n] for n in (ORDER_PARTS[0], ORDER_PARTS[1], ORDER_PARTS[5]))
    lane, tick = desk.lanes[0], desk.last[lp.SYMBOL]
    intent = OrderIntent(
        lp.SYMBOL, 10_000.0, deployment="rule", **market_fields(tick, 10_000.0, 10, 5)
    )
    view = desk.portfolio()
    check(lane.var.check(intent, view).reason.startswith("VaR"), "the warm check computes VaR")
    out["warm Desk.check"] = lp.bestus(lambda: desk.check(lane, intent), 200)
    out["warm PortfolioVaR.check"] = lp.bestus(lambda: lane.var.check(intent, view), 200)
    out["warm PortfolioVaR.update"] = lp.bestus(lambda: lane.var.update(lp.SYMBOL, tick.mid), 200)
    return out


def _timed(fn: Any, args: Sequence[Any]) -> tuple[list[int], list[int]]:
    ns, cpu = [], []
    for arg in args:
        t, c = time.perf_counter_ns(), time.thread_time_ns()
        fn(arg)
        ns.append(time.perf_counter_ns() - t)
        cpu.append(time.thread_time_ns() - c)
    return ns, cpu


def oms_run(orders: int, url: str | None, run: int) -> dict[str, float]:
    from tradewind.domain.orders import OrderState
    from tradewind.oms import OrderManager
    from tradewind.oms.worker import OrderWorker
    from tradewind.storage import migrate
    from tradewind.storage.engine import make_engine
    from tradewind.storage.oms import SqlOmsStore

    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="order-path-") as tmp:
        engine = make_engine(url or f"sqlite:///{Path(tmp) / 'oms.db'}")
        migrate.upgrade(engine)
        account = f"acct{run}-{time.time_ns()}"  # a database at --url may hold earlier runs
        oms = OrderManager(FillingBroker(), SqlOmsStore(engine), account)  # type: ignore[arg-type]
        intents = [
            OrderIntent(lp.SYMBOL, 1000.0 - 2000.0 * (i % 2), time_in_force="FOK",
                        price_bound=1.2 if i % 2 == 0 else 1.0, deployment="bench",
                        algo="market:x#1", reason="bench")
            for i in range(orders)
        ]  # fmt: skip
        for i in range(10):
            check(oms.submit(intents[i]).state is OrderState.FILLED, "filled")
        worker = OrderWorker(oms)
        for kind, fn in (
            ("OrderManager.prepare", oms.prepare),
            ("OrderWorker.submit", worker.submit),
            ("OrderManager.submit", oms.submit),
        ):
            ns, cpu = _timed(fn, intents)
            if fn == worker.submit:
                check(worker.start().drain(120.0), "the worker sent every queued order")
                worker.stop()
                check(worker.sent == orders and not worker.errors, "all sent, no errors")
                filled = [o for o in oms.store.orders(account) if o.state is OrderState.FILLED]
                check(len(filled) == 10 + orders, "every order the worker sent filled")
            out[f"{kind} p50"] = float(np.median(ns)) / 1e3
            out[f"{kind} p99"] = float(np.percentile(ns, 99)) / 1e3
            out[f"{kind} CPU p50"] = float(np.median(cpu)) / 1e3
        engine.dispose()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.order_path_bench")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--bars", type=int, default=500)
    p.add_argument("--orders", type=int, default=300)
    p.add_argument("--oms-only", action="store_true", help="skip the desk's stream runs")
    p.add_argument("--url", help="the OMS's database (default: a temp SQLite file)")
    a = p.parse_args(argv)
    load0 = os.getloadavg()[0]
    runs: list[dict[str, float]] = []
    for r in range(a.runs):
        log(f"run {r + 1}/{a.runs}")
        desk = {} if a.oms_only else stream_run(a.bars)
        runs.append(desk | oms_run(a.orders, a.url, r))
    log(f"load average (1 min) at the start / end: {load0:.2f} / {os.getloadavg()[0]:.2f}")
    log(f"{'µs, median of ' + str(a.runs) + ' runs':42} {'median':>9}  runs")
    for name in runs[0]:
        xs = [x[name] for x in runs]
        log(f"{name:42} {statistics.median(xs):9.1f}  " + " ".join(f"{x:.1f}" for x in xs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
