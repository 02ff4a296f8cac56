"""Create or migrate a database and load a universe: what `tradewind init` does."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from tradewind.config import UniverseConfig, load_config
from tradewind.storage import catalog, migrate

DEFAULT_UNIVERSE = Path("configs/universe/fx_majors.yaml")


@dataclass(frozen=True)
class InitResult:
    revision_before: str | None
    revision: str | None
    universe: str
    universe_fingerprint: str
    instruments: int


def load_universe(path: str | Path | None = None) -> UniverseConfig:
    """The universe at ``path``; by default ``configs/universe/fx_majors.yaml`` found along
    the search path (the working directory, then the defaults shipped in the package: the
    same universe inside a checkout and outside it)."""
    return load_config(path if path is not None else DEFAULT_UNIVERSE, UniverseConfig)


def push_universe(engine: Engine, universe: UniverseConfig) -> str:
    """Store the universe config and upsert its instruments; returns its fingerprint."""
    with engine.begin() as conn:
        fp = catalog.store_config(conn, universe)
        catalog.upsert_instruments(conn, [s.to_domain() for s in universe.instruments])
    return fp


def initialise(engine: Engine, universe: UniverseConfig | None = None) -> InitResult:
    """Migrate to the code's schema revision, then load ``universe`` (idempotent)."""
    universe = universe if universe is not None else load_universe()
    before = migrate.current_revision(engine)
    migrate.upgrade(engine)
    fp = push_universe(engine, universe)
    return InitResult(
        before, migrate.current_revision(engine), universe.name, fp, len(universe.instruments)
    )
