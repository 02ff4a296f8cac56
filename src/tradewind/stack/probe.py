"""Healthchecks for the stack's own services: one HTTP GET, exit 0 when it answers as expected.

    python -m tradewind.stack.probe URL [--bearer-env VAR] [--expect 200] [--timeout 5]

``--bearer-env`` names the variable holding a Bearer token (the venue's), so no secret is on
the command line or in the container's healthcheck definition. A healthcheck's arguments carry
no spaces (podman 4.3 re-splits exec-form healthchecks on whitespace).
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence


def probe(url: str, expect: int, timeout: float, token: str | None) -> str | None:
    """None when ``url`` answers ``expect``, else what went wrong."""
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError) as exc:
        return f"{url}: {exc}"
    return None if status == expect else f"{url}: HTTP {status}, expected {expect}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tradewind.stack.probe")
    parser.add_argument("url")
    parser.add_argument("--bearer-env", help="variable holding a Bearer token")
    parser.add_argument("--expect", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=5.0)
    ns = parser.parse_args(argv)
    token = None
    if ns.bearer_env:
        token = os.environ.get(ns.bearer_env)
        if not token:
            print(f"probe: {ns.bearer_env} is not set", file=sys.stderr)
            return 1
    problem = probe(ns.url, ns.expect, ns.timeout, token)
    if problem:
        print(f"probe: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
