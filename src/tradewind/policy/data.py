"""What a learner trains on: one instrument's bars, its feature columns, and the split rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tradewind.config.models import ModelConfig, Splits
from tradewind.domain.series import BarSeries

SPLIT_NAMES = ("train", "validation", "test")
DEFAULT_PIP_LOCATION = -4  # backtest.costs': an instrument the caller gives no pip for


def split_rows(ts_us: npt.NDArray[np.int64], splits: Splits) -> dict[str, slice]:
    """Row slices of ``ts_us`` (sorted bar open times, UTC µs) per split; ``[start, end)``."""
    out = {}
    for name in SPLIT_NAMES:
        split = getattr(splits, name)
        lo = int(np.searchsorted(ts_us, int(split.start.timestamp() * 1_000_000), side="left"))
        hi = int(np.searchsorted(ts_us, int(split.end.timestamp() * 1_000_000), side="left"))
        out[name] = slice(lo, hi)
    return out


@dataclass(frozen=True, eq=False)
class ModelData:
    """Bars from the first split's start to the last split's end, the model's feature columns
    computed over all of them (no look-ahead: a row depends on earlier rows only), and the
    rows of each split. ``values[:, j]`` is ``columns[j]``; warm-up rows are NaN.

    ``pip_location`` and ``units_precision`` are the instrument's terms from the security
    master (``pipelines.backtest.instrument_terms``, as a backtest of the model takes them):
    a fixed spread is in its pips and every order is rounded toward zero to its unit
    precision (None: not rounded), in training and evaluation alike."""

    bars: BarSeries
    columns: tuple[str, ...]
    values: npt.NDArray[np.float64]
    feature_spec_fingerprint: str
    rows: dict[str, slice]
    pip_location: int = DEFAULT_PIP_LOCATION
    units_precision: int | None = None

    @classmethod
    def build(
        cls,
        bars: BarSeries,
        frame_columns: Sequence[str],
        frame_values: npt.NDArray[np.float64],
        feature_spec_fingerprint: str,
        cfg: ModelConfig,
        *,
        pip_location: int = DEFAULT_PIP_LOCATION,
        units_precision: int | None = None,
    ) -> ModelData:
        """From a ``FeatureFrame``'s columns and values over ``bars``: keep ``cfg.columns``
        (all when None) in that order; ValueError naming an unknown column or an empty split.
        ``pip_location`` and ``units_precision``: the instrument's, from the security master."""
        names = tuple(frame_columns)
        wanted = tuple(cfg.columns) if cfg.columns is not None else names
        unknown = [c for c in wanted if c not in names]
        if unknown:
            raise ValueError(
                f"columns {unknown} are not made by the feature config {cfg.features} "
                f"(it makes: {', '.join(names)})"
            )
        idx = [names.index(c) for c in wanted]
        values = np.asarray(frame_values, dtype=np.float64)[:, idx]
        rows = split_rows(bars.ts, cfg.splits)
        for name, sl in rows.items():
            if sl.stop - sl.start < 2:
                split = getattr(cfg.splits, name)
                raise ValueError(
                    f"split {name} [{split.start}, {split.end}) has {sl.stop - sl.start} "
                    f"{cfg.instrument} {cfg.timeframe} bars; it needs at least 2"
                )
        return cls(
            bars, wanted, values, feature_spec_fingerprint, rows, pip_location, units_precision
        )

    def split_values(self, name: str) -> npt.NDArray[np.float64]:
        return self.values[self.rows[name]]
