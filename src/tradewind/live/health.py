"""The trader's health endpoint: ``GET /health`` answers 200 while it trades and 503 while it
cannot (not reconciled, kill switch halted, no fresh prices, a stream down), with the reasons
and the counters as JSON, for a load balancer, compose's healthcheck or a person with curl."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def health_app(report: Callable[[], dict[str, Any]]) -> Starlette:
    async def health(_request: Request) -> JSONResponse:
        body = report()
        return JSONResponse(body, status_code=200 if body.get("status") == "ok" else 503)

    return Starlette(routes=[Route("/health", health)])


@contextmanager
def serve_health(
    report: Callable[[], dict[str, Any]], host: str = "127.0.0.1", port: int = 0
) -> Iterator[str]:
    """Serve ``/health`` in a daemon thread; yields the URL, stops on exit."""
    if port == 0:
        with socket.socket() as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
    config = uvicorn.Config(
        health_app(report), host=host, port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"health-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the health endpoint did not start on {host}:{port}")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}/health"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
