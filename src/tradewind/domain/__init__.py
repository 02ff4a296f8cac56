"""Pure domain types. Imports nothing else of Tradewind's."""

from tradewind.domain.instruments import AssetClass, Instrument, InstrumentId
from tradewind.domain.market import Bar, PriceSide, Timeframe
from tradewind.domain.series import BarSeries

__all__ = ["AssetClass", "Bar", "BarSeries", "Instrument", "InstrumentId", "PriceSide", "Timeframe"]
