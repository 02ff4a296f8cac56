"""Binary COPY codec: exact round trip; bad streams are refused."""

from __future__ import annotations

import numpy as np
import pytest

from tradewind.storage import pgcopy

FIELDS = [("ts", "timestamptz"), ("close", "float8"), ("n", "int8")]


def test_round_trip_is_exact() -> None:
    rng = np.random.default_rng(1)
    ts = np.sort(rng.integers(-(10**15), 4 * 10**15, 1000)).astype(np.int64)
    close = rng.normal(size=1000)
    n = rng.integers(-(2**62), 2**62, 1000).astype(np.int64)
    payload = pgcopy.encode(FIELDS, {"ts": ts, "close": close, "n": n})
    out = pgcopy.decode(FIELDS, [payload[:100], payload[100:]])
    np.testing.assert_array_equal(out["ts"], ts)
    np.testing.assert_array_equal(out["close"], close)
    np.testing.assert_array_equal(out["n"], n)


def test_truncated_or_foreign_streams_are_refused() -> None:
    payload = pgcopy.encode(FIELDS, {"ts": np.zeros(3, np.int64), "close": np.zeros(3), "n": 1})
    with pytest.raises(ValueError, match="trailer"):
        pgcopy.decode(FIELDS, [payload[:-2]])
    with pytest.raises(ValueError, match="not a Postgres"):
        pgcopy.decode(FIELDS, [b"hello"])
