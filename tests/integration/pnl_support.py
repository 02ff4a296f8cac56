"""Shared by the P&L reconciliation tests (pipeline and DAG): a day of trading on a stepped
paper venue through the OMS, with the fills' prices kept for the test's hand computation.

The venue (``VENUE``: stepped clock, a price a minute) starts on Tuesday 2024-01-02 12:00
UTC (FX day 2024-01-02). ``trade_day`` makes FX day 2024-01-03 (2024-01-02 22:00 UTC to
2024-01-03 22:00 UTC):

- on the day before, 12:00 UTC: d2 buys 1,000 USD_JPY (held over into the day);
- 2024-01-03 09:00 UTC: d1 buys 1,000 EUR_USD;
- 10:00 UTC: d1 sells 400 EUR_USD (closes 400 of its 1,000: realised P&L);
- 11:00 UTC: an unattributed order (deployment '') buys 300 EUR_USD;

and leaves the clock at the day's end, 22:00 UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from venue_support import ACCOUNT, EUR, admin

from tradewind.broker.oanda import OandaBroker
from tradewind.domain.fxday import fx_day
from tradewind.domain.orders import OrderIntent, OrderRecord, OrderState
from tradewind.oms import OrderManager
from tradewind.storage.oms import SqlOmsStore

JPY = "USD_JPY"
VENUE = {"clock": "stepped", "walk_step_s": 60}
DAY = fx_day(date(2024, 1, 3))


@dataclass
class Day:
    jpy_buy: OrderRecord
    eur_buy: OrderRecord
    eur_sell: OrderRecord
    eur_loose: OrderRecord


def set_clock(base_url: str, when: datetime) -> None:
    """Jump the venue's stepped clock to ``when`` (the venue walks the last hour's prices
    past pending orders: with ``walk_step_s=60`` that takes about a second)."""
    admin(base_url, {"set": int(when.timestamp()) * 1_000_000_000}, path="clock")


def oms_for(broker: OandaBroker, engine: Any) -> OrderManager:
    oms = OrderManager(broker, SqlOmsStore(engine), ACCOUNT)
    report = oms.reconcile()
    assert report.clean, report.summary()
    return oms


def filled(oms: OrderManager, intent: OrderIntent) -> OrderRecord:
    order = oms.submit(intent)
    assert order.state == OrderState.FILLED, order
    assert order.avg_price
    return order


def trade_day(base_url: str, oms: OrderManager) -> Day:
    """The day described above; the clock ends at the day's end."""
    jpy = filled(oms, OrderIntent(JPY, 1000, deployment="d2"))
    set_clock(base_url, datetime(2024, 1, 3, 9, tzinfo=UTC))
    buy = filled(oms, OrderIntent(EUR, 1000, deployment="d1"))
    set_clock(base_url, datetime(2024, 1, 3, 10, tzinfo=UTC))
    sell = filled(oms, OrderIntent(EUR, -400, deployment="d1"))
    set_clock(base_url, datetime(2024, 1, 3, 11, tzinfo=UTC))
    loose = filled(oms, OrderIntent(EUR, 300))
    set_clock(base_url, DAY.end)
    return Day(jpy, buy, sell, loose)


def expected_rows(day: Day, broker: OandaBroker) -> list[dict[str, Any]]:
    """The day's rows by hand: the only realised P&L is d1's sale of 400 of the 1,000 it
    bought (the venue closes FIFO; the 300 unattributed units open a trade after it); units
    are each deployment's own fills, the rest of EUR_USD (300) is ''. Unrealised P&L is the
    broker's per instrument at the day's end, shared by units (EUR_USD: d1 600 of 900);
    NAV the broker's account NAV at the day's end."""
    realised = 400 * (day.eur_sell.avg_price - day.eur_buy.avg_price)  # type: ignore[operator]
    upl = {p["instrument"]: float(p["unrealizedPL"]) for p in broker.v20_list_positions()}
    nav = float(broker.v20_account_summary()["NAV"])
    zero = {"financing": 0.0, "commission": 0.0, "nav": nav}
    return [
        {"deployment": "", "instrument": "*", "realized_pl": realised, "units": 0.0,
         "unrealized_pl": upl[EUR] + upl[JPY], **zero},
        {"deployment": "", "instrument": EUR, "realized_pl": 0.0, "units": 300.0,
         "unrealized_pl": upl[EUR] * 300 / 900, **zero},
        {"deployment": "d1", "instrument": EUR, "realized_pl": realised, "units": 600.0,
         "unrealized_pl": upl[EUR] * 600 / 900, **zero},
        {"deployment": "d2", "instrument": JPY, "realized_pl": 0.0, "units": 1000.0,
         "unrealized_pl": upl[JPY], **zero},
    ]  # fmt: skip


def assert_rows(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    import pytest

    assert [(r["deployment"], r["instrument"]) for r in got] == [
        (r["deployment"], r["instrument"]) for r in want
    ]
    for g, w in zip(got, want, strict=True):
        for k, v in w.items():
            if isinstance(v, float):
                assert g[k] == pytest.approx(v, abs=1e-4), (g, k)
            else:
                assert g[k] == v, (g, k)
