"""The cost model both engines share: one place for the arithmetic, so they agree to the bit.

A fill's price is the raw price (open, close, stop or limit level) moved against the trader by
slippage and half the spread: ``buy = raw + raw * slip + half``,
``sell = raw - raw * slip - half``, with ``slip = slippage_bps / 1e4`` and
``half = spread_pips * 10**pip_location / 2``. Commission on a fill of ``units`` at the
executed ``price`` is ``|units| * per_unit + |units| * price * bps / 1e4``.
"""

from __future__ import annotations

from dataclasses import dataclass

from tradewind.config.backtest import Costs, SlippageModel

DEFAULT_PIP_LOCATION = -4


@dataclass(frozen=True, slots=True)
class CostModel:
    """Costs resolved for one instrument: every value a fill needs, in price units."""

    half_spread: float = 0.0
    slip_frac: float = 0.0
    per_unit: float = 0.0
    bps_frac: float = 0.0

    def price(self, raw: float, is_buy: bool) -> float:
        if is_buy:
            return raw + raw * self.slip_frac + self.half_spread
        return raw - raw * self.slip_frac - self.half_spread

    def commission(self, units: float, price: float) -> float:
        size = abs(units)
        return size * self.per_unit + size * price * self.bps_frac


def cost_model(costs: Costs, pip_location: int = DEFAULT_PIP_LOCATION) -> CostModel:
    """Resolve ``costs`` for an instrument whose pip is ``10**pip_location``."""
    if costs.spread == "data":
        raise NotImplementedError(
            "costs.spread='data' (bid/ask bars) is not supported by the backtest engines yet; "
            "use spread='fixed' with spread_pips, or 'none'"
        )
    if costs.slippage is not SlippageModel.FIXED_BPS and costs.slippage_bps > 0:
        raise NotImplementedError(
            f"slippage model {costs.slippage.value!r} is not supported yet; use 'fixed_bps'"
        )
    half = costs.spread_pips * 10.0**pip_location / 2.0 if costs.spread == "fixed" else 0.0
    return CostModel(
        half_spread=half,
        slip_frac=costs.slippage_bps / 1e4,
        per_unit=costs.commission_per_unit,
        bps_frac=costs.commission_bps / 1e4,
    )
