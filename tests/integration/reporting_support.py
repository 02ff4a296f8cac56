"""A small known dataset for the reporting views, written through the platform's
repositories where they take the values as given (promotions, pnl, live store, batches) and
as plain inserts into the tables elsewhere, and how to read a view back on either backend."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, text

from tradewind.storage import pnl, promotions
from tradewind.storage.backtests import json_metrics
from tradewind.storage.batches import QuarantineItem, add_quarantine
from tradewind.storage.live import SqlLiveStore
from tradewind.storage.reporting import view_name
from tradewind.storage.schema import (
    BacktestEquityRow,
    BacktestFillRow,
    BacktestResultRow,
    BacktestTradeRow,
    ConfigRow,
    IngestBatchRow,
    InstrumentRow,
    RunRow,
    VendorRow,
)
from tradewind.storage.schema_live import (
    KillSwitchRow,
    LiveDeploymentRow,
    OmsFillRow,
    OmsOrderRow,
    OmsPositionRow,
    RiskEventRow,
)
from tradewind.storage.schema_platform import LiveModelRow
from tradewind.storage.types import datetime_to_us


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


# March 2025 is before New York's DST change (9 March): the FX day rolls at 22:00 UTC.
T1, T2, T3, T4 = at(2025, 3, 3, 14), at(2025, 3, 3, 20), at(2025, 3, 4, 15), at(2025, 3, 4, 22, 30)
# July 2025 is summer time: the roll is at 21:00 UTC.
JUL_BEFORE, JUL_AFTER = at(2025, 7, 1, 20, 59), at(2025, 7, 1, 21, 30)
RUN_BT = "b7e3c1d2-0000-4000-8000-000000000001"
FP = "f" * 64


def read(engine: Engine, view: str) -> list[dict[str, Any]]:
    """Every row of reporting view ``view``, as dicts."""
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT * FROM {view_name(view, engine.dialect.name)}"))
        return [dict(r._mapping) for r in rows]


def when(engine: Engine, t: datetime | None) -> Any:
    """An instant as the views give it: timestamptz on Postgres, ISO text on SQLite."""
    if t is None or engine.dialect.name == "postgresql":
        return t
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def same(got: Any, want: Any) -> bool:
    """Equal, floats to 1e-9, booleans against 0/1 (SQLite has no boolean)."""
    if isinstance(want, float) and isinstance(got, int | float) and not isinstance(got, bool):
        return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(want, bool):
        return got in (0, 1) and bool(got) is want
    if isinstance(want, dict):
        return (
            isinstance(got, dict)
            and got.keys() == want.keys()
            and all(same(got[k], want[k]) for k in want)
        )
    if isinstance(want, list):
        return len(got) == len(want) and all(same(g, w) for g, w in zip(got, want, strict=True))
    return bool(got == want)


def seed(engine: Engine) -> None:
    _live(engine)
    _oms(engine)
    _research(engine)
    _models(engine)
    _ingest(engine)


def _pnl_row(at_: datetime, account: str, deployment: str, instrument: str, **v: Any) -> Any:
    base = {"units": 0.0, "avg_price": 0.0, "mid": None, "realized_pl": 0.0, "nav": None}
    return {
        "at_us": datetime_to_us(at_),
        "account_id": account,
        "deployment": deployment,
        "instrument": instrument,
        **base,
        **v,
    }


def _live(engine: Engine) -> None:
    store = SqlLiveStore(engine)
    a = "A1"
    store.pnl(
        [
            _pnl_row(T1, a, "dep1", "EUR_USD", units=1000.0, mid=1.1, unrealized_pl=0.0),
            _pnl_row(T1, a, "", "*", nav=1000.0, unrealized_pl=0.0),
            _pnl_row(T1, "A2", "", "*", nav=500.0, unrealized_pl=0.0),
            _pnl_row(T2, a, "dep1", "EUR_USD", units=1000.0, mid=1.11, unrealized_pl=10.0),
            _pnl_row(T2, a, "", "*", nav=1010.0, unrealized_pl=10.0),
            _pnl_row(T3, a, "dep1", "EUR_USD", mid=1.085, realized_pl=5.0, unrealized_pl=-15.0),
            _pnl_row(T3, a, "", "*", nav=990.0, realized_pl=5.0, unrealized_pl=-15.0),
            _pnl_row(T4, a, "dep1", "EUR_USD", mid=1.095, realized_pl=5.0, unrealized_pl=-5.0),
            _pnl_row(T4, a, "", "*", nav=1000.0, realized_pl=5.0, unrealized_pl=-5.0),
        ]
    )
    day = {"financing": 0.0, "commission": 0.0, "units": 0.0}
    check = {"status": "clean", "tolerance": 0.01, "detail": {}}
    pnl.write_day(
        engine,
        "2025-03-04",
        a,
        [
            {**day, "deployment": "dep1", "instrument": "EUR_USD", "realized_pl": 5.0,
             "unrealized_pl": -15.0, "financing": -0.5, "commission": -0.2, "units": 1000.0,
             "nav": 990.0},
            {**day, "deployment": "", "instrument": "*", "realized_pl": 5.0,
             "unrealized_pl": -15.0, "financing": -0.5, "commission": -0.2, "nav": 990.0},
        ],
        check,
    )  # fmt: skip
    pnl.write_day(
        engine,
        "2025-03-06",
        a,
        [
            {**day, "deployment": "dep1", "instrument": "EUR_USD", "realized_pl": 0.0,
             "unrealized_pl": None, "nav": None},
            {**day, "deployment": "", "instrument": "GBP_USD", "realized_pl": 1.0,
             "unrealized_pl": 2.0, "nav": None},
            {**day, "deployment": "", "instrument": "*", "realized_pl": 1.0,
             "unrealized_pl": None, "nav": None},
        ],
        check,
    )  # fmt: skip
    with engine.begin() as conn:
        conn.execute(
            insert(LiveDeploymentRow).values(
                name="dep1", account_id=a, config_fingerprint=FP, config={}, status="running",
                pid=42, health_url=None, started_at=T1, heartbeat_at=T3, stopped_at=None,
                detail="",
            )
        )  # fmt: skip
        conn.execute(
            insert(LiveModelRow),
            [
                {"deployment": "dep1", "desired_model": "models:/m/2", "desired_at": T2,
                 "desired_by": "launch", "desired_reason": "", "live_model": "models:/m/1",
                 "live_at": T1, "detail": "loading models:/m/2"},
                {"deployment": "dep2", "desired_model": "models:/m/3", "desired_at": T2,
                 "desired_by": "launch", "desired_reason": "", "live_model": None,
                 "live_at": None, "detail": ""},
            ],
        )  # fmt: skip
        conn.execute(
            insert(KillSwitchRow).values(
                scope=a, state="halted", reason="daily loss 20.00", changed_at=T3,
                changed_by="risk", peak_nav=1010.0, day="2025-03-04", day_start_nav=1000.0,
            )
        )  # fmt: skip
        conn.execute(
            insert(RiskEventRow).values(
                at=T2, scope=a, deployment="dep1", check="max_position", approved=False,
                reason="position 3000 above 2000", detail={},
            )
        )  # fmt: skip


def _oms(engine: Engine) -> None:
    fill = {"financing": 0.0, "commission": 0.0, "pl": 0.0}
    order = {
        "deployment": "dep1", "instrument": "EUR_USD", "price": None, "price_bound": None,
        "time_in_force": None, "stop_loss": None, "filled_units": 0.0, "avg_price": None,
        "algo": "market", "reason": "target", "reject_reason": None,
    }  # fmt: skip
    with engine.begin() as conn:
        conn.execute(
            insert(OmsFillRow),
            [
                {**fill, "account_id": "A1", "transaction_id": 10, "order_id": "101",
                 "client_id": "C1", "deployment": "dep1", "instrument": "EUR_USD",
                 "units": 1000.0, "price": 1.1, "commission": -0.1, "at": T1},
                {**fill, "account_id": "A2", "transaction_id": 20, "order_id": "201",
                 "client_id": "C2", "deployment": "", "instrument": "GBP_USD",
                 "units": -200.0, "price": 1.25, "pl": 1.0, "at": JUL_BEFORE},
                {**fill, "account_id": "A2", "transaction_id": 21, "order_id": "202",
                 "client_id": None, "deployment": "", "instrument": "GBP_USD",
                 "units": 100.0, "price": 1.26, "pl": 3.0, "at": JUL_AFTER},
            ],
        )  # fmt: skip
        conn.execute(
            insert(OmsOrderRow),
            [
                {**order, "client_id": "C1", "account_id": "A1", "units": 1000.0,
                 "type": "MARKET", "state": "filled", "broker_order_id": "101",
                 "filled_units": 1000.0, "avg_price": 1.1, "created_at": T1, "updated_at": T1},
                {**order, "client_id": "C3", "account_id": "A1", "units": -500.0,
                 "type": "LIMIT", "state": "accepted", "price": 151.0, "time_in_force": "GTC",
                 "broker_order_id": "102", "instrument": "USD_JPY", "created_at": T2,
                 "updated_at": T3},
            ],
        )  # fmt: skip
        conn.execute(
            insert(OmsPositionRow),
            [
                {"account_id": "A1", "instrument": "EUR_USD", "units": 1000.0,
                 "avg_price": 1.1, "realized_pl": 5.0, "updated_at": T3},
                {"account_id": "A1", "instrument": "GBP_USD", "units": 0.0,
                 "avg_price": 0.0, "realized_pl": 2.0, "updated_at": T2},
                {"account_id": "A1", "instrument": "USD_JPY", "units": -500.0,
                 "avg_price": 150.0, "realized_pl": 0.0, "updated_at": T3},
            ],
        )  # fmt: skip


def _run(run_id: str, kind: str, status: str, metrics: dict[str, Any], name: str) -> Any:
    return {
        "id": run_id, "kind": kind, "name": name, "config_fingerprint": FP,
        "code_version": "test", "status": status, "started_at": T1, "finished_at": T2,
        "metrics": metrics, "message": "", "data_start": at(2024, 1, 1),
        "data_end": at(2024, 6, 30),
    }  # fmt: skip


BT_METRICS = {
    "total_return": 0.21, "sharpe": 1.5, "max_drawdown": -0.1, "trades": 1.0,
    "win_rate": 1.0, "profit_factor": math.inf, "sqn": math.nan, "exposure": 0.4,
}  # fmt: skip


def _research(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(ConfigRow).values(fingerprint=FP, kind="test", name="", body={}, created_at=T1)
        )
        conn.execute(insert(RunRow).values(**_run(RUN_BT, "backtest", "succeeded", {}, "bt")))
        rid = conn.execute(
            insert(BacktestResultRow).values(
                run_id=RUN_BT, strategy="sma", params={"fast": 5},
                instruments={"symbols": ["EUR_USD", "GBP_USD"]},
                metrics=json_metrics(BT_METRICS),
            )
        ).inserted_primary_key[0]  # fmt: skip
        conn.execute(
            insert(BacktestFillRow),
            [
                {"result_id": rid, "ts": T1, "instrument": "EUR_USD", "units": 1000.0,
                 "price": 1.1, "commission": 0.5, "order_ref": 1},
                {"result_id": rid, "ts": T2, "instrument": "EUR_USD", "units": -1000.0,
                 "price": 1.2, "commission": 0.25, "order_ref": 2},
            ],
        )  # fmt: skip
        trade = {"result_id": rid, "instrument": "EUR_USD", "commission": 0.75, "mae": -1.0}
        conn.execute(
            insert(BacktestTradeRow),
            [
                {**trade, "entry_ts": T1, "exit_ts": T2, "units": 1000.0, "entry_price": 1.1,
                 "exit_price": 1.2, "pnl": 99.25, "bars_held": 6, "mfe": 100.0,
                 "closed": True},
                {**trade, "entry_ts": T3, "exit_ts": None, "units": -500.0,
                 "entry_price": 1.15, "exit_price": None, "pnl": -2.0, "bars_held": 1,
                 "mfe": 0.0, "closed": False},
            ],
        )  # fmt: skip
        conn.execute(
            insert(BacktestEquityRow),
            [
                {"result_id": rid, "ts": t, "equity": e, "exposure": x}
                for t, e, x in ((T1, 100.0, 0.0), (T2, 110.0, 0.5), (T3, 99.0, 0.5),
                                (T4, 121.0, 0.0))
            ],
        )  # fmt: skip


def _train(version: str, test: dict[str, float]) -> dict[str, Any]:
    return {
        "model_name": "m", "model_version": version, "learner": "rl", "algo": "ppo",
        "mlflow_run_id": f"ml{version}", "model_uri": f"models:/m/{version}",
        "metrics": json_metrics({"val_sharpe": 9.0, **test}),
    }  # fmt: skip


def _promotion(key: str, version: str, champion: str | None, decision: str, day: int, **m: Any):
    return promotions.Promotion(
        model_name="m", run_key=key, challenger_version=version, champion_version=champion,
        decision=decision, reason=f"{decision} {version}", gate={"metric": "sharpe", "name": "g"},
        challenger_metrics=json_metrics(m.get("ours", {})),
        champion_metrics=json_metrics(m.get("theirs", {})),
        window_start=at(2025, 1, 1), window_end=at(2025, 2, 1), challenger_run_id=None,
        champion_run_id=None, decided_at=at(2025, 3, day),
    )  # fmt: skip


def _models(engine: Engine) -> None:
    v1 = _train("1", {"test_sharpe": 0.8, "test_trades": 4.0, "test_max_drawdown": math.nan})
    v2 = _train("2", {"test_sharpe": 1.2, "test_accuracy": 0.55})
    v4 = _train("4", {"test_sharpe": 0.1})
    with engine.begin() as conn:
        conn.execute(
            insert(RunRow),
            [
                _run("11111111-0000-4000-8000-000000000001", "train", "succeeded", v1, "m"),
                _run("22222222-0000-4000-8000-000000000002", "train", "succeeded", v2, "m"),
                _run("33333333-0000-4000-8000-000000000003", "train", "failed", {}, "m"),
                _run("44444444-0000-4000-8000-000000000004", "train", "succeeded", v4, "m"),
            ],
        )
    for p in (
        _promotion("k1", "1", None, "promoted", 1, ours={"sharpe": 0.8}),
        _promotion("k2", "2", "1", "promoted", 3, ours={"sharpe": 1.2}, theirs={"sharpe": 0.8}),
        _promotion(
            "k3", "3", "2", "rejected", 5, ours={"sharpe": math.nan}, theirs={"sharpe": 1.1}
        ),
    ):
        promotions.record(engine, p)


REASONS = (
    ("close is not finite; high below max(open, close)", "value_not_finite", "invalid"),
    ("conflicts with the stored bar from batch 3: close 1.1 stored, 1.2 here",
     "conflicts_with_stored", "conflict"),
    ("timestamp not on the H1 grid", "timestamp_off_grid", "invalid"),
    ("timestamp not on the grid: it has a sub-microsecond part", "timestamp_sub_microsecond",
     "invalid"),
    ("duplicate of line 4 (2024-01-01T00:00:00Z)", "duplicate", "invalid"),
    ("open is not a number: 'abc'", "value_not_a_number", "invalid"),
    ("timestamp is missing; open is missing", "timestamp_missing", "invalid"),
    ("malformed row: expected 6 fields, got 3", "malformed_row", "invalid"),
    ("something nobody phrased yet", "other", "invalid"),
)  # fmt: skip


def _ingest(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(InstrumentRow).values(
                id=7, symbol="EUR_USD", asset_class="CURRENCY", base_currency="EUR",
                quote_currency="USD", pip_location=-4, display_precision=5,
                trade_units_precision=0, min_trade_size=1.0, created_at=T1,
            )
        )  # fmt: skip
        conn.execute(insert(VendorRow).values(id=3, name="acme", synthetic=False, description=""))
        batch = {
            "source_kind": "csv", "checksum": "c" * 64, "instrument_id": 7, "timeframe": "H1",
            "side": "mid", "vendor_id": 3, "config_fingerprint": FP, "status": "committed",
            "skipped_duplicates": 0, "conflicts": 0, "overwritten": 0, "first_ts": None,
            "last_ts": None, "started_at": T1, "finished_at": T2,
        }  # fmt: skip
        conn.execute(
            insert(IngestBatchRow),
            [
                {**batch, "id": 1, "source": "a.csv", "rows_read": 10, "inserted": 6,
                 "skipped_duplicates": 1, "conflicts": 1, "quarantined": 2, "first_ts": T1,
                 "last_ts": T2},
                {**batch, "id": 2, "source": "empty.csv", "rows_read": 0, "inserted": 0,
                 "quarantined": 0, "started_at": T3, "finished_at": None},
            ],
        )  # fmt: skip
        add_quarantine(
            conn,
            1,
            [QuarantineItem(n + 2, r, {"text": "x"}, cat) for n, (r, _, cat) in enumerate(REASONS)],
        )
