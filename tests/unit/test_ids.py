"""``domain.ids.new_ulid`` against the reference implementation (python-ulid)."""

from __future__ import annotations

import time

from ulid import ULID

from tradewind.domain.ids import CROCKFORD, new_ulid


def test_new_ulid_is_a_ulid_of_now() -> None:
    before = time.time()
    ids = [new_ulid() for _ in range(2000)]
    after = time.time()
    for text in ids:
        assert len(text) == 26
        assert set(text) <= set(CROCKFORD)
        parsed = ULID.from_str(text)  # the reference parser takes it ...
        assert str(parsed) == text  # ... and writes it back the same
        assert before - 0.001 <= parsed.timestamp <= after + 0.001
    assert len(set(ids)) == len(ids)
    assert sorted(ids, key=lambda t: t[:10]) == ids  # the time part never goes back


def test_new_ulid_encodes_every_bit_as_the_reference_does() -> None:
    """The pair table, bit for bit: the random part of many ids, written back by python-ulid
    from its bytes, is the string we made (all 130 bit positions take both values)."""
    ones, zeros = 0, (1 << 128) - 1
    for _ in range(500):
        text = new_ulid()
        value = int.from_bytes(ULID.from_str(text).bytes, "big")
        assert str(ULID.from_int(value)) == text
        ones |= value
        zeros &= value
    assert ones & ((1 << 80) - 1) == (1 << 80) - 1
    assert zeros & ((1 << 80) - 1) == 0
