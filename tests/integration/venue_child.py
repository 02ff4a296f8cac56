"""The paper venue in a process of its own, so a test can kill it with -9 and start it again.

``python venue_child.py PORT START_NS [--seed N]``; the token comes from
``TRADEWIND_VENUE_TOKEN`` and the database URL from ``TRADEWIND_CHILD_DATABASE_URL`` (never
the command line). The clock is stepped: it stands at ``START_NS`` until the test moves it
through ``POST /admin/clock``. Transactions persist in the database, so a restart on the same
database (and a ``START_NS`` where the last run's clock stood) carries the account on.
Prints ``READY`` once it accepts connections.
"""

from __future__ import annotations

import argparse
import os
import time

from tradewind.venue import service


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("start_ns", type=int)
    p.add_argument("--seed", type=int, default=5)
    args = p.parse_args()
    venue = service.Venue.build(
        token=os.environ["TRADEWIND_VENUE_TOKEN"],
        database_url=os.environ["TRADEWIND_CHILD_DATABASE_URL"],
        seed=args.seed,
        heartbeat_s=0.5,
        clock="stepped",
        start_ns=args.start_ns,
    )
    with service.serve_in_thread(venue, port=args.port):
        print("READY", flush=True)
        while True:
            time.sleep(3600)


if __name__ == "__main__":
    main()
