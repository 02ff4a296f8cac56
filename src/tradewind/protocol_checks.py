"""Static proof that each implementation satisfies the ``Protocol`` port it is wired into.

Nothing imports this module; mypy checks it (``make lint``). Each function below returns its
argument as the port, so mypy reports the implementation's missing or mismatched member here,
at the port, not only where some caller happens to pass it. The checks live in one module
rather than next to each implementation because the layers forbid most of those imports: a
port belongs to the layer that uses it (``oms.OmsStore``) and its implementation sits below
(``storage.SqlOmsStore``), so the implementation cannot name the port.

A new ``Protocol`` port (``grep -rn "Protocol)" src``) gets a function here for each of its
implementations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tradewind.broker.oanda import OandaBroker
    from tradewind.broker.ports import Broker, CandleSource
    from tradewind.live.desk import Book
    from tradewind.live.lease import LeaseStore
    from tradewind.live.trader import LiveStore
    from tradewind.ml.policy import SklearnPolicy
    from tradewind.oms.execution.base import AlgoBase, ExecutionAlgo, OrderBook
    from tradewind.oms.manager import OrderManager
    from tradewind.oms.store import OmsStore
    from tradewind.policy.base import Policy
    from tradewind.policy.trained import SavablePolicy
    from tradewind.risk.killrecord import KillSwitchStore
    from tradewind.rl.policy import SB3Policy
    from tradewind.storage.lease import SqlLeaseStore
    from tradewind.storage.live import SqlLiveStore
    from tradewind.storage.oms import SqlOmsStore
    from tradewind.storage.risk import SqlKillSwitchStore
    from tradewind.venue.engine.store import MemoryStore, TransactionStore
    from tradewind.venue.persistence import SqlTransactionStore

    # broker
    def _oanda_is_broker(x: OandaBroker) -> Broker:
        return x

    def _oanda_is_candle_source(x: OandaBroker) -> CandleSource:
        return x

    # oms
    def _sql_oms_store(x: SqlOmsStore) -> OmsStore:
        return x

    def _order_manager_is_order_book(x: OrderManager) -> OrderBook:
        return x

    def _algo_base_is_execution_algo(x: AlgoBase) -> ExecutionAlgo:
        return x

    # live
    def _order_manager_is_book(x: OrderManager) -> Book:
        return x

    def _sql_live_store(x: SqlLiveStore) -> LiveStore:
        return x

    def _sql_lease_store(x: SqlLeaseStore) -> LeaseStore:
        return x

    # risk
    def _sql_kill_switch_store(x: SqlKillSwitchStore) -> KillSwitchStore:
        return x

    # policy
    def _sb3_policy(x: SB3Policy) -> SavablePolicy:
        return x

    def _sklearn_policy(x: SklearnPolicy) -> SavablePolicy:
        return x

    def _sb3_is_policy(x: SB3Policy) -> Policy:
        return x

    def _sklearn_is_policy(x: SklearnPolicy) -> Policy:
        return x

    # venue
    def _sql_transaction_store(x: SqlTransactionStore) -> TransactionStore:
        return x

    def _memory_transaction_store(x: MemoryStore) -> TransactionStore:
        return x
