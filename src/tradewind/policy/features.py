"""What each feature column of a model means, so a caller with other definitions is refused
by name (not just by a differing fingerprint of the whole feature file)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from tradewind.config.features import FeatureDef, FeatureSpec


def _definition(col: str, owner: dict[str, FeatureDef]) -> dict[str, Any]:
    feat = owner[col]
    out: dict[str, Any] = {"fn": feat.fn, "params": feat.params, "output": feat.output}
    if col != feat.name:
        out["part"] = col[len(feat.name) :]  # e.g. _sin / _cos of a time encoding
    if feat.input is not None:
        out["input"] = _definition(feat.input, owner) if feat.input in owner else feat.input
    return out


def feature_definitions(spec: FeatureSpec, columns: Sequence[str]) -> dict[str, str]:
    """Column -> canonical JSON of how ``spec`` computes it (function, parameters, output and,
    recursively, its input), for each of ``columns`` that ``spec`` makes. Feature names and
    the order of the file do not enter: the same computation under the same column name is
    the same feature."""
    owner = {c: f for f in spec.features for c in f.columns}
    return {
        c: json.dumps(_definition(c, owner), sort_keys=True, separators=(",", ":"))
        for c in columns
        if c in owner
    }
