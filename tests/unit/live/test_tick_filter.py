"""Bad ticks never reach the bars: each kind is dropped, counted by reason and logged (with a
burst summarised, not flooded); v20 PRICE messages parse, malformed ones are None."""

from __future__ import annotations

import logging
import math

import pytest

from tradewind.broker import mapping as ticks_mod
from tradewind.broker.limits import RateLimitedLog
from tradewind.broker.mapping import tick_from_v20
from tradewind.domain.ticks import Tick
from tradewind.live.ticks import TickFilter

T = 1_704_067_200_000_000
EUR = "EUR_USD"


def tick(ts: int = T, bid: float = 1.1, ask: float = 1.1002, inst: str = EUR) -> Tick:
    return Tick(inst, ts, bid, ask)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (tick(bid=math.nan), "nonfinite"),
        (tick(ask=math.inf), "nonfinite"),
        (tick(bid=0.0), "nonpositive"),
        (tick(ask=-1.0, bid=-2.0), "nonpositive"),
        (tick(bid=1.2, ask=1.1), "crossed"),
        (tick(ts=T - 1), "out_of_order"),
        (tick(ts=T), "duplicate"),
    ],
)
def test_each_bad_kind_is_dropped_counted_and_logged(bad: Tick, reason: str, caplog) -> None:
    f = TickFilter()
    assert f.accept(tick()) is not None
    with caplog.at_level(logging.WARNING, logger="tradewind.live.ticks"):
        assert f.accept(bad) is None
    assert f.dropped == {reason: 1}
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    msg = record.getMessage()
    assert f"dropped tick {EUR} ts_us={bad.ts_us}" in msg
    assert msg.endswith(reason)
    # the instrument's clock did not move: the next good tick is accepted
    assert f.accept(tick(ts=T + 1)) is not None


def test_good_ticks_pass_unchanged_zero_spread_and_untradeable_included() -> None:
    f = TickFilter()
    a = tick()
    b = Tick(EUR, T + 1, 1.1, 1.1, tradeable=False)
    assert f.accept(a) is a
    assert f(b) is b
    # order is per instrument
    assert f.accept(tick(ts=T, inst="GBP_USD")) is not None
    assert f.dropped == {}


def test_a_burst_is_rate_limited_and_summarised(caplog) -> None:
    clock = Clock()
    f = TickFilter(log_every_s=10.0, clock=clock)
    f.accept(tick())
    with caplog.at_level(logging.WARNING, logger="tradewind.live.ticks"):
        for _ in range(100):
            f.accept(tick(bid=math.nan))
        f.accept(tick(bid=2.0))  # another reason logs at once
        clock.now = 11.0
        f.accept(tick(bid=math.nan))
    msgs = [r.getMessage() for r in caplog.records]
    assert len(msgs) == 3
    assert msgs[0].endswith("nonfinite")
    assert msgs[1].endswith("crossed")
    assert "and 99 more like it" in msgs[2]
    assert f.dropped == {"nonfinite": 101, "crossed": 1}


def v20(**over) -> dict:
    msg = {
        "type": "PRICE",
        "instrument": EUR,
        "time": "2024-01-01T00:00:00.123456789Z",
        "tradeable": True,
        "bids": [{"price": "1.10010", "liquidity": 1000000}, {"price": "1.10000", "liquidity": 5}],
        "asks": [{"price": "1.10030", "liquidity": 1000000}, {"price": "1.10040", "liquidity": 5}],
        "closeoutBid": "1.09990",
        "closeoutAsk": "1.10050",
    }
    msg.update(over)
    return msg


def test_a_v20_price_becomes_a_tick_of_the_best_levels() -> None:
    assert tick_from_v20(v20()) == Tick(EUR, T + 123_456, 1.1001, 1.1003, True)
    assert tick_from_v20(v20(time="1704067200.500000000", tradeable=False)) == Tick(
        EUR, T + 500_000, 1.1001, 1.1003, False
    )
    no_type = v20()
    del no_type["type"], no_type["tradeable"]
    assert tick_from_v20(no_type) == Tick(EUR, T + 123_456, 1.1001, 1.1003, True)


def test_a_nan_level_makes_a_nan_tick_for_the_filter() -> None:
    t = tick_from_v20(v20(bids=[{"price": "1.1"}, {"price": "NaN"}]))
    assert t is not None
    assert math.isnan(t.bid)
    assert TickFilter().accept(t) is None


@pytest.mark.parametrize(
    ("msg", "key"),
    [
        ("PRICE", "not_object"),
        (v20(type="CLIENT_PRICE"), "type"),
        (v20(instrument=None), "instrument"),
        (v20(time="yesterday"), "time"),
        (v20(time=None), "time"),
        (v20(bids=[]), "prices"),
        (v20(asks="1.1"), "prices"),
        (v20(bids=[{"price": "abc"}]), "prices"),
        (v20(bids=[{"liquidity": 1}]), "prices"),
        (v20(asks=[{"price": True}]), "prices"),
        (v20(tradeable="yes"), "tradeable"),
    ],
)
def test_malformed_messages_are_none_and_logged_never_raised(msg, key, caplog, monkeypatch) -> None:
    monkeypatch.setattr(ticks_mod, "_PARSE_LOG", RateLimitedLog(ticks_mod.log))
    before = ticks_mod.parse_dropped.get(key, 0)
    with caplog.at_level(logging.WARNING, logger="tradewind.live.ticks"):
        assert tick_from_v20(msg) is None
    assert ticks_mod.parse_dropped[key] == before + 1
    (record,) = caplog.records
    assert record.getMessage().startswith("ignored price message (")


def test_heartbeats_are_quietly_none(caplog) -> None:
    with caplog.at_level(logging.DEBUG):
        assert tick_from_v20({"type": "HEARTBEAT", "time": "2024-01-01T00:00:00Z"}) is None
    assert not caplog.records
