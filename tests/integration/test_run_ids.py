"""Run ids by unique prefix: one query, the same answer on SQLite and Postgres."""

from __future__ import annotations

import pytest
from run_support import add_runs
from sqlalchemy import Engine

from tradewind.storage import runs

IDS = (
    "ab12cd34-0000-4000-8000-000000000001",
    "ab12cd99-0000-4000-8000-000000000002",
    "ff00ee11-0000-4000-8000-000000000003",
)


def test_full_ids_and_unique_prefixes_resolve(db_engine: Engine) -> None:
    add_runs(db_engine, IDS, kind="backtest", status="done")
    with db_engine.connect() as conn:
        assert runs.resolve_run(conn, IDS[0]).id == IDS[0]
        assert runs.resolve_run(conn, "ab12cd3").id == IDS[0]
        assert runs.resolve_run(conn, "AB12CD9").id == IDS[1]  # case does not matter
        assert runs.resolve_run(conn, "f").id == IDS[2]
        assert runs.resolve_run(conn, " ff00ee11 ").id == IDS[2]


def test_ambiguous_prefix_lists_the_matches_on_one_line(db_engine: Engine) -> None:
    add_runs(db_engine, IDS, kind="backtest", status="done")
    with db_engine.connect() as conn, pytest.raises(runs.AmbiguousRunId) as caught:
        runs.resolve_run(conn, "ab12")
    message = str(caught.value)
    assert "\n" not in message
    assert "'ab12' matches several runs" in message
    # newest first, each long enough to tell them apart, with kind and name
    assert "ab12cd99 (backtest run1), ab12cd34 (backtest run0)" in message


@pytest.mark.parametrize(
    ("ref", "needle"),
    [
        ("00000000", "no run '00000000'"),
        ("", "expected a run id or a prefix"),
        ("ab%", "expected a run id or a prefix"),  # a LIKE wildcard is not an id
        ("ab_2", "expected a run id or a prefix"),
    ],
)
def test_unknown_and_malformed_ids_are_lookup_errors(
    db_engine: Engine, ref: str, needle: str
) -> None:
    add_runs(db_engine, IDS, kind="backtest", status="done")
    with db_engine.connect() as conn, pytest.raises(LookupError, match=needle):
        runs.resolve_run(conn, ref)


def test_short_ids_grow_only_to_tell_ids_apart() -> None:
    assert runs.short_ids(list(IDS)) == {IDS[0]: "ab12cd34", IDS[1]: "ab12cd99", IDS[2]: "ff00ee11"}
    twins = ["12345678a-x", "12345678b-y"]
    assert runs.short_ids(twins) == {twins[0]: "12345678a", twins[1]: "12345678b"}
