"""Through the desk: when trading is reducing only, a reversal's reducing part is what the
desk sends, the refused part is reported as a risk event, and the execution algorithm
counts only the units sent."""

from __future__ import annotations

from typing import Any

from risk_support import EUR, NOW, MemoryKillStore, limits, rules, tick

from tradewind.config.execution import MarketConfig
from tradewind.domain.orders import OrderIntent, OrderRecord, OrderState, PositionRecord
from tradewind.live.desk import Account, Desk, Lane
from tradewind.oms.execution import make_algo
from tradewind.risk import KillState, KillSwitch, PortfolioVaR, PreTradeRisk, RiskDecision


class Book:
    """A long position of 1000 EUR_USD, no pending orders; orders sent fill at once."""

    def __init__(self) -> None:
        self.sent: list[OrderIntent] = []
        self.records: dict[str, OrderRecord] = {}

    def position_record(self, instrument: str) -> PositionRecord | None:
        return self.positions().get(instrument)

    def positions(self) -> dict[str, PositionRecord]:
        return {EUR: PositionRecord("acct", EUR, 1000, 1.1, 0.0, NOW)}

    def pending_units(self, instrument: str) -> float:
        return 0.0

    def send(self, intent: OrderIntent) -> OrderRecord:
        self.sent.append(intent)
        cid = f"C{len(self.sent)}"
        rec = OrderRecord(cid, "acct", intent.instrument, intent.units, intent.type,
                          OrderState.FILLED, NOW, NOW, filled_units=intent.units)  # fmt: skip
        self.records[cid] = rec
        return rec

    def order(self, client_id: str) -> OrderRecord:
        return self.records[client_id]

    def cancel(self, client_id: str) -> OrderRecord:
        return self.records[client_id]


def test_a_reversal_under_reducing_sends_the_reducing_part_and_reports_the_rest() -> None:
    book = Book()
    kill = KillSwitch(MemoryKillStore(), "acct", None)
    kill.trip(KillState.REDUCING, "daily loss", NOW)
    risk: list[tuple[str, RiskDecision]] = []
    lane = Lane(
        deployment="dep",
        instrument=EUR,
        bars=None,  # type: ignore[arg-type]  # no bars: the test sends through the algo
        decision=None,  # type: ignore[arg-type]
        risk=PreTradeRisk(limits(), rules()),
        var=PortfolioVaR(limits()),
        new_algo=None,  # type: ignore[arg-type]
    )
    now = tick(age_s=0)
    desk = Desk(
        [lane],
        book,
        kill,
        book.send,
        account=Account("USD", 100_000, 100_000),
        on_risk=lambda dep, d: risk.append((dep, d)),
        wall_ns=lambda: 0,
        start_us=now.ts_us,
    )
    desk.trading = True
    desk.last[EUR] = now

    def submit(intent: OrderIntent) -> Any:
        return desk._submit(lane, intent)

    algo = make_algo(MarketConfig(), submit=submit, oms=book, rules=rules()[EUR], tag="flip")
    algo.start(EUR, -2000, now)  # target +1000 -> -1000

    (sent,) = book.sent
    assert sent.units == -1000  # down to flat, not past it
    assert sent.deployment == "dep"
    ((dep, decision),) = risk
    assert (dep, decision.approved, decision.check) == ("dep", True, "kill_switch")
    assert decision.refused_units == -1000
    assert decision.intent == sent
    assert algo.done
    assert (algo.filled_units, algo.working_units, algo.leftover_units) == (-1000, 0, -1000)
