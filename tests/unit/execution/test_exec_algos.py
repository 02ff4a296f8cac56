"""The algorithms' decisions against an in-memory OMS: what they send and when, how they count
fills and leftovers, and that a refusal or an unasked cancel ends them (no retry loops)."""

from __future__ import annotations

import pytest
from exec_support import EUR, RULES, T0, MemoryOms, S, tick

from tradewind.config.execution import BestLimitConfig, MarketConfig, StopConfig, TwapConfig
from tradewind.domain.orders import OrderState
from tradewind.oms.execution import (
    BestLimitAlgo,
    ExecutionAlgo,
    MarketAlgo,
    StopAlgo,
    TwapAlgo,
    make_algo,
)


def build(config: object, oms: MemoryOms, **kw: object) -> ExecutionAlgo:
    return make_algo(config, submit=oms.submit, oms=oms, rules=RULES, tag="why", **kw)  # type: ignore[arg-type]


def balanced(algo: ExecutionAlgo, units: float) -> None:
    total = algo.filled_units + algo.working_units + algo.leftover_units
    assert total == pytest.approx(units)


# --- factory and common behaviour --------------------------------------------------------
def test_factory_builds_each_algo() -> None:
    oms = MemoryOms()
    assert isinstance(build(MarketConfig(), oms), MarketAlgo)
    assert isinstance(build(BestLimitConfig(), oms), BestLimitAlgo)
    assert isinstance(build(StopConfig(trigger_bps=5), oms), StopAlgo)
    algo = build(TwapConfig(), oms)
    assert isinstance(algo, TwapAlgo)
    assert isinstance(algo, ExecutionAlgo)


def test_zero_units_is_done_at_once_and_sends_nothing() -> None:
    oms = MemoryOms()
    algo = build(MarketConfig(), oms)
    algo.start(EUR, 0.4, tick(1.1, 1.1001))  # rounds to 0 at precision 0
    assert algo.done
    assert oms.intents == []
    assert "nothing to do" in algo.status


def test_wrong_instrument_and_double_start_are_bugs() -> None:
    algo = build(MarketConfig(), MemoryOms())
    with pytest.raises(ValueError, match="built for EUR_USD"):
        algo.start("USD_JPY", 10, tick(1.1, 1.1001))
    algo.start(EUR, 10, tick(1.1, 1.1001))
    with pytest.raises(RuntimeError, match="already started"):
        algo.start(EUR, 10, tick(1.1, 1.1001))


def test_cancel_before_start_ends_the_algo() -> None:
    oms = MemoryOms()
    algo = build(TwapConfig(), oms)
    algo.cancel()
    assert algo.done
    with pytest.raises(RuntimeError, match="already started"):
        algo.start(EUR, 10, tick(1.1, 1.1001))
    assert oms.intents == []


# --- market ------------------------------------------------------------------------------
def test_market_fills_with_a_bound_and_ties_the_order_to_the_algo() -> None:
    oms = MemoryOms()
    algo = build(MarketConfig(bound_bps=5), oms, deployment="dep")
    algo.start(EUR, 1000, tick(1.10000, 1.10010))
    (intent,) = oms.intents
    assert (intent.type, intent.time_in_force, intent.price_bound) == ("MARKET", "FOK", 1.10066)
    assert intent.algo.startswith("market:")
    assert intent.algo.endswith("#1")
    assert (intent.reason, intent.deployment) == ("why", "dep")
    assert algo.done
    assert (algo.filled_units, algo.working_units, algo.leftover_units) == (1000, 0, 0)
    assert algo.orders == ("C001",)
    assert "filled at 1.10066" in algo.status


@pytest.mark.parametrize("outcome", ["cancel", "reject"])
def test_market_unfilled_leaves_the_units(outcome: str) -> None:
    oms = MemoryOms()
    oms.market = outcome  # type: ignore[assignment]
    algo = build(MarketConfig(), oms)
    algo.start(EUR, -500, tick(1.1, 1.1001))
    assert algo.done
    assert (algo.filled_units, algo.leftover_units) == (0, -500)
    assert "BOUNDS_VIOLATION" in algo.status
    assert len(oms.intents) == 1  # not chased


def test_market_refused_by_risk_is_done_with_everything_left() -> None:
    oms = MemoryOms()
    oms.refuse = {1}
    algo = build(MarketConfig(), oms)
    algo.start(EUR, 300, tick(1.1, 1.1001))
    assert algo.done
    assert algo.leftover_units == 300
    assert algo.orders == ()
    assert "refused by risk" in algo.status


# --- best_limit --------------------------------------------------------------------------
def best(oms: MemoryOms, **kw: object) -> BestLimitAlgo:
    cfg = BestLimitConfig(**{"reprice_s": 20, "timeout_s": 60, **kw})  # type: ignore[arg-type]
    return build(cfg, oms)  # type: ignore[return-value]


def test_best_limit_rests_at_the_best_bid_and_fills() -> None:
    oms = MemoryOms()
    algo = best(oms)
    algo.start(EUR, 1000, tick(1.10000, 1.10010))
    (intent,) = oms.intents
    assert (intent.type, intent.price, intent.time_in_force) == ("LIMIT", 1.1, "GTC")
    assert not algo.done
    assert algo.working_units == 1000
    algo.on_tick(tick(1.10001, 1.10011, T0 + S))  # moved < 1 pip: stays
    assert len(oms.intents) == 1
    oms.fill("C001")
    algo.on_tick(tick(1.09990, 1.10000, T0 + 2 * S))
    assert algo.done
    assert (algo.filled_units, algo.leftover_units) == (1000, 0)


def test_a_sell_rests_at_the_best_ask() -> None:
    oms = MemoryOms()
    best(oms).start(EUR, -10, tick(1.10000, 1.10010))
    assert oms.intents[0].price == 1.1001


def test_best_limit_follows_the_market_when_it_moves_a_pip_away() -> None:
    oms = MemoryOms()
    algo = best(oms)
    algo.start(EUR, 1000, tick(1.10000, 1.10010))
    oms.fill("C001", 400)  # partly filled
    algo.on_tick(tick(1.10010, 1.10020, T0 + S))  # bid up one pip
    assert oms.cancels == ["C001"]
    second = oms.intents[1]
    assert (second.units, second.price) == (600, 1.1001)  # only the rest, at the new best
    assert second.algo.endswith("#2")
    assert algo.reprices == 1
    assert len(oms.live()) == 1
    balanced(algo, 1000)
    assert algo.filled_units == 400


def test_best_limit_reprices_after_reprice_s_only_if_the_best_changed() -> None:
    oms = MemoryOms()
    algo = best(oms, reprice_s=10)
    algo.start(EUR, 1000, tick(1.10000, 1.10010))
    algo.on_tick(tick(1.10000, 1.10010, T0 + 11 * S))  # same best: keep the queue place
    assert len(oms.intents) == 1
    algo.on_tick(tick(1.09995, 1.10005, T0 + 12 * S))  # best moved (toward us)
    assert oms.cancels == ["C001"]
    assert oms.intents[1].price == 1.09995


def test_best_limit_never_has_two_live_orders_while_a_cancel_lags() -> None:
    oms = MemoryOms()
    oms.cancel_mode = "lag"
    algo = best(oms)
    algo.start(EUR, 1000, tick(1.10000, 1.10010))
    for i in range(1, 4):
        algo.on_tick(tick(1.10020 + i * 1e-5, 1.10030 + i * 1e-5, T0 + i * S))
    assert len(oms.intents) == 1  # waiting for the cancel, not placing
    assert oms.cancels == ["C001"]  # asked once (retried only after 5 s)
    algo.on_tick(tick(1.10030, 1.10040, T0 + 7 * S))
    assert oms.cancels == ["C001", "C001"]
    oms.close("C001", "CLIENT_REQUEST")  # the stream brings the cancel
    algo.on_tick(tick(1.10030, 1.10040, T0 + 8 * S))
    assert oms.intents[1].price == 1.1003
    assert len(oms.live()) == 1


def test_a_fill_that_beats_the_cancel_is_counted_not_rebought() -> None:
    oms = MemoryOms()
    oms.cancel_mode = "filled_first"
    algo = best(oms)
    algo.start(EUR, 1000, tick(1.10000, 1.10010))
    algo.on_tick(tick(1.10020, 1.10030, T0 + S))
    assert algo.done
    assert algo.filled_units == 1000
    assert len(oms.intents) == 1


@pytest.mark.parametrize("on_timeout", ["market", "cancel"])
def test_best_limit_timeout_cancels_then_crosses_or_stops(on_timeout: str) -> None:
    oms = MemoryOms()
    algo = best(oms, on_timeout=on_timeout, bound_bps=3)
    algo.start(EUR, -1000, tick(1.10000, 1.10010))
    oms.fill("C001", -300)
    algo.on_tick(tick(1.10000, 1.10010, T0 + 60 * S))
    assert oms.cancels == ["C001"]
    assert algo.done
    if on_timeout == "market":
        cross = oms.intents[-1]
        assert (cross.type, cross.units, cross.price_bound) == ("MARKET", -700, 1.09967)
        assert algo.filled_units == -1000
        assert algo.leftover_units == 0
    else:
        assert len(oms.intents) == 1
        assert (algo.filled_units, algo.leftover_units) == (-300, -700)


def test_timeout_waits_for_the_cancel_before_crossing() -> None:
    oms = MemoryOms()
    oms.cancel_mode = "lag"
    algo = best(oms)
    algo.start(EUR, 1000, tick(1.10000, 1.10010))
    algo.on_tick(tick(1.10000, 1.10010, T0 + 61 * S))
    assert not algo.done
    assert len(oms.intents) == 1
    oms.fill("C001")  # it filled instead of cancelling
    algo.on_tick(tick(1.10000, 1.10010, T0 + 62 * S))
    assert algo.done
    assert len(oms.intents) == 1  # nothing crossed: all filled
    assert algo.filled_units == 1000


def test_an_unasked_broker_cancel_or_a_refusal_ends_best_limit() -> None:
    oms = MemoryOms()
    algo = best(oms)
    algo.start(EUR, 1000, tick(1.10000, 1.10010))
    oms.close("C001", "INSUFFICIENT_MARGIN")
    algo.on_tick(tick(1.10000, 1.10010, T0 + S))
    assert algo.done
    assert algo.leftover_units == 1000
    assert "INSUFFICIENT_MARGIN" in algo.status
    assert len(oms.intents) == 1

    oms = MemoryOms()
    oms.refuse = {2}
    algo = best(oms)
    algo.start(EUR, 1000, tick(1.10000, 1.10010))
    algo.on_tick(tick(1.10020, 1.10030, T0 + S))  # re-price refused
    assert algo.done
    assert algo.leftover_units == 1000
    assert "refused by risk" in algo.status


def test_best_limit_waits_for_a_tradeable_price() -> None:
    oms = MemoryOms()
    algo = best(oms)
    algo.start(EUR, 1000, tick(1.10000, 1.10010, tradeable=False))
    assert oms.intents == []
    assert algo.working_units == 1000
    algo.on_tick(tick(1.10000, 1.10010, T0 + S))
    assert len(oms.intents) == 1


def test_cancel_withdraws_the_live_order_and_leaves_the_rest() -> None:
    oms = MemoryOms()
    algo = best(oms)
    algo.start(EUR, 1000, tick(1.10000, 1.10010))
    oms.fill("C001", 100)
    algo.cancel()
    assert algo.done
    assert oms.records["C001"].state == OrderState.CANCELLED
    assert (algo.filled_units, algo.working_units, algo.leftover_units) == (100, 0, 900)
    algo.on_tick(tick(1.2, 1.2001, T0 + S))
    assert len(oms.intents) == 1


# --- stop --------------------------------------------------------------------------------
def test_stop_places_a_stop_with_a_stop_loss_and_is_done_when_filled() -> None:
    oms = MemoryOms()
    algo = build(StopConfig(trigger_bps=10, stop_loss_bps=20), oms)
    algo.start(EUR, 1000, tick(1.10000, 1.10010))
    (intent,) = oms.intents
    assert (intent.type, intent.time_in_force) == ("STOP", "GTC")
    assert intent.price == 1.10116
    assert intent.stop_loss == pytest.approx(1.09895)
    algo.on_tick(tick(1.1, 1.1001, T0 + S))
    assert not algo.done  # a pending stop is not cancelled by the ticks
    assert oms.cancels == []
    oms.fill("C001")
    algo.on_tick(tick(1.102, 1.1021, T0 + 2 * S))
    assert algo.done
    assert algo.filled_units == 1000


def test_stop_cancel() -> None:
    oms = MemoryOms()
    algo = build(StopConfig(trigger_bps=10), oms)
    algo.start(EUR, -1000, tick(1.10000, 1.10010))
    assert oms.intents[0].price == 1.09894  # 1.10005 * 0.999, rounded down
    assert oms.intents[0].stop_loss is None
    algo.cancel()
    assert algo.done
    assert algo.leftover_units == -1000


# --- twap --------------------------------------------------------------------------------
def drive(algo: ExecutionAlgo, start: int, end: int, step_s: int = 5) -> None:
    for ts in range(start, end, step_s * S):
        algo.on_tick(tick(1.10000, 1.10010, ts))


def test_twap_sends_each_slice_on_time_and_fills_everything() -> None:
    oms = MemoryOms()
    cfg = TwapConfig(horizon_s=100, slices=4, jitter=0.2, seed=1)
    algo: TwapAlgo = build(cfg, oms)  # type: ignore[assignment]
    algo.start(EUR, 1003, tick(1.10000, 1.10010))
    drive(algo, T0 + S, T0 + 200 * S, 1)
    assert [i.units for i in oms.intents] == [250, 250, 250, 253]
    assert [i.algo.rsplit("#", 1)[1] for i in oms.intents] == ["1", "2", "3", "4"]
    assert all(i.type == "MARKET" and i.price_bound == 1.10066 for i in oms.intents)
    assert algo.done
    assert algo.filled_units == 1003
    assert len(algo.schedule) == 4


def test_twap_refused_slice_is_left_and_the_rest_go_on() -> None:
    oms = MemoryOms()
    oms.refuse = {2}
    algo = build(TwapConfig(horizon_s=100, slices=4, jitter=0), oms)
    algo.start(EUR, 1000, tick(1.10000, 1.10010))
    drive(algo, T0 + S, T0 + 120 * S)
    assert len(oms.intents) == 4  # the refused slice is not re-sent
    assert algo.done
    assert (algo.filled_units, algo.leftover_units) == (750, 250)
    assert "1 refused" in algo.status


def test_twap_at_the_horizon_leaves_unsent_slices() -> None:
    oms = MemoryOms()
    algo = build(TwapConfig(horizon_s=100, slices=4, jitter=0), oms)
    algo.start(EUR, 1000, tick(1.10000, 1.10010))
    algo.on_tick(tick(1.1, 1.1001, T0 + 30 * S))  # slice 2 (due at 25 s)
    algo.on_tick(tick(1.1, 1.1001, T0 + 100 * S))  # the horizon: slices 3 and 4 never sent
    assert len(oms.intents) == 2
    assert algo.done
    assert (algo.filled_units, algo.leftover_units) == (500, 500)
    assert "2 slice(s) not sent" in algo.status


def test_twap_waits_while_untradeable_and_uses_fewer_slices_for_small_orders() -> None:
    oms = MemoryOms()
    algo = build(TwapConfig(horizon_s=100, slices=5, jitter=0), oms)
    algo.start(EUR, 3, tick(1.1, 1.1001, tradeable=False))
    assert oms.intents == []
    algo.on_tick(tick(1.1, 1.1001, T0 + S))
    assert [i.units for i in oms.intents] == [1]
    drive(algo, T0 + 2 * S, T0 + 100 * S)
    assert [i.units for i in oms.intents] == [1, 1, 1]
    assert algo.done


def test_units_always_add_up() -> None:
    oms = MemoryOms()
    oms.refuse = {3}
    algo = build(TwapConfig(horizon_s=50, slices=5, jitter=0.5, seed=9), oms)
    algo.start(EUR, -777, tick(1.1, 1.1001))
    for ts in range(T0, T0 + 60 * S, S):
        algo.on_tick(tick(1.1, 1.1001, ts))
        balanced(algo, -777)


# --- risk sends less than asked (trading reducing only: a reversal cut to flat) ------------
def test_market_cut_by_risk_counts_the_units_sent_and_leaves_the_rest() -> None:
    oms = MemoryOms()
    oms.cut = {1: -1000}
    algo = build(MarketConfig(), oms)
    algo.start(EUR, -2000, tick(1.1, 1.1001))
    assert algo.done
    assert (algo.filled_units, algo.working_units, algo.leftover_units) == (-1000, 0, -1000)
    assert algo.refused_units == -1000  # type: ignore[attr-defined]


def test_best_limit_cut_by_risk_works_only_the_units_sent() -> None:
    oms = MemoryOms()
    oms.cut = {1: -1000}
    algo = best(oms)
    algo.start(EUR, -2000, tick(1.10000, 1.10010))
    assert algo.working_units == -1000  # not -2000: it does not think it placed more
    balanced(algo, -2000)
    oms.fill("C001")
    algo.on_tick(tick(1.10000, 1.10010, T0 + S))
    assert algo.done  # filled what was sent; the cut part is not sent again
    assert len(oms.intents) == 1
    assert (algo.filled_units, algo.leftover_units) == (-1000, -1000)


def test_best_limit_cut_then_repriced_re_places_only_the_units_sent() -> None:
    oms = MemoryOms()
    oms.cut = {1: -1000}
    algo = best(oms)
    algo.start(EUR, -2000, tick(1.10000, 1.10010))
    oms.fill("C001", -400)
    algo.on_tick(tick(1.09980, 1.09990, T0 + S))  # the ask moved 2 pips away: re-price
    assert [i.units for i in oms.intents] == [-2000, -600]
    balanced(algo, -2000)


def test_twap_slices_cut_by_risk_add_up() -> None:
    oms = MemoryOms()
    oms.cut = {2: -100}
    algo = build(TwapConfig(horizon_s=100, slices=4, jitter=0), oms)
    algo.start(EUR, -1000, tick(1.10000, 1.10010))
    drive(algo, T0 + S, T0 + 120 * S)
    assert algo.done
    assert (algo.filled_units, algo.leftover_units) == (-850, -150)
    balanced(algo, -1000)
