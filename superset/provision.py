"""Provision Superset for Tradewind, idempotently: check the dashboards bundle, migrate the
metadata DB, create the admin, sync roles and permissions (``superset init``), import the
bundle.

Run it with Superset's own interpreter (``.venv-superset/bin/python superset/provision.py``)
and ``SUPERSET_CONFIG_PATH`` pointing at ``superset/superset_config.py``. Every step can run
again: the admin is created only if missing, and the bundle is imported as "assets", which
overwrites its databases, datasets, charts and dashboards by uuid, never duplicating them.

Environment:

- ``SUPERSET_ADMIN_USER`` (default ``admin``); ``SUPERSET_ADMIN_PASSWORD`` or
  ``SUPERSET_ADMIN_PASSWORD_FILE``. With neither, a password is generated for a new admin and
  written (mode 600) to ``SUPERSET_ADMIN_PASSWORD_FILE`` if set, else to
  ``$SUPERSET_HOME/secrets/admin_password``; only that path is printed.
- ``TRADEWIND_REPORTING_PASSWORD`` or ``..._FILE``: the password of the bundle's database
  (the read-only reporting role), passed to the import, never written out.
- Whatever ``${NAME}`` placeholders the bundle holds (see superset/bundle/README.md).
- ``TRADEWIND_SUPERSET_BUNDLE``: another bundle directory than superset/bundle.

Exit status 2 with one line on stderr for a bad bundle or configuration.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
from pathlib import Path
from typing import Any

import yaml

from bundle_render import SECTIONS, BundleError, Rendered, render_dir

HERE = Path(__file__).resolve().parent
log = logging.getLogger("tradewind.superset")


def secret(name: str) -> str | None:
    """``$NAME``, else the stripped contents of the file named by ``$NAME_FILE`` if it
    exists, else None."""
    if os.environ.get(name):
        return os.environ[name]
    path = os.environ.get(f"{name}_FILE")
    if path and Path(path).is_file():
        text = Path(path).read_text(encoding="utf-8").strip()
        if text:
            return text
    return None


def write_secret(path: Path, value: str) -> None:
    """Writes ``value`` to ``path`` readable by its owner only (directory 700, file 600)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value + "\n")


def migrate() -> None:
    """``superset db upgrade``."""
    from flask_migrate import upgrade

    upgrade()


def sync_roles() -> None:
    """``superset init``: permissions and the built-in roles."""
    from superset import appbuilder, db, security_manager

    appbuilder.add_permissions(update_perms=True)
    security_manager.sync_role_definitions()
    db.session.commit()


def ensure_admin(username: str) -> Any:
    """The admin user, created with the Admin role if missing (its password is never put on a
    command line or in a log)."""
    from superset import db, security_manager

    user = security_manager.find_user(username=username)
    if user is not None:
        print(f"admin user {username!r} exists")
        return user
    password = secret("SUPERSET_ADMIN_PASSWORD")
    if password is None:
        default = Path(os.environ.get("SUPERSET_HOME", HERE)) / "secrets" / "admin_password"
        target = Path(os.environ.get("SUPERSET_ADMIN_PASSWORD_FILE") or default)
        password = secrets.token_urlsafe(18)
        write_secret(target, password)
        print(f"admin password for {username!r} generated into {target}")
    user = security_manager.add_user(
        username,
        "Tradewind",
        "Admin",
        f"{username}@tradewind.invalid",
        security_manager.find_role("Admin"),
        password=password,
    )
    if not user:
        raise RuntimeError(f"could not create the Superset admin {username!r}")
    db.session.commit()
    print(f"admin user {username!r} created")
    return user


def import_bundle(rendered: Rendered, user: Any) -> None:
    """Imports the rendered bundle as ``user`` with Superset's assets import, which overwrites
    every object by uuid (the dashboard import would leave existing databases, datasets and
    charts as they were). Objects no longer in the bundle are left alone."""
    from flask import g
    from superset.commands.importers.v1.assets import ImportAssetsCommand

    contents = dict(rendered.contents)
    metadata = yaml.safe_load(contents["metadata.yaml"])
    contents["metadata.yaml"] = yaml.safe_dump({**metadata, "type": "assets"})
    g.user = user
    ImportAssetsCommand(contents, passwords=rendered.passwords).run()


def check_databases(rendered: Rendered) -> None:
    """Connects to every database of the bundle: a wrong host or password fails here, naming
    the database, rather than on a dashboard."""
    from superset import db
    from superset.models.core import Database

    for uuid in sorted(rendered.uuids("databases")):
        database = db.session.query(Database).filter_by(uuid=uuid).one()
        try:
            with database.get_sqla_engine() as engine, engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except Exception as exc:
            raise RuntimeError(
                f"Superset database {database.database_name!r} "
                f"({database.sqlalchemy_uri}): cannot connect: {exc.__class__.__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}"
            ) from None


def check(bundle: Path) -> None:
    """Tradewind's own checks of the bundle (``tradewind.dashboards``: links by uuid, columns
    every chart and filter names, no credentials), before Superset sees it. The checker is
    standard library and PyYAML only, so it runs here from the repository's ``src``."""
    sys.path.insert(0, str(HERE.parent / "src"))
    from tradewind.dashboards import BundleError as Invalid
    from tradewind.dashboards import check_bundle

    try:
        check_bundle(bundle)
    except Invalid as exc:
        raise BundleError(str(exc)) from None


def provision(bundle: Path | None, admin: str) -> None:
    # Check and render before touching Superset: a bad bundle or a missing variable fails
    # fast and changes nothing.
    if bundle is not None:
        check(bundle)
    rendered = (
        render_dir(bundle, password=secret("TRADEWIND_REPORTING_PASSWORD")) if bundle else None
    )
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        migrate()
        print("metadata database migrated")
        sync_roles()
        print("roles and permissions synced")
        user = ensure_admin(admin)
        if rendered is None:
            return
        import_bundle(rendered, user)
        counts = ", ".join(f"{len(rendered.uuids(s))} {s}" for s in SECTIONS)
        print(f"imported {bundle}: {counts}")
        check_databases(rendered)
        print("bundle databases reachable")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--bundle",
        type=Path,
        default=Path(os.environ.get("TRADEWIND_SUPERSET_BUNDLE") or HERE / "bundle"),
        help="the bundle directory (default: $TRADEWIND_SUPERSET_BUNDLE, else superset/bundle)",
    )
    parser.add_argument("--no-import", action="store_true", help="skip the bundle import")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    try:
        provision(
            None if args.no_import else args.bundle,
            os.environ.get("SUPERSET_ADMIN_USER") or "admin",
        )
    except (BundleError, RuntimeError) as exc:
        print(f"provision: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
