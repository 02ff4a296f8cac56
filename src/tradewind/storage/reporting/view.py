"""One reporting view: its name, its columns in order, and its SELECT for a dialect."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tradewind.storage.reporting.dialect import Sql


@dataclass(frozen=True)
class View:
    name: str
    columns: tuple[str, ...]
    select: Callable[[Sql], str]
    postgres_only: bool = False  # needs what SQLite lacks (time zone rules): see docs

    def on(self, dialect: str) -> bool:
        """Whether the view exists on ``dialect``."""
        return dialect == "postgresql" or not self.postgres_only


def cols(spec: str) -> tuple[str, ...]:
    """``"a, b, c"`` -> ``("a", "b", "c")``: the column lists read like the contract."""
    return tuple(c.strip() for c in spec.split(",") if c.strip())
