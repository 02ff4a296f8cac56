"""An in-memory OMS for the execution-algorithm unit tests: it answers ``submit``, ``order``
and ``cancel`` the way ``OrderManager`` does (MARKET FOK final at once, LIMIT/STOP accepted
and open until the test fills or cancels them), and records everything sent."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from tradewind.domain.orders import OrderIntent, OrderRecord, OrderState
from tradewind.domain.ticks import Tick
from tradewind.risk.rules import InstrumentRules

EUR = "EUR_USD"
T0 = 1_704_196_800_000_000  # 2024-01-02T12:00:00Z in µs
S = 1_000_000
RULES = InstrumentRules(EUR, 1.0, 0, 5, 0.0333)


def tick(bid: float, ask: float, ts_us: int = T0, tradeable: bool = True) -> Tick:
    return Tick(EUR, ts_us, bid, ask, tradeable)


class MemoryOms:
    """Orders in a dict. ``market`` decides MARKET orders (fill or cancel with a reason);
    ``cancel_mode``: ``ok`` (cancelled at once), ``lag`` (stays open: the broker's answer has
    not arrived), ``filled_first`` (the order filled before the cancel reached it)."""

    def __init__(self) -> None:
        self.records: dict[str, OrderRecord] = {}
        self.intents: list[OrderIntent] = []
        self.cancels: list[str] = []
        self.market: Literal["fill", "cancel", "reject"] = "fill"
        self.cancel_mode: Literal["ok", "lag", "filled_first"] = "ok"
        self.refuse: set[int] = set()  # submit numbers (1-based) risk refuses
        self.cut: dict[int, float] = {}  # submit number -> the units risk lets through

    # the trader's risk-checked path
    def submit(self, intent: OrderIntent) -> OrderRecord | None:
        self.intents.append(intent)
        if len(self.intents) in self.refuse:
            return None
        if len(self.intents) in self.cut:  # reducing only: the desk sends the cut intent
            intent = replace(intent, units=self.cut[len(self.intents)])
        cid = f"C{len(self.intents):03d}"
        rec = OrderRecord(
            cid, "acct", intent.instrument, intent.units, intent.type, OrderState.ACCEPTED,
            T0, T0, algo=intent.algo, reason=intent.reason, price=intent.price,
            price_bound=intent.price_bound, time_in_force=intent.time_in_force,
            stop_loss=intent.stop_loss, broker_order_id=cid,
        )  # fmt: skip
        if intent.type == "MARKET":
            if self.market == "fill":
                rec = replace(
                    rec,
                    state=OrderState.FILLED,
                    filled_units=intent.units,
                    avg_price=intent.price_bound,
                )
            else:
                state = OrderState.CANCELLED if self.market == "cancel" else OrderState.REJECTED
                rec = replace(rec, state=state, reject_reason="BOUNDS_VIOLATION")
        self.records[cid] = rec
        return rec

    def order(self, client_id: str) -> OrderRecord:
        return self.records[client_id]

    def cancel(self, client_id: str) -> OrderRecord:
        self.cancels.append(client_id)
        rec = self.records[client_id]
        if not rec.open or self.cancel_mode == "lag":
            return rec
        if self.cancel_mode == "filled_first":
            return self.fill(client_id)
        return self.close(client_id, "CLIENT_REQUEST")

    # what the transaction stream would do
    def fill(self, client_id: str, units: float | None = None) -> OrderRecord:
        rec = self.records[client_id]
        filled = rec.filled_units + (units if units is not None else rec.unfilled_units)
        state = OrderState.FILLED if filled == rec.units else OrderState.PARTIALLY_FILLED
        rec = replace(rec, state=state, filled_units=filled, avg_price=rec.price)
        self.records[client_id] = rec
        return rec

    def close(self, client_id: str, reason: str) -> OrderRecord:
        rec = replace(self.records[client_id], state=OrderState.CANCELLED, reject_reason=reason)
        self.records[client_id] = rec
        return rec

    def live(self) -> list[OrderRecord]:
        return [r for r in self.records.values() if r.open]
