"""CLI tables show numbers as a trader reads them; JSON keeps the raw values."""

from __future__ import annotations

import math

import pytest

from tradewind.cli.numbers import (
    PriceFormat,
    fmt_metric,
    fmt_number,
    fmt_percent,
    fmt_price,
    fmt_units,
)


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


@pytest.mark.parametrize(
    ("value", "precision", "shown"),
    [
        (1.084231, 5, "1.08423"),  # EUR_USD
        (1.08, 5, "1.08000"),  # trailing zeros kept: every digit of the quote
        (151.23449, 3, "151.234"),  # USD_JPY
        (151.2, 3, "151.200"),
        (2345.678, 2, "2345.68"),  # XAU_USD: no thousands separator in a quote
        (39123.4, 1, "39123.4"),
        (None, 5, "—"),
        (math.nan, 5, "—"),
        (1.0842300000000001, None, "1.08423"),  # unknown instrument: as many as it needs
        (151.0, None, "151.0"),
        (0.123456789, None, "0.123457"),
    ],
)
def test_prices_to_the_display_precision(value: object, precision: int | None, shown: str) -> None:
    assert fmt_price(value, precision) == shown


def test_a_price_format_knows_each_instrument() -> None:
    price = PriceFormat({"EUR_USD": 5, "USD_JPY": 3})
    assert price("EUR_USD", 1.0842349) == "1.08423"
    assert price("USD_JPY", 151.2344) == "151.234"
    assert price("XAU_XAG", 84.123456789) == "84.123457"


@pytest.mark.parametrize(
    ("units", "shown"),
    [(100000.0, "100,000"), (2_000_000.0, "2,000,000"), (-1500.0, "-1,500"), (0.5, "0.5")],
)
def test_units_as_integers(units: float, shown: str) -> None:
    assert fmt_units(units) == shown
