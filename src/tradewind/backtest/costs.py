"""The cost model both engines share: one place for the arithmetic, so they agree to the bit.

A fill's price is the raw price (open, close, stop or limit level) moved against the trader by
slippage and half the spread: ``buy = raw + raw * slip + half``,
``sell = raw - raw * slip - half``, with ``slip = slippage_bps / 1e4`` and
``half = spread_pips * 10**pip_location / 2``. Commission on a fill of ``units`` at the
executed ``price`` is ``|units| * per_unit + |units| * price * bps / 1e4``.

Two per-fill variants, on the Backtrader path only (``bar_cost_model``; the vectorised
engine's ``cost_model`` refuses them):

* ``spread: data``: ``half = spread / 2`` with ``spread`` the fill bar's stored ask - bid
  (``SpreadSeries``): the open spread (``ask_open - bid_open``) for fills at the open or at a
  stop/limit level, the close spread (``ask_close - bid_close``) for ``next_close`` fills.
* ``slippage: volume_scaled``: ``slip = min(slippage_bps * |units| / volume,
  slippage_max_bps) / 1e4`` with ``volume`` the fill bar's volume; a volume of 0 (or NaN)
  pays ``slippage_max_bps``.

Financing (overnight rollover) is not a fill cost: ``CostModel`` carries its rates and
``backtest.financing`` its schedule and formula, which both engines apply.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tradewind.backtest.financing import charge as financing_charge
from tradewind.config.backtest import Costs, SlippageModel
from tradewind.domain.errors import Unsupported
from tradewind.domain.series import BarSeries

DEFAULT_PIP_LOCATION = -4


@dataclass(frozen=True, slots=True)
class CostModel:
    """Costs resolved for one instrument: every value a fill needs, in price units.

    ``data_spread`` and ``volume_scaled`` switch on the per-fill variants of ``fill_price``;
    ``price`` is the fixed arithmetic (what the vectorised engine uses)."""

    half_spread: float = 0.0
    slip_frac: float = 0.0
    per_unit: float = 0.0
    bps_frac: float = 0.0
    data_spread: bool = False
    volume_scaled: bool = False
    slip_bps: float = 0.0
    slip_max_bps: float = 0.0
    financing_long: float = 0.0  # annual rates paid on a position's notional (< 0: received)
    financing_short: float = 0.0

    @property
    def financed(self) -> bool:
        return self.financing_long != 0.0 or self.financing_short != 0.0

    def financing(self, units: float, price: float, years: float) -> float:
        """Financing of ``units`` held at ``price`` for ``years``: positive = paid."""
        return financing_charge(units, price, years, self.financing_long, self.financing_short)

    def price(self, raw: float, is_buy: bool) -> float:
        if is_buy:
            return raw + raw * self.slip_frac + self.half_spread
        return raw - raw * self.slip_frac - self.half_spread

    def slip_for(self, units: float, volume: float) -> float:
        """The slippage fraction of a fill of ``units`` on a bar that traded ``volume``."""
        if not self.volume_scaled:
            return self.slip_frac
        if not volume > 0:  # 0 or NaN volume: the cap
            return self.slip_max_bps / 1e4
        return min(self.slip_bps * abs(units) / volume, self.slip_max_bps) / 1e4

    def fill_price(
        self,
        raw: float,
        is_buy: bool,
        units: float = 0.0,
        volume: float = math.nan,
        spread: float = math.nan,
    ) -> float:
        """``price`` with this fill's slippage and, for ``data_spread``, half ``spread``."""
        half = self.half_spread
        if self.data_spread:
            if not math.isfinite(spread):
                raise ValueError(f"no bid/ask spread for a fill at {raw} (spread={spread})")
            half = spread / 2.0
        slip = self.slip_for(units, volume)
        if is_buy:
            return raw + raw * slip + half
        return raw - raw * slip - half

    def commission(self, units: float, price: float) -> float:
        size = abs(units)
        return size * self.per_unit + size * price * self.bps_frac


@dataclass(frozen=True)
class SpreadSeries:
    """Per-bar ask - bid spreads aligned with an instrument's bars."""

    open: npt.NDArray[np.float64]
    close: npt.NDArray[np.float64]

    @classmethod
    def from_bid_ask(cls, bid: BarSeries, ask: BarSeries) -> SpreadSeries:
        if not np.array_equal(bid.ts, ask.ts):
            raise ValueError("bid and ask bars are not on the same times")
        return cls(
            open=np.asarray(ask.open - bid.open, dtype=np.float64),
            close=np.asarray(ask.close - bid.close, dtype=np.float64),
        )


def bar_cost_model(costs: Costs, pip_location: int = DEFAULT_PIP_LOCATION) -> CostModel:
    """Resolve ``costs`` with the per-fill variants (spread ``data``, ``volume_scaled``)."""
    volume_scaled = costs.slippage is SlippageModel.VOLUME_SCALED
    half = costs.spread_pips * 10.0**pip_location / 2.0 if costs.spread == "fixed" else 0.0
    return CostModel(
        half_spread=half,
        slip_frac=0.0 if volume_scaled else costs.slippage_bps / 1e4,
        per_unit=costs.commission_per_unit,
        bps_frac=costs.commission_bps / 1e4,
        data_spread=costs.spread == "data",
        volume_scaled=volume_scaled,
        slip_bps=costs.slippage_bps,
        slip_max_bps=costs.slippage_max_bps,
        financing_long=costs.financing_long_rate,
        financing_short=costs.financing_short_rate,
    )


def cost_model(costs: Costs, pip_location: int = DEFAULT_PIP_LOCATION) -> CostModel:
    """Resolve ``costs`` for an instrument whose pip is ``10**pip_location``, fixed
    arithmetic only (``price``): refuses spread ``data`` and ``volume_scaled`` slippage."""
    if costs.spread == "data":
        raise Unsupported(
            "costs.spread='data' (bid/ask bars) is not supported by the vectorised engine; "
            "use the Backtrader engine, or spread='fixed' with spread_pips, or 'none'"
        )
    if costs.slippage is not SlippageModel.FIXED_BPS and costs.slippage_bps > 0:
        raise Unsupported(
            f"slippage model {costs.slippage.value!r} is not supported by the vectorised engine; "
            "use the Backtrader engine or 'fixed_bps'"
        )
    half = costs.spread_pips * 10.0**pip_location / 2.0 if costs.spread == "fixed" else 0.0
    return CostModel(
        half_spread=half,
        slip_frac=costs.slippage_bps / 1e4,
        per_unit=costs.commission_per_unit,
        bps_frac=costs.commission_bps / 1e4,
        financing_long=costs.financing_long_rate,
        financing_short=costs.financing_short_rate,
    )
