"""``FillingBroker``: an in-memory broker that fills every order at once, for tests and
benchmarks of the OMS's own work (its store, its locks, its threads) with no venue."""

from __future__ import annotations

import itertools

from tradewind.broker.ports import OrderRequest, OrderResult
from tradewind.domain.broker import OrderAccepted, OrderFilled


class FillingBroker:
    """Answers ``submit_order`` as v20 answers a filled MARKET order: an accepted and a filled
    transaction, at ``price``. Only ``submit_order``: give it to an ``OrderManager`` whose
    test or benchmark sends orders and nothing else."""

    def __init__(self, price: float = 1.1) -> None:
        self.price = price
        self.ids = itertools.count(1)

    def submit_order(self, order: OrderRequest) -> OrderResult:
        a, f, oid = next(self.ids), next(self.ids), f"o{next(self.ids)}"
        units = float(order.units)
        accepted = OrderAccepted(
            transaction_id=a,
            client_id=order.client_id,
            broker_order_id=oid,
            instrument=order.instrument,
            units=units,
            order_type=order.type,
        )
        filled = OrderFilled(
            transaction_id=f,
            client_id=order.client_id,
            broker_order_id=oid,
            instrument=order.instrument,
            units=units,
            price=self.price,
        )
        return OrderResult(order.client_id, oid, "FILLED", (accepted, filled), str(f), fill=filled)
