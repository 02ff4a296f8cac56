"""``pipelines.launch`` without Airflow (both backends, paper venue, a real MLflow store):
preflight refuses with every reason and sets nothing; a launch resolves an alias to its
version, sets it desired once (a re-run writes nothing) and the running trader reports it
live; rolling back is the same launch with an older version; a version the trader refuses
fails the wait with the trader's reason."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from launch_support import DEPLOYMENT, MODEL, Registry, model_live_config, shared_registry
from live_support import live_config, market, step, trader_in_thread
from sqlalchemy import Engine
from venue_support import ACCOUNT, make_broker

from tradewind.pipelines.launch import (
    LaunchFailed,
    LaunchRefused,
    is_live,
    preflight,
    set_desired,
    wait_until_live,
)
from tradewind.pipelines.live import load_live_config, set_kill_switch
from tradewind.storage.live_models import SqlLiveModels


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.delenv("MLFLOW_REGISTRY_URI", raising=False)
        yield shared_registry(tmp_path_factory.mktemp("launch-registry"))


def test_preflight_refuses_with_every_reason_and_sets_nothing(
    tmp_path: Path, db_engine: Engine, registry: Registry
) -> None:
    cfg = load_live_config(model_live_config(tmp_path))
    set_kill_switch(db_engine, ACCOUNT, "halted", "desk review", "ops")
    with market() as m:
        broker = make_broker(m.url, name="tw-launch-preflight")
        with pytest.raises(LaunchRefused) as caught:
            preflight(
                db_engine, cfg, DEPLOYMENT, registry.bad, broker=broker, tracking=registry.tracking
            )
        broker.close()
    msg = str(caught.value)
    assert msg.startswith(f"launch of {registry.bad} on deployment {DEPLOYMENT} refused: ")
    assert "trading: account 101-001-0000001-001: trading: halted (desk review, by ops" in msg
    assert "reconcile: account 101-001-0000001-001 has never been reconciled" in msg
    assert "model: contract mismatch with deployment model-eur" in msg
    assert "missing rsi_14" in msg
    assert "broker:" not in msg  # it answered
    assert SqlLiveModels(db_engine).get(DEPLOYMENT) is None

    # an unreachable broker, an unknown version, no such deployment, a decision function
    dead = make_broker("http://127.0.0.1:9", name="tw-launch-dead")
    with pytest.raises(LaunchRefused, match=r"broker: the broker does not answer") as caught:
        preflight(db_engine, cfg, DEPLOYMENT, f"{MODEL}/9", broker=dead, tracking=registry.tracking)
    assert "has no version 9 (versions: 1, 2, 3)" in str(caught.value)
    dead.close()
    with pytest.raises(LaunchRefused, match=r"has no deployment 'nope' \(it has: model-eur\)"):
        preflight(db_engine, cfg, "nope", registry.v1, broker=dead, tracking=registry.tracking)
    fn_cfg = load_live_config(live_config(tmp_path))
    with pytest.raises(LaunchRefused, match="runs a decision function"):
        preflight(
            db_engine, fn_cfg, "momentum-eur", registry.v1, broker=dead, tracking=registry.tracking
        )


def test_launch_goes_live_rolls_back_and_a_refusal_fails_the_wait(
    tmp_path: Path, db_engine: Engine, registry: Registry
) -> None:
    r = registry
    config = model_live_config(tmp_path)
    cfg = load_live_config(config)
    with market() as m, trader_in_thread(db_engine, config, m, tracking=r.tracking) as t:
        broker = make_broker(m.url, name="tw-launch-pipeline")
        plan = preflight(
            db_engine, cfg, DEPLOYMENT, f"{MODEL}/2", broker=broker, tracking=r.tracking
        )
        assert (plan.model, plan.account_id, plan.timeframe_s) == (r.v2, ACCOUNT, 60)
        assert set(plan.checks) == {"broker", "trading", "reconcile", "model"}
        first = set_desired(db_engine, plan, by="test", reason="weekly champion")
        assert first["changed"]
        assert (first["desired_model"], first["desired_by"]) == (r.v2, "test")
        again = set_desired(db_engine, plan, by="someone else")
        assert not again["changed"]
        assert again["desired_at"] == first["desired_at"]
        assert is_live(db_engine, DEPLOYMENT, r.v2)[0] is False

        stepping = threading.Event()

        def keep_stepping() -> None:
            while not stepping.is_set():
                step(m, t.seen_us, t.idle)

        stepper = threading.Thread(target=keep_stepping, daemon=True)
        stepper.start()
        try:
            assert (
                wait_until_live(db_engine, DEPLOYMENT, r.v2, timeout=60, poll_s=0.1).live_model
                == r.v2
            )
            # roll back: the champion alias, resolved to version 1 at launch time
            back = preflight(
                db_engine, cfg, DEPLOYMENT, f"{MODEL}@champion", broker=broker, tracking=r.tracking
            )
            assert back.model == r.v1
            assert set_desired(db_engine, back, by="test")["changed"]
            assert (
                wait_until_live(db_engine, DEPLOYMENT, r.v1, timeout=60, poll_s=0.1).live_model
                == r.v1
            )
            # set by hand past the preflight: the trader refuses it, the wait says why
            SqlLiveModels(db_engine).desire(DEPLOYMENT, r.bad, by="by hand")
            with pytest.raises(LaunchFailed, match=r"the trader refused: contract mismatch"):
                wait_until_live(db_engine, DEPLOYMENT, r.bad, timeout=60, poll_s=0.1)
            with pytest.raises(LaunchFailed, match=f"{r.bad} was launched since"):
                is_live(db_engine, DEPLOYMENT, r.v1)
        finally:
            stepping.set()
            stepper.join(30)
            broker.close()
