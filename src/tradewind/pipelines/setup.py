"""Create or migrate a database and load a universe: what `tradewind init` does."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from tradewind.config import InstrumentSpec, UniverseConfig, load_config
from tradewind.storage import catalog, migrate

DEFAULT_UNIVERSE = Path("configs/universe/fx_majors.yaml")


@dataclass(frozen=True)
class InitResult:
    revision_before: str | None
    revision: str | None
    universe: str
    universe_fingerprint: str
    instruments: int


# Used when no universe is given and configs/ is not at hand (run outside the repository);
# its name says so wherever it is shown.
BUILTIN_UNIVERSE = UniverseConfig(
    name="builtin-minimal",
    instruments=(
        InstrumentSpec(symbol="EUR_USD", pip_location=-4, display_precision=5),
        InstrumentSpec(symbol="GBP_USD", pip_location=-4, display_precision=5),
    ),
)


def load_universe(path: str | Path | None = None) -> UniverseConfig:
    """The universe at ``path``; by default configs/universe/fx_majors.yaml from the working
    directory, else the two-instrument ``builtin-minimal`` universe."""
    if path is None:
        return (
            load_config(DEFAULT_UNIVERSE, UniverseConfig)
            if DEFAULT_UNIVERSE.exists()
            else BUILTIN_UNIVERSE
        )
    return load_config(path, UniverseConfig)


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
