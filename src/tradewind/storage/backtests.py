"""Backtest results in and out: one row per strategy result, its fills, trades and equity."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sqlalchemy import Connection, insert, select
from sqlalchemy.orm import Session

from tradewind.backtest.result import BacktestResult, Fill, Order, Trade
from tradewind.storage.schema import (
    BacktestEquityRow,
    BacktestFillRow,
    BacktestOrderRow,
    BacktestResultRow,
    BacktestTradeRow,
)
from tradewind.storage.types import datetime_to_us, us_to_datetime


def json_metrics(metrics: dict[str, float]) -> dict[str, Any]:
    """JSON has no inf/NaN: they are stored as the strings 'inf', '-inf' and 'nan'."""
    return {k: (v if math.isfinite(v) else str(v)) for k, v in metrics.items()}


def _finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _float_metrics(stored: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in stored.items()}


def save_result(conn: Connection, run_id: str, result: BacktestResult) -> int:
    res = conn.execute(
        insert(BacktestResultRow).values(
            run_id=run_id,
            strategy=result.strategy,
            params=result.params,
            instruments={"symbols": list(result.instruments)},
            metrics=json_metrics(result.metrics),
            financing=result.financing,
        )
    )
    rid = int(res.inserted_primary_key[0])  # type: ignore[index]  # set by any INSERT
    if result.orders:
        conn.execute(
            insert(BacktestOrderRow),
            [
                {
                    "result_id": rid,
                    "ref": o.ref,
                    "instrument": o.instrument,
                    "kind": o.kind,
                    "units": o.units,
                    "limit_price": o.limit_price,
                    "stop_price": o.stop_price,
                    "created_ts": us_to_datetime(o.created_ts_us),
                    "done_ts": us_to_datetime(o.done_ts_us) if o.done_ts_us is not None else None,
                    "status": o.status,
                    "filled_units": o.filled_units,
                }
                for o in result.orders
            ],
        )
    if result.fills:
        conn.execute(
            insert(BacktestFillRow),
            [
                {
                    "result_id": rid,
                    "ts": us_to_datetime(f.ts_us),
                    "instrument": f.instrument,
                    "units": f.units,
                    "price": f.price,
                    "commission": f.commission,
                    "order_ref": f.order_ref,
                    "spread_cost": _finite_or_none(f.spread_cost),
                    "slippage_cost": _finite_or_none(f.slippage_cost),
                }
                for f in result.fills
            ],
        )
    if result.trades:
        conn.execute(
            insert(BacktestTradeRow),
            [
                {
                    "result_id": rid,
                    "instrument": t.instrument,
                    "entry_ts": us_to_datetime(t.entry_ts_us),
                    "exit_ts": us_to_datetime(t.exit_ts_us) if t.exit_ts_us is not None else None,
                    "units": t.units,
                    "entry_price": t.entry_price,
                    "exit_price": t.exit_price,
                    "pnl": t.pnl,
                    "commission": t.commission,
                    "bars_held": t.bars_held,
                    "mae": t.mae,
                    "mfe": t.mfe,
                    "closed": t.closed,
                    "exit_reason": t.exit_reason or None,
                }
                for t in result.trades
            ],
        )
    if len(result.ts_us):
        conn.execute(
            insert(BacktestEquityRow),
            [
                {
                    "result_id": rid,
                    "ts": us_to_datetime(int(ts)),
                    "equity": float(eq),
                    "exposure": float(ex),
                }
                for ts, eq, ex in zip(
                    result.ts_us.tolist(),
                    result.equity.tolist(),
                    result.exposure.tolist(),
                    strict=True,
                )
            ],
        )
    return rid


def load_results(conn: Connection, run_id: str) -> list[BacktestResult]:
    """Every strategy result of a run, rebuilt as BacktestResult objects (metrics as stored)."""
    session = Session(conn)
    rows = session.scalars(
        select(BacktestResultRow)
        .where(BacktestResultRow.run_id == run_id)
        .order_by(BacktestResultRow.id)
    ).all()
    out = []
    for r in rows:
        eq = session.execute(
            select(BacktestEquityRow.ts, BacktestEquityRow.equity, BacktestEquityRow.exposure)
            .where(BacktestEquityRow.result_id == r.id)
            .order_by(BacktestEquityRow.ts)
        ).all()
        fills = [
            Fill(
                datetime_to_us(f.ts),
                f.instrument,
                r.strategy,
                f.units,
                f.price,
                f.commission,
                f.order_ref,
                math.nan if f.spread_cost is None else f.spread_cost,
                math.nan if f.slippage_cost is None else f.slippage_cost,
            )
            for f in session.scalars(
                select(BacktestFillRow)
                .where(BacktestFillRow.result_id == r.id)
                .order_by(BacktestFillRow.id)
            )
        ]
        trades = [
            Trade(
                t.instrument,
                r.strategy,
                datetime_to_us(t.entry_ts),
                datetime_to_us(t.exit_ts) if t.exit_ts else None,
                t.units,
                t.entry_price,
                t.exit_price,
                t.pnl,
                t.commission,
                t.bars_held,
                t.mae,
                t.mfe,
                t.closed,
                t.exit_reason or "",
            )
            for t in session.scalars(
                select(BacktestTradeRow)
                .where(BacktestTradeRow.result_id == r.id)
                .order_by(BacktestTradeRow.id)
            )
        ]
        orders = [
            Order(
                o.ref,
                o.instrument,
                r.strategy,
                o.kind,
                o.units,
                o.limit_price,
                o.stop_price,
                datetime_to_us(o.created_ts),
                datetime_to_us(o.done_ts) if o.done_ts else None,
                o.status,
                o.filled_units,
            )
            for o in session.scalars(
                select(BacktestOrderRow)
                .where(BacktestOrderRow.result_id == r.id)
                .order_by(BacktestOrderRow.id)
            )
        ]
        out.append(
            BacktestResult(
                strategy=r.strategy,
                params=dict(r.params),
                instruments=tuple(r.instruments.get("symbols", [])),
                ts_us=np.array([datetime_to_us(e[0]) for e in eq], dtype=np.int64),
                equity=np.array([e[1] for e in eq], dtype=np.float64),
                exposure=np.array([e[2] for e in eq], dtype=np.float64),
                fills=fills,
                trades=trades,
                metrics=_float_metrics(r.metrics),
                orders=orders,
                financing=r.financing,
            )
        )
    return out
