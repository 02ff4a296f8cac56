"""Wait until the services a container needs accept connections, then return (or exec).

Compose's ``depends_on`` conditions order the start, but some compose tools ignore them and a
dependency can restart later; so every container of the stack also waits by itself::

    python -m tradewind.stack.wait postgres:5432 redis:6379 [--timeout 180] [-- CMD ARGS...]

Each ``host:port`` is tried with a TCP connect, backing off from 0.5 s to 5 s, until all
answer or ``--timeout`` seconds pass (exit 1 naming those that never answered). With ``--``,
the command is exec'd once they answer. ``TRADEWIND_WAIT_FOR`` (space separated) adds
targets, so an entrypoint can wait for what its service's environment names.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from collections.abc import Sequence


def parse_target(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} is not HOST:PORT")
    return host, int(port)


def answers(host: str, port: int, timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for(
    targets: Sequence[tuple[str, int]], timeout: float, log: bool = True
) -> list[tuple[str, int]]:
    """Wait until every target accepts a connection; return those that never did."""
    deadline = time.monotonic() + timeout
    pending = list(targets)
    delay = 0.5
    announced = False
    while pending:
        pending = [t for t in pending if not answers(*t)]
        if not pending or time.monotonic() >= deadline:
            break
        if log and not announced:
            names = ", ".join(f"{h}:{p}" for h, p in pending)
            print(f"wait: waiting for {names} (up to {timeout:g} s)", file=sys.stderr, flush=True)
            announced = True
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, 5.0)
    return pending


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command: list[str] = []
    if "--" in args:
        at = args.index("--")
        args, command = args[:at], args[at + 1 :]
    parser = argparse.ArgumentParser(prog="python -m tradewind.stack.wait")
    parser.add_argument("targets", nargs="*", help="HOST:PORT to wait for")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds (default 180)")
    ns = parser.parse_args(args)
    texts = [*ns.targets, *os.environ.get("TRADEWIND_WAIT_FOR", "").split()]
    try:
        targets = [parse_target(t) for t in texts]
    except ValueError as exc:
        print(f"wait: {exc}", file=sys.stderr)
        return 2
    missing = wait_for(targets, ns.timeout)
    if missing:
        names = ", ".join(f"{h}:{p}" for h, p in missing)
        print(f"wait: {names} did not answer within {ns.timeout:g} s", file=sys.stderr)
        return 1
    if command:
        os.execvp(command[0], command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
