"""One pooled requests session whose new connections are paced (OANDA allows 2 a second)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from tradewind.broker.limits import RateLimiter

if TYPE_CHECKING:  # urllib3 declares these Protocols for type checkers only
    from urllib3._base_connection import BaseHTTPConnection, BaseHTTPSConnection


class PacedAdapter(HTTPAdapter):
    """An HTTPAdapter (keep-alive pool, no retries of its own) whose pools ask
    ``connections.acquire()`` before opening each new connection."""

    def __init__(self, connections: RateLimiter, pool_maxsize: int = 10) -> None:
        self.connections = connections
        super().__init__(pool_connections=4, pool_maxsize=pool_maxsize, max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        limiter = self.connections

        class PacedHTTP(HTTPConnectionPool):
            def _new_conn(self) -> BaseHTTPConnection:
                limiter.acquire()
                return super()._new_conn()

        class PacedHTTPS(HTTPSConnectionPool):
            def _new_conn(self) -> BaseHTTPSConnection:
                limiter.acquire()
                return super()._new_conn()

        self.poolmanager.pool_classes_by_scheme = {"http": PacedHTTP, "https": PacedHTTPS}

    def __getstate__(self) -> dict[str, Any]:  # never pickled with a live limiter
        raise TypeError("PacedAdapter cannot be pickled")


def make_session(token: str, connections: RateLimiter, pool_maxsize: int = 10) -> requests.Session:
    """A session with the bearer token and one paced adapter for http and https."""
    session = requests.Session()
    adapter = PacedAdapter(connections, pool_maxsize)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["Authorization"] = f"Bearer {token}"
    session.headers["Accept-Encoding"] = "gzip, deflate"
    session.headers["Accept-Datetime-Format"] = "RFC3339"
    session.stream = False
    return session
