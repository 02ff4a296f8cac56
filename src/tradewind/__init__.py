"""Tradewind: an algorithmic trading platform from raw market data to live P&L."""

__version__ = "0.1.0"
