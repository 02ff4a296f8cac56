"""Tracking and registry against a real MLflow server: Postgres backend, S3 artifacts.

Everything is started here and torn down afterwards, so the test runs on a fresh machine with
nothing listening: an S3-compatible server (moto's, in this process, on a free loopback port)
with a bucket, a throwaway Postgres database (the ``pg_server_url`` fixture starts a server
when none is configured), and ``mlflow server`` as a subprocess with
``--backend-store-uri postgresql+psycopg://...`` and ``--artifacts-destination s3://...``.
Then, with ``MLFLOW_TRACKING_URI`` pointing at it, a fast supervised model is trained through
the pipeline, registered, aliased ``champion`` and loaded back by alias; its files must really
be in the bucket and its registry rows in Postgres.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest
import service_support
from model_support import small_logreg
from service_support import S3, s3_server
from sqlalchemy.engine import make_url

from tradewind.config import SyntheticConfig, load_config
from tradewind.config.features import FeatureSpec
from tradewind.config.models import ModelConfig
from tradewind.domain import PriceSide
from tradewind.pipelines.setup import initialise, load_universe
from tradewind.pipelines.synthetic import synthesize_to_db
from tradewind.pipelines.train import example_observations, load_training_data, train
from tradewind.registry import (
    list_models,
    load_policy,
    load_pyfunc,
    promote,
    resolve_tracking,
    show_model,
)
from tradewind.storage.engine import make_engine
from tradewind.testing.postgres import drop_database, fresh_database

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
BUCKET = "tradewind-mlflow"
PREFIX = "mlartifacts"
NAME = "server-logreg"


@pytest.fixture
def s3() -> Iterator[S3]:
    """moto's S3 server on a free loopback port, with the artifact bucket."""
    with s3_server(BUCKET) as store:
        yield store


@pytest.fixture
def mlflow_db(pg_server_url: str) -> Iterator[str]:
    """An empty Postgres database for MLflow's backend store, as a psycopg 3 URL."""
    url = fresh_database(pg_server_url)
    try:
        yield (
            make_url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        )
    finally:
        drop_database(url)


@pytest.fixture
def mlflow_server(s3: S3, mlflow_db: str, tmp_path: Path) -> Iterator[str]:
    """``mlflow server`` on Postgres + S3; yields its URL once /health answers."""
    with service_support.mlflow_server(mlflow_db, s3, f"s3://{BUCKET}/{PREFIX}", tmp_path) as url:
        yield url


def model_config() -> ModelConfig:
    return ModelConfig.model_validate(small_logreg(NAME))


def test_train_register_alias_and_load_through_a_real_server(
    mlflow_server: str,
    s3: S3,
    mlflow_db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tradewind.ml.train import train_supervised

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    tracking = resolve_tracking(tmp_path / "home")
    assert tracking.tracking_uri == mlflow_server
    assert not tracking.embedded

    engine = make_engine(f"sqlite:///{tmp_path / 'tw.db'}")
    initialise(engine, load_universe(REPO / "configs" / "universe" / "fx_majors.yaml"))
    synthesize_to_db(engine, SyntheticConfig(bars=1500, seed=3), (PriceSide.MID,))
    cfg = model_config()

    result = train(engine, cfg, tracking=tracking)
    assert (result.model_name, result.model_version) == (NAME, "1")
    assert result.validation_metrics
    promote(tracking, NAME, result.model_version, "champion")

    (listed,) = list_models(tracking)
    assert listed.aliases == {"champion": "1"}
    shown = show_model(tracking, f"{NAME}@champion")
    assert shown.mlflow_run_id == result.mlflow_run_id
    assert shown.contract["columns"] == list(cfg.columns)

    # the model that comes back by alias is the one trained (logistic regression is
    # deterministic: the same data fit again gives the same pipeline)
    spec = load_config(cfg.features, FeatureSpec)
    data = load_training_data(engine, cfg, spec)
    again = train_supervised(cfg, data)
    obs = example_observations(data, again.contract, rows=100)
    want = again.policy.targets(obs)
    policy = load_policy(
        f"models:/{NAME}@champion",
        feature_columns=cfg.columns,
        feature_spec_fingerprint=spec.fingerprint,
        timeframe=cfg.timeframe,
        tracking=tracking,
    )
    np.testing.assert_array_equal(policy.targets(obs), want)
    np.testing.assert_array_equal(
        load_pyfunc(f"models:/{NAME}@champion", tracking=tracking).predict(obs), want
    )

    # the files are in the bucket, under the server's --artifacts-destination
    keys = s3.keys(BUCKET)
    assert keys
    assert all(k.startswith(f"{PREFIX}/") for k in keys)
    names = {k.rsplit("/", 1)[-1] for k in keys}
    assert {"MLmodel", "model.joblib", "contract.json", "model.yaml", "features.yaml"} <= names
    assert "data_range.json" in names
    assert any(k.endswith("/artifacts/model/model.joblib") for k in keys)

    # and the registry rows are in Postgres
    pg = make_url(mlflow_db).set(drivername="postgresql")
    with psycopg.connect(pg.render_as_string(hide_password=False)) as conn:
        rows = conn.execute("SELECT name, version FROM model_versions").fetchall()
        alias = conn.execute("SELECT alias, version FROM registered_model_aliases").fetchall()
    assert rows == [(NAME, 1)]
    assert alias == [("champion", 1)]

    # the CLI follows MLFLOW_TRACKING_URI too
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND_")}
    env.update({"TRADEWIND_HOME": str(tmp_path / "home"), "MLFLOW_TRACKING_URI": mlflow_server})
    done = subprocess.run(
        [str(BIN / "tradewind"), "models", "show", f"{NAME}@champion", "--json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert '"version": "1"' in done.stdout
    assert not (tmp_path / "home" / "mlflow").exists()  # nothing went to the embedded store
    engine.dispose()
