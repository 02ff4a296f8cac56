"""The lookups after a 5xx or lost answer: spread over ``unknown_grace_s`` (at least
``resolve_backoff.attempts`` of them), then ``UnknownOutcome``; on a fake clock."""

from __future__ import annotations

import pytest

from tradewind.broker.errors import BrokerUnavailable, UnknownOutcome
from tradewind.broker.limits import Backoff
from tradewind.broker.oanda import OandaBroker, OandaOptions, _Lost


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s


def broker(t: FakeTime, grace: float, attempts: int = 3) -> OandaBroker:
    opts = OandaOptions(
        resolve_backoff=Backoff(base=0.2, cap=1.0, attempts=attempts), unknown_grace_s=grace
    )
    return OandaBroker(
        "practice", token="t-unit", account_id="1", options=opts, clock=t.clock, sleep=t.sleep
    )


LOST = _Lost(BrokerUnavailable("order c-1: HTTP 503: Service Unavailable", status=503))


@pytest.mark.parametrize(("grace", "attempts"), [(10.0, 3), (0.0, 4), (2.5, 2)])
def test_absent_over_the_whole_window_is_unknown(grace: float, attempts: int) -> None:
    t = FakeTime()
    b = broker(t, grace, attempts)
    seen: list[float] = []
    b._find = lambda cid, since: seen.append(t.now)  # type: ignore[method-assign,func-returns-value]
    with pytest.raises(UnknownOutcome) as err:
        b._resolve_lost("c-1", 7, LOST)
    assert err.value.client_id == "c-1"
    assert err.value.since_id == "7"
    assert "not placed" not in str(err.value)
    assert len(seen) >= attempts  # at least the resolve schedule's lookups
    assert seen[0] == 100.0  # the first at once
    assert seen[-1] - seen[0] >= grace - 1e-6  # the last at the end of the window
    assert seen[-1] - seen[0] <= max(
        grace, sum(Backoff(0.2, cap=1.0).ceiling(n) for n in range(attempts))
    )
    b.close()


def test_found_late_in_the_window_is_returned() -> None:
    t = FakeTime()
    b = broker(t, 5.0)
    found = object()
    b._find = lambda cid, since: found if t.now >= 103.0 else None  # type: ignore[method-assign,assignment,return-value]
    assert b._resolve_lost("c-1", 7, LOST) is found
    assert 103.0 <= t.now <= 105.0
    b.close()


def test_failing_lookups_end_in_unknown_too() -> None:
    t = FakeTime()
    b = broker(t, 1.0)

    def failing(cid: str, since: int) -> None:
        raise BrokerUnavailable("lookup: HTTP 503")

    b._find = failing  # type: ignore[method-assign,assignment]
    with pytest.raises(UnknownOutcome):
        b._resolve_lost("c-1", 7, LOST)
    assert sum(t.sleeps) >= 1.0 - 1e-6
    b.close()
