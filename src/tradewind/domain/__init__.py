"""Pure domain types. Imports nothing else of Tradewind's."""

from tradewind.domain.calendars import TradingCalendar
from tradewind.domain.instruments import AssetClass, Instrument, InstrumentId
from tradewind.domain.market import (
    FX_TRADING_DAYS_PER_YEAR,
    FX_TRADING_SECONDS_PER_YEAR,
    Bar,
    PriceSide,
    Timeframe,
)
from tradewind.domain.orders import (
    FillRecord,
    OrderIntent,
    OrderRecord,
    OrderState,
    PositionRecord,
)
from tradewind.domain.series import BarSeries
from tradewind.domain.ticks import Tick

__all__ = [
    "FX_TRADING_DAYS_PER_YEAR",
    "FX_TRADING_SECONDS_PER_YEAR",
    "AssetClass",
    "Bar",
    "BarSeries",
    "FillRecord",
    "Instrument",
    "InstrumentId",
    "OrderIntent",
    "OrderRecord",
    "OrderState",
    "PositionRecord",
    "PriceSide",
    "Tick",
    "Timeframe",
    "TradingCalendar",
]
