"""The bar interval a file holds, from the median spacing of its timestamps.

The median of the gaps between consecutive distinct timestamps is robust to weekends,
holidays and missing bars. A file is refused, before anything is stored, when it plainly
holds bars of another interval than the one declared:

* finer bars (an M1 file declared H1): the median gap is shorter than the declared period
  and most rows are off the declared grid; importing would quarantine most rows and store
  the few that fall on the grid as bogus bars (a file declared H4 that holds H1 bars would be
  silently thinned to every fourth bar);
* coarser bars (a D file declared H1, weekly bars declared D): the median gap is at least
  ``COARSER_FACTOR`` times the declared period and most gaps are exactly that long. A
  smaller factor is not judged: a file may hold every other bar of its timeframe (two files
  interleaved, a sparse market).

Files with too few bars to tell (fewer than ``MIN_GAPS`` gaps) are not judged.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tradewind.domain import Timeframe
from tradewind.marketdata.columns import ImportFileError

MIN_GAPS = 3
COARSER_FACTOR = 4
_BY_SECONDS = {tf.seconds: tf for tf in Timeframe}


def median_spacing_seconds(ts_us: npt.NDArray[np.int64]) -> tuple[float, float] | None:
    """``(median gap, share of gaps equal to it)`` of the distinct timestamps, in seconds;
    None when there are fewer than ``MIN_GAPS`` gaps."""
    u = np.unique(ts_us)
    if len(u) <= MIN_GAPS:
        return None
    gaps = np.diff(u)
    med = float(np.median(gaps))
    return med / 1_000_000, float(np.mean(gaps == med))


def _name(seconds: float) -> str:
    tf = _BY_SECONDS.get(int(seconds)) if seconds == int(seconds) else None
    if tf is not None:
        return tf.value
    for unit, size in (("days", 86_400), ("hours", 3_600), ("minutes", 60)):
        if seconds >= size:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} seconds"


def check_interval(
    ts_us: npt.NDArray[np.int64], usable: npt.NDArray[np.bool_], timeframe: Timeframe, source: str
) -> None:
    """Raise ImportFileError when the usable timestamps hold bars of another interval."""
    ts = ts_us[usable]
    found = median_spacing_seconds(ts)
    if found is None:
        return
    gap, share = found
    declared = timeframe.seconds
    if gap < declared:
        off_grid = float(np.mean(ts % (declared * 1_000_000) != 0))
        if off_grid < 0.5:
            return
    elif gap > declared:
        regular = gap == int(gap) and share >= 0.5
        if not regular or gap < COARSER_FACTOR * declared:
            return
    else:
        return
    detected = _name(gap)
    flag = (
        f"import it with --timeframe {detected}"
        if detected in Timeframe.__members__
        else f"no timeframe has that period ({', '.join(t.value for t in Timeframe)})"
    )
    raise ImportFileError(
        f"{source}: the bars are {detected} apart (median spacing of {len(np.unique(ts)):,} "
        f"timestamps), not {timeframe.value}: {flag}; nothing was stored"
    )
