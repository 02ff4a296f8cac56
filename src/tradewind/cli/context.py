"""The composition root's wiring: settings -> engine, and the one-line error contract."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache, wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar
from urllib.parse import quote, quote_plus

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from tradewind.cli.numbers import PriceFormat
from tradewind.config import ConfigError, Settings
from tradewind.domain.errors import Unsupported
from tradewind.marketdata.columns import ImportFileError
from tradewind.storage import migrate
from tradewind.storage.bars import ConflictAbort
from tradewind.storage.catalog import UnknownInstrument
from tradewind.storage.engine import make_engine

if TYPE_CHECKING:
    from tradewind.registry.tracking import Tracking

P = ParamSpec("P")
R = TypeVar("R")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object for scripts.")]

out = Console(width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True)


class CliError(Exception):
    """A user-facing failure: printed as one line, exit code 1."""


@cache
def settings() -> Settings:
    try:
        return Settings()
    except (ValidationError, ValueError) as exc:
        raise CliError(f"settings: {exc}") from None


@cache
def engine() -> Engine:
    return make_engine(settings().resolved_database_url)


def registry() -> Tracking:
    """The model registry the settings name (``MLFLOW_TRACKING_URI``, else the embedded store
    under ``TRADEWIND_HOME``); cheap: MLflow is configured by whoever uses it."""
    from tradewind.registry.tracking import resolve_tracking

    return resolve_tracking(settings().home)


def price_format(eng: Engine) -> PriceFormat:
    """Prices to each instrument's display precision, as the security master has it."""
    from tradewind.storage.catalog import list_instruments

    with eng.connect() as conn:
        return PriceFormat({i.id.symbol: i.display_precision for i in list_instruments(conn)})


def ready_engine() -> Engine:
    """The engine, once the database is at the code's schema revision."""
    url = make_url(settings().resolved_database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        raise CliError(f"no database at {url.database}: run `tradewind init` first")
    eng = engine()
    current, head = migrate.current_revision(eng), migrate.head_revision(eng)
    if current != head:
        where = settings().database_display
        state = (
            "not initialised" if current is None else f"at revision {current}, code wants {head}"
        )
        raise CliError(f"database {where} is {state}: run `tradewind init`")
    return eng


_EXPECTED = (
    CliError,
    Unsupported,
    ConfigError,
    ImportFileError,
    UnknownInstrument,
    ConflictAbort,
    LookupError,
)


def one_line_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn expected failures into ``error: ...`` on stderr and exit 1, with no traceback."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except _EXPECTED as exc:
            fail(str(exc))
        except OperationalError as exc:
            fail(f"database {settings().database_display}: {_first_line(exc.orig or exc)}")
        except SQLAlchemyError as exc:
            fail(f"database error: {_first_line(exc)}")
        except (ValueError, OSError) as exc:
            fail(str(exc))
        raise AssertionError("unreachable")

    return wrapper


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def fail(message: str) -> None:
    if os.environ.get("TRADEWIND_DEBUG"):
        raise
    err.print(
        f"[bold red]error:[/] {_scrub(message)}", highlight=False, soft_wrap=True, emoji=False
    )
    raise typer.Exit(1)


def _scrub(message: str) -> str:
    """Belt and braces: whatever raised, the database password never reaches the terminal."""
    try:
        s = settings()
        secrets = [make_url(s.resolved_database_url).password]
    except Exception:  # settings themselves failed: nothing known to scrub
        return message
    if s.database_password is not None:
        secrets.append(s.database_password.get_secret_value())
    for secret in filter(None, secrets):
        for form in {str(secret), quote_plus(str(secret)), quote(str(secret), safe="")}:
            message = message.replace(form, "***")
    return message.replace("\n", " ").replace("[", "\\[")


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, default=str, sort_keys=True) + "\n")


@contextmanager
def working(message: str, quiet: bool) -> Iterator[None]:
    """Progress of a step whose size is unknown: a spinner with the elapsed time on a
    terminal, a plain elapsed line every few seconds otherwise (see tradewind.cli.progress)."""
    from tradewind.cli.progress import task

    with task(message, quiet=quiet):
        yield
