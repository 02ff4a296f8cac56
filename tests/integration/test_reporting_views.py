"""The reporting views on both backends: every view of the contract with exactly its
documented columns, and each view's content for a small known dataset."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from reporting_support import (
    JUL_AFTER,
    JUL_BEFORE,
    REASONS,
    RUN_BT,
    T1,
    T2,
    T3,
    T4,
    at,
    read,
    same,
    seed,
    when,
)
from sqlalchemy import Engine, inspect, text

from tradewind.domain.orders import OPEN
from tradewind.storage import migrate
from tradewind.storage.reporting import DEFINITIONS, POSTGRES_ONLY, VIEWS, v1_live, view_name

DOC = Path(__file__).resolve().parents[2] / "docs" / "reporting.md"


@pytest.fixture
def seeded(db_engine: Engine) -> Engine:
    seed(db_engine)
    return db_engine


def _pg_only(engine: Engine, view: str) -> None:
    if engine.dialect.name != "postgresql" and view in POSTGRES_ONLY:
        pytest.skip(f"{view} is Postgres only: SQLite has no America/New_York rules")


def _check(got: list[dict[str, Any]], want: list[dict[str, Any]], key: Any) -> None:
    got, want = sorted(got, key=key), sorted(want, key=key)
    assert len(got) == len(want), got
    for g, w in zip(got, want, strict=True):
        assert same(g, w), f"\n got {g}\nwant {w}"


# ------------------------------------------------------------------ the contract itself


def _documented() -> dict[str, tuple[str, ...]]:
    """View -> columns, from the tables of docs/reporting.md (``### name`` then rows
    ``| `column` | ... |``)."""
    out: dict[str, list[str]] = {}
    current = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if m := re.match(r"^### `?([a-z_]+)`?", line):
            current = m.group(1)
            out[current] = []
        elif current and (m := re.match(r"^\| `([a-z_0-9]+)` \|", line)):
            out[current].append(m.group(1))
    return {k: tuple(v) for k, v in out.items()}


def test_the_documentation_lists_exactly_the_views_and_columns() -> None:
    assert _documented() == dict(VIEWS)


def test_every_view_exists_with_exactly_its_columns(db_engine: Engine) -> None:
    dialect = db_engine.dialect.name
    with db_engine.connect() as conn:
        for name, columns in VIEWS.items():
            if dialect != "postgresql" and name in POSTGRES_ONLY:
                continue
            got = conn.execute(text(f"SELECT * FROM {view_name(name, dialect)} WHERE 1 = 0"))
            assert tuple(got.keys()) == columns, name
        if dialect == "postgresql":
            names = set(inspect(conn).get_view_names(schema="reporting"))
            assert names == set(VIEWS)
        else:
            names = set(inspect(conn).get_view_names())
            assert names == {f"reporting_{v}" for v in VIEWS} - {
                f"reporting_{v}" for v in POSTGRES_ONLY
            }


def test_version_1_open_states_are_the_oms_open_states() -> None:
    # a new non-terminal state must come with a new version of the views, not change v1
    assert set(v1_live.OPEN_STATES) == {s.value for s in OPEN}
    assert DEFINITIONS[1]


def test_downgrade_drops_the_views_and_upgrade_brings_them_back(db_engine: Engine) -> None:
    migrate.downgrade(db_engine, "0006_platform_jobs")
    with db_engine.connect() as conn:
        insp = inspect(conn)
        if db_engine.dialect.name == "postgresql":
            assert "reporting" not in insp.get_schema_names()
        else:
            assert not [v for v in insp.get_view_names() if v.startswith("reporting_")]
    migrate.upgrade(db_engine)
    assert read(db_engine, "orders") == []


# ------------------------------------------------------------------------- live views


def test_live_nav(seeded: Engine) -> None:
    row = {"deployment": "", "realized_pl": 0.0}
    want = [
        {**row, "at": T1, "account_id": "A1", "nav": 1000.0, "unrealized_pl": 0.0, "pnl": 0.0,
         "peak_nav": 1000.0, "drawdown": 0.0},
        {**row, "at": T2, "account_id": "A1", "nav": 1010.0, "unrealized_pl": 10.0,
         "pnl": 10.0, "peak_nav": 1010.0, "drawdown": 0.0},
        {**row, "at": T3, "account_id": "A1", "nav": 990.0, "realized_pl": 5.0,
         "unrealized_pl": -15.0, "pnl": -10.0, "peak_nav": 1010.0,
         "drawdown": 990.0 / 1010.0 - 1},
        {**row, "at": T4, "account_id": "A1", "nav": 1000.0, "realized_pl": 5.0,
         "unrealized_pl": -5.0, "pnl": 0.0, "peak_nav": 1010.0,
         "drawdown": 1000.0 / 1010.0 - 1},
        {**row, "at": T1, "account_id": "A2", "nav": 500.0, "unrealized_pl": 0.0, "pnl": 0.0,
         "peak_nav": 500.0, "drawdown": 0.0},
    ]  # fmt: skip
    for w in want:
        w["at"] = when(seeded, w["at"])
    _check(read(seeded, "live_nav"), want, key=lambda r: (r["account_id"], r["at"]))


def test_live_daily_pnl(seeded: Engine) -> None:
    _pg_only(seeded, "live_daily_pnl")
    cols = ("realized_pl", "unrealized_pl", "financing", "commission", "day_pl", "nav")

    def row(acct: str, day: date, dep: str, values: tuple[Any, ...], source: str) -> Any:
        return {"day": day, "account_id": acct, "deployment": dep, "source": source,
                **dict(zip(cols, values, strict=True))}  # fmt: skip

    snaps, rec = "snapshots", "reconciliation"
    d3, d4, d5, d6 = (date(2025, 3, d) for d in (3, 4, 5, 6))
    want = [
        # the last snapshot of FX day 3 March (T2) and the day's fill's commission; the
        # account's first day: its NAV change since the day's first snapshot (T1)
        row("A1", d3, "*", (0.0, 10.0, 0.0, -0.1, 10.0, 1010.0), snaps),
        row("A1", d3, "dep1", (0.0, 10.0, 0.0, -0.1, 9.9, 1010.0), snaps),
        # reconciled: the NAV change for the account, the sum of its parts for dep1
        row("A1", d4, "*", (5.0, -15.0, -0.5, -0.2, -20.0, 990.0), rec),
        row("A1", d4, "dep1", (5.0, -15.0, -0.5, -0.2, 5 - 0.5 - 0.2 - 15 - 10, 990.0), rec),
        # T4 is 17:30 New York on 4 March: FX day 5 March
        row("A1", d5, "*", (0.0, -5.0, 0.0, 0.0, 10.0, 1000.0), snaps),
        row("A1", d5, "dep1", (0.0, -5.0, 0.0, 0.0, 10.0, 1000.0), snaps),
        # no mark at the end of 6 March: unrealised and the account's day unknown
        row("A1", d6, "*", (1.0, None, 0.0, 0.0, None, None), rec),
        row("A1", d6, "dep1", (0.0, None, 0.0, 0.0, None, None), rec),
        row("A1", d6, "", (1.0, 2.0, 0.0, 0.0, 3.0, None), rec),
        row("A2", d3, "*", (0.0, 0.0, 0.0, 0.0, 0.0, 500.0), snaps),
        # summer time: 20:59 UTC is 16:59 New York (1 July), 21:30 UTC is 17:30 (2 July)
        row("A2", date(2025, 7, 1), "*", (1.0, None, 0.0, 0.0, None, None), snaps),
        row("A2", date(2025, 7, 1), "", (1.0, None, 0.0, 0.0, None, None), snaps),
        row("A2", date(2025, 7, 2), "*", (3.0, None, 0.0, 0.0, None, None), snaps),
        row("A2", date(2025, 7, 2), "", (3.0, None, 0.0, 0.0, None, None), snaps),
    ]
    got = read(seeded, "live_daily_pnl")
    _check(got, want, key=lambda r: (r["account_id"], r["day"], r["deployment"]))


def test_positions(seeded: Engine) -> None:
    base = {"account_id": "A1", "mid": None, "unrealized_pl": None, "marked_at": None}
    want = [
        {**base, "instrument": "EUR_USD", "side": "long", "units": 1000.0, "avg_price": 1.1,
         "realized_pl": 5.0, "mid": 1.095, "unrealized_pl": -5.0,
         "marked_at": when(seeded, T4), "updated_at": when(seeded, T3)},
        {**base, "instrument": "GBP_USD", "side": "flat", "units": 0.0, "avg_price": 0.0,
         "realized_pl": 2.0, "updated_at": when(seeded, T2)},
        {**base, "instrument": "USD_JPY", "side": "short", "units": -500.0,
         "avg_price": 150.0, "realized_pl": 0.0, "updated_at": when(seeded, T3)},
    ]  # fmt: skip
    _check(read(seeded, "positions"), want, key=lambda r: r["instrument"])


def test_orders(seeded: Engine) -> None:
    got = {r["client_id"]: r for r in read(seeded, "orders")}
    assert set(got) == {"C1", "C3"}
    assert same(
        got["C1"],
        {"created_at": when(seeded, T1), "updated_at": when(seeded, T1), "account_id": "A1",
         "deployment": "dep1", "client_id": "C1", "broker_order_id": "101",
         "instrument": "EUR_USD", "side": "buy", "units": 1000.0, "type": "MARKET",
         "state": "filled", "is_open": False, "price": None, "price_bound": None,
         "stop_loss": None, "time_in_force": None, "filled_units": 1000.0, "avg_price": 1.1,
         "algo": "market", "reason": "target", "reject_reason": None},
    )  # fmt: skip
    c3 = got["C3"]
    assert (c3["side"], c3["state"], c3["price"], c3["time_in_force"]) == (
        "sell", "accepted", 151.0, "GTC",
    )  # fmt: skip
    assert same(c3["is_open"], True)
    assert c3["updated_at"] == when(seeded, T3)


def test_fills(seeded: Engine) -> None:
    base = {"financing": 0.0}
    want = [
        {**base, "at": when(seeded, T1), "account_id": "A1", "deployment": "dep1",
         "instrument": "EUR_USD", "side": "buy", "units": 1000.0, "price": 1.1,
         "notional": 1100.0, "pl": 0.0, "commission": -0.1, "order_id": "101",
         "client_id": "C1", "transaction_id": 10},
        {**base, "at": when(seeded, JUL_BEFORE), "account_id": "A2", "deployment": "",
         "instrument": "GBP_USD", "side": "sell", "units": -200.0, "price": 1.25,
         "notional": 250.0, "pl": 1.0, "commission": 0.0, "order_id": "201",
         "client_id": "C2", "transaction_id": 20},
        {**base, "at": when(seeded, JUL_AFTER), "account_id": "A2", "deployment": "",
         "instrument": "GBP_USD", "side": "buy", "units": 100.0, "price": 1.26,
         "notional": 126.0, "pl": 3.0, "commission": 0.0, "order_id": "202",
         "client_id": None, "transaction_id": 21},
    ]  # fmt: skip
    _check(read(seeded, "fills"), want, key=lambda r: r["transaction_id"])


def test_trading_state_deployments_and_risk_events(seeded: Engine) -> None:
    _check(
        read(seeded, "trading_state"),
        [{"scope": "A1", "state": "halted", "reason": "daily loss 20.00",
          "changed_at": when(seeded, T3), "changed_by": "risk", "peak_nav": 1010.0,
          "day": "2025-03-04", "day_start_nav": 1000.0}],
        key=lambda r: r["scope"],
    )  # fmt: skip
    _check(
        read(seeded, "deployments"),
        [
            {"deployment": "dep1", "account_id": "A1", "status": "running",
             "started_at": when(seeded, T1), "heartbeat_at": when(seeded, T3),
             "stopped_at": None, "detail": "", "desired_model": "models:/m/2",
             "live_model": "models:/m/1", "model_detail": "loading models:/m/2"},
            # desired by a launch, never started: no deployment row yet
            {"deployment": "dep2", "account_id": None, "status": None, "started_at": None,
             "heartbeat_at": None, "stopped_at": None, "detail": None,
             "desired_model": "models:/m/3", "live_model": None, "model_detail": ""},
        ],
        key=lambda r: r["deployment"],
    )  # fmt: skip
    _check(
        read(seeded, "risk_events"),
        [{"at": when(seeded, T2), "scope": "A1", "deployment": "dep1",
          "check_name": "max_position", "approved": False,
          "reason": "position 3000 above 2000"}],
        key=lambda r: r["at"],
    )  # fmt: skip


# --------------------------------------------------------------------- research views

LABEL = "bt sma b7e3c1d2"


def test_backtest_runs(seeded: Engine) -> None:
    (got,) = read(seeded, "backtest_runs")
    metrics = {m: None for m in VIEWS["backtest_runs"][12:-2]}
    want = {
        "run_id": RUN_BT, "run_name": "bt", "label": LABEL, "status": "succeeded",
        "started_at": when(seeded, T1), "finished_at": when(seeded, T2),
        "data_start": when(seeded, at(2024, 1, 1)), "data_end": when(seeded, at(2024, 6, 30)),
        "strategy": "sma", "instruments": "EUR_USD,GBP_USD",
        **metrics,
        # stored; profit_factor inf and sqn NaN are NULL, absent metrics NULL
        "total_return": 0.21, "sharpe": 1.5, "max_drawdown": -0.1, "trades": 1,
        "win_rate": 1.0, "exposure": 0.4, "commission": 0.75, "fills": 2,
    }  # fmt: skip
    assert json.loads(got.pop("params")) == {"fast": 5}
    assert isinstance(got.pop("result_id"), int)
    assert same(got, want)


def test_backtest_equity_and_trades(seeded: Engine) -> None:
    eq = read(seeded, "backtest_equity")
    eq.sort(key=lambda r: r["ts"])
    assert [r["ts"] for r in eq] == [when(seeded, t) for t in (T1, T2, T3, T4)]
    assert {(r["run_id"], r["strategy"], r["label"]) for r in eq} == {(RUN_BT, "sma", LABEL)}
    assert same([r["equity"] for r in eq], [100.0, 110.0, 99.0, 121.0])
    assert same([r["exposure"] for r in eq], [0.0, 0.5, 0.5, 0.0])
    assert same([r["cumulative_return"] for r in eq], [0.0, 0.1, -0.01, 0.21])
    assert same([r["drawdown"] for r in eq], [0.0, 0.0, 99 / 110 - 1, 0.0])

    trades = sorted(read(seeded, "backtest_trades"), key=lambda r: r["entry_ts"])
    assert [(t["side"], t["closed"]) for t in trades] in (
        [("long", True), ("short", False)],
        [("long", 1), ("short", 0)],
    )
    closed, open_ = trades
    assert (closed["exit_ts"], closed["exit_price"], closed["pnl"], closed["bars_held"]) == (
        when(seeded, T2), 1.2, 99.25, 6,
    )  # fmt: skip
    assert (open_["exit_ts"], open_["exit_price"], open_["units"]) == (None, None, -500.0)
    assert closed["label"] == LABEL
    assert closed["mae"] == -1.0
    assert closed["mfe"] == 100.0


def test_model_versions_and_promotions(seeded: Engine) -> None:
    versions = {r["model_version"]: r for r in read(seeded, "model_versions")}
    assert set(versions) == {"1", "2", "4"}  # the failed training is not a version
    # version 2 was promoted (k2); k3 was rejected and kept 2 as champion; no gate judged 4
    roles = {v: r["role"] for v, r in versions.items()}
    assert roles == {"1": "challenger", "2": "champion", "4": "unjudged"}
    v1, v2 = versions["1"], versions["2"]
    assert (v1["model_name"], v1["learner"], v1["algo"], v1["mlflow_run_id"]) == (
        "m", "rl", "ppo", "ml1",
    )  # fmt: skip
    assert v1["model_uri"] == "models:/m/1"
    assert v1["trained_at"] == when(seeded, T2)
    assert v1["data_start"] == when(seeded, at(2024, 1, 1))
    assert (v1["test_sharpe"], v1["test_trades"], v1["test_max_drawdown"]) == (0.8, 4.0, None)
    assert (v2["test_sharpe"], v2["test_accuracy"], v2["test_log_loss"]) == (1.2, 0.55, None)

    got = {r["run_key"]: r for r in read(seeded, "model_promotions")}
    assert {k: (r["decision"], r["metric"]) for k, r in got.items()} == {
        "k1": ("promoted", "sharpe"), "k2": ("promoted", "sharpe"),
        "k3": ("rejected", "sharpe"),
    }  # fmt: skip
    values = {k: (r["challenger_value"], r["champion_value"]) for k, r in got.items()}
    assert values == {"k1": (0.8, None), "k2": (1.2, 0.8), "k3": (None, 1.1)}
    k2 = got["k2"]
    assert (k2["challenger_version"], k2["champion_version"], k2["reason"]) == (
        "2", "1", "promoted 2",
    )  # fmt: skip
    assert k2["decided_at"] == when(seeded, at(2025, 3, 3))
    assert k2["window_start"] == when(seeded, at(2025, 1, 1))
    assert k2["window_end"] == when(seeded, at(2025, 2, 1))


def test_ingest_batches_and_quarantine(seeded: Engine) -> None:
    batches = {r["batch_id"]: r for r in read(seeded, "ingest_batches")}
    b1, b2 = batches[1], batches[2]
    assert (b1["instrument"], b1["vendor"], b1["timeframe"], b1["side"]) == (
        "EUR_USD", "acme", "H1", "mid",
    )  # fmt: skip
    assert (b1["rows_read"], b1["inserted"], b1["skipped_duplicates"], b1["conflicts"]) == (
        10, 6, 1, 1,
    )  # fmt: skip
    assert b1["quarantined"] == 2
    assert b1["quarantine_rate"] == pytest.approx(0.2)
    assert (b1["first_ts"], b1["last_ts"]) == (when(seeded, T1), when(seeded, T2))
    assert b2["quarantine_rate"] is None
    assert b2["finished_at"] is None
    assert b2["started_at"] == when(seeded, T3)

    rows = sorted(read(seeded, "quarantine"), key=lambda r: r["line"])
    assert [(r["reason"], r["reason_code"], r["category"]) for r in rows] == list(REASONS)
    assert {(r["batch_id"], r["instrument"], r["timeframe"], r["source"]) for r in rows} == {
        (1, "EUR_USD", "H1", "a.csv")
    }
    assert {r["started_at"] for r in rows} == {when(seeded, T1)}


# ------------------------------------------------------------------- NaN in the JSON


@pytest.fixture
def sqlite_nan_result(db_engine: Engine) -> Engine:
    if db_engine.dialect.name != "sqlite":
        pytest.skip("Postgres's json type refuses NaN tokens: they cannot be stored there")
    seed(db_engine)
    return db_engine


def test_a_nan_token_in_sqlite_json_reads_as_null(sqlite_nan_result: Engine) -> None:
    engine = sqlite_nan_result
    with engine.begin() as conn:  # what json.dumps writes for a float NaN left unconverted
        conn.execute(text('UPDATE backtest_results SET metrics = \'{"sharpe": NaN, "trades": 3}\''))
    (got,) = read(engine, "backtest_runs")  # no "malformed JSON" error
    assert got["sharpe"] is None
