"""``python -m tradewind.dashboards [BUNDLE_DIR]``: check a bundle, print its problems, exit 1
if it has any (BUNDLE_DIR defaults to superset/bundle)."""

from __future__ import annotations

import sys

from tradewind.dashboards.bundle import BundleError
from tradewind.dashboards.validate import check_bundle


def main(argv: list[str]) -> int:
    root = argv[0] if argv else "superset/bundle"
    try:
        bundle = check_bundle(root)
    except BundleError as exc:
        print(exc, file=sys.stderr)
        return 1
    counts = ", ".join(f"{len(files)} {kind}" for kind, files in bundle.files.items())
    print(f"{root}: valid ({counts})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
