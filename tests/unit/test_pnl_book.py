"""The pure half of the P&L reconciliation: tolerances, reasons, and the rows of a day."""

from __future__ import annotations

import pytest

from tradewind.config.pnl import PnlCheckConfig
from tradewind.domain.broker import OrderFilled, PositionSnapshot
from tradewind.domain.orders import FillRecord
from tradewind.pipelines import pnl_book

EUR = "EUR_USD"


def broker_fill(
    tid: int, units: float, price: float, pl: float = 0.0, cid: str = "c"
) -> OrderFilled:
    return OrderFilled(
        transaction_id=tid, client_id=cid, broker_order_id=str(tid - 1), instrument=EUR,
        units=units, price=price, pl=pl,
    )  # fmt: skip


def oms_fill(tid: int, units: float, price: float, pl: float = 0.0, dep: str = "d1") -> FillRecord:
    return FillRecord("a", tid, str(tid - 1), EUR, units, price, pl, 0.0, 0.0, 0, "c", dep)


def test_units_at_the_end_take_back_the_later_fills() -> None:
    now = {EUR: PositionSnapshot(EUR, 500.0, 1.1)}
    assert pnl_book.units_at_end(now, [broker_fill(9, 300, 1.2), broker_fill(10, -800, 1.2)]) == {
        EUR: 1000.0
    }
    assert pnl_book.units_at_end(now, [broker_fill(9, 500, 1.2)]) == {}  # flat at the end


def test_differences_within_the_tolerances_are_clean() -> None:
    cfg = PnlCheckConfig(units_tolerance=1, money_tolerance=0.05)
    detail = pnl_book.compare(
        [broker_fill(5, 1000, 1.1, pl=2.0)],
        [oms_fill(5, 1000.5, 1.1, pl=2.04)],
        {EUR: 1000.0},
        {EUR: 1000.9},
        cfg,
    )
    assert not pnl_book.mismatched(detail)
    detail = pnl_book.compare(
        [broker_fill(5, 1000, 1.1, pl=2.0)], [oms_fill(5, 1000, 1.1, pl=2.06)], {}, {}, cfg
    )
    assert detail["different"] == [{"transaction_id": 5, "broker_vs_oms": {"pl": [2.0, 2.06]}}]
    assert pnl_book.reason("2024-01-03", detail) == (
        "P&L reconciliation of 2024-01-03: fill 5 differs (broker vs OMS: pl 2.0 vs 2.06)"
    )


def test_an_oms_fill_the_broker_never_made_is_named() -> None:
    detail = pnl_book.compare([], [oms_fill(7, 100, 1.1)], {}, {EUR: 100.0}, PnlCheckConfig())
    text = pnl_book.reason("2024-01-03", detail)
    assert "OMS fill 7 (EUR_USD 100) is not among the broker's fills of the day" in text
    assert "EUR_USD at the day's end: broker 0 units, OMS 100" in text


def test_rows_split_units_and_unrealised_pl_among_deployments() -> None:
    fills = [broker_fill(5, -400, 1.2, pl=40.0, cid="x"), broker_fill(6, 100, 1.2, cid="y")]
    rows = pnl_book.daily_rows(
        fills,
        lambda f: {"x": "d1"}.get(f.client_id or "", ""),
        {("d1", EUR): 600.0, ("d2", EUR): 0.0},
        {EUR: 900.0},
        {EUR: 9.0},
        1000.0,
    )
    got = {(r["deployment"], r["instrument"]): r for r in rows}
    assert set(got) == {("", "*"), ("", EUR), ("d1", EUR)}  # d2 is flat and did nothing
    assert (got[("d1", EUR)]["units"], got[("d1", EUR)]["unrealized_pl"]) == (600.0, 6.0)
    assert (got[("", EUR)]["units"], got[("", EUR)]["unrealized_pl"]) == (300.0, 3.0)
    assert got[("d1", EUR)]["realized_pl"] == 40.0
    assert got[("", "*")] == {
        "deployment": "",
        "instrument": "*",
        "realized_pl": 40.0,
        "financing": 0.0,
        "commission": 0.0,
        "unrealized_pl": 9.0,
        "units": 0.0,
        "nav": 1000.0,
    }


def test_without_a_mark_open_rows_have_no_unrealised_pl_and_flat_ones_zero() -> None:
    rows = pnl_book.daily_rows(
        [broker_fill(5, -100, 1.2, pl=1.0, cid="x")], lambda f: "d1", {}, {}, None, None
    )
    assert [(r["instrument"], r["unrealized_pl"]) for r in rows] == [(EUR, 0.0), ("*", 0.0)]
    rows = pnl_book.daily_rows([], lambda f: "", {}, {EUR: 5.0}, None, None)
    assert [(r["instrument"], r["unrealized_pl"]) for r in rows] == [(EUR, None), ("*", None)]


def test_tolerances_are_not_negative() -> None:
    with pytest.raises(ValueError, match="greater than or equal"):
        PnlCheckConfig(money_tolerance=-1)
