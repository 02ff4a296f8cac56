"""Candles (OANDA's count/from/to/includeFirst/complete rules, alignment) and fault rules."""

from __future__ import annotations

import numpy as np
import pytest

from tradewind.venue.candles import Alignment, boundaries, candles_body
from tradewind.venue.clock import Clock
from tradewind.venue.faults import Fault, FaultConfigError, Faults, _StreamMangler
from tradewind.venue.instruments import default_instruments
from tradewind.venue.prices import NS, PriceSource
from tradewind.venue.wire import VenueError, format_time, parse_time

MON = 1_718_000_000 * NS  # Monday 2024-06-10 06:13:20 UTC


@pytest.fixture
def src() -> PriceSource:
    return PriceSource(Clock.stepped(MON), default_instruments(), 5)


def body(src: PriceSource, **params: str) -> dict:
    return candles_body(src, "EUR_USD", params, src.clock.now_ns())


def test_default_is_500_s5_mid_candles_last_incomplete(src: PriceSource) -> None:
    b = body(src)
    assert b["granularity"] == "S5"
    assert len(b["candles"]) == 500
    assert [c["complete"] for c in b["candles"][-2:]] == [True, False]
    assert set(b["candles"][0]) == {"complete", "volume", "time", "mid"}


def test_components_and_volume(src: PriceSource) -> None:
    c = body(src, granularity="M1", price="MBA", count="3")["candles"]
    assert len(c) == 3
    assert all({"mid", "bid", "ask"} <= set(x) for x in c)
    assert c[0]["volume"] == 12
    for x in c:
        assert float(x["bid"]["h"]) < float(x["ask"]["h"])
        assert float(x["mid"]["l"]) <= float(x["mid"]["o"]) <= float(x["mid"]["h"])


def test_m1_candles_equal_aggregated_ticks(src: PriceSource) -> None:
    c = body(src, granularity="M5", price="B", count="2")["candles"][0]
    t0 = parse_time(c["time"])
    ticks = src.ticks("EUR_USD", t0 - 1, t0 + 300 * NS - 1)
    assert c["volume"] == len(ticks) == 60
    assert float(c["bid"]["h"]) == pytest.approx(ticks.bid.max())
    assert float(c["bid"]["o"]) == pytest.approx(ticks.bid[0])
    assert float(c["bid"]["c"]) == pytest.approx(ticks.bid[-1])


def test_from_to_and_include_first(src: PriceSource) -> None:
    f, t = "2024-06-10T05:00:30Z", "2024-06-10T05:10:00Z"
    c = body(src, granularity="M1", **{"from": f, "to": t})["candles"]
    assert c[0]["time"].startswith("2024-06-10T05:00:00")
    assert len(c) == 10
    c2 = body(src, granularity="M1", includeFirst="false", **{"from": f, "to": t})["candles"]
    assert c2[0]["time"].startswith("2024-06-10T05:01:00")
    assert len(c2) == 9
    c3 = body(src, granularity="M1", count="4", **{"from": "2024-06-10T05:00:00Z"})["candles"]
    assert [x["time"][11:16] for x in c3] == ["05:00", "05:01", "05:02", "05:03"]
    c4 = body(src, granularity="M1", count="3", to="2024-06-10T05:00:00Z")["candles"]
    assert [x["time"][11:16] for x in c4] == ["04:57", "04:58", "04:59"]
    assert all(x["complete"] for x in c + c3 + c4)


def test_count_skips_the_weekend(src: PriceSource) -> None:
    c = body(src, granularity="H1", count="20")["candles"]
    times = [parse_time(x["time"]) for x in c]
    assert len(c) == 20
    assert times[0] < MON - 48 * 3600 * NS


@pytest.mark.parametrize(
    "params",
    [
        {"count": "5001"},
        {"count": "0"},
        {"count": "x"},
        {"granularity": "M3"},
        {"price": "MX"},
        {"from": "nonsense"},
        {"from": "2024-06-10T05:00:00Z", "to": "2024-06-10T06:00:00Z", "count": "5"},
        {"from": "2024-06-10T06:00:00Z", "to": "2024-06-10T05:00:00Z"},
        {"to": "2024-06-11T00:00:00Z"},
        {"from": "2024-06-01T00:00:00Z", "to": "2024-06-10T00:00:00Z", "granularity": "S5"},
        {"includeFirst": "maybe"},
        {"dailyAlignment": "24"},
        {"alignmentTimezone": "Mars/Olympus"},
        {"weeklyAlignment": "Funday"},
    ],
)
def test_bad_requests_are_400(src: PriceSource, params: dict[str, str]) -> None:
    with pytest.raises(VenueError) as e:
        body(src, **params)
    assert e.value.status == 400
    assert "errorMessage" in e.value.body()
    with pytest.raises(VenueError):
        candles_body(src, "NOPE_XXX", {}, MON)


def test_daily_weekly_monthly_alignment() -> None:
    a = Alignment()
    d = boundaries("D", MON - 3 * 86_400 * NS, MON, a)
    assert all(format_time(int(x))[11:19] == "21:00:00" for x in d)  # 17:00 New York (EDT)
    w = boundaries("W", MON - 20 * 86_400 * NS, MON, a)
    assert format_time(int(w[-2]))[:19] == "2024-06-07T21:00:00"  # a Friday
    m = boundaries("M", MON - 40 * 86_400 * NS, MON, a)
    assert "2024-05-31T21:00:00" in [format_time(int(x))[:19] for x in m]
    utc = boundaries("D", MON - 86_400 * NS, MON, Alignment(0, "UTC"))
    assert format_time(int(utc[-2]))[11:19] == "00:00:00"
    h4 = boundaries("H4", MON - 86_400 * NS, MON, a)
    assert np.all(np.diff(h4) == 4 * 3600 * NS)


def test_fault_rules_count_down_and_match() -> None:
    f = Faults.from_config(
        {"seed": 1, "faults": [{"kind": "status", "status": 429, "path": "/v3/*", "count": 2}]}
    )
    assert f.take({"status"}, "GET", "/admin/x") == []
    assert len(f.take({"status"}, "GET", "/v3/accounts")) == 1
    assert len(f.take({"status"}, "POST", "/v3/accounts/1/orders")) == 1
    assert f.take({"status"}, "GET", "/v3/accounts") == []
    with pytest.raises(FaultConfigError):
        Faults.from_config({"faults": [{"kind": "nope"}]})
    with pytest.raises(FaultConfigError):
        Faults.from_config({"faults": [{"kind": "halt"}]})


def test_random_faults_repeat_with_their_seed() -> None:
    def run(seed: int) -> list[bool]:
        f = Faults([Fault("status", count=None, probability=0.3)], seed)
        return [bool(f.take({"status"}, "GET", "/v3/x")) for _ in range(50)]

    assert run(4) == run(4)
    assert run(4) != run(5)
    assert 5 < sum(run(4)) < 30


def test_halts_follow_rules() -> None:
    f = Faults([Fault("halt", instrument="EUR_USD", count=None)])
    assert f.halted() == {"EUR_USD"}
    f.clear()
    assert f.halted() == set()


def _lines(n: int) -> bytes:
    return b"".join(
        b'{"type":"PRICE","instrument":"%s","n":%d}\n' % (b"EUR_USD" if i % 2 else b"USD_JPY", i)
        for i in range(n)
    )


def test_stream_mangler() -> None:
    dup = Faults([Fault("duplicate", count=1)])
    out = _StreamMangler(dup, dup.rules).feed(_lines(3)).splitlines()
    assert len(out) == 4
    assert out[0] == out[1]
    ooo = Faults([Fault("out_of_order", count=1, after_lines=1)])
    out = _StreamMangler(ooo, ooo.rules).feed(_lines(4)).splitlines()
    assert [x[-2:-1] for x in out] == [b"0", b"2", b"1", b"3"]
    stale = Faults([Fault("stale", instrument="EUR_USD", count=None)])
    out = _StreamMangler(stale, stale.rules).feed(_lines(6)).splitlines()
    assert len(out) == 3
    assert all(b"USD_JPY" in x for x in out)
    torn = Faults([Fault("torn_line", count=1, after_lines=2)])
    out = _StreamMangler(torn, torn.rules).feed(_lines(4)).splitlines()
    assert len(out) == 4
    assert not out[2].endswith(b"}")
    drop = Faults([Fault("stream_drop", count=1, after_lines=1)])
    m = _StreamMangler(drop, drop.rules)
    data = m.feed(_lines(4))
    assert m.hang_up
    assert not data.endswith(b"\n")
    assert data.count(b"\n") == 1
