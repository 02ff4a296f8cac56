"""DAILY_FINANCING maps to ``FinancingCharged``: one amount per instrument, bad entries refused."""

from __future__ import annotations

from typing import Any

import pytest

from tradewind.broker.mapping import event_from_v20
from tradewind.domain.broker import FinancingCharged, OtherTransaction


def _tx(**extra: Any) -> dict[str, Any]:
    return {
        "id": "42",
        "type": "DAILY_FINANCING",
        "accountID": "101-001-1-001",
        "time": "2026-12-08T22:00:00.000000000Z",
        "financing": "-1.2345",
        "accountBalance": "99998.7655",
        "accountFinancingMode": "DAILY",
        "positionFinancings": [
            {
                "instrument": "EUR_USD",
                "financing": "-1.5",
                "openTradeFinancings": [{"tradeID": "3", "financing": "-1.5"}],
            },
            {"instrument": "AUD_USD", "financing": "0.2655", "openTradeFinancings": []},
        ],
        **extra,
    }


def test_daily_financing_becomes_financing_charged() -> None:
    event = event_from_v20(_tx())
    assert isinstance(event, FinancingCharged)
    assert event.transaction_id == 42
    assert event.account_id == "101-001-1-001"
    assert event.time_us == 1_796_767_200_000_000
    assert event.financing == pytest.approx(-1.2345)
    assert event.per_instrument == (("AUD_USD", 0.2655), ("EUR_USD", -1.5))
    assert event.client_id is None
    assert event.raw["type"] == "DAILY_FINANCING"


def test_an_instrument_listed_twice_is_summed() -> None:
    twice = [
        {"instrument": "EUR_USD", "financing": "-1"},
        {"instrument": "EUR_USD", "financing": "-0.25"},
    ]
    event = event_from_v20(_tx(positionFinancings=twice))
    assert isinstance(event, FinancingCharged)
    assert event.per_instrument == (("EUR_USD", -1.25),)


def test_no_positions_is_an_empty_charge() -> None:
    event = event_from_v20(_tx(positionFinancings=[], financing="0"))
    assert isinstance(event, FinancingCharged)
    assert event.per_instrument == ()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"financing": "-1"}, r"positionFinancings\[0\] has no instrument"),
        ({"instrument": "EUR_USD", "financing": "abc"}, r"\[0\] \(EUR_USD\) has no numeric"),
        ({"instrument": "EUR_USD"}, r"\[0\] \(EUR_USD\) has no numeric"),
    ],
)
def test_bad_entries_say_what_and_where(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        event_from_v20(_tx(positionFinancings=[entry]))


def test_other_types_stay_other() -> None:
    event = event_from_v20({"id": "7", "type": "TRANSFER_FUNDS", "amount": "10"})
    assert isinstance(event, OtherTransaction)
    assert event.kind == "TRANSFER_FUNDS"
