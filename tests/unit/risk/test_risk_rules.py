"""Instrument rules from v20 Instrument JSON, rounding to the broker's precision, and what
counts as a reducing order."""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tradewind.broker.mapping import instrument_rules_from_v20, rules_from_v20
from tradewind.risk import InstrumentRules, reduces, worst_position
from tradewind.venue.instruments import VenueInstrument, fx

# From OANDA's docs (v20 Instrument); decimals are strings on the wire.
OANDA_EUR_USD = {
    "name": "EUR_USD",
    "type": "CURRENCY",
    "displayName": "EUR/USD",
    "pipLocation": -4,
    "displayPrecision": 5,
    "tradeUnitsPrecision": 0,
    "minimumTradeSize": "1",
    "maximumTrailingStopDistance": "1.00000",
    "minimumTrailingStopDistance": "0.00050",
    "maximumPositionSize": "0",
    "maximumOrderUnits": "100000000",
    "marginRate": "0.0333",
}


def test_from_v20_reads_the_wire_format() -> None:
    r = instrument_rules_from_v20(OANDA_EUR_USD)
    assert r == InstrumentRules("EUR_USD", 1.0, 0, 5, 0.0333, 100_000_000.0)


def test_from_v20_reads_what_the_paper_venue_serves() -> None:
    venue = {
        "EUR_JPY": fx("EUR_JPY").to_json(),
        "XAU_USD": VenueInstrument("XAU_USD", "METAL", 2, -2, 1, 0.1, 5000.0, 0.0, 0.05).to_json(),
    }
    rules = rules_from_v20(venue.values())
    assert rules["EUR_JPY"] == InstrumentRules("EUR_JPY", 1.0, 0, 3, 0.04, 100_000_000.0)
    assert rules["XAU_USD"] == InstrumentRules("XAU_USD", 0.1, 1, 2, 0.05, 5000.0)


def test_zero_or_absent_maximum_order_units_means_no_limit() -> None:
    zero = instrument_rules_from_v20(OANDA_EUR_USD | {"maximumOrderUnits": "0"})
    absent = instrument_rules_from_v20(
        {k: v for k, v in OANDA_EUR_USD.items() if k != "maximumOrderUnits"}
    )
    assert zero.max_order_units is None
    assert absent.max_order_units is None


@pytest.mark.parametrize(
    "key", ["name", "minimumTradeSize", "tradeUnitsPrecision", "displayPrecision", "marginRate"]
)
def test_from_v20_names_a_missing_field(key: str) -> None:
    broken = {k: v for k, v in OANDA_EUR_USD.items() if k != key}
    with pytest.raises(ValueError, match=f"v20 Instrument lacks {key}"):
        instrument_rules_from_v20(broken)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"min_trade_size": 0.0}, "min_trade_size must be > 0"),
        ({"trade_units_precision": -1}, "trade_units_precision must be 0..10"),
        ({"margin_rate": 0.0}, "margin_rate must be in"),
        ({"max_order_units": 0.0}, "max_order_units must be > 0 or None"),
    ],
)
def test_nonsense_rules_are_refused(kw: dict[str, float], message: str) -> None:
    base = {
        "symbol": "EUR_USD",
        "min_trade_size": 1.0,
        "trade_units_precision": 0,
        "display_precision": 5,
        "margin_rate": 0.0333,
    }
    with pytest.raises(ValueError, match=message):
        InstrumentRules(**(base | kw))  # type: ignore[arg-type]


def test_round_units_with_decimals() -> None:
    gold = InstrumentRules("XAU_USD", 0.1, 1, 2, 0.05)
    assert gold.round_units(0.1 + 0.2) == 0.3  # 0.30000000000000004 -> 0.3
    assert gold.round_units(0.29999999) == 0.2  # toward zero
    assert gold.round_units(-12.345) == -12.3
    assert gold.units_ok(12.3)
    assert not gold.units_ok(0.1 + 0.2)
    with pytest.raises(ValueError, match="cannot round nan units"):
        gold.round_units(math.nan)


@given(
    units=st.floats(-1e9, 1e9, allow_nan=False),
    precision=st.integers(0, 4),
)
@example(units=927907324.8529925, precision=4)  # a relative slack of 1e-9 rounded this up
def test_rounded_units_never_grow_and_pass_precision(units: float, precision: int) -> None:
    r = InstrumentRules("X_Y", 10.0**-precision, precision, 5, 0.05)
    rounded = r.round_units(units)
    assert abs(rounded) <= abs(units) + 1e-9 * max(1.0, abs(units))
    assert rounded == 0 or math.copysign(1, rounded) == math.copysign(1, units)
    assert r.units_ok(rounded)
    assert abs(units) - abs(rounded) < 10.0**-precision + 1e-6 * max(1.0, abs(units))


@pytest.mark.parametrize(
    ("position", "pending", "units", "expected"),
    [
        (1000, 0, -400, True),
        (1000, 0, -1000, True),  # closes exactly
        (1000, 0, -1001, False),  # flips
        (-1000, 0, 400, True),
        (1000, 0, 400, False),  # adds
        (0, 0, -400, False),  # opens
        (1000, -700, -400, False),  # with the pending sell filled first, it flips
        (1000, -600, -400, True),
        (1000, 5000, -400, True),  # pending buys that never fill do not matter
        (1000, 0, math.nan, False),
    ],
)
def test_reduces(position: float, pending: float, units: float, expected: bool) -> None:
    assert reduces(position, pending, units) is expected


@given(
    position=st.floats(-1e6, 1e6),
    pending=st.floats(-1e6, 1e6),
    units=st.floats(-1e6, 1e6),
)
def test_a_reducing_order_never_leaves_a_larger_or_flipped_position(
    position: float, pending: float, units: float
) -> None:
    if reduces(position, pending, units):
        for filled_pending in (0.0, max(0.0, pending * math.copysign(1, units))):
            after = position + math.copysign(filled_pending, units) + units
            assert abs(after) <= abs(position)
            flipped = math.copysign(1, after) != math.copysign(1, position)
            assert not flipped or abs(after) <= 1e-9 * abs(position)  # float rounding only
    assert worst_position(position, pending, units) >= abs(position + units)
