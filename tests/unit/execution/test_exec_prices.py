"""Price rounding, MARKET price bounds, stop/stop-loss prices and pip sizes: always at the
display precision, always rounded outward (a bound is never tighter than asked)."""

from __future__ import annotations

import math

import pytest
from exec_support import tick

from tradewind.oms.execution import away, pip_size, price_bound, round_price, stop_prices
from tradewind.oms.execution.market import market_fields


@pytest.mark.parametrize(
    ("price", "precision", "mode", "expected"),
    [
        (1.123451, 5, "up", 1.12346),
        (1.123459, 5, "down", 1.12345),
        (1.123455, 5, "nearest", 1.12346),  # half-even on the decimal, not the binary float
        (1.12345, 5, "up", 1.12345),  # already on the grid: unchanged
        (1.1150700000000001, 5, "up", 1.11507),  # float noise never costs a tick
        (1.1150699999999999, 5, "down", 1.11507),
        (151.2345, 3, "up", 151.235),
        (151.2345, 3, "down", 151.234),
        (4512.36, 1, "up", 4512.4),
    ],
)
def test_round_price(price: float, precision: int, mode: str, expected: float) -> None:
    assert round_price(price, precision, mode) == expected  # type: ignore[arg-type]


def test_round_price_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="cannot round price nan"):
        round_price(math.nan, 5, "up")


def test_bound_is_beyond_the_touch_and_rounded_outward() -> None:
    t = tick(1.10000, 1.10010)
    buy = price_bound(t, 1000, 5.0, 5)
    sell = price_bound(t, -1000, 5.0, 5)
    assert buy == 1.10066  # 1.1001 * 1.0005 = 1.10065005 -> up
    assert sell == 1.09945  # 1.1 * 0.9995 = 1.09945 exactly
    assert buy > t.ask * 1.0005 - 1e-12
    assert sell <= t.bid * 0.9995 + 1e-12
    assert price_bound(t, 1, 0.01, 5) == 1.10011  # a hair beyond the ask: a tick beyond


def test_market_fields() -> None:
    assert market_fields(tick(1.1, 1.1001), -5, 10.0, 5) == {
        "type": "MARKET",
        "time_in_force": "FOK",
        "price_bound": 1.0989,
    }


def test_away_direction() -> None:
    assert away(100.0, 1, 10, 2) == 100.1
    assert away(100.0, -1, 10, 2) == 99.9


def test_stop_prices_buy_above_sell_below_with_loss_on_the_other_side() -> None:
    trigger, loss = stop_prices(1.10005, 1000, 10.0, 20.0, 5)
    assert trigger == 1.10116  # 1.10005 * 1.001 = 1.10115005 -> up
    assert loss == pytest.approx(1.09895)  # 1.10116 * 0.998 = 1.09895768 -> down
    assert loss < trigger
    trigger, loss = stop_prices(1.10005, -1000, 10.0, 20.0, 5)
    assert trigger == 1.09894  # 1.10005 * 0.999 = 1.09894995 -> down
    assert loss is not None
    assert loss > trigger
    assert stop_prices(1.1, 1, 10.0, None, 5)[1] is None


@pytest.mark.parametrize(("precision", "pip"), [(5, 1e-4), (3, 1e-2), (1, 1.0)])
def test_pip_size_follows_oanda_pip_location(precision: int, pip: float) -> None:
    assert pip_size(precision) == pytest.approx(pip)
