"""`tradewind train` and `tradewind models ...` as real subprocesses on the embedded default:
a SQLite security master with synthetic bars and the local MLflow store, both under a
throwaway TRADEWIND_HOME (the working directory too, so nothing lands in the checkout)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from model_support import small_logreg

from tradewind.config import SyntheticConfig
from tradewind.domain import PriceSide
from tradewind.pipelines.setup import initialise, load_universe
from tradewind.pipelines.synthetic import synthesize_to_db
from tradewind.storage.engine import make_engine

REPO = Path(__file__).resolve().parents[2]
TRADEWIND = Path(sys.executable).parent / "tradewind"
NAME = "cli-logreg"
MODEL = small_logreg(NAME)


def tradewind(home: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TRADEWIND_", "MLFLOW_", "AWS_"))
    }
    env.update({"TRADEWIND_HOME": str(home), "COLUMNS": "200"})
    return subprocess.run(
        [str(TRADEWIND), *map(str, args)],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def ok_json(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout
    return json.loads(lines[0])


def one_line_error(done: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home with an initialised SQLite database holding synthetic EUR_USD H1 mid bars."""
    home = tmp_path / "home"
    home.mkdir()
    engine = make_engine(f"sqlite:///{home / 'tradewind.db'}")
    initialise(engine, load_universe(REPO / "configs" / "universe" / "fx_majors.yaml"))
    synthesize_to_db(
        engine, SyntheticConfig(instrument="EUR_USD", bars=1500, seed=3), (PriceSide.MID,)
    )
    engine.dispose()
    (home / "model.yaml").write_text(yaml.safe_dump(MODEL))
    return home


def test_train_ls_promote_show(home: Path) -> None:
    trained = ok_json(tradewind(home, "train", "--config", home / "model.yaml", "--json"))
    assert trained["model_name"] == NAME
    assert trained["model_version"] == "1"
    assert trained["mlflow_run_id"]
    assert trained["run_id"]
    assert trained["validation_metrics"]
    assert set(trained["validation_metrics"]) <= {k for k in trained["metrics"] if k[:4] == "val_"}
    assert (home / "mlflow" / "mlflow.db").is_file()
    assert any((home / "mlflow" / "artifacts").iterdir())

    (listed,) = ok_json(tradewind(home, "models", "ls", "--json"))["models"]
    assert (listed["name"], listed["versions"], listed["latest_version"]) == (NAME, 1, "1")
    assert listed["aliases"] == {}

    done = tradewind(home, "models", "promote", NAME, "1", "--alias", "champion")
    assert done.returncode == 0, done.stderr
    assert f"{NAME}@champion → version 1" in done.stdout

    (listed,) = ok_json(tradewind(home, "models", "ls", "--json"))["models"]
    assert listed["aliases"] == {"champion": "1"}
    assert listed["alias_metrics"]["champion"]["val_accuracy"] == pytest.approx(
        trained["metrics"]["val_accuracy"]
    )

    shown = ok_json(tradewind(home, "models", "show", f"{NAME}@champion", "--json"))
    assert (shown["version"], shown["aliases"], shown["mlflow_run_id"]) == (
        "1",
        ["champion"],
        trained["mlflow_run_id"],
    )
    c = shown["contract"]
    assert (c["algo"], c["instrument"], c["timeframe"], c["window"]) == (
        "logistic_regression",
        "EUR_USD",
        "H1",
        5,
    )
    assert c["columns"] == MODEL["columns"]
    assert shown["metrics"]["val_accuracy"] == pytest.approx(trained["metrics"]["val_accuracy"])

    human = tradewind(home, "models", "show", f"{NAME}/1")
    assert human.returncode == 0, human.stderr
    assert "logistic_regression on EUR_USD H1" in human.stdout
    assert human.stderr == ""

    # the training is in our run store too
    runs = tradewind(home, "runs", "ls")
    assert runs.returncode == 0, runs.stderr
    assert trained["run_id"][:8] in runs.stdout

    # unknown alias / version: one line, exit 1
    one_line_error(tradewind(home, "models", "show", f"{NAME}@gold"), "has no alias 'gold'")
    one_line_error(
        tradewind(home, "models", "promote", NAME, "3", "--alias", "champion"),
        "has no version 3 (versions: 1)",
    )


def test_bad_input_is_one_line_exit_1(home: Path) -> None:
    one_line_error(tradewind(home, "train", "--config", home / "nope.yaml"), "nope.yaml")
    bad = dict(MODEL, instrument="GBP_USD")
    (home / "gbp.yaml").write_text(yaml.safe_dump(bad))
    one_line_error(
        tradewind(home, "train", "--config", home / "gbp.yaml"),
        "no GBP_USD H1 mid bars",
        "tradewind data synth",
    )
    one_line_error(tradewind(home, "models", "show", "ghost@champion"), "no registered model")
    one_line_error(tradewind(home, "models", "promote", "ghost", "1"), "no registered model")
    one_line_error(tradewind(home, "models", "show", "a b"), "bad model reference")
