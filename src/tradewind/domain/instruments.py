"""Instruments of the security master."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum

from tradewind.domain.calendars import TradingCalendar

_SYMBOL = re.compile(r"^[A-Z0-9]{2,12}_[A-Z0-9]{2,12}$")


class AssetClass(StrEnum):
    FX = "fx"
    METAL = "metal"
    CFD = "cfd"
    CRYPTO = "crypto"
    EQUITY = "equity"
    INDEX = "index"


DEFAULT_CALENDAR: dict[AssetClass, TradingCalendar] = {
    AssetClass.FX: TradingCalendar.FX,
    AssetClass.METAL: TradingCalendar.FX,
    AssetClass.CFD: TradingCalendar.FX,
    AssetClass.CRYPTO: TradingCalendar.CRYPTO,
    AssetClass.EQUITY: TradingCalendar.XNYS,
    AssetClass.INDEX: TradingCalendar.XNYS,
}


@dataclass(frozen=True, slots=True)
class InstrumentId:
    """An OANDA-style symbol such as ``EUR_USD``: base and quote joined by an underscore."""

    symbol: str

    def __post_init__(self) -> None:
        if not _SYMBOL.match(self.symbol):
            raise ValueError(
                f"instrument symbol {self.symbol!r} is not of the form BASE_QUOTE (e.g. EUR_USD)"
            )

    @property
    def base(self) -> str:
        return self.symbol.split("_", 1)[0]

    @property
    def quote(self) -> str:
        return self.symbol.split("_", 1)[1]

    def __str__(self) -> str:
        return self.symbol


@dataclass(frozen=True, slots=True)
class Instrument:
    """Static reference data for one tradable instrument (OANDA's field meanings)."""

    id: InstrumentId
    asset_class: AssetClass
    base_currency: str
    quote_currency: str
    pip_location: int  # the pip is 10**pip_location, e.g. -4 for EUR_USD, -2 for USD_JPY
    display_precision: int  # decimal places of a displayed price
    trade_units_precision: int  # decimal places allowed in a unit count
    min_trade_size: float
    tick_size: float | None = None  # smallest price step; None: one unit of display_precision
    calendar: TradingCalendar = TradingCalendar.FX

    @property
    def pip(self) -> float:
        return 10.0**self.pip_location

    @property
    def tick(self) -> float:
        return self.tick_size if self.tick_size is not None else 10.0**-self.display_precision

    @property
    def currency(self) -> str:
        """The currency prices and P&L are in: the quote currency (USD for ``AAPL_USD``)."""
        return self.quote_currency


def round_units(units: float, precision: int) -> float:
    """``units`` at ``precision`` decimals, toward zero: rounding never enlarges an order (nor
    flips a reducing one into an opening one). The same rule as the live path's
    ``InstrumentRules.round_units``."""
    if not math.isfinite(units):
        raise ValueError(f"cannot round {units} units")
    scale = 10.0**precision
    q = abs(units) * scale
    # 0.3 * 10 = 2.9999999999999996 is 3: a few units in the last place of slack, never a
    # relative one
    n = math.floor(q + 8 * math.ulp(q))
    if n == 0:
        return 0.0
    return math.copysign(round(n / scale, precision), units)
