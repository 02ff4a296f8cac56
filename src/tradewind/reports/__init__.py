"""Reports: a self-contained HTML tearsheet for backtest runs."""

from tradewind.reports.tearsheet import render_tearsheet, write_tearsheet

__all__ = ["render_tearsheet", "write_tearsheet"]
