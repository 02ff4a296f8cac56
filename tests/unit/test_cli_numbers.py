"""CLI tables show numbers as a trader reads them; JSON keeps the raw values."""

from __future__ import annotations

import math

import pytest

from tradewind.cli.numbers import fmt_metric, fmt_number, fmt_percent


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("total_return", 0.12345, "12.35%"),
        ("max_drawdown", -0.0831, "-8.31%"),
        ("val_total_return", -0.004, "-0.40%"),
        ("win_rate", 0.5, "50.00%"),
        ("sharpe", 1.23456, "1.23"),
        ("profit_factor", math.inf, "∞"),
        ("profit_factor", "inf", "∞"),  # as stored in JSON columns
        ("sortino", "nan", "—"),
        ("trades", 42.0, "42"),
        ("trades", 12345.0, "12,345"),
        ("max_drawdown_duration_bars", 17.0, "17"),
        ("timesteps_trained", 20480.0, "20,480"),
        ("max_drawdown_value", -1234.567, "-1,234.57"),
        ("cv_accuracy", 0.5312, "53.12%"),
        ("val_log_loss", 0.69314, "0.69"),
        ("win_rate", None, "—"),
        ("win_rate", math.nan, "—"),
    ],
)
def test_metrics(key: str, value: object, shown: str) -> None:
    assert fmt_metric(key, value) == shown


def test_plain_numbers_and_percent() -> None:
    assert fmt_number(1234567) == "1,234,567"
    assert fmt_number(1.5) == "1.50"
    assert fmt_number(None) == "—"
    assert fmt_percent(0.001) == "0.10%"
