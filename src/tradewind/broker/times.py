"""v20 times (RFC 3339 with up to nine fraction digits, or UNIX seconds) as epoch µs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def v20_time_us(value: Any) -> int | None:
    """``value`` as int epoch microseconds (UTC), truncating nanoseconds; None when it is not
    a v20 time."""
    if not isinstance(value, str) or not value:
        return None
    try:
        if "T" not in value:  # UNIX: "1704196800.000000000"
            whole, _, frac = value.partition(".")
            if not whole.isascii() or not whole.isdigit() or (frac and not frac.isdigit()):
                return None
            return int(whole) * 1_000_000 + int((frac + "000000")[:6])
        head, _, rest = value.partition(".")
        frac = rest.rstrip("Z") if rest else ""
        if not value.endswith("Z") or (frac and (not frac.isascii() or not frac.isdigit())):
            return None
        stamp = datetime.strptime(head.rstrip("Z"), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None
    delta = stamp - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + int((frac + "000000")[:6])
