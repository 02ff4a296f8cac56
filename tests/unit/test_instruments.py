"""Non-FX instruments: reference data derived from a spec, trading calendars and the bars a
year they annualise with, and unit rounding shared by the backtest and the live path."""

from __future__ import annotations

import random

import numpy as np
import pytest
from pydantic import ValidationError

from tradewind.backtest.bt_engine import load_strategy, run_backtrader
from tradewind.config import InstrumentSpec
from tradewind.config.backtest import BacktestConfig, Sizing, SizingMethod, StrategySpec
from tradewind.domain import AssetClass, Timeframe, TradingCalendar
from tradewind.domain.calendars import periods_per_year
from tradewind.domain.instruments import round_units
from tradewind.domain.series import BarSeries
from tradewind.risk.rules import InstrumentRules

H = 3_600_000_000
T0 = 1_704_067_200_000_000


def test_equity_crypto_index_specs_derive_what_is_left_out() -> None:
    aapl = InstrumentSpec(symbol="AAPL_USD", asset_class=AssetClass.EQUITY, tick_size=0.01)
    ins = aapl.to_domain()
    assert (ins.currency, ins.tick, ins.display_precision, ins.pip_location) == (
        "USD",
        0.01,
        2,
        -2,
    )
    assert ins.calendar is TradingCalendar.XNYS
    btc = InstrumentSpec.model_validate(
        {
            "symbol": "BTC_USD",
            "asset_class": "crypto",
            "tick_size": 0.5,
            "trade_units_precision": 8,
            "min_trade_size": 0.0001,
        }
    ).to_domain()
    assert (btc.tick, btc.display_precision, btc.calendar) == (0.5, 1, TradingCalendar.CRYPTO)
    dax = InstrumentSpec.model_validate(
        {"symbol": "DE30_EUR", "asset_class": "index", "tick_size": 0.1, "calendar": "xetr"}
    ).to_domain()
    assert (dax.currency, dax.calendar) == ("EUR", TradingCalendar.XETR)
    # An FX spec as the universe files write it keeps its meaning.
    eur = InstrumentSpec(symbol="EUR_USD", pip_location=-4, display_precision=5).to_domain()
    assert (eur.pip, eur.tick, eur.calendar) == (1e-4, 1e-5, TradingCalendar.FX)


def test_bad_instrument_specs_say_what_is_wrong() -> None:
    with pytest.raises(ValidationError, match="give display_precision or tick_size"):
        InstrumentSpec(symbol="AAPL_USD", asset_class=AssetClass.EQUITY)
    with pytest.raises(ValidationError, match="has more decimals than display_precision 2"):
        InstrumentSpec(symbol="AAPL_USD", tick_size=0.001, display_precision=2)
    with pytest.raises(ValidationError, match="unknown trading calendar 'NASDAQ'; expected one"):
        InstrumentSpec.model_validate({"symbol": "A_USD1", "tick_size": 0.01, "calendar": "NASDAQ"})


def test_bars_a_year_follow_the_calendar() -> None:
    assert TradingCalendar.FX.periods_per_year(Timeframe.D) == 260
    assert TradingCalendar.FX.periods_per_year(Timeframe.H1) == Timeframe.H1.periods_per_year
    assert TradingCalendar.FX.periods_per_year(Timeframe.M1) == Timeframe.M1.periods_per_year
    assert TradingCalendar.XNYS.periods_per_year(Timeframe.D) == 252
    # 09:30-16:00: seven H1 bars (09:00 partial ... 15:00), thirteen M30 bars a session
    assert TradingCalendar.XNYS.periods_per_year(Timeframe.H1) == 252 * 7
    assert TradingCalendar.XNYS.periods_per_year(Timeframe.M30) == 252 * 13
    assert TradingCalendar.XLON.periods_per_year(Timeframe.M30) == 252 * 17
    assert TradingCalendar.CRYPTO.periods_per_year(Timeframe.D) == 365
    assert TradingCalendar.CRYPTO.periods_per_year(Timeframe.H1) == 365 * 24
    assert periods_per_year([TradingCalendar.XNYS, TradingCalendar.FX], Timeframe.D) == 260
    assert periods_per_year([], Timeframe.D) == 260


def test_unit_rounding_is_the_live_paths() -> None:
    rng = random.Random(16)
    for _ in range(5_000):
        precision = rng.randint(0, 8)
        units = rng.choice([-1, 1]) * rng.uniform(0, 10 ** rng.randint(0, 7))
        rules = InstrumentRules("X_Y", 1.0, precision, 5, 0.05)
        assert round_units(units, precision) == rules.round_units(units)
    assert round_units(0.3 * 10, 0) == 3.0
    assert round_units(-2.9, 0) == -2.0
    assert round_units(0.123456789, 8) == 0.12345678


def _bars(n: int) -> BarSeries:
    close = 100.0 + np.arange(n, dtype=np.float64)
    ts = T0 + H * np.arange(n, dtype=np.int64)
    return BarSeries(ts, close, close + 1, close - 1, close, np.full(n, 1e6))


def test_backtest_orders_round_to_the_instruments_unit_precision() -> None:
    cfg = BacktestConfig(
        name="t",
        instruments=("AAPL_USD", "BTC_USD"),
        timeframe=Timeframe.H1,
        strategies=(StrategySpec(name="buy_and_hold"),),
        cash=100_000.0,
        sizing=Sizing(method=SizingMethod.FIXED_NOTIONAL, value=1_000.0),
    )
    bars = {"AAPL_USD": _bars(5), "BTC_USD": _bars(5)}
    strategy = load_strategy("buy_and_hold")
    raw = run_backtrader(bars, {}, strategy, {}, cfg, "bh")
    assert {f.instrument: f.units for f in raw.fills}["AAPL_USD"] == pytest.approx(1000 / 100)
    r = run_backtrader(
        bars, {}, strategy, {}, cfg, "bh", units_precision={"AAPL_USD": 0, "BTC_USD": 8}
    )
    units = {f.instrument: f.units for f in r.fills}
    assert units == {"AAPL_USD": 10.0, "BTC_USD": 10.0}  # 1000 / 100 at the decision close
    cfg3 = cfg.model_copy(
        update={"sizing": Sizing(method=SizingMethod.FIXED_NOTIONAL, value=1_050)}
    )
    r3 = run_backtrader(
        bars, {}, strategy, {}, cfg3, "bh", units_precision={"AAPL_USD": 0, "BTC_USD": 8}
    )
    units3 = {f.instrument: f.units for f in r3.fills}
    assert units3["AAPL_USD"] == 10.0  # 10.5 shares: toward zero, as live sends it
    assert units3["BTC_USD"] == 10.5
    # An order smaller than one unit is not sent at all.
    cfg4 = cfg.model_copy(update={"sizing": Sizing(method=SizingMethod.FIXED_NOTIONAL, value=50)})
    r4 = run_backtrader(bars, {}, strategy, {}, cfg4, "bh", units_precision={"AAPL_USD": 0})
    assert [f.instrument for f in r4.fills] == ["BTC_USD"]
