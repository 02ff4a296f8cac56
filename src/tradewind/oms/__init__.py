"""Order management: orders from intent to fill, positions and P&L, reconciliation.

``OrderManager`` writes each order (with its ULID client id) before sending it, applies every
broker transaction exactly once, keeps positions and realised P&L from fills, and reconciles
with the broker at start and periodically. Execution algorithms live in ``oms.execution``.
"""

from tradewind.oms.manager import OmsEvent, OrderManager
from tradewind.oms.reconcile import ReconcileReport
from tradewind.oms.store import OmsStore

__all__ = ["OmsEvent", "OmsStore", "OrderManager", "ReconcileReport"]
