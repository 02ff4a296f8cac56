"""Non-FX instruments end to end on SQLite and Postgres: added from the CLI, imported on
exchange-local dates, backtested with their own calendar and unit precision; migration 0008
fills in existing instruments."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from equity_support import import_daily_equity
from sqlalchemy import Engine, inspect, text

from tradewind.config import ImportSpec, InstrumentSpec, UniverseConfig
from tradewind.config.backtest import BacktestConfig, Costs, Sizing, SizingMethod, StrategySpec
from tradewind.domain import Timeframe, TradingCalendar
from tradewind.pipelines.backtest import run_backtest
from tradewind.pipelines.ingest import import_file
from tradewind.pipelines.setup import initialise
from tradewind.storage import catalog, migrate
from tradewind.storage.engine import make_engine

TRADEWIND = Path(sys.executable).parent / "tradewind"


def tradewind(home: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND_")}
    env.update({"TRADEWIND_HOME": str(home), "TRADEWIND_DATABASE_URL": url, "COLUMNS": "200"})
    home.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [str(TRADEWIND), *args], env=env, cwd=home, capture_output=True, text=True, timeout=300
    )


def ok_json(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_add_equity_and_crypto_from_the_cli(db_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert tradewind(home, db_url, "init").returncode == 0
    aapl = ok_json(
        tradewind(
            home, db_url, "instruments", "add", "AAPL_USD", "--asset-class", "equity",
            "--tick-size", "0.01", "--json",
        )
    )  # fmt: skip
    assert aapl == {
        "symbol": "AAPL_USD",
        "asset_class": "equity",
        "currency": "USD",
        "tick_size": 0.01,
        "display_precision": 2,
        "pip_location": -2,
        "trade_units_precision": 0,
        "min_trade_size": 1.0,
        "calendar": "XNYS",
    }
    tradewind(
        home, db_url, "instruments", "add", "BTC_USD", "--asset-class", "crypto",
        "--tick-size", "0.5", "--units-precision", "8", "--min-trade-size", "0.0001",
    )  # fmt: skip
    listed = ok_json(tradewind(home, db_url, "instruments", "ls", "--json"))["instruments"]
    by = {i["symbol"]: i for i in listed}
    assert by["BTC_USD"]["calendar"] == "crypto"
    assert by["BTC_USD"]["trade_units_precision"] == 8
    assert by["EUR_USD"]["tick_size"] == pytest.approx(1e-5)
    assert by["AAPL_USD"] == aapl
    bad = tradewind(home, db_url, "instruments", "add", "SPY_USD", "--asset-class", "equity")
    assert bad.returncode != 0
    assert bad.stderr.strip() == (
        "error: SPY_USD: give --tick-size, the smallest price step (e.g. --tick-size 0.01)"
    )


def test_equity_daily_backtest_annualises_on_252_days_and_trades_whole_shares(
    db_engine: Engine, tmp_path: Path
) -> None:
    report = import_daily_equity(db_engine, tmp_path, 120, datetime(2024, 1, 2), seed=16)
    assert (report.inserted, report.quarantined) == (120, 0)
    cfg = BacktestConfig(
        name="aapl",
        instruments=("AAPL_USD",),
        timeframe=Timeframe.D,
        strategies=(StrategySpec(name="buy_and_hold"),),
        cash=100_000.0,
        sizing=Sizing(method=SizingMethod.FIXED_NOTIONAL, value=50_000.0),
    )
    (result,) = run_backtest(db_engine, cfg).results
    assert all(u == int(u) for u in (f.units for f in result.fills))  # whole shares
    r = np.diff(result.equity) / result.equity[:-1]
    assert result.metrics["annual_volatility"] == pytest.approx(np.std(r, ddof=1) * math.sqrt(252))
    with db_engine.connect() as conn:
        (aapl,) = catalog.list_instruments(conn, ["AAPL_USD"])
    assert aapl.calendar is TradingCalendar.XNYS


def test_0008_fills_in_existing_instruments_and_downgrades(db_url: str, new_db_url: Any) -> None:
    eng = make_engine(new_db_url("m8"))
    migrate.upgrade(eng, "0007_reporting_views")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with eng.begin() as conn:
        for sym, cls, dp in (("EUR_USD", "fx", 5), ("BTC_USD", "crypto", 2)):
            conn.execute(
                text(
                    "INSERT INTO instruments (symbol, asset_class, base_currency, "
                    "quote_currency, pip_location, display_precision, trade_units_precision, "
                    "min_trade_size, created_at) VALUES (:s, :c, 'X', 'USD', -4, :dp, 0, 1, :t)"
                ),
                {"s": sym, "c": cls, "dp": dp, "t": now if eng.dialect.name != "sqlite" else 0},
            )
    migrate.upgrade(eng)
    with eng.connect() as conn:
        got = {i.id.symbol: (i.tick, i.calendar) for i in catalog.list_instruments(conn)}
    assert got == {
        "BTC_USD": (pytest.approx(0.01), TradingCalendar.CRYPTO),
        "EUR_USD": (pytest.approx(1e-5), TradingCalendar.FX),
    }
    migrate.downgrade(eng, "0007_reporting_views")
    cols = {c["name"] for c in inspect(eng).get_columns("instruments")}
    assert not {"tick_size", "calendar"} & cols
    with eng.connect() as conn:  # the reporting views still read the table
        view = (
            "reporting_ingest_batches"
            if eng.dialect.name == "sqlite"
            else "reporting.ingest_batches"
        )
        assert conn.scalar(text(f"SELECT count(*) FROM {view}")) == 0
    eng.dispose()


def test_a_fixed_spread_is_in_the_instruments_own_pips(db_engine: Engine, tmp_path: Path) -> None:
    """USD_JPY's pip is 0.01, not EUR_USD's 0.0001: a 2-pip fixed spread costs each unit half
    of 0.02 on each fill (it once cost half of 0.0002, the default pip)."""
    initialise(
        db_engine,
        UniverseConfig(
            name="jpy",
            instruments=(InstrumentSpec(symbol="USD_JPY", pip_location=-2, display_precision=3),),
        ),
    )
    start = datetime(2024, 1, 1, tzinfo=UTC)
    rows = [
        f"{start + timedelta(hours=i):%Y-%m-%d %H:%M:%S},150.00,150.10,149.90,150.05,1"
        for i in range(48)
    ]
    f = tmp_path / "jpy.csv"
    f.write_text("time,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
    report = import_file(db_engine, f, ImportSpec(instrument="USD_JPY", timeframe=Timeframe.H1))
    assert report.inserted == 48
    cfg = BacktestConfig(
        name="jpy",
        instruments=("USD_JPY",),
        timeframe=Timeframe.H1,
        strategies=(StrategySpec(name="buy_and_hold"),),
        costs=Costs(spread="fixed", spread_pips=2.0),
    )
    (result,) = run_backtest(db_engine, cfg).results
    assert result.fills
    for fill in result.fills:
        assert fill.spread_cost == pytest.approx(abs(fill.units) * 0.01)
