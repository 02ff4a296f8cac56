"""Pre-trade checks: each passes and refuses with the exact reason, in the spec's order;
reducing orders skip only the position, notional and margin checks."""

from __future__ import annotations

import logging
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from risk_support import EUR, JPY, NOW, limits, market, order, portfolio, rules, tick

from tradewind.domain import OrderIntent
from tradewind.risk import (
    CHECK_NAMES,
    InstrumentRules,
    KillState,
    MarketView,
    PortfolioView,
    PreTradeRisk,
    RiskDecision,
    pretrade,
    views,
)


def risk(**overrides: object) -> PreTradeRisk:
    return PreTradeRisk(limits(**overrides), rules())


def run(
    intent: OrderIntent | None = None,
    mkt: MarketView | None = None,
    pf: PortfolioView | None = None,
    *,
    r: PreTradeRisk | None = None,
    now: int = NOW,
    kill: KillState = KillState.ACTIVE,
) -> RiskDecision:
    r = r or risk()
    return r.check(intent or order(), mkt or market(), pf or portfolio(), now, kill_state=kill)


def refused(decision: RiskDecision, check: str, reason: str) -> None:
    assert not decision.approved
    assert (decision.check, decision.reason) == (check, reason)
    assert str(decision) == f"{check}: {reason}"


def test_checks_run_in_the_spec_order() -> None:
    assert CHECK_NAMES == (
        "kill_switch",
        "tradeable",
        "stale_price",
        "min_size",
        "precision",
        "max_order_units",
        "max_position",
        "max_notional",
        "price_collar",
        "order_rate",
        "margin",
    )


def test_a_plain_order_passes_every_check() -> None:
    intent = order(1000, price_bound=1.1005)
    d = run(intent)
    assert d.approved
    assert (d.check, d.reason, d.intent) == ("ok", "", intent)


def test_the_first_failing_check_is_the_one_reported() -> None:
    # below the minimum size *and* far outside the collar: min_size comes first
    d = run(order(0.5, price_bound=2.0))
    assert d.check == "min_size"


# kill_switch


def test_halted_refuses_everything_even_reducing_orders() -> None:
    d = run(order(-1000), pf=portfolio({EUR: 5000}), kill=KillState.HALTED)
    refused(
        d,
        "kill_switch",
        "trading is halted; no order may be sent until a person resets the switch",
    )


def test_reducing_state_passes_an_order_that_reduces() -> None:
    assert run(order(-2000), pf=portfolio({EUR: 5000}), kill=KillState.REDUCING).approved
    assert run(order(5000), pf=portfolio({EUR: -5000}), kill=KillState.REDUCING).approved


@pytest.mark.parametrize(
    ("units", "position", "pending", "why"),
    [
        (1000, 0, 0, "position 0, pending 0, order 1000"),  # opens
        (1000, 5000, 0, "position 5000, pending 0, order 1000"),  # adds
        (-1000, -5000, 0, "position -5000, pending 0, order -1000"),  # adds to a short
        (-2000, 5000, -5000, "position 5000, pending -5000, order -2000"),  # pending flattens
    ],
)
def test_reducing_state_refuses_anything_else(
    units: float, position: float, pending: float, why: str
) -> None:
    d = run(order(units), pf=portfolio({EUR: position}, {EUR: pending}), kill=KillState.REDUCING)
    refused(
        d,
        "kill_switch",
        f"kill switch is reducing: only orders that reduce the position pass; {EUR} {why}",
    )


def test_reducing_state_sends_the_reducing_part_of_a_reversal() -> None:
    intent = order(-2000, price_bound=1.0995, algo="twap:x#1")
    d = run(intent, pf=portfolio({EUR: 1000}), kill=KillState.REDUCING)
    assert d.approved
    assert d.intent == OrderIntent(EUR, -1000, price_bound=1.0995, algo="twap:x#1")
    assert d.refused_units == -1000
    assert d.check == "kill_switch"
    assert d.reason == (
        "trading is reducing only: -1000 of the -2000 units go, the part that reduces "
        "EUR_USD (position 1000, pending 0); -1000 that would add are refused"
    )
    # a short reversed long: +1000 of +2500 go
    d = run(order(2500), pf=portfolio({EUR: -1000}), kill=KillState.REDUCING)
    assert (d.approved, d.intent.units, d.refused_units) == (True, 1000, 1500)


@pytest.mark.parametrize(
    ("units", "position", "pending", "sent"),
    [
        (-6000, 5000, 0, -5000),  # down to flat, never past it
        (-2000, 5000, -4000, -1000),  # same-side pending orders might fill first
        (-6000, 5000, 3000, -5000),  # pending on the other side is ignored
        (-2000.7, 1000.5, 0, -1000),  # at the units precision, toward zero
    ],
)
def test_the_reducing_part_counts_pending_orders_and_never_flips(
    units: float, position: float, pending: float, sent: float
) -> None:
    d = run(order(units), pf=portfolio({EUR: position}, {EUR: pending}), kill=KillState.REDUCING)
    assert d.approved
    assert d.intent.units == sent
    assert d.refused_units == pytest.approx(units - sent)


def test_a_pure_reduce_is_unchanged_and_active_never_cuts() -> None:
    intent = order(-1000)
    d = run(intent, pf=portfolio({EUR: 5000}), kill=KillState.REDUCING)
    assert (d.approved, d.check, d.intent, d.refused_units) == (True, "ok", intent, 0.0)
    reversal = order(-2000)
    d = run(reversal, pf=portfolio({EUR: 1000}), kill=KillState.ACTIVE)
    assert (d.approved, d.intent, d.refused_units) == (True, reversal, 0.0)


def test_the_reducing_part_still_passes_every_other_check() -> None:
    d = run(order(-2000), mkt=market(tick(age_s=20)), pf=portfolio({EUR: 1000}),
            kill=KillState.REDUCING)  # fmt: skip
    refused(d, "stale_price", "EUR_USD price is 20.0 s old; limit 15 s")
    assert d.intent.units == -1000
    # a reducing part below the broker's minimum size is refused by min_size
    r = PreTradeRisk(limits(), {EUR: InstrumentRules(EUR, 100.0, 0, 5, 0.0333)})
    d = run(order(-2000), pf=portfolio({EUR: 50}), r=r, kill=KillState.REDUCING)
    assert (d.approved, d.check) == (False, "min_size")


# tradeable


def test_unknown_instrument_is_not_tradeable() -> None:
    d = run(order(1000, "XAU_USD"), market(tick(instrument="XAU_USD")))
    refused(d, "tradeable", "XAU_USD has no instrument rules from the broker; it cannot be traded")


def test_halted_market_is_not_tradeable() -> None:
    d = run(mkt=market(tick(tradeable=False)))
    refused(d, "tradeable", "EUR_USD is not tradeable now (market closed or halted)")


# stale_price


def test_no_price_yet() -> None:
    refused(run(mkt=MarketView(None)), "stale_price", "no price for EUR_USD yet")


def test_old_price_is_stale_and_the_limit_itself_is_not() -> None:
    refused(
        run(mkt=market(tick(age_s=20))), "stale_price", "EUR_USD price is 20.0 s old; limit 15 s"
    )
    assert run(mkt=market(tick(age_s=15))).approved


@pytest.mark.parametrize(
    ("bid", "ask", "shown"),
    [
        (1.1002, 1.1001, "bid 1.1002, ask 1.1001"),
        (0.0, 1.1, "bid 0, ask 1.1"),
        (math.nan, 1.1, "bid nan, ask 1.1"),
    ],
)
def test_crossed_or_nonpositive_price_is_invalid(bid: float, ask: float, shown: str) -> None:
    refused(run(mkt=market(tick(bid, ask))), "stale_price", f"EUR_USD price is invalid: {shown}")


def test_a_tick_of_another_instrument_is_not_a_price() -> None:
    d = run(mkt=market(tick(instrument=JPY, bid=150.0, ask=150.02)))
    refused(d, "stale_price", "the price given is for USD_JPY, not EUR_USD")


# min_size


@pytest.mark.parametrize(("units", "shown"), [(0.5, "0.5"), (0.0, "0"), (math.nan, "nan")])
def test_below_minimum_trade_size(units: float, shown: str) -> None:
    refused(
        run(order(units)),
        "min_size",
        f"EUR_USD order of {shown} units is below the minimum trade size 1",
    )


def test_minimum_trade_size_itself_passes() -> None:
    assert run(order(1)).approved
    assert run(order(-1)).approved


# precision


def test_units_beyond_the_units_precision() -> None:
    refused(
        run(order(1000.5)),
        "precision",
        "EUR_USD order of 1000.5 units has more than 0 decimals (the broker's units precision)",
    )


@pytest.mark.parametrize(
    ("kw", "label"),
    [
        ({"type": "LIMIT", "price": 1.100051}, "price 1.100051"),
        ({"price_bound": 1.100051}, "price bound 1.100051"),
        ({"stop_loss": 1.000001}, "stop loss 1.000001"),
    ],
)
def test_prices_beyond_the_display_precision(kw: dict[str, object], label: str) -> None:
    refused(
        run(order(1000, **kw)),
        "precision",
        f"EUR_USD {label} has more than 5 decimals (the broker's display precision)",
    )


def test_rounded_units_and_prices_pass_precision() -> None:
    r = risk()
    units = r.round_units(EUR, 1000.7)
    bound = r.round_price(EUR, 1.1 * (1 + 3e-4))
    assert (units, bound) == (1000.0, 1.10033)
    assert run(order(units, price_bound=bound, stop_loss=1.05), r=r).approved


# max_order_units


def test_order_over_the_limit_and_at_the_limit() -> None:
    pf = portfolio(margin_available=1e9, nav=1e5)
    refused(
        run(order(10001), pf=pf), "max_order_units", "EUR_USD order of 10001 units; limit 10000"
    )
    refused(
        run(order(-10001), pf=pf), "max_order_units", "EUR_USD order of -10001 units; limit 10000"
    )
    assert run(order(10000), pf=pf).approved


def test_the_brokers_lower_limit_wins() -> None:
    r = PreTradeRisk(limits(), {EUR: InstrumentRules(EUR, 1, 0, 5, 0.0333, 5000)})
    d = run(order(6000), r=r)
    refused(d, "max_order_units", "EUR_USD order of 6000 units; broker limit 5000")


def test_per_instrument_override_of_the_order_limit() -> None:
    r = risk(per_instrument={EUR: {"max_order_units": 500}})
    refused(run(order(600), r=r), "max_order_units", "EUR_USD order of 600 units; limit 500")
    # reducing orders are still bound by the order size limit
    d = run(order(-600), pf=portfolio({EUR: 1000}), r=r)
    assert d.check == "max_order_units"


# max_position


def test_position_after_the_order_over_the_limit() -> None:
    d = run(order(9000), pf=portfolio({EUR: 2000}))
    refused(
        d,
        "max_position",
        "EUR_USD position after the order would be 11000 units "
        "(position 2000, pending 0, order 9000); limit 10000",
    )
    assert run(order(8000), pf=portfolio({EUR: 2000})).approved


def test_pending_orders_count_at_their_worst() -> None:
    # same side pending: 2000 + 3000 + 6000 if everything fills
    d = run(order(6000), pf=portfolio({EUR: 2000}, {EUR: 3000}))
    assert d.check == "max_position"
    assert "would be 11000 units (position 2000, pending 3000, order 6000)" in d.reason
    # other side pending: if it never fills, the position is 0 + 9000 (fine) ...
    assert run(order(9000), pf=portfolio({}, {EUR: -8000})).approved
    # ... and netting with pending does not hide a too-large order
    d = run(order(-6000), pf=portfolio({EUR: -5000}, {EUR: 8000}))
    assert d.check == "max_position"
    assert "would be 11000 units" in d.reason


def test_per_instrument_position_override() -> None:
    r = risk(per_instrument={JPY: {"max_position_units": 20_000}})
    jpy = market(tick(149.99, 150.01, instrument=JPY))
    assert run(order(5000, JPY), jpy, portfolio({JPY: 12_000}), r=r).approved
    d = run(order(5000), pf=portfolio({EUR: 6000}), r=r)
    assert d.check == "max_position"


def test_reducing_orders_skip_the_position_limit() -> None:
    pf = portfolio({EUR: 15_000})  # already over (a limit was lowered)
    assert run(order(-1000), pf=pf).approved
    refused(
        run(order(1000), pf=pf),
        "max_position",
        "EUR_USD position after the order would be 16000 units "
        "(position 15000, pending 0, order 1000); limit 10000",
    )


# max_notional


def test_total_notional_after_the_order() -> None:
    # 40 000 USD_JPY units at 150 JPY x 1/150 = 40 000 USD, plus 10 000 EUR_USD at 1.1
    r = risk(max_position_units=100_000, max_order_units=10_000)
    pf = portfolio({JPY: 40_000})
    d = run(order(10_000), pf=pf, r=r)
    # the order's instrument is valued at the tick's mid (1.1), the others at their mids
    refused(
        d,
        "max_notional",
        "total notional after the order would be 51000.00 (account currency); limit 50000.00",
    )
    assert run(order(9000), pf=pf, r=r).approved  # 40 000 + 9 900


def test_an_unvalued_holding_refuses_notional() -> None:
    pf = portfolio({JPY: 1000}, mids={EUR: 1.1})
    refused(
        run(order(1000), pf=pf),
        "max_notional",
        "no mid price for USD_JPY: the portfolio's notional is unknown",
    )
    pf = portfolio({JPY: 1000}, to_account={EUR: 1.0})
    refused(
        run(order(1000), pf=pf),
        "max_notional",
        "no account-currency factor for USD_JPY: the portfolio's notional is unknown",
    )


def test_reducing_orders_skip_the_notional_limit() -> None:
    r = risk(max_total_notional=1000)
    assert run(order(-1000), pf=portfolio({EUR: 5000}), r=r).approved
    assert run(order(1000), pf=portfolio({EUR: 5000}), r=r).check == "max_notional"


# price_collar


@pytest.mark.parametrize(
    ("kw", "shown"),
    [
        ({"type": "LIMIT", "price": 1.2}, "limit price 1.2 is 909.1 bps"),
        ({"type": "STOP", "price": 1.0}, "stop price 1 is 909.1 bps"),
        ({"price_bound": 1.1066}, "price bound 1.1066 is 60.0 bps"),
    ],
)
def test_prices_outside_the_collar(kw: dict[str, object], shown: str) -> None:
    refused(
        run(order(1000, **kw)),
        "price_collar",
        f"EUR_USD {shown} from mid 1.1; collar 50 bps",
    )


def test_prices_inside_the_collar_and_unbounded_market_orders_pass() -> None:
    assert run(order(1000, type="LIMIT", price=1.0946)).approved  # 49.1 bps
    assert run(order(1000, price_bound=1.1055)).approved  # exactly 50 bps
    assert run(order(1000)).approved


def test_the_collar_applies_to_reducing_orders() -> None:
    d = run(order(-1000, price_bound=1.0), pf=portfolio({EUR: 5000}))
    assert d.check == "price_collar"


# order_rate


def test_order_rate_over_a_sliding_minute() -> None:
    r = risk(max_orders_per_minute=3)
    for i in range(3):
        assert run(r=r, now=NOW + i).approved
        r.record_sent(NOW - 50_000_000 + i)
    refused(run(r=r), "order_rate", "3 orders sent in the last 60 s; limit 3 per minute")
    # 60 s after the first was sent, it no longer counts
    later = NOW + 10_000_000
    assert run(r=r, mkt=market(tick(age_s=-10)), now=later).approved
    assert r.sent_in_last_minute(later) == 2


def test_checking_does_not_count_as_sending() -> None:
    r = risk(max_orders_per_minute=1)
    for _ in range(5):
        assert run(r=r).approved
    r.record_sent(NOW)
    assert run(r=r).check == "order_rate"


# margin


def test_margin_headroom_after_the_order() -> None:
    # needed = 10000 * 1.1 * 1.0 * 0.0333 = 366.30; 25 300 - 366.30 < 0.25 * 100 000
    pf = portfolio(margin_available=25_300)
    refused(
        run(order(10_000), pf=pf),
        "margin",
        "EUR_USD order needs margin 366.30; margin available after it would be 24933.70; "
        "must stay >= 25000.00 (0.25 x NAV 100000.00)",
    )
    assert run(order(10_000), pf=portfolio(margin_available=25_366.31)).approved


def test_margin_in_account_currency_and_unknown_factor() -> None:
    jpy = market(tick(149.99, 150.01, instrument=JPY))
    # 10 000 USD_JPY units * 150 JPY * (1/150) USD/JPY * 0.0333 = 333.00 USD
    d = run(order(10_000, JPY), jpy, portfolio(margin_available=25_300))
    assert d.check == "margin"
    assert d.reason.startswith("USD_JPY order needs margin 333.00;")
    # without a factor the notional check refuses first; margin would refuse too
    pf = portfolio(to_account={EUR: 1.0}, mids={EUR: 1.1, JPY: 150.0})
    d = run(order(1000, JPY), jpy, pf)
    assert d.check == "max_notional"
    ctx = pretrade.OrderContext(
        order(1000, JPY), jpy.tick, pf, NOW, KillState.ACTIVE, rules()[JPY], False, 0,
        JPY, 0.0, 0.0,
    )  # fmt: skip
    assert pretrade.margin(ctx, limits()) == (
        "no account-currency factor for USD_JPY: the margin needed is unknown"
    )


def test_reducing_orders_skip_margin() -> None:
    pf = portfolio({EUR: 5000}, margin_available=0)
    assert run(order(-5000), pf=pf).approved
    assert run(order(1000), pf=pf).check == "margin"


# logging and rounding


def test_refusals_are_logged_at_info(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="tradewind.risk"):
        run(order(9000), pf=portfolio({EUR: 2000}))
        run(order(10))
    [rec] = caplog.records
    assert rec.name == "tradewind.risk"
    assert rec.levelno == logging.INFO
    assert "max_position: EUR_USD position after the order would be 11000 units" in rec.message


def test_round_units_toward_zero_and_unknown_instrument() -> None:
    r = risk()
    assert r.round_units(EUR, 1234.9) == 1234.0
    assert r.round_units(EUR, -1234.9) == -1234.0
    assert r.round_units(EUR, 0.4) == 0.0
    with pytest.raises(KeyError, match="no instrument rules for XAU_USD"):
        r.round_units("XAU_USD", 1.0)


# ``views.reduces`` is written out per side for speed; it must answer as its definition does


def _reduces_by_definition(position: float, pending: float, units: float) -> bool:
    if position == 0 or units == 0 or not math.isfinite(units):
        return False
    if math.copysign(1.0, units) == math.copysign(1.0, position):
        return False
    same_side = max(0.0, pending * math.copysign(1.0, units))
    return abs(units) + same_side <= abs(position)


_EDGES = st.sampled_from([0.0, -0.0, 1.0, -1.0, 1000.0, -1000.0, math.inf, -math.inf, math.nan])
_UNITS = st.one_of(_EDGES, st.floats(allow_nan=True, allow_infinity=True, width=64))


@given(position=_UNITS, pending=_UNITS, units=_UNITS)
def test_reduces_matches_its_definition(position: float, pending: float, units: float) -> None:
    assert views.reduces(position, pending, units) is _reduces_by_definition(
        position, pending, units
    )
