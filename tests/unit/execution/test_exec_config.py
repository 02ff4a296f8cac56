"""Execution configs: defaults, the discriminated union on ``algo``, and clear refusals."""

from __future__ import annotations

import math
from typing import Any

import pytest
from pydantic import ValidationError

from tradewind.config.execution import (
    BestLimitConfig,
    MarketConfig,
    StopConfig,
    TwapConfig,
    parse_execution,
)
from tradewind.config.live import DeploymentConfig


def test_defaults() -> None:
    assert MarketConfig().bound_bps == 5.0
    b = BestLimitConfig()
    assert (b.reprice_s, b.reprice_ticks, b.timeout_s, b.on_timeout, b.bound_bps) == (
        5.0,
        1,
        60.0,
        "market",
        5.0,
    )
    s = StopConfig(trigger_bps=10)
    assert (s.stop_loss_bps, s.time_in_force) == (None, "GTC")
    t = TwapConfig()
    assert (t.horizon_s, t.slices, t.jitter, t.seed, t.bound_bps) == (300, 5, 0.2, 0, 5.0)


@pytest.mark.parametrize(
    ("data", "cls"),
    [
        ({"algo": "market", "bound_bps": 2}, MarketConfig),
        ({"algo": "best_limit", "on_timeout": "cancel"}, BestLimitConfig),
        ({"algo": "stop", "trigger_bps": 3, "stop_loss_bps": 20}, StopConfig),
        ({"algo": "twap", "slices": 4, "seed": 7}, TwapConfig),
    ],
)
def test_union_picks_the_model_of_its_algo(data: dict[str, Any], cls: type) -> None:
    cfg = parse_execution(data)
    assert type(cfg) is cls
    assert cfg.algo == data["algo"]
    assert parse_execution(cfg.model_dump()) == cfg  # round-trips


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"algo": "vwap"}, "does not match any of the expected tags"),
        ({"bound_bps": 3}, "Unable to extract tag using discriminator 'algo'"),
        ({"algo": "market", "bound": 3}, "Extra inputs are not permitted"),
        ({"algo": "market", "bound_bps": 0}, "bound_bps must be a positive finite number, got 0"),
        ({"algo": "market", "bound_bps": math.nan}, "bound_bps must be a positive finite"),
        ({"algo": "market", "bound_bps": 5000}, "bound_bps must be at most 1000, got 5000"),
        ({"algo": "best_limit", "timeout_s": -1}, "timeout_s must be a positive finite number"),
        ({"algo": "best_limit", "reprice_s": math.inf}, "reprice_s must be a positive finite"),
        ({"algo": "best_limit", "reprice_ticks": 0}, "greater than or equal to 1"),
        ({"algo": "best_limit", "on_timeout": "wait"}, "'cancel' or 'market'"),
        (
            {"algo": "best_limit", "reprice_s": 90, "timeout_s": 60},
            "reprice_s (90) is longer than timeout_s (60)",
        ),
        ({"algo": "stop"}, "trigger_bps\n  Field required"),
        ({"algo": "stop", "trigger_bps": -2}, "trigger_bps must be a positive finite number"),
        ({"algo": "stop", "trigger_bps": 2, "stop_loss_bps": 0}, "stop_loss_bps must be a"),
        ({"algo": "stop", "trigger_bps": 2, "time_in_force": "FOK"}, "'GTC' or 'GFD'"),
        ({"algo": "twap", "slices": 0}, "greater than or equal to 1"),
        ({"algo": "twap", "horizon_s": 0}, "horizon_s must be a positive finite number, got 0"),
        ({"algo": "twap", "jitter": 0.6}, "jitter is a fraction of a slice interval in [0, 0.5]"),
        ({"algo": "twap", "jitter": -0.1}, "jitter is a fraction"),
        ({"algo": "twap", "seed": -1}, "greater than or equal to 0"),
    ],
)
def test_refusals_name_the_field(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_execution(data)
    assert message in str(err.value)


def test_configs_are_frozen_and_fingerprinted() -> None:
    cfg = TwapConfig(slices=3)
    with pytest.raises(ValidationError):
        cfg.slices = 4  # type: ignore[misc]
    assert cfg.fingerprint == TwapConfig(slices=3).fingerprint != TwapConfig().fingerprint


def test_a_deployment_takes_any_algo_and_defaults_to_market() -> None:
    base: dict[str, Any] = {
        "name": "d",
        "strategy": {"decision": "x.py:f", "max_units": 100},
        "instruments": ["EUR_USD"],
        "timeframe": "M1",
        "risk": {"max_order_units": 1, "max_position_units": 1, "max_total_notional": 1},
    }
    assert DeploymentConfig.model_validate(base).execution == MarketConfig()
    twap = DeploymentConfig.model_validate(base | {"execution": {"algo": "twap", "slices": 2}})
    assert twap.execution == TwapConfig(slices=2)
    with pytest.raises(ValidationError, match=r"execution\.stop\.trigger_bps"):
        DeploymentConfig.model_validate(base | {"execution": {"algo": "stop"}})
