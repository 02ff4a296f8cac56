"""The account features over loopback with the real oandapyV20 client, every response held to
OANDA's OpenAPI description: daily financing as a stepped clock crosses rollovers, commission
on fills, ``PATCH /configuration``, latest candles, pricing's ``unitsAvailable`` and
``homeConversions``; and a 5xx from a venue that applied the order: one order, one fill, and
the OMS records it once (SQLite and Postgres)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests
from oandapyV20 import API
from oandapyV20.endpoints import accounts, orders, pricing, transactions
from oandapyV20.exceptions import V20Error
from sqlalchemy import Engine
from venue_support import ACCOUNT, EUR, TOKEN, admin, make_broker, running_venue

from tradewind.domain.orders import OrderIntent, OrderState
from tradewind.oms import OmsEvent, OrderManager
from tradewind.storage.oms import SqlOmsStore
from tradewind.testing.openapi import V20Spec
from tradewind.venue.costs import InstrumentCosts
from tradewind.venue.service import register_environment

SPEC = V20Spec()
COSTS = {
    EUR: InstrumentCosts(
        long_rate=Decimal("-0.05"), short_rate=Decimal("0.01"), commission=Decimal("0.5"),
        units_traded=Decimal(10_000),
    )
}  # fmt: skip


@pytest.fixture(scope="module")
def venue() -> Iterator[Any]:
    with running_venue(clock="stepped", costs=COSTS) as v:  # Tuesday 2024-01-02 12:00 UTC
        yield v


@pytest.fixture
def api(venue: Any) -> Iterator[API]:
    register_environment("tw-venue-account", venue.base_url)
    client = API(access_token=TOKEN, environment="tw-venue-account")
    client.client.hooks["response"].append(SPEC.requests_hook)
    yield client
    client.close()


def call(api: API, endpoint: Any) -> dict[str, Any]:
    return api.request(endpoint)  # type: ignore[no-any-return]


def advance(venue: Any, seconds: float) -> None:
    admin(venue.base_url, {"advance": seconds}, path="clock")


def test_financing_and_commission_over_rollovers(api: API, venue: Any) -> None:
    before = call(api, accounts.AccountSummary(ACCOUNT))["account"]
    order = {"order": {"type": "MARKET", "instrument": EUR, "units": "20000"}}
    fill = call(api, orders.OrderCreate(ACCOUNT, data=order))["orderFillTransaction"]
    assert fill["commission"] == "1.0000"  # 20000 / 10000 x 0.50
    assert Decimal(fill["accountBalance"]) == Decimal(before["balance"]) - 1
    last = fill["id"]
    advance(venue, 2 * 86_400)  # Tuesday noon -> Thursday noon: two rollovers
    got = call(api, transactions.TransactionsSinceID(ACCOUNT, params={"id": last}))
    daily = [t for t in got["transactions"] if t["type"] == "DAILY_FINANCING"]
    assert [t["time"][:16] for t in daily] == ["2024-01-02T22:00", "2024-01-03T22:00"]
    amounts = [Decimal(t["financing"]) for t in daily]
    assert all(a < 0 for a in amounts)  # a long pays 5% a year
    # about 20000 x 1.10 x 0.05 / 365 = 3.01 a day (the walk's price at each rollover)
    assert all(Decimal("2.5") < -a < Decimal("3.5") for a in amounts)
    summary = call(api, accounts.AccountSummary(ACCOUNT))["account"]
    assert Decimal(summary["financing"]) == sum(amounts) + Decimal(before["financing"])
    assert Decimal(summary["commission"]) == Decimal(before["commission"]) + 1
    assert Decimal(summary["balance"]) == Decimal(fill["accountBalance"]) + sum(amounts)
    trade = fill["tradeOpened"]["tradeID"]
    details = call(api, accounts.AccountDetails(ACCOUNT))["account"]
    (mine,) = [t for t in details["trades"] if t["id"] == trade]
    assert Decimal(mine["financing"]) == sum(amounts)
    changes = call(api, accounts.AccountChanges(ACCOUNT, params={"sinceTransactionID": last}))
    assert [t["type"] for t in changes["changes"]["transactions"]] == ["DAILY_FINANCING"] * 2
    # the adapter's ledger explains the NAV with the financing and commission in it
    broker = make_broker(venue.base_url, "tw-venue-account-ledger")
    ledger = broker.ledger()
    broker.close()
    assert ledger.financing == pytest.approx(float(summary["financing"]))
    assert ledger.commission == pytest.approx(float(summary["commission"]))
    assert abs(ledger.residual) < 0.01


def test_configuration_patch_and_its_reject(api: API, venue: Any) -> None:
    ok = call(api, accounts.AccountConfiguration(ACCOUNT, data={"marginRate": "0.05"}))
    assert ok["clientConfigureTransaction"]["marginRate"] == "0.05"
    assert call(api, accounts.AccountSummary(ACCOUNT))["account"]["marginRate"] == "0.05"
    with pytest.raises(V20Error) as err:
        call(api, accounts.AccountConfiguration(ACCOUNT, data={"marginRate": "-1"}))
    assert err.value.code == 400
    assert "marginRate" in str(err.value)
    last = call(api, accounts.AccountSummary(ACCOUNT))["lastTransactionID"]
    reject = call(api, transactions.TransactionDetails(ACCOUNT, last))["transaction"]
    assert (reject["type"], reject["rejectReason"]) == (
        "CLIENT_CONFIGURE_REJECT", "MARGIN_RATE_INVALID",
    )  # fmt: skip
    call(api, accounts.AccountConfiguration(ACCOUNT, data={"marginRate": "0.0333"}))


def test_pricing_units_available_and_home_conversions(api: API, venue: Any) -> None:
    params = {"instruments": "EUR_USD,USD_JPY", "includeHomeConversions": "true"}
    got = call(api, pricing.PricingInfo(ACCOUNT, params=params))
    eur = next(p for p in got["prices"] if p["instrument"] == EUR)
    units = eur["unitsAvailable"]
    assert set(units) == {"default", "reduceFirst", "reduceOnly", "openOnly"}
    assert int(units["default"]["long"]) > 0
    assert int(units["default"]["short"]) > 0
    long_held = sum(
        int(t["currentUnits"])
        for t in call(api, accounts.AccountDetails(ACCOUNT))["account"]["trades"]
        if t["instrument"] == EUR
    )
    assert units["reduceOnly"] == {"long": "0", "short": str(long_held)}
    conv = {c["currency"]: c for c in got["homeConversions"]}
    assert set(conv) == {"EUR", "USD", "JPY"}
    assert conv["USD"]["positionValue"] == "1.00000000"
    jpy = conv["JPY"]
    assert (
        Decimal(jpy["accountLoss"]) >= Decimal(jpy["positionValue"]) >= Decimal(jpy["accountGain"])
    )


def test_latest_candles(venue: Any) -> None:
    url = f"{venue.base_url}/v3/accounts/{ACCOUNT}/candles/latest"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    path = f"/v3/accounts/{ACCOUNT}/candles/latest"
    r = requests.get(url, params={"candleSpecifications": "EUR_USD:M1:BM,USD_JPY:H1:M"},
                     headers=auth, timeout=5)  # fmt: skip
    assert r.status_code == 200, r.text
    SPEC.validate_response("GET", path, 200, r.json())
    latest = r.json()["latestCandles"]
    assert [(c["instrument"], c["granularity"]) for c in latest] == [
        ("EUR_USD", "M1"), ("USD_JPY", "H1"),
    ]  # fmt: skip
    assert [c["complete"] for c in latest[0]["candles"]] == [True, False]
    assert set(latest[0]["candles"][0]) == {"complete", "volume", "time", "bid", "mid"}
    for bad in ("EUR_USD:M1", "XAU_XAG:M1:M", "EUR_USD:M7:M", "EUR_USD:M1:Q", ""):
        r = requests.get(url, params={"candleSpecifications": bad}, headers=auth, timeout=5)
        assert r.status_code == 400, (bad, r.text)
        assert "candleSpecifications" in r.json()["errorMessage"]
        assert r.headers.get("RequestID")
        SPEC.validate_response("GET", path, 400, r.json())


def test_a_venue_that_applies_the_order_then_answers_5xx_fills_once(db_engine: Engine) -> None:
    """The adapter looks the order up by client id (never resends): one order, one fill on
    the venue, one order and one fill in the OMS."""
    with running_venue(seed=5) as venue:
        broker = make_broker(venue.base_url, "tw-venue-apply-5xx")
        events: list[OmsEvent] = []
        store = SqlOmsStore(db_engine)
        oms = OrderManager(broker, store, ACCOUNT, on_event=events.append)
        assert oms.reconcile().clean
        counter = admin(venue.base_url, {"faults": [
            {"kind": "latency", "ms": 0, "method": "POST", "path": "/v3/accounts/*/orders"},
            {"kind": "status", "status": 502, "method": "POST", "path": "/v3/accounts/*/orders",
             "apply_ms": 0, "count": 1},
        ]})["added"][0]["id"]  # fmt: skip
        order = oms.submit(OrderIntent(EUR, 700))
        assert order.state == OrderState.FILLED
        assert oms.reconcile().clean
        txs = broker.v20_transactions_since("0").transactions
        creates = [t for t in txs if (t.get("clientExtensions") or {}).get("id") == order.client_id]
        fills = [
            t
            for t in txs
            if t["type"] == "ORDER_FILL" and t.get("clientOrderID") == order.client_id
        ]
        assert [t["type"] for t in creates] == ["MARKET_ORDER"]
        assert len(fills) == 1
        faults = requests.get(
            f"{venue.base_url}/admin/faults",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        ).json()
        assert next(f["fired"] for f in faults["faults"] if f["id"] == counter) == 1  # not resent
        mine = [f for f in store.fills(ACCOUNT) if f.order_id == fills[0]["orderID"]]
        assert len(mine) == 1
        assert mine[0].units == 700
        assert oms.position(EUR) == 700
        assert [o.client_id for o in store.orders(ACCOUNT)] == [order.client_id]
        broker.close()
