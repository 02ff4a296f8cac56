"""Outside a checkout: a wheel carries the default universe, configs, strategies and model
recipes; `tradewind init` from a folder with no configs/ loads the same universe as inside
the repository, on SQLite and Postgres; names not found say where they were looked for."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tradewind.backtest.decisions import load_decision
from tradewind.config import UniverseConfig, load_config
from tradewind.config.errors import ConfigError
from tradewind.config.plugins import PATH_ENV, available, load_named

REPO = Path(__file__).resolve().parents[2]
UNIVERSE = REPO / "configs" / "universe" / "fx_majors.yaml"


@pytest.fixture(scope="module")
def wheel_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package as a wheel installs it: built from a copy of the sources, unpacked."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "src", "configs", "strategies", "models"):
        from_, to = REPO / name, src / name
        if from_.is_dir():
            shutil.copytree(from_, to, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(from_, to)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         str(src), "-w", str(out)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    (whl,) = out.glob("tradewind-*.whl")
    site = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(whl) as z:
        z.extractall(site)
    return site


def run_cli(site: Path, cwd: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND_")}
    env.update({"PYTHONPATH": str(site), "TRADEWIND_DATABASE_URL": url, "TRADEWIND_HOME": str(cwd)})
    code = "from tradewind.cli.app import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_wheel_init_outside_a_checkout_loads_the_default_universe(
    wheel_site: Path, db_url: str, tmp_path: Path
) -> None:
    assert (wheel_site / "tradewind/defaults/configs/universe/fx_majors.yaml").is_file()
    assert (wheel_site / "tradewind/defaults/strategies/sma_crossover.py").is_file()
    assert (wheel_site / "tradewind/defaults/models/momentum_sign.py").is_file()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = run_cli(wheel_site, elsewhere, db_url, "init", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    inside = load_config(UNIVERSE, UniverseConfig)
    assert result["universe"] == inside.name == "fx-majors"
    assert result["instruments"] == len(inside.instruments)
    assert result["universe_fingerprint"] == inside.fingerprint
    # the code that ran is the wheel's, not the checkout's
    where = run_cli(wheel_site, elsewhere, db_url, "instruments", "ls", "--json")
    assert where.returncode == 0, where.stderr
    assert len(json.loads(where.stdout)["instruments"]) == len(inside.instruments)


def test_not_found_says_where_it_looked_and_what_there_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = tmp_path / "project"
    (mine / "strategies").mkdir(parents=True)
    (mine / "strategies" / "my_edge.py").write_text("STRATEGY = None\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(PATH_ENV, str(mine))
    folder = tmp_path / "nowhere" / "strategies"
    assert {"my_edge", "sma_crossover"} <= set(available(folder))
    path, _, attr = load_named("my_edge", folder, "STRATEGY", "strategy", "t_strategies")
    assert path == mine / "strategies" / "my_edge.py"
    assert attr is None
    with pytest.raises(LookupError) as err:
        load_named("nope", folder, "STRATEGY", "strategy", "t_strategies")
    msg = str(err.value)
    assert msg.startswith("unknown strategy 'nope'; looked in ")
    assert str(mine / "strategies") in msg
    assert PATH_ENV in msg
    assert "my_edge" in msg
    assert "sma_crossover" in msg
    # files named by a relative path come from the package when not under the cwd
    assert callable(load_decision("models/momentum_sign.py:decide"))
    _, _, recipe = load_named("models/window_conv.py", folder, "RECIPE", "recipe", "t_recipes")
    assert recipe is not None
    assert load_config("configs/universe/fx_majors.yaml", UniverseConfig).name == "fx-majors"
    with pytest.raises(ConfigError, match=r"configs/nope.yaml: no such file \(looked under "):
        load_config("configs/nope.yaml")
