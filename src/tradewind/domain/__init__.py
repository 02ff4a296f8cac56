"""Pure domain types. Imports nothing else of Tradewind's."""

from tradewind.domain.instruments import AssetClass, Instrument, InstrumentId
from tradewind.domain.market import Bar, PriceSide, Timeframe

__all__ = ["AssetClass", "Bar", "Instrument", "InstrumentId", "PriceSide", "Timeframe"]
