"""How every container of the stack starts its program (both images' entrypoints end here)::

    python -m tradewind.stack.start -- COMMAND [ARGS...]

1. ``TRADEWIND_REQUIRES`` (space separated ``NAME`` or ``NAME=ENV_NAME``): the secrets this
   service needs are checked (``tradewind.stack.secrets.check``); a missing or placeholder one
   stops the container with a message that names the variable, never its value.
2. ``TRADEWIND_WAIT_FOR`` (space separated ``host:port``): waits until each accepts a
   connection (``TRADEWIND_WAIT_TIMEOUT`` seconds, default 300), whatever the compose tool
   does with ``depends_on``.
3. ``TRADEWIND_ATTEMPTS`` (a one-shot, idempotent by design): a command that fails is run
   again, 10 s apart, up to that many times in all (a name not yet resolvable, a server still
   starting). Otherwise the command replaces this process (``exec``), so signals reach it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence

from tradewind.stack import secrets as stack_secrets
from tradewind.stack.wait import parse_target, wait_for

PAUSE_S = 10.0


def preflight(environ: Mapping[str, str]) -> str | None:
    """What stops this container before its command runs, or None."""
    names = environ.get("TRADEWIND_REQUIRES", "").split()
    if names:
        try:
            problems = stack_secrets.check(environ, names)
        except ValueError as exc:  # a name that is not a stack variable
            return f"TRADEWIND_REQUIRES: {exc}"
        if problems:
            return "refusing to start: " + "; ".join(problems)
    targets = environ.get("TRADEWIND_WAIT_FOR", "").split()
    if targets:
        try:
            parsed = [parse_target(t) for t in targets]
        except ValueError as exc:
            return f"TRADEWIND_WAIT_FOR: {exc}"
        timeout = float(environ.get("TRADEWIND_WAIT_TIMEOUT", "300"))
        missing = wait_for(parsed, timeout)
        if missing:
            names_ = ", ".join(f"{h}:{p}" for h, p in missing)
            return f"{names_} did not answer within {timeout:g} s"
    return None


def run_with_attempts(command: Sequence[str], attempts: int, pause_s: float = PAUSE_S) -> int:
    """Run ``command`` until it succeeds, at most ``attempts`` times; its last exit code."""
    code = 1
    for attempt in range(1, attempts + 1):
        code = subprocess.call(list(command))
        if code == 0:
            return 0
        if attempt < attempts:
            print(
                f"start: {command[0]} failed with {code} (attempt {attempt} of {attempts}): "
                f"trying again in {pause_s:g} s",
                file=sys.stderr,
                flush=True,
            )
            time.sleep(pause_s)
    print(f"start: {command[0]} failed {attempts} times: giving up", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        print("usage: python -m tradewind.stack.start -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    problem = preflight(os.environ)
    if problem:
        print(f"start: {problem}", file=sys.stderr)
        return 1
    attempts = int(os.environ.get("TRADEWIND_ATTEMPTS", "1") or "1")
    if attempts > 1:
        return run_with_attempts(args, attempts)
    os.execvp(args[0], args)
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main())
