"""OANDA environments (practice, live, or any registered host such as the paper venue) and
the access token: from ``OANDA_TOKEN`` or the file named by ``OANDA_TOKEN_FILE``, never from a
command line, never in a log line, an error or a repr."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from oandapyV20 import oandapyV20 as _v20

from tradewind.broker.errors import AuthError, BrokerError

BUILTIN = ("practice", "live")
TOKEN_VAR = "OANDA_TOKEN"
API_URL_VAR = "OANDA_API_URL"
STREAM_URL_VAR = "OANDA_STREAM_URL"


class LiveRefused(BrokerError):
    """The live environment was asked for without ``allow_live=True``."""


def register_environment(name: str, api_url: str, stream_url: str | None = None) -> None:
    """Make ``name`` an oandapyV20 environment: REST at ``api_url``, streams at ``stream_url``
    (the same host when None). ``practice`` and ``live`` cannot be redefined."""
    if name in BUILTIN:
        raise BrokerError(f"environment {name!r} is OANDA's own and cannot be redefined")
    urls = {"api": api_url, "stream": stream_url or api_url}
    for kind, url in urls.items():
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise BrokerError(f"environment {name!r}: {kind} URL must be http(s)://host[:port]")
    _v20.TRADING_ENVIRONMENTS[name] = {k: v.rstrip("/") for k, v in urls.items()}


def known_environments() -> list[str]:
    return sorted(_v20.TRADING_ENVIRONMENTS)


def resolve_environment(
    name: str, *, allow_live: bool = False, environ: Mapping[str, str] | None = None
) -> str:
    """Check ``name`` is usable: ``live`` only with ``allow_live``; an unknown name is
    registered from ``OANDA_API_URL`` (and ``OANDA_STREAM_URL``) when they are set."""
    environ = os.environ if environ is None else environ
    if name == "live" and not allow_live:
        raise LiveRefused(
            "refusing the OANDA live environment: pass allow_live=True (--allow-live) to trade "
            "or read with real money"
        )
    if name not in _v20.TRADING_ENVIRONMENTS:
        api = environ.get(API_URL_VAR)
        if not api:
            raise BrokerError(
                f"unknown OANDA environment {name!r} (known: {', '.join(known_environments())}; "
                f"or set {API_URL_VAR} to register it)"
            )
        register_environment(name, api, environ.get(STREAM_URL_VAR) or None)
    return name


def environment_urls(name: str) -> dict[str, str]:
    return dict(_v20.TRADING_ENVIRONMENTS[name])


def load_token(environ: Mapping[str, str] | None = None) -> str:
    """The token from ``OANDA_TOKEN``, else from the file ``OANDA_TOKEN_FILE`` names."""
    environ = os.environ if environ is None else environ
    token = (environ.get(TOKEN_VAR) or "").strip()
    if token:
        return token
    path = environ.get(f"{TOKEN_VAR}_FILE")
    if path:
        try:
            token = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise AuthError(
                f"{TOKEN_VAR}_FILE={path}: cannot read the token file: {exc.strerror}"
            ) from None
        if token:
            return token
        raise AuthError(f"{TOKEN_VAR}_FILE={path}: the token file is empty")
    raise AuthError(f"no OANDA token: set {TOKEN_VAR} or {TOKEN_VAR}_FILE")


class Redactor(logging.Filter):
    """Replaces secrets in log records (message and arguments) with ``***``."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()

    def add(self, secret: str) -> None:
        if secret:
            self._secrets.add(secret)

    def scrub(self, text: str) -> str:
        for s in self._secrets:
            text = text.replace(s, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            try:
                message = record.getMessage()
            except Exception:  # a malformed record: leave it to the logging machinery
                return True
            clean = self.scrub(message)
            if clean != message:
                record.msg, record.args = clean, None
        return True


REDACTOR = Redactor()
# Loggers that see URLs, request lines or response bodies: the token is never among them
# by construction; the filter is a second line of defence.
for _name in ("oandapyV20.oandapyV20", "urllib3.connectionpool", "tradewind.broker.oanda"):
    _logger = logging.getLogger(_name)
    if REDACTOR not in _logger.filters:
        _logger.addFilter(REDACTOR)
