"""Execution algorithms: how a wanted change of position becomes orders.

``make_algo(config, submit=..., oms=..., rules=...)`` builds the algorithm a deployment's
``execution`` config names: ``market`` (one bounded MARKET FOK), ``best_limit`` (a LIMIT at
the best price, re-priced, crossing or giving up at a deadline), ``stop`` (a STOP entry with an
optional attached stop-loss) or ``twap`` (jittered bounded MARKET slices over a horizon). All
send through the trader's risk-checked ``submit`` and are driven by ticks (market time).
"""

from tradewind.oms.execution.base import AlgoBase, ExecutionAlgo, OrderBook, Submit
from tradewind.oms.execution.best_limit import BestLimitAlgo
from tradewind.oms.execution.factory import make_algo
from tradewind.oms.execution.market import MarketAlgo, market_fields
from tradewind.oms.execution.prices import away, pip_size, price_bound, round_price
from tradewind.oms.execution.stop import StopAlgo, stop_prices
from tradewind.oms.execution.twap import TwapAlgo, slice_count, split_units, twap_schedule

__all__ = [
    "AlgoBase",
    "BestLimitAlgo",
    "ExecutionAlgo",
    "MarketAlgo",
    "OrderBook",
    "StopAlgo",
    "Submit",
    "TwapAlgo",
    "away",
    "make_algo",
    "market_fields",
    "pip_size",
    "price_bound",
    "round_price",
    "slice_count",
    "split_units",
    "stop_prices",
    "twap_schedule",
]
