"""Daily financing, commission, account configuration and ``ordersTriggered``, driven on the
engine directly with hand-computed amounts (EUR_USD quoted 1.1000/1.1002: mid 1.1001)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tradewind.venue.costs import InstrumentCosts
from tradewind.venue.engine import DEFAULT_ACCOUNT, MemoryStore, VenueEngine
from tradewind.venue.engine.financing import rollovers
from tradewind.venue.instruments import default_instruments, with_costs
from tradewind.venue.quotes import Quote
from tradewind.venue.wire import NS, VenueError, format_time

A = DEFAULT_ACCOUNT
EUR = "EUR_USD"


def utc(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp()) * NS


class Market:
    def __init__(self, t: int) -> None:
        self.t = t
        self.quotes: dict[str, Quote] = {}
        self.set(EUR, 1.1000, 1.1002)

    def now(self) -> int:
        return self.t

    def set(self, name: str, bid: float, ask: float) -> None:
        self.quotes[name] = Quote(name, self.t, ((bid, 10_000_000),), ((ask, 10_000_000),), True)


def engine(mkt: Market, store: MemoryStore | None = None, **costs: Any) -> VenueEngine:
    ins = with_costs(default_instruments(), {EUR: InstrumentCosts(**costs)})
    return VenueEngine(ins, mkt.now, mkt.quotes.get, store)


def market(e: VenueEngine, units: str) -> dict[str, Any]:
    return e.create_order(A, {"type": "MARKET", "instrument": EUR, "units": units})


def summary(e: VenueEngine) -> dict[str, Any]:
    return e.get_summary(A)["account"]


def financings(e: VenueEngine) -> list[dict[str, Any]]:
    txs = e.transactions_since(A, 0)["transactions"]
    return [t for t in txs if t["type"] == "DAILY_FINANCING"]


def test_rollovers_are_17_new_york_through_daylight_saving() -> None:
    # 2024-03-10: New York moves to EDT; 17:00 is 22:00 UTC before, 21:00 UTC after
    got = list(rollovers(utc(2024, 3, 8, 12), utc(2024, 3, 11, 23)))
    assert [format_time(t)[:19] for t, _ in got] == [
        "2024-03-08T22:00:00", "2024-03-09T22:00:00", "2024-03-10T21:00:00",
        "2024-03-11T21:00:00",
    ]  # fmt: skip
    assert [d for _, d in got] == [4, 5, 6, 0]  # Friday, Saturday, Sunday, Monday


def test_a_long_held_over_the_weekend_pays_three_days_at_fridays_rollover() -> None:
    mkt = Market(utc(2024, 1, 5, 15))  # Friday 10:00 New York
    e = engine(mkt, long_rate="-0.0365", short_rate="0.0073")
    trade_id = market(e, "10000")["orderFillTransaction"]["tradeOpened"]["tradeID"]
    mkt.t = utc(2024, 1, 8, 15)  # Monday 10:00 New York
    made = e.settle_financing()
    # 10000 x 1.1001 = 11001 USD; x -0.0365 x 3 days / 365 = -3.3003 (Sat/Sun: 0 days)
    assert [t["financing"] for t in made] == ["-3.3003"]
    tx = made[0]
    assert tx["time"] == "2024-01-05T22:00:00.000000000Z"
    assert tx["accountFinancingMode"] == "DAILY"
    assert tx["accountBalance"] == "99996.6997"
    assert tx["positionFinancings"] == [
        {
            "instrument": EUR,
            "financing": "-3.3003",
            "openTradeFinancings": [{"tradeID": trade_id, "financing": "-3.3003"}],
        }
    ]
    s = summary(e)
    assert (s["financing"], s["balance"]) == ("-3.3003", "99996.6997")
    assert e.get_trade(A, trade_id)["trade"]["financing"] == "-3.3003"
    pos = e.get_position(A, EUR)["position"]
    assert (pos["financing"], pos["long"]["financing"], pos["short"]["financing"]) == (
        "-3.3003", "-3.3003", "0.0000",
    )  # fmt: skip
    assert e.settle_financing() == []  # nothing twice
    mkt.t = utc(2024, 1, 8, 23)  # past Monday's rollover: one day
    assert [t["financing"] for t in e.settle_financing()] == ["-1.1001"]
    # NAV: 100000 - 4.4004 financing + (1.1000 - 1.1002) x 10000 unrealized
    assert (summary(e)["NAV"], summary(e)["unrealizedPL"]) == ("99993.5996", "-2.0000")


def test_a_fast_clock_crossing_a_week_makes_one_financing_per_rollover() -> None:
    mkt = Market(utc(2024, 1, 9, 12))  # Tuesday 07:00 New York
    store = MemoryStore()
    e = engine(mkt, store, long_rate="-0.0365", short_rate="0.0073")
    trade_id = market(e, "-20000")["orderFillTransaction"]["tradeOpened"]["tradeID"]
    mkt.t = utc(2024, 1, 16, 12)  # a week later, before anything settled
    # a partial close after the jump: the rollovers before it still finance all 20000
    e.close_trade(A, trade_id, "5000")
    made = e.settle_financing()
    # 20000 x 1.1001 = 22002 x 0.0073 / 365 = 0.44004 a day -> 0.4400; Friday x3 -> 1.3201
    assert [(t["time"][:10], t["financing"]) for t in made] == [
        ("2024-01-16", "0.4400"),  # Tue (times: never before the close made after the jump)
        ("2024-01-16", "0.4400"),  # Wed
        ("2024-01-16", "0.4400"),  # Thu
        ("2024-01-16", "1.3201"),  # Fri: the weekend
        ("2024-01-16", "0.4400"),  # Mon
    ]
    assert summary(e)["financing"] == "3.0801"
    assert e.get_trade(A, trade_id)["trade"]["financing"] == "3.0801"
    # the next rollover finances the 15000 left: 16501.5 x 0.0073 / 365 = 0.33003
    mkt.t = utc(2024, 1, 16, 23)
    assert [t["financing"] for t in e.settle_financing()] == ["0.3300"]
    # a restart rebuilds the same state and charges nothing again
    again = engine(mkt, store, long_rate="-0.0365", short_rate="0.0073")
    assert again.settle_financing() == []
    assert summary(again)["financing"] == "3.4101" == summary(e)["financing"]
    assert summary(again)["balance"] == summary(e)["balance"]


def test_trades_opened_after_or_closed_before_a_rollover_are_not_financed() -> None:
    mkt = Market(utc(2024, 1, 9, 12))
    e = engine(mkt, long_rate="-0.0365")
    t1 = market(e, "10000")["orderFillTransaction"]["tradeOpened"]["tradeID"]
    mkt.t = utc(2024, 1, 9, 21)  # 16:00 New York: closed before the rollover
    e.close_trade(A, t1, "ALL")
    mkt.t = utc(2024, 1, 9, 23)  # after it: opened after the rollover
    market(e, "10000")
    assert e.settle_financing() == []
    assert financings(e) == []


def test_no_rates_no_financing_transactions() -> None:
    mkt = Market(utc(2024, 1, 9, 12))
    e = engine(mkt)
    market(e, "10000")
    mkt.t = utc(2024, 2, 9, 12)
    assert e.settle_financing() == []
    assert summary(e)["financing"] == "0.0000"


def test_commission_per_units_traded_with_a_minimum() -> None:
    mkt = Market(utc(2024, 1, 9, 12))
    e = engine(mkt, commission="0.5", units_traded="10000", minimum_commission="0.05")
    fill = market(e, "25000")["orderFillTransaction"]
    assert fill["commission"] == "1.2500"  # 25000 / 10000 x 0.50
    assert fill["accountBalance"] == "99998.7500"
    fill2 = market(e, "-25000")["orderFillTransaction"]  # closes at the bid: P/L -5.0000
    assert (fill2["pl"], fill2["commission"]) == ("-5.0000", "1.2500")
    assert fill2["accountBalance"] == "99992.5000"
    assert market(e, "10")["orderFillTransaction"]["commission"] == "0.0500"  # the minimum
    s = summary(e)
    assert (s["commission"], s["balance"], s["pl"]) == ("2.5500", "99992.4500", "-5.0000")
    assert e.get_position(A, EUR)["position"]["commission"] == "2.5500"
    instrument = e.get_instruments(A, [EUR])["instruments"][0]
    assert instrument["commission"] == {
        "commission": "0.5", "unitsTraded": "10000", "minimumCommission": "0.05",
    }  # fmt: skip


def test_configuration_sets_alias_and_a_margin_rate_that_margin_then_uses() -> None:
    mkt = Market(utc(2024, 1, 9, 12))
    e = engine(mkt)
    market(e, "10000")
    assert summary(e)["marginUsed"] == "366.3333"  # 11001 x 0.0333
    out = e.configure(A, {"alias": "Paper", "marginRate": "0.05"})
    tx = out["clientConfigureTransaction"]
    assert (tx["type"], tx["alias"], tx["marginRate"]) == ("CLIENT_CONFIGURE", "Paper", "0.05")
    s = summary(e)
    assert (s["alias"], s["marginRate"], s["marginUsed"]) == ("Paper", "0.05", "550.0500")
    with pytest.raises(VenueError) as info:
        e.configure(A, {"marginRate": "1.5"})
    err = info.value
    assert (err.status, err.code) == (400, "MARGIN_RATE_INVALID")
    reject = err.extra["clientConfigureRejectTransaction"]
    assert (reject["type"], reject["rejectReason"]) == (
        "CLIENT_CONFIGURE_REJECT",
        "MARGIN_RATE_INVALID",
    )
    for body, code in (({}, "CLIENT_CONFIGURE_DATA_MISSING"), ({"alias": ""}, "ALIAS_INVALID"),
                       ({"alias": "x", "colour": 1}, "INVALID_VALUE")):  # fmt: skip
        with pytest.raises(VenueError) as info:
            e.configure(A, body)
        assert info.value.code == code
    assert summary(e)["marginRate"] == "0.05"  # rejects change nothing


def test_a_margin_rate_that_would_close_the_account_out_is_rejected() -> None:
    mkt = Market(utc(2024, 1, 9, 12))
    e = engine(mkt)
    market(e, "2500000")  # 2.75m USD at 3.33%: 91.6k margin on 100k
    with pytest.raises(VenueError) as info:
        e.configure(A, {"marginRate": "0.1"})
    assert info.value.code == "MARGIN_RATE_WOULD_TRIGGER_CLOSEOUT"


def test_changes_report_the_orders_a_price_triggered() -> None:
    mkt = Market(utc(2024, 1, 9, 12))
    e = engine(mkt)
    order = e.create_order(
        A, {"type": "LIMIT", "instrument": EUR, "units": "1000", "price": "1.0990"}
    )["orderCreateTransaction"]
    since = int(e.last_transaction_id(A))
    market(e, "10")
    assert e.get_changes(A, since)["changes"]["ordersTriggered"] == []
    mkt.set(EUR, 1.0985, 1.0987)
    e.on_quote(mkt.quotes[EUR])
    changes = e.get_changes(A, since)["changes"]
    assert [o["id"] for o in changes["ordersTriggered"]] == [order["id"]]
    assert order["id"] in [o["id"] for o in changes["ordersFilled"]]
