"""The venue's matching engine: pure Python, no HTTP, no database (a ``TransactionStore``
port keeps its transactions)."""

from tradewind.venue.engine.core import DEFAULT_ACCOUNT, VenueEngine
from tradewind.venue.engine.store import AccountRecord, MemoryStore, TransactionStore
from tradewind.venue.engine.views import in_format

__all__ = [
    "DEFAULT_ACCOUNT",
    "AccountRecord",
    "MemoryStore",
    "TransactionStore",
    "VenueEngine",
    "in_format",
]
