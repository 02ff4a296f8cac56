"""Collect per-row problems as masks and reasons, vectorised; render one reason text per row."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Mask = npt.NDArray[np.bool_]


class RowIssues:
    """Problems found in rows ``0..n-1``. A row with any problem is quarantined, never fixed."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._bad = np.zeros(n, dtype=bool)
        self._masks: list[tuple[Mask, str]] = []
        self._each: list[tuple[npt.NDArray[np.int64], Sequence[str]]] = []

    def add(self, mask: Mask, reason: str) -> None:
        """The same reason for every row where ``mask`` is true."""
        if mask.any():
            self._bad |= mask
            self._masks.append((mask, reason))

    def add_each(self, rows: npt.NDArray[np.int64], reasons: Sequence[str]) -> None:
        """A reason of its own for each of ``rows``."""
        if len(rows):
            self._bad[rows] = True
            self._each.append((rows, reasons))

    @property
    def bad(self) -> Mask:
        return self._bad

    @property
    def count(self) -> int:
        return int(self._bad.sum())

    def reasons(self) -> dict[int, str]:
        """Row index -> every reason found for it, joined with '; ', in the order checked."""
        out: dict[int, list[str]] = defaultdict(list)
        for mask, reason in self._masks:
            for i in np.flatnonzero(mask).tolist():
                out[i].append(reason)
        for rows, reasons in self._each:
            for i, r in zip(rows.tolist(), reasons, strict=True):
                out[i].append(r)
        return {i: "; ".join(rs) for i, rs in sorted(out.items())}
