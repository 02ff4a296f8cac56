"""Model versions as the retraining job needs them: which version an alias names, a version
found by a tag, a version's tags set, and the files its training logged (data range, feature
spec) read back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tradewind.registry.models import (
    ModelNotFound,
    _mlflow_call,
    _registered,
    _versions,
    resolve,
    run_file_text,
)
from tradewind.registry.tracking import Tracking


def alias_version(tracking: Tracking, name: str, alias: str) -> str | None:
    """The version ``alias`` of model ``name`` points at; None when the model or the alias
    does not exist."""
    try:
        registered = _registered(tracking, name)
    except ModelNotFound:
        return None
    version = (registered.aliases or {}).get(alias)
    return str(version) if version is not None else None


def versions_tagged(tracking: Tracking, name: str, key: str, value: str) -> list[str]:
    """Versions of ``name`` whose tag ``key`` is ``value``, oldest first."""
    try:
        _registered(tracking, name)
    except ModelNotFound:
        return []
    return [str(v.version) for v in _versions(tracking, name) if (v.tags or {}).get(key) == value]


def version_tags(tracking: Tracking, name: str, version: str) -> dict[str, str]:
    mv = resolve(tracking, f"{name}/{version}")
    return dict(mv.tags or {})


def set_version_tags(tracking: Tracking, name: str, version: str, tags: Mapping[str, str]) -> None:
    client = tracking.client()
    for key, value in tags.items():
        _mlflow_call(tracking, client.set_model_version_tag, name, str(version), key, str(value))


def set_alias(tracking: Tracking, name: str, alias: str, version: str) -> None:
    """Point ``alias`` of ``name`` at ``version`` (moving it if it pointed elsewhere)."""
    client = tracking.client()
    _mlflow_call(tracking, client.set_registered_model_alias, name, alias, str(version))


def run_artifact_text(tracking: Tracking, name: str, version: str, path: str) -> str | None:
    """The text of ``path`` among the artifacts of the run that made the version (e.g.
    ``data_range.json``, ``config/features.yaml``); None when that run logged no such file."""
    mv: Any = resolve(tracking, f"{name}/{version}")
    if not mv.run_id:
        return None
    folder = path.rpartition("/")[0] or None
    listed = _mlflow_call(tracking, tracking.client().list_artifacts, mv.run_id, folder)
    if path not in {f.path for f in listed}:
        return None
    return run_file_text(tracking, mv.run_id, path)
