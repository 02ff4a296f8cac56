"""Fills and trades as columns: numpy arrays, with ``Fill``/``Trade`` objects built on demand.

The vectorised engine makes tens of thousands of fills and trades in milliseconds; turning
each into a frozen dataclass costs more than the whole simulation. Its results therefore hold
``FillColumns``/``TradeColumns``: read-only sequences of ``Fill``/``Trade`` whose metrics read
the arrays directly (``pnl``, ``bars_held``, ``notional``) and whose objects are built only
when something reads them (a report, storage, a comparison): the first access that needs them
all builds every object once and keeps them; ``seq[i]`` alone builds one. Both compare equal
to any sequence holding the same objects (a list from the Backtrader runner, for instance).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from typing import TypeVar, overload

import numpy as np
import numpy.typing as npt

from tradewind.backtest.result import EXIT_END_OF_DATA, Fill, Trade

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
T = TypeVar("T")


class _Lazy(Sequence[T]):
    """A sequence of objects built in one batch from columns, the first time they are read."""

    _objects: list[T] | None = None

    def _count(self) -> int:
        raise NotImplementedError

    def _build(self, rows: slice) -> list[T]:
        raise NotImplementedError

    def objects(self) -> list[T]:
        """Every object, built once (the collector paused meanwhile: thousands of small
        objects would otherwise make it rescan them, and every older object, over and over)."""
        if self._objects is None:
            was_enabled = gc.isenabled()
            gc.disable()
            try:
                self._objects = self._build(slice(0, self._count()))
            finally:
                if was_enabled:
                    gc.enable()
        return self._objects

    def __len__(self) -> int:
        return self._count()

    @overload
    def __getitem__(self, i: int) -> T: ...
    @overload
    def __getitem__(self, i: slice) -> list[T]: ...
    def __getitem__(self, i: int | slice) -> T | list[T]:
        if self._objects is not None:
            return self._objects[i]
        n = self._count()
        if isinstance(i, slice):
            return self._build(slice(*i.indices(n))) if i.step in (None, 1) else self.objects()[i]
        k = i + n if i < 0 else i
        if not 0 <= k < n:
            raise IndexError("index out of range")
        return self._build(slice(k, k + 1))[0]

    def __iter__(self) -> Iterator[T]:
        return iter(self.objects())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, (str, bytes)):
            return NotImplemented
        return len(other) == len(self) and list(other) == self.objects()

    __hash__ = None  # type: ignore[assignment]  # mutable cache: like a list, not hashable

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._count()} rows)"


class FillColumns(_Lazy[Fill]):
    """Fills in time order; ``order_ref`` is the row number from 1."""

    def __init__(
        self,
        ts_us: I64,
        instrument: npt.NDArray[np.intp],  # index into ``names``
        names: Sequence[str],
        strategy: str,
        units: F64,
        price: F64,
        commission: F64,
        spread_cost: F64,
        slippage_cost: F64,
    ) -> None:
        self.ts_us, self.instrument, self.names, self.strategy = ts_us, instrument, names, strategy
        self.units, self.price, self.commission = units, price, commission
        self.spread_cost, self.slippage_cost = spread_cost, slippage_cost

    def _count(self) -> int:
        return len(self.ts_us)

    def notional(self) -> F64:
        """``units * price`` of every fill (signed)."""
        return self.units * self.price

    def _build(self, rows: slice) -> list[Fill]:
        names = self.names
        return list(
            map(
                Fill,
                self.ts_us[rows].tolist(),
                [names[i] for i in self.instrument[rows].tolist()],
                [self.strategy] * (rows.stop - rows.start),
                self.units[rows].tolist(),
                self.price[rows].tolist(),
                self.commission[rows].tolist(),
                range(rows.start + 1, rows.stop + 1),
                self.spread_cost[rows].tolist(),
                self.slippage_cost[rows].tolist(),
            )
        )


class TradeColumns(_Lazy[Trade]):
    """Trades as ``backtest.trades`` defines them; an open trade (``closed`` False) has no
    exit time or price (its ``exit_ts_us``/``exit_price`` entries are ignored) and the exit
    reason ``end_of_data``, every closed one ``signal``."""

    def __init__(
        self,
        instrument: npt.NDArray[np.intp],
        names: Sequence[str],
        strategy: str,
        entry_ts_us: I64,
        exit_ts_us: I64,
        units: F64,
        entry_price: F64,
        exit_price: F64,
        pnl: F64,
        commission: F64,
        bars_held: I64,
        mae: F64,
        mfe: F64,
        closed: npt.NDArray[np.bool_],
    ) -> None:
        self.instrument, self.names, self.strategy = instrument, names, strategy
        self.entry_ts_us, self.exit_ts_us = entry_ts_us, exit_ts_us
        self.units, self.entry_price, self.exit_price = units, entry_price, exit_price
        self.pnl, self.commission, self.bars_held = pnl, commission, bars_held
        self.mae, self.mfe, self.closed = mae, mfe, closed

    def _count(self) -> int:
        return len(self.pnl)

    def _build(self, rows: slice) -> list[Trade]:
        names = self.names
        closed = self.closed[rows].tolist()
        exit_ts = self.exit_ts_us[rows].tolist()
        exit_px = self.exit_price[rows].tolist()
        return list(
            map(
                Trade,
                [names[i] for i in self.instrument[rows].tolist()],
                [self.strategy] * len(closed),
                self.entry_ts_us[rows].tolist(),
                [e if c else None for e, c in zip(exit_ts, closed, strict=True)],
                self.units[rows].tolist(),
                self.entry_price[rows].tolist(),
                [p if c else None for p, c in zip(exit_px, closed, strict=True)],
                self.pnl[rows].tolist(),
                self.commission[rows].tolist(),
                self.bars_held[rows].tolist(),
                self.mae[rows].tolist(),
                self.mfe[rows].tolist(),
                closed,
                ["signal" if c else EXIT_END_OF_DATA for c in closed],
            )
        )


def trade_arrays(trades: Sequence[Trade]) -> tuple[F64, F64]:
    """``(pnl, bars_held)`` of ``trades``: the columns themselves when they are columns."""
    if isinstance(trades, TradeColumns):
        return trades.pnl, trades.bars_held.astype(np.float64)
    return (
        np.fromiter((t.pnl for t in trades), np.float64, len(trades)),
        np.fromiter((t.bars_held for t in trades), np.float64, len(trades)),
    )


def fill_notional(fills: Sequence[Fill]) -> F64:
    """``units * price`` of every fill."""
    if isinstance(fills, FillColumns):
        return fills.notional()
    return np.fromiter((f.units * f.price for f in fills), np.float64, len(fills))
