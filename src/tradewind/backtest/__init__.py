"""Backtests: a Backtrader runner behind our own adapter, a vectorised engine, metrics."""
