"""What holding and trading an instrument costs on the venue: OANDA's daily financing (annual
long/short rates, charged at the 17:00 New York rollover) and commission per fill.

Rates follow v20's sign: the amount credited to the account per year per unit of position
value, so ``-0.05`` means a holder of that side pays 5% a year. All costs default to 0 (off),
which is also what the venue did before they existed: with both rates 0 no DAILY_FINANCING
is made, with no commission every fill's ``commission`` is 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tradewind.config.venue import VenueConfig

WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
# OANDA charges the weekend at Friday's rollover: three days then, none on Saturday/Sunday
DEFAULT_DAYS = (1, 1, 1, 1, 3, 0, 0)
ZERO = Decimal(0)


def _rate(value: Any, name: str) -> Decimal:
    try:
        out = Decimal(str(value))
    except ArithmeticError:
        raise ValueError(f"{name} must be a decimal number, got {value!r}") from None
    if not out.is_finite():
        raise ValueError(f"{name} must be finite, got {value!r}")
    return out


@dataclass(frozen=True, slots=True)
class InstrumentCosts:
    """An instrument's financing and commission (all in the account's home currency).

    - ``long_rate`` / ``short_rate``: annual financing rates per side (v20's sign, above),
      charged ``days_charged[weekday]`` days at each rollover, over a 365-day year.
    - ``commission`` per ``units_traded`` units filled, at least ``minimum_commission`` a fill
      (v20's ``InstrumentCommission``)."""

    long_rate: Decimal = ZERO
    short_rate: Decimal = ZERO
    days_charged: tuple[int, ...] = DEFAULT_DAYS  # Monday .. Sunday (the rollover's NY day)
    commission: Decimal = ZERO
    units_traded: Decimal = Decimal(1)
    minimum_commission: Decimal = ZERO

    def __post_init__(self) -> None:
        for name in ("long_rate", "short_rate", "commission", "units_traded", "minimum_commission"):
            object.__setattr__(self, name, _rate(getattr(self, name), name))
        if not -1 <= self.long_rate <= 1 or not -1 <= self.short_rate <= 1:
            raise ValueError("financing rates are annual fractions between -1 and 1")
        if self.commission < 0 or self.minimum_commission < 0:
            raise ValueError("commission and minimum_commission cannot be negative")
        if self.units_traded <= 0:
            raise ValueError("units_traded must be positive")
        days = tuple(self.days_charged)
        if len(days) != 7 or any(not isinstance(d, int) or d < 0 for d in days):
            raise ValueError("days_charged takes 7 non-negative day counts, Monday to Sunday")
        object.__setattr__(self, "days_charged", days)

    @property
    def financed(self) -> bool:
        return bool(self.long_rate or self.short_rate)

    def commission_for(self, units: Decimal) -> Decimal:
        """The commission on a fill of ``units`` (either sign), to 4 decimals, ties even."""
        if not self.commission and not self.minimum_commission:
            return ZERO
        raw = abs(units) / self.units_traded * self.commission
        return max(raw, self.minimum_commission).quantize(Decimal("0.0001"), ROUND_HALF_EVEN)

    def commission_json(self) -> dict[str, str]:
        """v20's ``InstrumentCommission``."""
        return {
            "commission": f"{self.commission.normalize():f}",
            "unitsTraded": f"{self.units_traded.normalize():f}",
            "minimumCommission": f"{self.minimum_commission.normalize():f}",
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InstrumentCosts:
        """From configuration: ``longRate``, ``shortRate``, ``financingDaysOfWeek`` (v20's
        ``[{"dayOfWeek": "FRIDAY", "daysCharged": 3}, ...]``, unnamed days keep the default),
        ``commission``, ``unitsTraded``, ``minimumCommission``."""
        known = {"longRate", "shortRate", "financingDaysOfWeek", "commission", "unitsTraded",
                 "minimumCommission"}  # fmt: skip
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown cost fields: {', '.join(sorted(unknown))}")
        days = list(DEFAULT_DAYS)
        for item in data.get("financingDaysOfWeek") or []:
            day = str(item.get("dayOfWeek", "")).upper()
            if day not in WEEKDAYS:
                raise ValueError(f"financingDaysOfWeek: unknown dayOfWeek {day!r}")
            days[WEEKDAYS.index(day)] = int(item.get("daysCharged", 0))
        return cls(
            long_rate=data.get("longRate", ZERO),
            short_rate=data.get("shortRate", ZERO),
            days_charged=tuple(days),
            commission=data.get("commission", ZERO),
            units_traded=data.get("unitsTraded", Decimal(1)),
            minimum_commission=data.get("minimumCommission", ZERO),
        )


NO_COSTS = InstrumentCosts()


def costs_from_config(cfg: VenueConfig) -> dict[str, InstrumentCosts]:
    """The costs of a ``kind: venue`` config, by instrument name."""
    out = {}
    for name, c in cfg.costs.items():
        days = list(DEFAULT_DAYS)
        for day, n in c.days_charged.items():
            days[WEEKDAYS.index(day)] = n
        out[name] = InstrumentCosts(
            long_rate=Decimal(str(c.long_rate)),
            short_rate=Decimal(str(c.short_rate)),
            days_charged=tuple(days),
            commission=Decimal(str(c.commission)),
            units_traded=Decimal(str(c.units_traded)),
            minimum_commission=Decimal(str(c.minimum_commission)),
        )
    return out
