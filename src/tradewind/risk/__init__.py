"""Risk: pre-trade checks, the kill switch and portfolio VaR. Pure (numpy, domain, config):
no database, no broker; the caller hands in what it sees and persists what it is told."""

from tradewind.risk.checks import CHECK_NAMES, SKIPPED_WHEN_REDUCING, PreTradeRisk
from tradewind.risk.killswitch import (
    KillRecord,
    KillState,
    KillSwitch,
    KillSwitchStore,
    KillTransition,
)
from tradewind.risk.rules import InstrumentRules
from tradewind.risk.var import PortfolioVaR, historical_var_es
from tradewind.risk.views import (
    MarketView,
    PortfolioView,
    RiskDecision,
    reduces,
    reducing_part,
    worst_position,
)

__all__ = [
    "CHECK_NAMES",
    "SKIPPED_WHEN_REDUCING",
    "InstrumentRules",
    "KillRecord",
    "KillState",
    "KillSwitch",
    "KillSwitchStore",
    "KillTransition",
    "MarketView",
    "PortfolioVaR",
    "PortfolioView",
    "PreTradeRisk",
    "RiskDecision",
    "historical_var_es",
    "reduces",
    "reducing_part",
    "worst_position",
]
