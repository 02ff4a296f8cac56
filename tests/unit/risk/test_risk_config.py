"""RiskLimits: defaults, clear refusals of nonsense, per-instrument overrides, frozen."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError
from risk_support import limits

from tradewind.config.risk import InstrumentLimits, RiskLimits


def test_defaults_are_the_specs() -> None:
    r = limits()
    assert (r.price_collar_bps, r.max_orders_per_minute, r.min_margin_headroom) == (50, 120, 0.25)
    assert (r.stale_after_s, r.max_daily_loss, r.max_drawdown) == (15, None, 0.2)
    assert (r.max_reject_streak, r.max_error_streak) == (5, 5)
    assert (r.var_confidence, r.var_lookback, r.max_var, r.max_expected_shortfall) == (
        0.99,
        500,
        None,
        None,
    )
    assert r.per_instrument == {}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_order_units", 0, "max_order_units must be a positive finite number, got 0"),
        ("max_position_units", -5, "max_position_units must be a positive finite number"),
        ("max_total_notional", math.inf, "max_total_notional must be a positive finite number"),
        ("price_collar_bps", math.nan, "price_collar_bps must be a positive finite number"),
        ("stale_after_s", 0, "stale_after_s must be a positive finite number"),
        ("max_daily_loss", -100, "max_daily_loss must be a positive finite number"),
        ("max_var", 0, "max_var must be a positive finite number"),
        ("max_expected_shortfall", -1, "max_expected_shortfall must be a positive finite"),
        ("var_confidence", 1.0, "var_confidence must be strictly between 0 and 1, got 1.0"),
        ("var_confidence", 0.0, "var_confidence must be strictly between 0 and 1"),
        ("max_drawdown", 1.5, "max_drawdown is a fraction of the peak NAV in (0, 1), got 1.5"),
        ("min_margin_headroom", -0.1, "min_margin_headroom is a fraction of NAV in [0, 1)"),
        ("var_lookback", 29, "var_lookback must be at least 30 bar returns"),
        ("max_orders_per_minute", 0, "greater than or equal to 1"),
        ("max_reject_streak", 0, "greater than or equal to 1"),
    ],
)
def test_nonsense_is_refused_with_a_clear_message(field: str, value: float, message: str) -> None:
    with pytest.raises(ValidationError) as err:
        limits(**{field: value})
    assert message in str(err.value)
    assert field in str(err.value)


def test_optional_limits_switch_off_with_none() -> None:
    r = limits(max_drawdown=None, max_daily_loss=None, max_var=None)
    assert r.max_drawdown is None


def test_unknown_fields_are_refused_and_limits_are_frozen() -> None:
    with pytest.raises(ValidationError, match="max_orders_per_hour"):
        limits(max_orders_per_hour=10)
    r = limits()
    with pytest.raises(ValidationError):
        r.max_order_units = 5  # type: ignore[misc]


def test_per_instrument_overrides_the_unit_limits_only_where_set() -> None:
    r = limits(
        per_instrument={
            "EUR_USD": {"max_order_units": 500},
            "USD_JPY": InstrumentLimits(max_position_units=20_000),
        }
    )
    assert (r.order_units_limit("EUR_USD"), r.position_units_limit("EUR_USD")) == (500, 10_000)
    assert (r.order_units_limit("USD_JPY"), r.position_units_limit("USD_JPY")) == (10_000, 20_000)
    assert r.order_units_limit("GBP_USD") == 10_000


def test_per_instrument_refuses_nonsense() -> None:
    with pytest.raises(ValidationError, match="max_order_units must be a positive finite number"):
        limits(per_instrument={"EUR_USD": {"max_order_units": -1}})
    with pytest.raises(ValidationError, match="blank or padded instrument names"):
        limits(per_instrument={" EUR_USD": {}})
    with pytest.raises(ValidationError, match="max_units"):
        limits(per_instrument={"EUR_USD": {"max_units": 1}})


def test_round_trips_through_json_with_a_stable_fingerprint() -> None:
    r = limits(per_instrument={"EUR_USD": {"max_order_units": 500}}, max_var=1000)
    again = RiskLimits.model_validate_json(r.model_dump_json())
    assert again == r
    assert again.fingerprint == r.fingerprint
