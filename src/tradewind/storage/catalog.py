"""Reference data: instruments, data vendors and configs by fingerprint."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tradewind.config.base import FrozenModel, fingerprint
from tradewind.domain import AssetClass, Instrument, InstrumentId, TradingCalendar
from tradewind.storage.schema import ConfigRow, InstrumentRow, VendorRow


class UnknownInstrument(LookupError):
    def __init__(self, symbol: str, known: list[str]) -> None:
        hint = f"known: {', '.join(known[:12])}" if known else "the security master is empty"
        super().__init__(
            f"unknown instrument {symbol!r} ({hint}); add it with `tradewind instruments add "
            f"{symbol} --tick-size <its price step>` (--asset-class for non-FX) or list it in "
            "a universe config and run `tradewind config push <that file>`"
        )


def _insert(conn: Connection, table: Any) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def upsert_instruments(conn: Connection, instruments: list[Instrument]) -> int:
    """Insert new instruments and update changed reference data; returns rows touched."""
    now = datetime.now(UTC)
    n = 0
    for ins in instruments:
        values = {
            "symbol": ins.id.symbol,
            "asset_class": ins.asset_class.value,
            "base_currency": ins.base_currency,
            "quote_currency": ins.quote_currency,
            "pip_location": ins.pip_location,
            "display_precision": ins.display_precision,
            "trade_units_precision": ins.trade_units_precision,
            "min_trade_size": ins.min_trade_size,
            "tick_size": ins.tick,
            "calendar": ins.calendar.value,
        }
        stmt = _insert(conn, InstrumentRow).values(**values, created_at=now)
        stmt = stmt.on_conflict_do_update(index_elements=["symbol"], set_=values)
        n += conn.execute(stmt).rowcount
    return n


def instrument_id(conn: Connection, symbol: str) -> int:
    found = conn.scalar(select(InstrumentRow.id).where(InstrumentRow.symbol == symbol))
    if found is None:
        known = list(conn.scalars(select(InstrumentRow.symbol).order_by(InstrumentRow.symbol)))
        raise UnknownInstrument(symbol, known)
    return int(found)


def _domain(r: InstrumentRow) -> Instrument:
    return Instrument(
        id=InstrumentId(r.symbol),
        asset_class=AssetClass(r.asset_class),
        base_currency=r.base_currency,
        quote_currency=r.quote_currency,
        pip_location=r.pip_location,
        display_precision=r.display_precision,
        trade_units_precision=r.trade_units_precision,
        min_trade_size=r.min_trade_size,
        tick_size=r.tick_size,
        calendar=TradingCalendar(r.calendar),
    )


def list_instruments(conn: Connection, symbols: list[str] | None = None) -> list[Instrument]:
    """Every instrument, or those of ``symbols`` (an unknown one raises UnknownInstrument)."""
    q = select(InstrumentRow).order_by(InstrumentRow.symbol)
    if symbols is not None:
        q = q.where(InstrumentRow.symbol.in_(symbols))
    found = [_domain(r) for r in Session(conn).scalars(q)]
    if symbols is not None:
        have = {i.id.symbol for i in found}
        for s in symbols:
            if s not in have:
                instrument_id(conn, s)  # raises, listing what is known
    return found


def vendor_id(conn: Connection, name: str, synthetic: bool = False) -> int:
    stmt = _insert(conn, VendorRow).values(name=name, synthetic=synthetic, description="")
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))
    return int(conn.execute(select(VendorRow.id).where(VendorRow.name == name)).scalar_one())


def store_config(conn: Connection, config: FrozenModel, name: str = "") -> str:
    """Store ``config`` under its fingerprint (once) and return the fingerprint."""
    fp = fingerprint(config)
    body = config.model_dump(mode="json")
    stmt = _insert(conn, ConfigRow).values(
        fingerprint=fp,
        kind=body.get("kind", type(config).__name__),
        name=name or str(body.get("name", "")),
        body=body,
        created_at=datetime.now(UTC),
    )
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["fingerprint"]))
    return fp


def list_configs(conn: Connection, kind: str | None = None) -> list[ConfigRow]:
    q = select(ConfigRow).order_by(ConfigRow.created_at.desc())
    if kind:
        q = q.where(ConfigRow.kind == kind)
    return list(Session(conn).scalars(q))


def get_config(conn: Connection, prefix: str) -> ConfigRow:
    """A config by fingerprint or unique prefix (at least 6 hex digits)."""
    if len(prefix) < 6:
        raise LookupError(f"fingerprint prefix {prefix!r} is too short: give at least 6 characters")
    rows = list(
        Session(conn).scalars(select(ConfigRow).where(ConfigRow.fingerprint.startswith(prefix)))
    )
    if not rows:
        raise LookupError(f"no stored config has fingerprint {prefix!r}")
    if len(rows) > 1:
        raise LookupError(f"fingerprint prefix {prefix!r} is ambiguous ({len(rows)} configs)")
    return rows[0]
