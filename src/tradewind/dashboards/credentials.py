"""No credentials in the bundle: no password in a URI, no secret-looking value anywhere, and
the database URI only a template whose ``${...}`` placeholders the provisioning fills in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from tradewind.dashboards.bundle import Bundle, Problem

# What the provisioning substitutes in databases/*.yaml `sqlalchemy_uri` (see the README).
URI_PLACEHOLDERS = frozenset(
    {
        "TRADEWIND_REPORTING_USER",
        "TRADEWIND_REPORTING_HOST",
        "TRADEWIND_REPORTING_PORT",
        "TRADEWIND_REPORTING_DB",
    }
)
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_URI_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s@]*:[^/\s@]*@")
_SECRET_KEY = re.compile(
    r"pass(word|wd)?|secret|token|api_?key|private_?key|access_?key|credential", re.I
)
_SECRET_TEXT = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----|\bAKIA[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{30,}"
)


def _walk(node: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    """(field path, key, value) of every scalar, depth first."""
    if isinstance(node, dict):
        for key, value in node.items():
            sub = f"{path}.{key}" if path else str(key)
            if isinstance(value, dict | list):
                yield from _walk(value, sub)
            else:
                yield sub, str(key), value
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]")


def _value_problems(name: str, doc: dict[str, Any]) -> Iterator[Problem]:
    for field, key, value in _walk(doc, ""):
        if _SECRET_KEY.search(key) and value not in (None, "", False):
            yield Problem(
                name,
                field,
                "looks like a credential: leave it empty, the "
                "provisioning supplies secrets from the environment",
            )
        if not isinstance(value, str):
            continue
        if _URI_PASSWORD.search(value):
            yield Problem(name, field, "holds a URI with a password")
        if _SECRET_TEXT.search(value):
            yield Problem(name, field, "holds a private key or access token")


def _database_problems(name: str, doc: dict[str, Any]) -> Iterator[Problem]:
    uri = str(doc.get("sqlalchemy_uri") or "")
    used = set(_PLACEHOLDER.findall(uri))
    for unknown in sorted(used - URI_PLACEHOLDERS):
        yield Problem(
            name,
            "sqlalchemy_uri",
            f"${{{unknown}}} is not one of the placeholders "
            f"the provisioning fills: {sorted(URI_PLACEHOLDERS)}",
        )
    if not used:
        yield Problem(
            name,
            "sqlalchemy_uri",
            "must be a template with ${...} placeholders, not a literal connection",
        )
    if doc.get("allow_dml") is not False:
        yield Problem(name, "allow_dml", "must be false: the dashboards only read")


def credential_problems(bundle: Bundle) -> list[Problem]:
    out: list[Problem] = []
    for kind, files in bundle.files.items():
        for name, doc in files.items():
            out += _value_problems(name, doc)
            if kind == "databases":
                out += _database_problems(name, doc)
    return out + list(_value_problems("metadata.yaml", bundle.metadata))
