"""The clock's bounds and the status a bad request gets where its operation lists no 400."""

from __future__ import annotations

import pytest

from tradewind.venue.clock import MAX_NS, MIN_NS, NS, Clock, check_instant
from tradewind.venue.statuses import fitting_status, status_for_path

A = "/v3/accounts/101-001-0000001-001"


def test_a_clock_is_set_only_within_its_bounds() -> None:
    c = Clock.stepped(1_704_196_800 * NS)
    for bad in (MAX_NS + 1, 9_214_646_400 * NS, 10**40, MIN_NS - 1, 0, -1):
        with pytest.raises(ValueError, match=r"1971-01-01T00:00:00Z\.\.2200-01-01T00:00:00Z"):
            c.set(bad)
        assert c.now_ns() == 1_704_196_800 * NS  # untouched
    assert c.set(MAX_NS) == MAX_NS
    with pytest.raises(ValueError, match=r"2261-01-01T00:00:00\.000000000Z is outside"):
        check_instant(9_183_110_400 * NS)  # the instant asked for is named


@pytest.mark.parametrize(
    ("method", "path", "status", "expected"),
    [
        ("GET", f"{A}/changes", 400, 416),
        ("GET", f"{A}/positions/NOPE_XXX", 400, 404),
        ("GET", f"{A}/trades", 400, 404),
        ("GET", f"{A}/transactions/idrange", 400, 400),  # lists 400
        ("GET", f"{A}/transactions/7", 400, 404),
        ("GET", f"{A}/summary", 404, 400),  # lists 400, not 404
        ("GET", "/v3/accounts", 400, 400),  # lists neither: left as is
        ("GET", "/admin/clock", 400, 400),  # not a v20 operation
    ],
)
def test_statuses_fit_the_operation(method: str, path: str, status: int, expected: int) -> None:
    assert status_for_path(method, path, status) == expected


def test_route_templates_fit_like_paths() -> None:
    assert fitting_status("GET", "/v3/accounts/{account_id}/changes", 400) == 416
    assert fitting_status("GET", "/v3/accounts/{account_id}/positions/{instrument}", 400) == 404
