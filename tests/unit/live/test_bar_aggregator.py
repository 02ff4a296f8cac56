"""Ticks become bars on the timeframe grid: a bar closes at the first tick of a later bucket
or when ``flush`` sees its bucket has ended; gaps make no empty bars; bars turned into ticks
and aggregated again are the same bars, bit for bit (a property over random bars)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradewind.domain import BarSeries, Timeframe
from tradewind.domain.ticks import Tick
from tradewind.live.bars import BarAggregator, LiveBar, ticks_from_bars

EUR = "EUR_USD"
M = 60_000_000
T0 = 1_704_067_200_000_000  # 2024-01-01 00:00 UTC, on every grid up to D


def mid_tick(ts: int, price: float) -> Tick:
    return Tick(EUR, ts, price, price)


def test_a_bar_closes_at_the_first_tick_of_the_next_bucket() -> None:
    agg = BarAggregator(Timeframe.M1)
    assert agg.on_tick(mid_tick(T0 + 5_000_000, 1.0)) == []
    assert agg.on_tick(mid_tick(T0 + 20_000_000, 1.3)) == []
    assert agg.on_tick(mid_tick(T0 + 40_000_000, 0.9)) == []
    assert agg.on_tick(mid_tick(T0 + M - 1, 1.1)) == []
    (bar,) = agg.on_tick(mid_tick(T0 + M, 1.2))
    assert bar == LiveBar(EUR, Timeframe.M1, T0, 1.0, 1.3, 0.9, 1.1, 4.0)


def test_the_bar_time_is_the_bucket_open_on_the_grid() -> None:
    agg = BarAggregator("H1")
    agg.on_tick(mid_tick(T0 + 3 * 3600 * 10**6 + 1_234_567, 1.0))
    (bar,) = agg.flush(T0 + 4 * 3600 * 10**6)
    assert bar.ts_us == T0 + 3 * 3600 * 10**6
    assert agg.bucket(T0 + 59 * M + 1) == T0


def test_the_mid_is_the_price() -> None:
    agg = BarAggregator("M1")
    agg.on_tick(Tick(EUR, T0, 1.0, 1.5))
    (bar,) = agg.flush(T0 + M)
    assert bar.open == bar.close == 1.25


def test_a_gap_closes_only_the_bar_with_data() -> None:
    agg = BarAggregator("M1")
    agg.on_tick(mid_tick(T0 + 1, 1.0))
    (bar,) = agg.on_tick(mid_tick(T0 + 5 * M + 1, 2.0))  # four empty minutes between
    assert bar.ts_us == T0
    (nxt,) = agg.flush(T0 + 6 * M)
    assert (nxt.ts_us, nxt.open, nxt.volume) == (T0 + 5 * M, 2.0, 1.0)


def test_flush_closes_an_ended_bucket_only() -> None:
    agg = BarAggregator("M1")
    assert agg.flush(T0) == []  # nothing open
    agg.on_tick(mid_tick(T0 + 10, 1.0))
    assert agg.flush(T0 + M - 1) == []  # still forming
    (bar,) = agg.flush(T0 + M)
    assert bar.close == 1.0
    assert agg.flush(T0 + 2 * M) == []  # closed once
    # a late tick of the flushed bucket is dropped, not a second bar for it
    assert agg.on_tick(mid_tick(T0 + M - 5, 9.0)) == []
    assert agg.late == 1
    assert agg.flush(T0 + 3 * M) == []
    # the next bucket's tick opens a new bar
    agg.on_tick(mid_tick(T0 + M + 1, 2.0))
    (bar2,) = agg.flush(T0 + 2 * M)
    assert (bar2.ts_us, bar2.open) == (T0 + M, 2.0)


def test_one_aggregator_is_one_instrument() -> None:
    agg = BarAggregator("M1")
    agg.on_tick(mid_tick(T0, 1.0))
    with pytest.raises(ValueError, match="given a tick of GBP_USD"):
        agg.on_tick(Tick("GBP_USD", T0 + 1, 1.0, 1.0))


def test_ticks_from_bars_follow_the_bar_path() -> None:
    bars = BarSeries(
        np.array([T0, T0 + M], dtype=np.int64),
        np.array([1.0, 2.0]),
        np.array([1.5, 2.5]),
        np.array([0.5, 1.5]),
        np.array([1.2, 1.8]),
        np.array([7.0, 9.0]),
    )
    prices = [(t.ts_us - T0, t.bid) for t in ticks_from_bars(bars, EUR, "M1")]
    q = M // 4
    assert prices == [
        (0, 1.0), (q, 0.5), (2 * q, 1.5), (3 * q, 1.2),  # up bar: dips first
        (M, 2.0), (M + q, 2.5), (M + 2 * q, 1.5), (M + 3 * q, 1.8),  # down bar: rallies first
    ]  # fmt: skip
    with pytest.raises(ValueError, match="grid"):
        list(ticks_from_bars(bars.take(np.array([1, 0])), EUR, "M1"))
    with pytest.raises(ValueError, match="grid"):
        list(ticks_from_bars(bars, EUR, "M5"))


PRICE = st.floats(min_value=1e-4, max_value=1e4, allow_nan=False, allow_infinity=False)


@st.composite
def bar_series(draw) -> tuple[Timeframe, BarSeries]:
    tf = draw(st.sampled_from([Timeframe.S5, Timeframe.M1, Timeframe.H1, Timeframe.D]))
    n = draw(st.integers(1, 30))
    gaps = draw(st.lists(st.integers(1, 5), min_size=n, max_size=n))
    start = draw(st.integers(0, 10**6))
    ts = (start + np.cumsum(gaps)) * tf.seconds * 1_000_000
    rows = [sorted(draw(st.lists(PRICE, min_size=4, max_size=4))) for _ in range(n)]
    o, c = [], []
    for _lo, a, b, _hi in rows:
        first, second = (a, b) if draw(st.booleans()) else (b, a)
        o.append(first)
        c.append(second)
    arr = np.asarray
    return tf, BarSeries(
        arr(ts, dtype=np.int64),
        arr(o),
        arr([r[3] for r in rows]),
        arr([r[0] for r in rows]),
        arr(c),
        np.full(n, 4.0),
    )


@settings(max_examples=200, deadline=None)
@given(bar_series())
def test_aggregating_generated_ticks_reproduces_the_bars(case) -> None:
    tf, bars = case
    agg = BarAggregator(tf)
    out: list[LiveBar] = []
    for t in ticks_from_bars(bars, EUR, tf):
        out.extend(agg.on_tick(t))
    out.extend(agg.flush(int(bars.ts[-1]) + tf.seconds * 1_000_000))
    got = np.array([[b.open, b.high, b.low, b.close, b.volume] for b in out])
    want = np.column_stack([bars.open, bars.high, bars.low, bars.close, bars.volume])
    assert [b.ts_us for b in out] == bars.ts.tolist()
    np.testing.assert_array_equal(got, want)
