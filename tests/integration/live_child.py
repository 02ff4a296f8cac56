"""A live trader in a process of its own, for the crash and restart tests.

``python live_child.py CONFIG VENUE_URL [--crash-after-send N] [--clock-speed S]``;
the venue token comes from ``TRADEWIND_VENUE_TOKEN`` and the database URL from
``TRADEWIND_CHILD_DATABASE_URL`` (never the command line). With
``--crash-after-send N`` the process SIGKILLs itself right after the broker has applied its
N-th order and before the OMS records the answer: the window a real crash would leave.
Prints ``READY <health url>`` once trading.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from tradewind.broker.environments import register_environment
from tradewind.broker.limits import Backoff
from tradewind.broker.oanda import OandaBroker, OandaOptions
from tradewind.pipelines.live import build_trader, load_live_config
from tradewind.storage import migrate
from tradewind.storage.engine import make_engine


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("config", type=Path)
    p.add_argument("venue_url")
    p.add_argument("--crash-after-send", type=int, default=0)
    p.add_argument("--clock-speed", type=float, default=0.0)
    args = p.parse_args()
    cfg = load_live_config(args.config)
    register_environment("tw-live-child", args.venue_url)
    options = OandaOptions(
        read_timeout=2.0,
        stream_stall=2.0,
        connections_per_second=20.0,
        connection_burst=4,
        read_backoff=Backoff(base=0.02, cap=0.2, attempts=5),
        stream_backoff=Backoff(base=0.05, cap=0.3, attempts=1000),
        resolve_backoff=Backoff(base=0.1, cap=1.0, attempts=6),
    )
    broker = OandaBroker(
        "tw-live-child",
        token=os.environ["TRADEWIND_VENUE_TOKEN"],
        account_id=cfg.broker.account_id,
        options=options,
    )
    engine = make_engine(os.environ["TRADEWIND_CHILD_DATABASE_URL"])
    migrate.upgrade(engine)
    sent = 0

    def after_send(_order: object) -> None:
        nonlocal sent
        sent += 1
        if args.crash_after_send and sent == args.crash_after_send:
            print(f"CRASH after order {sent}", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    built = build_trader(engine, cfg, broker, clock_speed=args.clock_speed, after_send=after_send)
    trader = built.trader
    signal.signal(signal.SIGTERM, lambda *_: trader.stop())
    trader.run(on_ready=lambda t: print(f"READY {t.health_url}", flush=True))
    print("STOPPED", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
