"""What every execution algorithm is and shares: the protocol the trader drives and the
bookkeeping of child orders (prices are in ``prices``, the factory in ``factory``).

An algorithm works a number of units (signed: > 0 buys) into orders. It sends every order
through ``submit`` (the trader's risk-checked path: ``None`` means risk refused it; those
units are then dropped, never retried in a loop), reads order state with ``oms.order`` and
cancels with ``oms.cancel``. It is driven by ticks: ``on_tick`` is its only clock (market
time, ``tick.ts_us``), so it behaves the same on a fast venue clock and on OANDA. No sleeps,
no threads: the trader calls it from one thread (its desk lock) at a time.

Units always add up: ``units == filled_units + working_units + leftover_units`` (all signed
like ``units``): working is what is on the book or still to be sent, leftover what will not
be (refused, cancelled unfilled, or past a deadline). Risk may also send less than a child
order asked for (trading reducing only: only the part that reduces the position goes): the
returned record's ``units`` are what was sent, and the rest counts as refused
(``refused_units``, part of the leftover), never as working.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import ClassVar, Protocol, runtime_checkable

from tradewind.domain.ids import new_ulid
from tradewind.domain.orders import OrderIntent, OrderRecord
from tradewind.domain.ticks import Tick
from tradewind.oms.execution.prices import US, pip_size
from tradewind.risk.rules import InstrumentRules

log = logging.getLogger(__name__)
Submit = Callable[[OrderIntent], OrderRecord | None]
CANCEL_RETRY_US = 5 * US  # a cancel that did not close the order is asked again this often


class OrderBook(Protocol):
    """The OMS methods an algorithm uses (``OrderManager`` has them)."""

    def order(self, client_id: str) -> OrderRecord: ...

    def cancel(self, client_id: str) -> OrderRecord: ...


@runtime_checkable
class ExecutionAlgo(Protocol):
    """Works ``units`` of one instrument into orders, one tick at a time."""

    def start(self, instrument: str, units: float, tick: Tick) -> None: ...

    def on_tick(self, tick: Tick) -> None: ...

    def cancel(self) -> None: ...

    @property
    def done(self) -> bool: ...

    @property
    def working_units(self) -> float: ...

    @property
    def filled_units(self) -> float: ...

    @property
    def leftover_units(self) -> float: ...

    @property
    def orders(self) -> tuple[str, ...]: ...

    @property
    def status(self) -> str: ...


class AlgoBase:
    """Child-order bookkeeping shared by the algorithms. Subclasses implement ``_begin_work``
    (at start, after the units are checked) and ``_step`` (on each later tick), and call
    ``_finish`` once they will send nothing more; the algorithm is ``done`` when finished and
    none of its orders is open."""

    name: ClassVar[str] = "algo"
    quiet: bool = False  # a dry run (the desk's warm-up before a bar closes): nothing logged
    # the state of a new algorithm, as class defaults (immutable values: an instance's own
    # attribute replaces them when first set; fewer stores when one is made on an order)
    units: float = 0.0
    started_us: int = 0
    last_us: int = 0
    _unsent: float = 0.0  # units the algorithm still means to send (signed)
    _sent: int = 0  # child orders asked for (refused ones included): the "#n" of the next
    _cut: float = 0.0  # units risk cut off child orders it sent smaller (signed)
    _started: bool = False
    _finished: bool = False
    _note: str = "not started"

    def __init__(
        self,
        *,
        submit: Submit,
        oms: OrderBook,
        rules: InstrumentRules,
        tag: str = "",
        deployment: str = "",
        pip: float | None = None,
    ) -> None:
        self._submit = submit
        self._oms = oms
        self.rules = rules
        self.tag = tag
        self.deployment = deployment
        self.pip = pip if pip is not None else pip_size(rules.display_precision)
        self.id = new_ulid()
        self.instrument = rules.symbol
        self._records: dict[str, OrderRecord] = {}
        self._cancel_asked: dict[str, int] = {}  # client id -> market time of the last ask

    # --- the protocol --------------------------------------------------------------------
    def start(self, instrument: str, units: float, tick: Tick) -> None:
        """Begin working ``units`` (rounded toward zero to the units precision)."""
        if self._started:
            raise RuntimeError(f"{self.label}: already started")
        if instrument != self.instrument or tick.instrument != instrument:
            raise ValueError(
                f"{self.label}: built for {self.instrument}, asked to trade {instrument} "
                f"on a {tick.instrument} tick"
            )
        self._started = True
        self.units = self.rules.round_units(units)
        self.started_us = self.last_us = tick.ts_us
        if self.units == 0:
            self._finish(f"nothing to do ({units:g} units round to 0)")
            return
        self._unsent = self.units
        self._note = "working"
        if not self.quiet and log.isEnabledFor(logging.INFO):  # the label only when logged
            log.info("%s: working %g %s (%s)", self.label, self.units, self.instrument, self.tag)
        self._begin_work(tick)

    def on_tick(self, tick: Tick) -> None:
        """Advance on a tick of the instrument (others are ignored)."""
        if not self._started or tick.instrument != self.instrument or self.done:
            return
        self.last_us = max(self.last_us, tick.ts_us)
        self._refresh()
        if self._finished:
            self._cancel_live(tick.ts_us, retry_only=True)  # a cancel not final yet
            return
        self._step(tick)

    def cancel(self) -> None:
        """Cancel the open orders; units not filled are left, never re-sent."""
        self._refresh()
        self._cancel_live(self.last_us, force=True)
        if not self._finished:
            self._finish("cancelled by the trader" if self._started else "cancelled before start")
            self._started = True

    @property
    def done(self) -> bool:
        return self._finished and not self._live()

    @property
    def filled_units(self) -> float:
        return self._clean(sum(r.filled_units for r in self._records.values()))

    @property
    def working_units(self) -> float:
        on_book = sum(r.unfilled_units for r in self._records.values() if r.open)
        return self._clean(self._unsent + on_book)

    @property
    def leftover_units(self) -> float:
        return self._clean(self.units - self.filled_units - self.working_units)

    @property
    def refused_units(self) -> float:
        """Units risk cut off child orders it let through smaller (signed like ``units``)."""
        return self._clean(self._cut)

    @property
    def orders(self) -> tuple[str, ...]:
        return tuple(self._records)

    @property
    def records(self) -> tuple[OrderRecord, ...]:
        """The child orders as last seen (refreshed on each tick)."""
        return tuple(self._records.values())

    @property
    def status(self) -> str:
        state = "done" if self.done else "working"
        return (
            f"{self.label} {state}: {self._describe()}; filled {self.filled_units:g} of "
            f"{self.units:g}, working {self.working_units:g}, left {self.leftover_units:g}"
        )

    @property
    def label(self) -> str:
        return f"{self.name}:{self.id}"

    # --- for subclasses ------------------------------------------------------------------
    def _describe(self) -> str:
        return self._note

    def _begin_work(self, tick: Tick) -> None:
        raise NotImplementedError

    def _step(self, tick: Tick) -> None:
        raise NotImplementedError

    def _send(self, units: float, seq: int | None = None, **fields: object) -> OrderRecord | None:
        """Send one child order for ``units`` through the risk-checked path. ``None``: refused
        (the caller drops those units)."""
        self._sent += 1
        intent = OrderIntent(
            instrument=self.instrument,
            units=units,
            deployment=self.deployment,
            algo=f"{self.label}#{seq if seq is not None else self._sent}",
            reason=self.tag,
            **fields,  # type: ignore[arg-type]  # OrderIntent fields, typed object here
        )
        record = self._submit(intent)
        if record is None:
            if not self.quiet:
                log.warning("%s: %s %g refused by risk", intent.algo, intent.type, units)
            return None
        self._records[record.client_id] = record
        cut = self._clean(units - record.units)
        if cut:
            self._cut += cut
            if not self.quiet:
                log.warning(
                    "%s: %s %g cut to %g by risk", intent.algo, intent.type, units, record.units
                )
        if not self.quiet and log.isEnabledFor(logging.INFO):
            log.info("%s: %s %g -> %s", intent.algo, intent.type, record.units, record.state.value)
        return record

    def _live(self) -> list[OrderRecord]:
        return [r for r in self._records.values() if r.open]

    def _refresh(self) -> None:
        for rec in self._live():
            self._records[rec.client_id] = self._oms.order(rec.client_id)

    def _cancel(self, client_id: str, now_us: int) -> OrderRecord:
        """Ask the OMS to cancel; returns the record after (still open if the broker has not
        closed it yet, or FILLED if it filled first)."""
        self._cancel_asked[client_id] = now_us
        record = self._oms.cancel(client_id)
        self._records[client_id] = record
        return record

    def _cancel_live(self, now_us: int, *, force: bool = False, retry_only: bool = False) -> None:
        """Cancel open LIMIT/STOP children (a MARKET FOK closes by itself), asking again only
        after ``CANCEL_RETRY_US`` unless ``force``; ``retry_only``: only orders already asked."""
        for rec in self._live():
            if rec.type == "MARKET":
                continue
            asked = self._cancel_asked.get(rec.client_id)
            if retry_only and asked is None:
                continue
            if force or asked is None or now_us - asked >= CANCEL_RETRY_US:
                self._cancel(rec.client_id, now_us)

    def _finish(self, note: str) -> None:
        """Nothing more will be sent: units not on the book become leftovers."""
        self._unsent = 0.0
        self._finished = True
        self._note = note
        if not self.quiet and log.isEnabledFor(logging.INFO):
            log.info("%s: %s", self.label, note)

    def _clean(self, units: float) -> float:
        value = round(units, self.rules.trade_units_precision + 2)
        return 0.0 if value == 0 else value
