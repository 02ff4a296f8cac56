"""Render a Superset import bundle (the v1 export layout) for one deployment, in memory.

A bundle is a directory of YAML files: ``metadata.yaml``, ``databases/``, ``datasets/``,
``charts/``, ``dashboards/``. Its string values may hold ``${NAME}`` placeholders, replaced
by the environment variable ``NAME``; every unset or empty one is refused at once, each named
with the files that use it. Inside a database's ``sqlalchemy_uri`` the values are URL-quoted.

The database password never goes into the bundle or onto disk: a URI without a password (or
with Superset's mask ``XXXXXXXXXX``) gets the mask, and the password travels beside the
contents in ``Rendered.passwords`` (Superset's import stores it encrypted with SECRET_KEY).

Runs in Superset's venv and in Tradewind's (stdlib, PyYAML and SQLAlchemy's URL parser only).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml
from sqlalchemy.engine import make_url

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
PASSWORD_MASK = "XXXXXXXXXX"  # Superset's PASSWORD_MASK
SECTIONS = ("databases", "datasets", "charts", "dashboards")


class BundleError(ValueError):
    """A bundle that cannot be rendered: what is wrong and where."""


@dataclass
class Rendered:
    """The rendered bundle: contents by path inside the bundle (the keys Superset's import
    commands take) and database passwords by the same path."""

    contents: dict[str, str]
    passwords: dict[str, str] = field(default_factory=dict)

    def uuids(self, section: str) -> set[str]:
        """The uuids of the bundle's objects of one section (``charts``, ...)."""
        return {
            str(yaml.safe_load(text)["uuid"])
            for path, text in self.contents.items()
            if path.startswith(f"{section}/")
        }


def bundle_files(root: Path) -> dict[str, str]:
    """The bundle's YAML files (Superset's rule: ``.yaml``/``.yml``, no dot or underscore
    names), by POSIX path relative to ``root``."""
    if not (root / "metadata.yaml").is_file():
        raise BundleError(f"{root}: not a Superset bundle (no metadata.yaml)")
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix.lower() in (".yaml", ".yml"):
            rel = path.relative_to(root)
            if not any(part.startswith((".", "_")) for part in rel.parts):
                files[rel.as_posix()] = path.read_text(encoding="utf-8")
    return files


def _substitute(value: Any, env: Mapping[str, str], *, quoted: bool, missing: set[str]) -> Any:
    if isinstance(value, str):

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            found = env.get(name)
            if not found:
                missing.add(name)
                return match.group(0)
            return quote(found, safe="") if quoted else found

        return PLACEHOLDER.sub(one, value)
    if isinstance(value, dict):
        return {
            k: _substitute(v, env, quoted=quoted or k == "sqlalchemy_uri", missing=missing)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_substitute(v, env, quoted=quoted, missing=missing) for v in value]
    return value


def _password_for(path: str, config: dict[str, Any], password: str | None) -> str | None:
    """Masks the URI's password; the password to import with (None: the URI carries its
    own, or there is none to give)."""
    uri = make_url(config["sqlalchemy_uri"])
    if uri.password not in (None, PASSWORD_MASK):
        return None  # a placeholder filled it in (in memory only)
    if password is None:
        if uri.password == PASSWORD_MASK:
            raise BundleError(f"{path}: the database needs a password and none was given")
        return None
    config["sqlalchemy_uri"] = uri.set(password=PASSWORD_MASK).render_as_string(hide_password=False)
    return password


def render(
    files: Mapping[str, str], env: Mapping[str, str] | None = None, *, password: str | None = None
) -> Rendered:
    """Fills every placeholder of ``files`` from ``env`` (default: the environment); each
    database of the bundle gets ``password`` (if given) through ``Rendered.passwords``."""
    env = os.environ if env is None else env
    rendered = Rendered(contents={})
    where: dict[str, list[str]] = {}
    for path, text in files.items():
        try:
            config = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise BundleError(f"{path}: not valid YAML: {exc}") from exc
        missing: set[str] = set()
        config = _substitute(config, env, quoted=False, missing=missing)
        for name in missing:
            where.setdefault(name, []).append(path)
        if missing:
            continue
        if path.startswith("databases/"):
            if not isinstance(config, dict) or "sqlalchemy_uri" not in config:
                raise BundleError(f"{path}: a database file without sqlalchemy_uri")
            secret = _password_for(path, config, password)
            if secret is not None:
                rendered.passwords[path] = secret
        rendered.contents[path] = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
    if where:
        names = "; ".join(f"{n} (in {', '.join(sorted(p))})" for n, p in sorted(where.items()))
        raise BundleError(f"unset environment variables the bundle needs: {names}")
    return rendered


def render_dir(
    root: Path, env: Mapping[str, str] | None = None, *, password: str | None = None
) -> Rendered:
    """``render`` of the bundle in directory ``root``."""
    rendered = render(bundle_files(root), env, password=password)
    if not any(p.startswith("dashboards/") for p in rendered.contents):
        raise BundleError(f"{root}: the bundle has no dashboards/")
    return rendered
