"""``pipelines.train.train``: bars from a SQLite security master -> learner -> MLflow, our run
recorded (kind ``train``); a failure marks both runs failed; missing data is a clear error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from registry_support import SYNTH, local_tracking, model_config
from sqlalchemy import Engine, select

from tradewind.domain import PriceSide
from tradewind.pipelines import train as train_mod
from tradewind.pipelines.setup import initialise, load_universe
from tradewind.pipelines.synthetic import synthesize_to_db
from tradewind.pipelines.train import TrainInputError, train
from tradewind.registry import Tracking, show_model
from tradewind.storage.engine import make_engine
from tradewind.storage.schema import RunRow


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("db") / "tw.db"
    eng = make_engine(f"sqlite:///{path}")
    initialise(eng, load_universe(None))
    synthesize_to_db(eng, SYNTH, sides=(PriceSide.MID,))
    yield eng
    eng.dispose()


def train_runs(engine: Engine) -> list[RunRow]:
    from sqlalchemy.orm import Session

    with engine.connect() as conn:
        return list(Session(conn).scalars(select(RunRow).where(RunRow.kind == "train")))


def mlflow_runs(tracking: Tracking, our_run_id: str) -> list:
    client = tracking.client()
    exp = client.get_experiment_by_name(tracking.experiment)
    return client.search_runs(
        [exp.experiment_id], filter_string=f"tags.`tradewind.run_id` = '{our_run_id}'"
    )


def test_train_logs_registers_and_records_our_run(engine: Engine, tracking: Tracking) -> None:
    cfg = model_config("pipeline-test")
    r = train(engine, cfg, tracking=tracking)
    assert (r.model_name, r.model_version, r.learner, r.algo) == (
        "pipeline-test",
        "1",
        "supervised",
        "logistic_regression",
    )
    assert r.validation_metrics
    assert all(k.startswith("val_") for k in r.validation_metrics)
    j = r.to_json()
    assert {"model_name", "model_version", "mlflow_run_id", "run_id", "validation_metrics"} <= set(
        j
    )

    (row,) = [x for x in train_runs(engine) if x.id == r.run_id]
    assert row.status == "succeeded"
    assert row.config_fingerprint == cfg.fingerprint
    assert row.metrics["mlflow_run_id"] == r.mlflow_run_id
    assert row.metrics["model_version"] == "1"
    assert row.data_start is not None
    assert row.data_end is not None

    (run,) = mlflow_runs(tracking, r.run_id)
    assert run.info.run_id == r.mlflow_run_id
    assert run.info.status == "FINISHED"
    assert show_model(tracking, "pipeline-test/1").mlflow_run_id == r.mlflow_run_id
    assert train(engine, cfg, tracking=tracking).model_version == "2"


def test_a_failing_training_marks_both_runs_failed(
    engine: Engine, tracking: Tracking, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        kwargs["on_metrics"]({"fold_accuracy": 0.5}, 0)  # type: ignore[operator]
        raise RuntimeError("the learner blew up")

    monkeypatch.setattr(train_mod, "fit", broken)
    before = {r.id for r in train_runs(engine)}
    with pytest.raises(RuntimeError, match="the learner blew up"):
        train(engine, model_config("failing-test"), tracking=tracking)
    (row,) = [r for r in train_runs(engine) if r.id not in before]
    assert row.status == "failed"
    assert "RuntimeError: the learner blew up" in row.message
    (run,) = mlflow_runs(tracking, row.id)
    assert run.info.status == "FAILED"
    assert run.data.metrics["fold_accuracy"] == 0.5  # logged live before the failure
    assert tracking.client().search_registered_models(filter_string="name='failing-test'") == []


def test_missing_bars_are_a_one_line_error_before_any_run(
    engine: Engine, tracking: Tracking
) -> None:
    cfg = model_config("gbp-test").model_copy(update={"instrument": "GBP_USD"})
    before = len(train_runs(engine))
    with pytest.raises(TrainInputError) as exc:
        train(engine, cfg, tracking=tracking)
    msg = str(exc.value)
    assert "no GBP_USD H1 mid bars" in msg
    assert "tradewind data synth --instrument GBP_USD --timeframe H1" in msg
    assert "\n" not in msg
    assert len(train_runs(engine)) == before


def test_a_split_outside_the_stored_bars_is_a_clear_error(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    splits = {
        "train": {"start": "2024-01-01T00:00:00Z", "end": "2024-03-01T00:00:00Z"},
        "validation": {"start": "2024-03-01T00:00:00Z", "end": "2024-04-01T00:00:00Z"},
        "test": {"start": "2025-01-01T00:00:00Z", "end": "2025-02-01T00:00:00Z"},
    }
    cfg = model_config("late-test").model_validate(
        {**model_config("late-test").model_dump(), "splits": splits}
    )
    with pytest.raises(TrainInputError, match="split test"):
        train(engine, cfg, tracking=local_tracking(tmp_path))
