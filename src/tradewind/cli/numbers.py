"""Numbers in CLI tables as a trader reads them: returns and rates in percent, counts as
integers, ratios and money to two decimals with thousands separators, prices to the
instrument's display precision (EUR_USD 1.08423, USD_JPY 151.234). JSON output keeps the
raw numbers; this is for people only."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

# fractions shown as percent (metrics of tradewind.backtest.metrics and RL rollouts)
PERCENT = frozenset(
    {
        "total_return",
        "annual_return",
        "annual_volatility",
        "max_drawdown",
        "win_rate",
        "exposure",
        "var_95",
        "var_99",
        "es_95",
        "es_99",
        "alpha",
        "accuracy",
        "balanced_accuracy",
    }
)
COUNTS = frozenset({"trades", "invalid_actions", "timesteps_trained", "best_step", "bars"})
COUNT_SUFFIXES = ("_bars", "_trades", "_steps")


def _base(key: str) -> str:
    """The metric a prefixed key names: ``val_total_return`` -> ``total_return``."""
    for prefix in ("val_", "test_", "train_", "cv_", "oos_"):
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


def _special(value: float) -> str | None:
    if math.isnan(value):
        return "—"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return None


def fmt_number(value: Any, decimals: int = 2) -> str:
    """A plain number: integers with separators, floats to ``decimals``; None/NaN as a dash."""
    if value is None:
        return "—"
    if isinstance(value, bool | str):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return _special(value) or f"{value:,.{decimals}f}"
    return str(value)


def fmt_percent(value: Any, decimals: int = 2) -> str:
    if not isinstance(value, float | int) or isinstance(value, bool):
        return fmt_number(value)
    return _special(float(value)) or f"{value * 100:,.{decimals}f}%"


def fmt_metric(key: str, value: Any) -> str:
    """``value`` of metric ``key`` as a trader reads it (stored ``'inf'``/``'nan'`` too)."""
    if isinstance(value, str) and value in ("inf", "-inf", "nan"):
        value = float(value)
    if not isinstance(value, float | int) or isinstance(value, bool):
        return fmt_number(value)
    base = _base(key)
    if base in PERCENT:
        return fmt_percent(value)
    if base in COUNTS or base.endswith(COUNT_SUFFIXES):
        special = _special(float(value))
        return special or f"{round(value):,}"
    return fmt_number(float(value), 2)


FALLBACK_PRICE_DECIMALS = 6


def fmt_price(value: Any, precision: int | None) -> str:
    """A price to ``precision`` decimals, the instrument's display precision, as quoted
    (no thousands separators). With no precision known (an instrument the security master
    lacks), as many of up to six decimals as the price needs (``1.0842``, ``151.0``)."""
    if not isinstance(value, float | int) or isinstance(value, bool):
        return fmt_number(value)
    special = _special(float(value))
    if special:
        return special
    if precision is None:
        text = f"{value:.{FALLBACK_PRICE_DECIMALS}f}".rstrip("0")
        return text + "0" if text.endswith(".") else text
    return f"{value:.{max(precision, 0)}f}"


def fmt_units(value: Any) -> str:
    """A position or order size: whole units as an integer with separators (``100,000``,
    never ``1e+05``), fractional units as they are."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, float) and not _special(value):
        return f"{value:,.10f}".rstrip("0").rstrip(".")
    return fmt_number(value)


class PriceFormat:
    """Prices of several instruments, each to its own display precision:
    ``PriceFormat({"EUR_USD": 5})("EUR_USD", 1.084231)`` -> ``'1.08423'``."""

    def __init__(self, precisions: Mapping[str, int]) -> None:
        self.precisions = dict(precisions)

    def __call__(self, instrument: str, value: Any) -> str:
        return fmt_price(value, self.precisions.get(instrument))
