"""The demo's own verdicts (pipelines.demo_checks) and the broker ledger they read."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from tradewind.broker.ledger import AccountLedger, ledger_from_v20
from tradewind.pipelines import demo_checks as check
from tradewind.pipelines.demo_checks import StageFailed
from tradewind.pipelines.ingest import ImportReport

FUNDED = {"id": "2", "type": "TRANSFER_FUNDS", "amount": "100000.0000"}


def fill(tx_id: int, pl: str, spread: str, **extra: str) -> dict[str, str]:
    return {"id": str(tx_id), "type": "ORDER_FILL", "pl": pl, "halfSpreadCost": spread, **extra}


def test_the_ledger_adds_up_the_broker_s_transactions() -> None:
    txs = [
        {"id": "1", "type": "CREATE"},
        FUNDED,
        fill(3, "0.0000", "0.7000"),
        fill(4, "12.3400", "0.7000", commission="1.0000", financing="-0.2500"),
        {"id": "5", "type": "DAILY_FINANCING", "financing": "-0.1000"},
        fill(6, "0.0000", "0.8000"),
    ]
    summary = {"NAV": "100005.9900", "unrealizedPL": "-5.0000"}
    led = ledger_from_v20(txs, summary)
    assert (led.funded, led.realised, led.unrealised) == (100_000.0, 12.34, -5.0)
    assert led.financing == pytest.approx(-0.35)
    assert (led.commission, led.fills) == (1.0, 3)
    assert led.spread == pytest.approx(2.2)
    # 100000 + 12.34 - 0.35 - 1.00 - 5.00 = 100005.99
    assert led.residual == pytest.approx(0.0, abs=1e-9)
    assert led.to_json()["residual"] == pytest.approx(0.0, abs=1e-9)


def report(**kw: Any) -> ImportReport:
    base: dict[str, Any] = {
        "batch_id": 1,
        "source": "file.csv",
        "instrument": "GBP_USD",
        "timeframe": "M1",
        "side": "mid",
        "rows_read": 100,
        "inserted": 100,
        "skipped_duplicates": 0,
        "conflicts": 0,
        "overwritten": 0,
        "quarantined": 0,
        "first_ts": None,
        "last_ts": None,
        "seconds": 0.1,
    }
    return ImportReport(**{**base, **kw})


def test_imports_must_store_every_row_of_a_clean_file() -> None:
    check.check_stored([report()], 100)
    check.check_stored([report(inserted=0, skipped_duplicates=100)], 100)  # a second demo
    with pytest.raises(StageFailed, match="3 of 100 rows quarantined"):
        check.check_stored([report(inserted=97, quarantined=3)], 100)
    with pytest.raises(StageFailed, match="2 bars conflict"):
        check.check_stored([report(inserted=98, conflicts=2)], 100)
    with pytest.raises(StageFailed, match="90 bars inserted and 0 already stored, expected 100"):
        check.check_stored([report(inserted=90)], 100)


def test_a_reimport_must_add_nothing() -> None:
    check.check_reimport(report(inserted=0, skipped_duplicates=100))
    with pytest.raises(StageFailed, match="not idempotent: 5 inserted"):
        check.check_reimport(report(inserted=5, skipped_duplicates=95))


LEDGER = AccountLedger(
    nav=100_205.70,
    funded=100_000.0,
    realised=205.70,
    unrealised=0.0,
    financing=0.0,
    commission=0.0,
    spread=12.3,
    fills=10,
)


def snapshot(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "nav": 100_205.70,
        "realized_pl": 205.70,
        "unrealized_pl": 0.0,
        "kill_switch": {"trading": "enabled", "reason": ""},
        "reconciled": True,
        "orders": 11,
        "fills": 10,
    }
    return {**base, **kw}


def test_a_clean_paper_session_passes() -> None:
    check.check_paper(snapshot(), LEDGER)


@pytest.mark.parametrize(
    ("snap", "ledger", "why"),
    [
        (
            {"kill_switch": {"trading": "halted", "reason": "reconcile mismatch"}},
            {},
            "the kill switch halted trading: reconcile mismatch",
        ),
        ({"reconciled": False}, {}, "did not end with a clean reconcile"),
        ({"orders": 1, "fills": 0}, {"fills": 0}, "1 orders placed and none filled"),
        # the case issue 19 reports: the broker filled, the OMS recorded nothing
        ({"orders": 1, "fills": 0, "realized_pl": 0.0}, {}, "none filled"),
        ({"fills": 9}, {}, "the OMS recorded 9 fills, the broker made 10"),
        ({"realized_pl": 0.0}, {}, r"realised P&L \+0.00 in the OMS, \+205.70 at the broker"),
        ({}, {"nav": 100_211.40}, r"NAV 100,211.40 is \+5.70 away"),
    ],
)
def test_a_paper_session_that_did_not_do_what_it_shows_fails(
    snap: dict[str, Any], ledger: dict[str, Any], why: str
) -> None:
    led = replace(LEDGER, **ledger)
    with pytest.raises(StageFailed, match=why):
        check.check_paper(snapshot(**snap), led)


def test_rounding_is_not_a_difference() -> None:
    led = replace(LEDGER, nav=100_205.705)
    check.check_paper(snapshot(realized_pl=205.695), led)
