"""The stack's one-shot ``minio-init``: create the object-store buckets if they are missing.

    python -m tradewind.stack.buckets BUCKET [BUCKET ...]

Endpoint from ``S3_ENDPOINT_URL`` (``http://minio:9000``), keys from ``MINIO_ROOT_USER`` and
``MINIO_ROOT_PASSWORD``. Idempotent: a bucket that exists is left as it is. The store is tried
for up to ``--timeout`` seconds (it may still be starting); a refused key fails at once.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from urllib.parse import urlsplit


def ensure_buckets(client: object, names: Sequence[str]) -> list[str]:
    """Create the missing buckets; return those created."""
    created = []
    for name in names:
        if not client.bucket_exists(name):  # type: ignore[attr-defined]
            client.make_bucket(name)  # type: ignore[attr-defined]
            created.append(name)
    return created


def main(argv: Sequence[str] | None = None) -> int:
    from minio import Minio
    from minio.error import S3Error
    from urllib3.exceptions import HTTPError

    parser = argparse.ArgumentParser(prog="python -m tradewind.stack.buckets")
    parser.add_argument("buckets", nargs="+")
    parser.add_argument("--timeout", type=float, default=120.0)
    ns = parser.parse_args(argv)
    endpoint = os.environ.get("S3_ENDPOINT_URL", "http://minio:9000")
    user, password = os.environ.get("MINIO_ROOT_USER"), os.environ.get("MINIO_ROOT_PASSWORD")
    if not user or not password:
        print("buckets: MINIO_ROOT_USER and MINIO_ROOT_PASSWORD must be set", file=sys.stderr)
        return 1
    parts = urlsplit(endpoint)
    client = Minio(
        parts.netloc, access_key=user, secret_key=password, secure=parts.scheme == "https"
    )
    deadline = time.monotonic() + ns.timeout
    while True:
        try:
            created = ensure_buckets(client, ns.buckets)
            break
        except S3Error as exc:  # the store answered: a refused key or a bad name is final
            print(f"buckets: {endpoint}: {exc.code}: {exc.message}", file=sys.stderr)
            return 1
        except (OSError, HTTPError) as exc:  # not up yet
            if time.monotonic() >= deadline:
                print(f"buckets: {endpoint} did not answer: {exc}", file=sys.stderr)
                return 1
            time.sleep(2)
    kept = [b for b in ns.buckets if b not in created]
    print(
        f"buckets on {endpoint}: created {', '.join(created) or 'none'}; "
        f"already there {', '.join(kept) or 'none'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
