"""Fixtures shared by the integration tests (the root conftest has the databases)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``TRADEWIND_HOME`` of the test's own (so MLflow's embedded store is under it, with
    no tracking server from the environment) and torch on one thread, for tests that train
    and register models. A module that defines its own ``home`` uses that one."""
    import torch

    monkeypatch.setenv("TRADEWIND_HOME", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    torch.set_num_threads(1)
    return tmp_path
