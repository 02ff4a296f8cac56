"""Clock and price source: deterministic by seed, continuous across restarts, sane quotes."""

from __future__ import annotations

import numpy as np
import pytest

from tradewind.venue.clock import Clock
from tradewind.venue.instruments import default_instruments
from tradewind.venue.prices import (
    NS,
    BarsPath,
    PriceSource,
    StoredBars,
    market_open,
)

MON = 1_718_000_000 * NS  # Monday 2024-06-10 06:13:20 UTC
SAT = MON - 2 * 86_400 * NS


def source(seed: int = 7, start: int = MON) -> PriceSource:
    return PriceSource(Clock.stepped(start), default_instruments(), seed)


def test_clock_modes() -> None:
    c = Clock.stepped(MON)
    assert c.now_ns() == MON
    c.advance(1.5)
    assert c.now_ns() == MON + 1_500_000_000
    c.set(MON)
    assert c.now_ns() == MON
    with pytest.raises(ValueError, match="never moves back"):
        c.advance(-1)
    wall = [0]
    f = Clock("fast", start_ns=MON, speed=100, wall_ns=lambda: wall[0])
    wall[0] = NS
    assert f.now_ns() == MON + 100 * NS
    with pytest.raises(ValueError, match="cannot be set"):
        Clock.real().set(0)


def test_walk_is_a_pure_function_of_seed_instrument_and_time() -> None:
    a, b = source(7), source(7)
    b.latest("EUR_USD", MON + 3 * 86_400 * NS)  # a different access order
    assert a.latest("EUR_USD") == b.latest("EUR_USD")
    ta = a.ticks("GBP_USD", MON - 3600 * NS, MON)
    tb = b.ticks("GBP_USD", MON - 3600 * NS, MON)
    assert np.array_equal(ta.bid, tb.bid)
    assert len(ta) == 720
    assert source(8).latest("EUR_USD") != a.latest("EUR_USD")


def test_walk_continues_across_restarts_and_days() -> None:
    # a "restarted" venue (fresh source) at a later instant continues the same path
    first = source(3, MON)
    later = source(3, MON + 600 * NS)
    t = first.ticks("USD_JPY", MON - 86_400 * NS, MON + 600 * NS)
    assert later.latest("USD_JPY").bid == pytest.approx(float(t.bid[-1]))
    # no jump at midnight: the step across the day boundary is like any other step
    d = (MON // (86_400 * NS)) * 86_400 * NS
    mid = first.ticks("EUR_USD", d - 3600 * NS, d + 3600 * NS).mid
    steps = np.abs(np.diff(np.log(mid)))
    assert steps.max() < 10 * np.median(steps) + 1e-5


def test_quotes_bid_below_ask_with_liquidity_levels() -> None:
    s = source()
    for name in s.instruments:
        t = s.ticks(name, MON - 86_400 * NS, MON)
        assert len(t)
        assert np.all(t.bid < t.ask)
        q = s.latest(name)
        assert q is not None
        assert q.tradeable
        assert [n for _, n in q.bids] == [1e6, 2e6, 5e6]
        assert q.bids[0][0] > q.bids[1][0] > q.bids[2][0]
        assert q.asks[0][0] < q.asks[1][0] < q.asks[2][0]


def test_market_hours_and_halts() -> None:
    assert not market_open(SAT)
    assert market_open(MON)
    s = source(start=SAT)
    q = s.latest("EUR_USD")
    assert q is not None
    assert not q.tradeable
    assert q.time_ns < SAT  # the last price before Friday's close
    assert len(s.ticks("EUR_USD", SAT - 3600 * NS, SAT)) == 0
    s2 = source()
    s2.halted = {"EUR_USD"}
    assert not s2.latest("EUR_USD").tradeable
    assert s2.latest("GBP_USD").tradeable


def bars(n: int = 50, tf: int = 60) -> StoredBars:
    rng = np.random.default_rng(0)
    c = 1.1 + np.cumsum(rng.normal(0, 2e-4, n))
    o = np.r_[1.1, c[:-1]]
    h = np.maximum(o, c) + rng.uniform(0, 3e-4, n)
    lo = np.minimum(o, c) - rng.uniform(0, 3e-4, n)
    ts = MON - n * tf * NS + np.arange(n, dtype=np.int64) * tf * NS
    return StoredBars(tf * NS, ts, *(np.round(x, 5) for x in (o, h, lo, c)))


def test_bar_paths_visit_open_high_low_close_and_stay_inside() -> None:
    b = bars()
    s = PriceSource(Clock.stepped(MON), default_instruments(), 1, bars={"EUR_USD": b})
    assert isinstance(s.path("EUR_USD"), BarsPath)
    t = s.ticks("EUR_USD", int(b.ts[0]) - 1, MON)
    assert len(t) == 12 * len(b.ts)  # 12 per M1 bar
    m = t.mid.reshape(len(b.ts), 12)
    assert np.allclose(m[:, 0], b.o)
    assert np.allclose(m[:, -1], b.c)
    assert np.allclose(m.max(axis=1), b.h)
    assert np.allclose(m.min(axis=1), b.low)
    assert np.all(t.bid < t.ask)
    again = PriceSource(Clock.stepped(MON), default_instruments(), 1, bars={"EUR_USD": b})
    assert np.array_equal(again.ticks("EUR_USD", 0, MON).bid, t.bid)
    other = PriceSource(Clock.stepped(MON), default_instruments(), 2, bars={"EUR_USD": b})
    assert not np.array_equal(other.ticks("EUR_USD", 0, MON).mid, t.mid)


def test_bar_spread_from_stored_bid_ask() -> None:
    b = bars()
    b.spread_open = np.full(len(b.ts), 3e-4)
    b.spread_close = np.full(len(b.ts), 3e-4)
    s = PriceSource(Clock.stepped(MON), default_instruments(), 1, bars={"EUR_USD": b})
    t = s.ticks("EUR_USD", 0, MON)
    assert np.allclose(t.ask - t.bid, 3e-4, atol=1.1e-5)


def test_quote_pump_feeds_the_engine_in_time_order() -> None:
    from tradewind.venue.service import Venue

    seen: list = []

    class Engine:
        def on_quote(self, q: object) -> None:
            seen.append(q)

    clock = Clock.stepped(MON)
    v = Venue(
        clock=clock, prices=PriceSource(clock, default_instruments(), 1), engine=Engine(), token="t"
    )
    assert v.pump_quotes() == 0
    clock.advance(60)
    assert v.pump_quotes() == 12 * len(default_instruments())
    assert [q.time_ns for q in seen] == sorted(q.time_ns for q in seen)
    assert v.pump_quotes() == 0
