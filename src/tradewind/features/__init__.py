"""Features: one pipeline for training, backtest and live, on TA-Lib."""
