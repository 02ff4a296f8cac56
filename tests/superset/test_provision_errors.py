"""Superset refuses to start without its secrets, and the provisioner refuses a bundle whose
placeholders are unset or that fails Tradewind's checks, each with one clear line, before
touching any database."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml
from superset_support import CONFIG, PROVISION, REPO, superset_venv

TINY = REPO / "tests" / "superset" / "tiny_bundle"


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(superset_venv() / "bin" / "python"), *args],
        env={"PATH": "/usr/bin:/bin", "SUPERSET_HOME": str(tmp_path), **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_no_secret_key_no_superset(tmp_path: Path) -> None:
    done = run(
        tmp_path,
        "-c",
        "import superset.config",
        SUPERSET_CONFIG_PATH=str(CONFIG),
        SUPERSET_DATABASE_URL=f"sqlite:///{tmp_path}/meta.db",
    )
    assert done.returncode != 0
    assert "no SECRET_KEY: set SUPERSET_SECRET_KEY or SUPERSET_SECRET_KEY_FILE" in done.stderr
    empty = tmp_path / "empty"
    empty.write_text("\n")
    done = run(
        tmp_path,
        "-c",
        "import superset.config",
        SUPERSET_CONFIG_PATH=str(CONFIG),
        SUPERSET_SECRET_KEY_FILE=str(empty),
        SUPERSET_DATABASE_URL=f"sqlite:///{tmp_path}/meta.db",
    )
    assert done.returncode != 0
    assert f"SUPERSET_SECRET_KEY_FILE={empty} is empty" in done.stderr


def test_no_metadata_database_no_superset(tmp_path: Path) -> None:
    done = run(
        tmp_path,
        "-c",
        "import superset.config",
        SUPERSET_CONFIG_PATH=str(CONFIG),
        SUPERSET_SECRET_KEY="k" * 32,
    )
    assert done.returncode != 0
    assert "SUPERSET_DATABASE_URL is not set" in done.stderr


def provision(tmp_path: Path, bundle: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``provision.py --bundle BUNDLE`` with a metadata DB under ``tmp_path`` (not created
    unless Superset starts)."""
    return run(
        tmp_path,
        str(PROVISION),
        "--bundle",
        str(bundle),
        SUPERSET_CONFIG_PATH=str(CONFIG),
        SUPERSET_SECRET_KEY="k" * 32,
        SUPERSET_DATABASE_URL=f"sqlite:///{tmp_path}/meta.db",
        **env,
    )


def test_unset_placeholders_are_named_before_anything_is_touched(tmp_path: Path) -> None:
    done = provision(tmp_path, TINY, TRADEWIND_REPORTING_USER="reader")
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "provision: error: unset environment variables the bundle needs: "
        "TRADEWIND_REPORTING_DB (in databases/tradewind_reporting.yaml); "
        "TRADEWIND_REPORTING_HOST (in databases/tradewind_reporting.yaml); "
        "TRADEWIND_REPORTING_PORT (in databases/tradewind_reporting.yaml)"
    ]
    assert not (tmp_path / "meta.db").exists()  # Superset was never started


def test_a_bundle_that_fails_the_checks_is_refused_before_anything_is_touched(
    tmp_path: Path,
) -> None:
    broken = tmp_path / "bundle"
    shutil.copytree(REPO / "superset" / "bundle", broken)
    chart = next((broken / "charts").glob("*.yaml"))
    doc = yaml.safe_load(chart.read_text(encoding="utf-8"))
    doc["dataset_uuid"] = "00000000-0000-4000-8000-000000000000"  # a dataset that is not there
    chart.write_text(yaml.safe_dump(doc), encoding="utf-8")
    done = provision(tmp_path, broken)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"provision: error: Superset bundle {broken} has ")
    assert f"charts/{chart.name}: dataset_uuid" in done.stderr
    assert not (tmp_path / "meta.db").exists()  # Superset was never started
