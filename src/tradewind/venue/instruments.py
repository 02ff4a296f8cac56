"""The instruments the venue trades: OANDA's reference data per instrument, as v20's
``Instrument`` JSON, from a default FX set or from the security master."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, inspect

from tradewind.venue.costs import NO_COSTS, InstrumentCosts
from tradewind.venue.wire import dec

_MAJORS = ("EUR_USD", "GBP_USD", "USD_JPY", "AUD_USD", "USD_CHF", "USD_CAD", "NZD_USD")
DEFAULT_SYMBOLS = (*_MAJORS, "EUR_GBP", "EUR_JPY", "GBP_JPY")
_MARGIN_RATE = {s: 0.0333 for s in DEFAULT_SYMBOLS}  # 30:1, a retail majors' rate
_MARGIN_RATE.update({"EUR_JPY": 0.04, "GBP_JPY": 0.05})


@dataclass(frozen=True, slots=True)
class VenueInstrument:
    """One tradeable instrument: v20's ``Instrument`` fields (``to_json`` renders them)."""

    name: str
    type: str = "CURRENCY"
    displayPrecision: int = 5
    pipLocation: int = -4
    tradeUnitsPrecision: int = 0
    minimumTradeSize: float = 1.0
    maximumOrderUnits: float = 100_000_000.0
    maximumPositionSize: float = 0.0  # 0: no limit (OANDA's convention)
    marginRate: float = 0.0333
    displayName: str = ""
    costs: InstrumentCosts = NO_COSTS  # financing and commission (venue/costs.py), 0 by default

    @property
    def base(self) -> str:
        return self.name.split("_", 1)[0]

    @property
    def quote_currency(self) -> str:
        return self.name.split("_", 1)[-1]

    @property
    def pip(self) -> float:
        return 10.0**self.pipLocation

    def price(self, value: float) -> str:
        """A price as v20's PriceValue string at the display precision."""
        return dec(value, self.displayPrecision)

    def units(self, value: float) -> str:
        return dec(value, self.tradeUnitsPrecision)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "displayName": self.displayName or self.name.replace("_", "/"),
            "pipLocation": self.pipLocation,
            "displayPrecision": self.displayPrecision,
            "tradeUnitsPrecision": self.tradeUnitsPrecision,
            "minimumTradeSize": dec(self.minimumTradeSize, self.tradeUnitsPrecision),
            "maximumTrailingStopDistance": dec(1.0, self.displayPrecision),
            "minimumTrailingStopDistance": dec(5 * self.pip, self.displayPrecision),
            "maximumPositionSize": dec(self.maximumPositionSize, self.tradeUnitsPrecision),
            "maximumOrderUnits": dec(self.maximumOrderUnits, self.tradeUnitsPrecision),
            "marginRate": f"{self.marginRate:.4f}".rstrip("0").rstrip(".") or "0",
            **({"commission": self.costs.commission_json()} if self.costs != NO_COSTS else {}),
        }


def fx(
    name: str, margin_rate: float | None = None, costs: InstrumentCosts = NO_COSTS
) -> VenueInstrument:
    """An FX pair with OANDA's conventions: JPY quotes have pip -2 and 3 decimals."""
    jpy = name.endswith("_JPY")
    return VenueInstrument(
        name=name,
        displayPrecision=3 if jpy else 5,
        pipLocation=-2 if jpy else -4,
        marginRate=margin_rate if margin_rate is not None else _MARGIN_RATE.get(name, 0.05),
        displayName=name.replace("_", "/"),
        costs=costs,
    )


def default_instruments() -> dict[str, VenueInstrument]:
    """The default FX set, by name."""
    return {s: fx(s) for s in DEFAULT_SYMBOLS}


def from_catalog(conn: Connection) -> dict[str, VenueInstrument]:
    """The security master's instruments (empty if it has none or no ``instruments`` table).
    Reference data comes from the rows; the margin rate from the default set (0.05 else)."""
    if not inspect(conn).has_table("instruments"):
        return {}
    from tradewind.storage.catalog import list_instruments

    out: dict[str, VenueInstrument] = {}
    for ins in list_instruments(conn):
        name = ins.id.symbol
        kind = {"fx": "CURRENCY", "metal": "METAL"}.get(str(ins.asset_class.value).lower(), "CFD")
        out[name] = VenueInstrument(
            name=name,
            type=kind,
            displayPrecision=ins.display_precision,
            pipLocation=ins.pip_location,
            tradeUnitsPrecision=ins.trade_units_precision,
            minimumTradeSize=float(ins.min_trade_size),
            marginRate=_MARGIN_RATE.get(name, 0.05),
            displayName=name.replace("_", "/"),
        )
    return out


def with_costs(
    instruments: dict[str, VenueInstrument], costs: dict[str, InstrumentCosts]
) -> dict[str, VenueInstrument]:
    """``instruments`` with the configured financing and commission (by instrument name)."""
    unknown = set(costs) - set(instruments)
    if unknown:
        raise ValueError(f"costs for unknown instruments: {', '.join(sorted(unknown))}")
    return {n: replace(i, costs=costs.get(n, i.costs)) for n, i in instruments.items()}
