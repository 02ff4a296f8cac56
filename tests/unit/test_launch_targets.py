"""What a ``live_launch`` run launches: the params of a manual run, or the promoted version on
every deployment of the live config that follows that model's champion alias."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tradewind.orchestration.connections import JobSetupError
from tradewind.orchestration.launch import live_config, targets

REPO = Path(__file__).resolve().parents[2]


def config(tmp_path: Path) -> Path:
    def dep(name: str, model: str, inst: str) -> dict:
        return {
            "name": name,
            "strategy": {"model": model},
            "instruments": [inst],
            "timeframe": "H1",
            "features": "configs/features/default.yaml",
            "risk": {"max_order_units": 1, "max_position_units": 1, "max_total_notional": 1},
        }

    body = {
        "kind": "live",
        "name": "t",
        "deployments": [
            dep("a", "models:/m@champion", "EUR_USD"),
            dep("b", "models:/m/2", "GBP_USD"),  # pinned: does not follow the champion
            dep("c", "models:/other@champion", "USD_JPY"),
        ],
    }
    path = tmp_path / "live.yaml"
    path.write_text(yaml.safe_dump(body), encoding="utf-8")
    return path


def test_manual_and_champion_runs(tmp_path: Path) -> None:
    path = str(config(tmp_path))
    assert targets("a", "m/3", path, REPO) == [{"deployment": "a", "model": "m/3", "config": path}]
    with pytest.raises(JobSetupError, match="both params"):
        targets("a", "", path, REPO)
    events = [{"model": "m", "version": "3"}, {"model": "m", "version": "4"}, {}]
    assert targets("", "", path, REPO, events) == [
        {"deployment": "a", "model": "models:/m/4", "config": path}
    ]
    assert targets("", "", path, REPO, [{"model": "nobody"}]) == []


def test_relative_feature_paths_resolve_against_the_project_root(tmp_path: Path) -> None:
    cfg = live_config(str(config(tmp_path)), REPO)
    assert cfg.deployments[0].features == str(REPO / "configs" / "features" / "default.yaml")
