"""Frozen config models that reject unknown fields, and their stable fingerprints."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict


class FrozenModel(BaseModel):
    """Base of every config: immutable, unknown fields rejected, hashable to an id."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self)


def canonical_json(model: BaseModel) -> str:
    """JSON with sorted keys, no whitespace and defaults filled in: equal configs, equal text."""
    data: Any = model.model_dump(mode="json")
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fingerprint(model: BaseModel) -> str:
    """SHA-256 of the canonical JSON, hex. Formatting, key order and comments do not change it."""
    return hashlib.sha256(canonical_json(model).encode("utf-8")).hexdigest()
