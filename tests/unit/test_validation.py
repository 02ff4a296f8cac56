"""Validation: every bad row gets a reason; good rows pass untouched; nothing is fixed."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tradewind.domain import BarSeries, Timeframe
from tradewind.marketdata.issues import RowIssues
from tradewind.marketdata.validation import validate_bars

H = 3_600_000_000  # one hour in µs
T0 = 1_704_067_200_000_000  # 2024-01-01T00:00Z


def series(rows: list[tuple[int, float, float, float, float, float]]) -> BarSeries:
    a = np.array(rows, dtype=np.float64).reshape(-1, 6)
    return BarSeries(
        ts=np.array([r[0] for r in rows], dtype=np.int64),
        open=a[:, 1], high=a[:, 2], low=a[:, 3], close=a[:, 4], volume=a[:, 5],
        line=np.arange(2, len(rows) + 2, dtype=np.int64),
    )  # fmt: skip


def reasons(rows: list[tuple[int, float, float, float, float, float]]) -> dict[int, str]:
    bars = series(rows)
    return validate_bars(bars, Timeframe.H1, RowIssues(len(bars))).reasons()


def test_every_defect_kind_has_its_reason() -> None:
    good = (1.1, 1.2, 1.0, 1.15, 10.0)
    got = reasons(
        [
            (T0, *good),
            (T0 + H, float("nan"), 1.2, 1.0, 1.15, 1),
            (T0 + 2 * H, 1.1, float("inf"), 1.0, 1.15, 1),
            (T0 + 3 * H, 0.0, 1.2, 1.0, 1.15, 1),
            (T0 + 4 * H, 1.1, 1.12, 1.0, 1.15, 1),
            (T0 + 5 * H, 1.1, 1.2, 1.12, 1.11, 1),
            (T0 + 6 * H, 1.1, 1.2, 1.0, 1.15, -5),
            (T0 + 7 * H + 60_000_000, *good),
            (T0 + 8 * H, *good),
            (T0 + 8 * H, *good),
            (T0 + 2 * H, *good),
        ]
    )
    assert got == {
        1: "open is not finite",
        2: "high is not finite",
        3: "open is not positive; low above min(open, close)",
        4: "high below max(open, close)",
        5: "low above min(open, close)",
        6: "volume is negative",
        7: "timestamp not on the H1 grid",
        9: "duplicate of line 10 (2024-01-01T08:00:00Z)",
        10: "out of order: earlier than line 10 (2024-01-01T08:00:00Z)",
    }


def test_conflicting_duplicates_are_all_quarantined() -> None:
    got = reasons([(T0, 1.1, 1.2, 1.0, 1.1, 1), (T0, 1.1, 1.2, 1.0, 1.2, 1)])
    assert set(got) == {0, 1}
    assert all("conflicting duplicates" in r for r in got.values())


bar_value = st.floats(allow_nan=True, allow_infinity=True, width=64)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 40), bar_value, bar_value, bar_value, bar_value, bar_value),
        max_size=40,
    )
)
def test_kept_rows_are_valid_unique_and_ordered(raw: list[tuple]) -> None:
    rows = [(T0 + k * H // 2, o, h, lo, c, v) for k, o, h, lo, c, v in raw]
    bars = series(rows) if rows else BarSeries.empty()
    issues = validate_bars(bars, Timeframe.H1, RowIssues(len(bars)))
    kept = bars.take(~issues.bad)
    # Every row is either kept or has a reason: nothing silently dropped.
    assert len(kept) + len(issues.reasons()) == len(bars)
    assert np.isfinite(kept.open).all()
    assert np.isfinite(kept.volume).all()
    assert (kept.low > 0).all()
    assert (kept.volume >= 0).all()
    assert (kept.high >= np.maximum(kept.open, kept.close)).all()
    assert (kept.low <= np.minimum(kept.open, kept.close)).all()
    assert (kept.ts % H == 0).all()
    assert (np.diff(kept.ts) > 0).all()
    # Kept rows are the input rows unchanged: nothing fixed.
    for name in ("ts", "open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(kept, name), getattr(bars, name)[~issues.bad])
