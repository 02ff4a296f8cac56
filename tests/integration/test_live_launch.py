"""Model launches reach a running trader (both backends, paper venue on a stepped clock, a
real MLflow store): a new desired version is loaded off the price thread and swapped in at the
next bar, then reported live; a version whose contract does not match the deployment is
refused with the reason while the old one keeps trading; a restart comes up on the desired
version (or, when that one cannot go live, on the one that ran last)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from launch_support import DEPLOYMENT, Registry, model_live_config, shared_registry
from live_support import Market, market, step, trader_in_thread
from sqlalchemy import Engine

from tradewind.storage.live_models import LiveModelState, SqlLiveModels


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.delenv("MLFLOW_REGISTRY_URI", raising=False)
        yield shared_registry(tmp_path_factory.mktemp("launch-registry"))


def wait_for(what: Callable[[], object], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def state(engine: Engine) -> LiveModelState:
    s = SqlLiveModels(engine).get(DEPLOYMENT)
    assert s is not None
    return s


def test_a_launched_version_goes_live_at_the_next_bar_and_a_mismatch_is_refused(
    tmp_path: Path, db_engine: Engine, registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    engine, r = db_engine, registry
    config = model_live_config(tmp_path)
    with market() as m:
        launch_and_refuse(engine, r, config, m, caplog)
        restart(engine, r, config, m)


def launch_and_refuse(
    engine: Engine, r: Registry, config: Path, m: Market, caplog: pytest.LogCaptureFixture
) -> None:
    models = SqlLiveModels(engine)
    with trader_in_thread(engine, config, m, tracking=r.tracking) as t:
        lane = t.desk.lanes[0]
        # no launch yet: the config's models:/NAME@champion, reported as its version
        assert state(engine).live_model == r.v1
        assert state(engine).desired_model is None
        assert lane.decision.model == r.v1
        step(m, t.seen_us, t.idle, minutes=2)

        assert models.desire(DEPLOYMENT, r.v2, by="test", reason="launch v2")
        switch = t.built.trader.models
        assert switch is not None
        wait_for(lambda: switch.report()[DEPLOYMENT]["staged"] == r.v2)
        old_policy = lane.decision.decider.policy
        assert lane.decision.model == r.v1  # loaded, not swapped before the bar closes
        step(m, t.seen_us, t.idle, minutes=1)
        assert lane.decision.model == r.v2  # the bar that closed was decided by v2
        assert lane.decision.decider.policy is not old_policy
        wait_for(lambda: state(engine).live_model == r.v2)
        assert state(engine).detail == ""
        assert requests.get(t.built.trader.health_url, timeout=5).json()["models"] == {
            DEPLOYMENT: {"live": r.v2, "staged": None}
        }

        # a version trained on other features: refused, v2 keeps trading
        caplog.set_level(logging.ERROR, logger="tradewind.live.models")
        models.desire(DEPLOYMENT, r.bad, by="test")
        wait_for(lambda: state(engine).refused(r.bad) is not None)
        reason = state(engine).refused(r.bad) or ""
        assert "contract mismatch" in reason
        assert "rsi_14" in reason
        assert reason.endswith(f"still trading {r.v2}")
        step(m, t.seen_us, t.idle, minutes=2)
        assert lane.decision.model == r.v2
        assert not lane.failed
        assert state(engine).live_model == r.v2
        lines = [x for x in caplog.records if r.bad in x.getMessage()]
        assert len(lines) == 1, [x.getMessage() for x in lines]


def restart(engine: Engine, r: Registry, config: Path, m: Market) -> None:
    # a restart with the refused version still desired: it comes up on the one that ran last
    with trader_in_thread(engine, config, m, tracking=r.tracking) as t:
        assert t.desk.lanes[0].decision.model == r.v2
        assert state(engine).live_model == r.v2
        assert "refused at start" in (state(engine).refused(r.bad) or "")

    # a rollback launched while the trader is down: the restart comes up on it
    assert SqlLiveModels(engine).desire(DEPLOYMENT, r.v1, by="test", reason="roll back")
    with trader_in_thread(engine, config, m, tracking=r.tracking) as t:
        assert t.desk.lanes[0].decision.model == r.v1
        assert state(engine).live_model == r.v1
        step(m, t.seen_us, t.idle, minutes=2)
        assert t.built.trader.models is not None
        assert t.built.trader.models.report()[DEPLOYMENT] == {"live": r.v1, "staged": None}
    assert state(engine).detail == ""
