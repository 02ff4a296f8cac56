"""``make_algo``: the execution algorithm a deployment's ``execution`` config names."""

from __future__ import annotations

from typing import Any, Protocol

from tradewind.config.execution import ExecutionConfig
from tradewind.oms.execution.base import AlgoBase, ExecutionAlgo, OrderBook, Submit
from tradewind.oms.execution.best_limit import BestLimitAlgo
from tradewind.oms.execution.market import MarketAlgo
from tradewind.oms.execution.stop import StopAlgo
from tradewind.oms.execution.twap import TwapAlgo
from tradewind.risk.rules import InstrumentRules


class AlgoClass(Protocol):
    """An algorithm's constructor. ``config`` is the variant of ``ExecutionConfig`` whose
    ``algo`` is the kind the class is registered under in ``KINDS`` (the union cannot say so)."""

    def __call__(
        self,
        config: Any,
        *,
        submit: Submit,
        oms: OrderBook,
        rules: InstrumentRules,
        tag: str = ...,
        deployment: str = ...,
        pip: float | None = ...,
    ) -> AlgoBase: ...


KINDS: dict[str, AlgoClass] = {
    "market": MarketAlgo,
    "best_limit": BestLimitAlgo,
    "stop": StopAlgo,
    "twap": TwapAlgo,
}


def make_algo(
    config: ExecutionConfig,
    *,
    submit: Submit,
    oms: OrderBook,
    rules: InstrumentRules,
    tag: str = "",
    deployment: str = "",
    pip: float | None = None,
) -> ExecutionAlgo:
    """The algorithm ``config.algo`` names, for the instrument of ``rules``. ``tag`` is the
    reason recorded on every child order; ``pip`` overrides ``pip_size``."""
    cls = KINDS.get(config.algo)
    if cls is None:
        raise ValueError(f"unknown execution algorithm {config.algo!r}; known: {sorted(KINDS)}")
    return cls(config, submit=submit, oms=oms, rules=rules, tag=tag, deployment=deployment, pip=pip)
