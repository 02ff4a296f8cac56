"""Bar interval detection and date formats of imported files (issue 16)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tradewind.config import ImportSpec
from tradewind.domain import Timeframe
from tradewind.marketdata.columns import ImportFileError
from tradewind.marketdata.interval import check_interval, median_spacing_seconds
from tradewind.marketdata.readers import read_bar_file

T0 = 1_704_153_600_000_000  # 2024-01-02T00:00Z (a Tuesday) in µs
MIN = 60_000_000
HOUR = 3_600_000_000
DAY = 86_400_000_000


def spec(**kw: object) -> ImportSpec:
    return ImportSpec.model_validate({"instrument": "EUR_USD", "timeframe": "H1", **kw})


def weekdays(n: int) -> np.ndarray:
    """n daily stamps from T0 skipping Saturdays and Sundays."""
    days = [d for d in range(n * 2) if (1 + d) % 7 not in (5, 6)][:n]  # T0 is a Tuesday
    return T0 + np.asarray(days, dtype=np.int64) * DAY


def ok(n: int) -> np.ndarray:
    return np.ones(n, dtype=bool)


def test_median_spacing_ignores_weekends_and_gaps() -> None:
    ts = weekdays(40)
    gap, share = median_spacing_seconds(ts)  # type: ignore[misc]
    assert gap == 86_400
    assert share > 0.7
    m1 = T0 + np.r_[np.arange(500), np.arange(900, 1400)].astype(np.int64) * MIN
    assert median_spacing_seconds(m1) == (60.0, pytest.approx(0.999, abs=1e-3))
    assert median_spacing_seconds(T0 + np.arange(3, dtype=np.int64) * HOUR) is None


def test_m1_file_declared_h1_is_refused_with_the_flag_to_use() -> None:
    ts = T0 + np.arange(6_000, dtype=np.int64) * MIN
    with pytest.raises(ImportFileError, match=r"bars are M1 apart .* not H1: .*--timeframe M1"):
        check_interval(ts, ok(len(ts)), Timeframe.H1, "m1.csv")


def test_h1_file_declared_h4_is_not_thinned() -> None:
    ts = T0 + np.arange(200, dtype=np.int64) * HOUR
    with pytest.raises(ImportFileError, match=r"bars are H1 apart .* not H4: .*--timeframe H1"):
        check_interval(ts, ok(len(ts)), Timeframe.H4, "h1.csv")


def test_daily_file_declared_h1_is_refused_and_right_declarations_pass() -> None:
    days = weekdays(30)
    with pytest.raises(ImportFileError, match=r"bars are D apart .*--timeframe D"):
        check_interval(days, ok(len(days)), Timeframe.H1, "d.csv")
    check_interval(days, ok(len(days)), Timeframe.D, "d.csv")
    weeks = T0 + np.arange(20, dtype=np.int64) * 7 * DAY
    with pytest.raises(ImportFileError, match=r"bars are 7 days apart .*no timeframe has that"):
        check_interval(weeks, ok(20), Timeframe.D, "w.csv")
    h1 = T0 + np.arange(100, dtype=np.int64) * HOUR
    check_interval(h1, ok(100), Timeframe.H1, "h1.csv")
    # Every other H1 bar (interleaved files, a sparse market) is still H1 data.
    check_interval(h1[::2], ok(50), Timeframe.H1, "even.csv")
    # A few off-grid rows in an H1 file are quarantined row by row, not refused.
    mixed = np.r_[h1, h1[:3] + 30 * MIN]
    check_interval(mixed, ok(len(mixed)), Timeframe.H1, "mixed.csv")


def test_unusable_timestamps_are_not_counted() -> None:
    ts = T0 + np.arange(100, dtype=np.int64) * HOUR
    usable = ok(100)
    ts_bad = ts.copy()
    ts_bad[::2] = 0  # placeholders of unparseable cells
    usable[::2] = False
    check_interval(ts_bad, usable, Timeframe.H2, "f.csv")


def write(tmp_path: Path, text: str, name: str = "f.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_day_first_dates_are_refused_with_a_working_format(tmp_path: Path) -> None:
    rows = "".join(f"{d:02d}/01/2024 {h:02d}:00,1,1,1,1\n" for d in (13, 14) for h in range(24))
    p = write(tmp_path, "time,open,high,low,close\n" + rows)
    with pytest.raises(ImportFileError) as err:
        read_bar_file(p, spec())
    msg = str(err.value)
    assert "'13/01/2024 00:00' are not ISO 8601" in msg
    assert "--time-format '%d/%m/%Y %H:%M'" in msg
    assert "nothing was stored" in msg
    parsed = read_bar_file(p, spec(time_format="%d/%m/%Y %H:%M"))
    assert parsed.issues.count == 0
    assert parsed.bars.ts[0] == T0 + 11 * DAY
    assert parsed.bars.ts[-1] == T0 + 12 * DAY + 23 * HOUR


def test_ambiguous_day_month_order_says_so(tmp_path: Path) -> None:
    p = write(tmp_path, "time,open,high,low,close\n02/01/2024,1,1,1,1\n03/01/2024,1,1,1,1\n")
    with pytest.raises(ImportFileError, match=r"'%d/%m/%Y' or --time-format '%m/%d/%Y' \(both"):
        read_bar_file(p, spec(timeframe="D"))


def test_time_format_mismatch_is_quarantined_per_row(tmp_path: Path) -> None:
    p = write(tmp_path, "time,open,high,low,close\n02/01/2024,1,1,1,1\n2024-01-03,1,1,1,1\n")
    parsed = read_bar_file(p, spec(timeframe="D", time_format="%d/%m/%Y"))
    assert parsed.bars.ts[0] == T0
    assert parsed.issues.reasons() == {1: "timestamp does not match --time-format '%d/%m/%Y'"}


def test_daily_bars_on_exchange_local_dates_keep_their_date(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "Date,Open,High,Low,Close\n2024-01-02,1,1,1,1\n2024-01-03,1,1,1,1\n2024-07-01,1,1,1,1\n",
    )
    parsed = read_bar_file(p, spec(timeframe="D", timezone="America/New_York"))
    assert parsed.issues.count == 0
    assert parsed.bars.ts[:2].tolist() == [T0, T0 + DAY]
    assert parsed.bars.ts[2] % DAY == 0
    # Same with a day-first format; an intraday time still converts as an instant.
    q = write(tmp_path, "Date,Open,High,Low,Close\n02/01/2024,1,1,1,1\n", "q.csv")
    got = read_bar_file(q, spec(timeframe="D", timezone="America/New_York", time_format="%d/%m/%Y"))
    assert got.bars.ts.tolist() == [T0]
    h = write(tmp_path, "Date,Open,High,Low,Close\n2024-01-02 00:00,1,1,1,1\n", "h.csv")
    hourly = read_bar_file(h, spec(timeframe="H1", timezone="America/New_York"))
    assert hourly.bars.ts.tolist() == [T0 + 5 * HOUR]
