"""``live_models`` on both backends: a launch sets the desired model (idempotently), the
trader reports the live one or refuses a desired one with the reason."""

from __future__ import annotations

from sqlalchemy import Engine

from tradewind.storage.live_models import SqlLiveModels


def test_desired_and_live_sides(db_engine: Engine) -> None:
    store = SqlLiveModels(db_engine)
    assert store.get("dep") is None
    assert store.desired(["dep"]) == {}

    assert store.desire("dep", "models:/m/1", by="airflow", reason="launch 1")
    first = store.get("dep")
    assert first is not None
    assert (first.desired_model, first.desired_by, first.live_model) == (
        "models:/m/1",
        "airflow",
        None,
    )
    # the same model again: nothing written, the first launch's time and author stay
    assert not store.desire("dep", "models:/m/1", by="someone-else")
    again = store.get("dep")
    assert again == first

    store.report_live("dep", "models:/m/1")
    state = store.get("dep")
    assert state is not None
    assert state.live_model == "models:/m/1"
    assert state.live_at is not None
    assert state.desired_at == first.desired_at  # the trader leaves the desired side alone

    assert store.desire("dep", "models:/m/2", by="airflow")
    store.refuse("dep", "models:/m/2", "contract mismatch: no sma_3")
    state = store.get("dep")
    assert state is not None
    assert state.live_model == "models:/m/1"
    assert state.refused("models:/m/2") == "contract mismatch: no sma_3"
    assert state.refused("models:/m/1") is None
    assert store.desired(["dep", "other"]) == {"dep": "models:/m/2"}
    store.report_live("dep", "models:/m/1")  # a restart on the old one: the refusal stands
    state = store.get("dep")
    assert state is not None
    assert state.refused("models:/m/2") == "contract mismatch: no sma_3"

    store.report_live("dep", "models:/m/2")
    state = store.get("dep")
    assert state is not None
    assert (state.live_model, state.detail) == ("models:/m/2", "")


def test_the_trader_reports_a_deployment_never_launched(db_engine: Engine) -> None:
    store = SqlLiveModels(db_engine)
    store.report_live("fresh", "models:/m/4")
    state = store.get("fresh")
    assert state is not None
    assert (state.desired_model, state.live_model, state.desired_by) == (None, "models:/m/4", "")
    assert store.desired(["fresh"]) == {}
