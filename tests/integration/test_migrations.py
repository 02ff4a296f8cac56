"""Alembic migrations and column types against real SQLite and Postgres databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    CheckConstraint,
    Column,
    Engine,
    Integer,
    MetaData,
    Table,
    event,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.exc import StatementError

from tradewind.storage.engine import make_engine
from tradewind.storage.migrate import current_revision, downgrade, head_revision, upgrade
from tradewind.storage.reporting import view_name, views_on
from tradewind.storage.schema import Base
from tradewind.storage.types import UtcDateTime

MODEL_TABLES = set(Base.metadata.tables)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def _tables(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def _schema_diff(engine: Engine) -> list[Any]:
    """What autogenerate would change to make the database match the models; [] if nothing.

    Nothing is filtered out. compare_server_default is stricter than env.py: the models
    declare no server defaults, so a migration must not add any either.
    """
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(ctx, Base.metadata))


def test_upgrade_to_head_creates_every_model_table(engine: Engine) -> None:
    assert current_revision(engine) is None
    upgrade(engine)
    assert _tables(engine) == MODEL_TABLES | {"alembic_version"}
    assert current_revision(engine) == head_revision(engine) is not None


def test_migrated_schema_matches_models(engine: Engine) -> None:
    upgrade(engine)
    assert _schema_diff(engine) == []


def test_migrated_schema_has_what_autogenerate_does_not_compare(engine: Engine) -> None:
    # Alembic's comparison skips CHECK constraints and SQLite table options.
    upgrade(engine)
    with engine.connect() as conn:
        insp = inspect(conn)
        for table in Base.metadata.sorted_tables:
            expected = {
                c.name for c in table.constraints if isinstance(c, CheckConstraint) and c.name
            }
            actual = {c["name"] for c in insp.get_check_constraints(table.name)}
            assert expected <= actual, table.name
            if engine.dialect.name == "sqlite" and table.kwargs.get("sqlite_with_rowid") is False:
                ddl = conn.scalar(
                    text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :n"),
                    {"n": table.name},
                )
                assert "WITHOUT ROWID" in ddl.upper(), table.name


def test_downgrade_to_base_removes_everything(engine: Engine) -> None:
    upgrade(engine)
    downgrade(engine, "base")
    assert _tables(engine) <= {"alembic_version"}
    assert current_revision(engine) is None
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            assert inspect(conn).get_sequence_names() == []


def test_upgrade_downgrade_upgrade_round_trip(engine: Engine) -> None:
    upgrade(engine)
    downgrade(engine, "base")
    upgrade(engine)
    assert _tables(engine) == MODEL_TABLES | {"alembic_version"}
    assert current_revision(engine) == head_revision(engine)
    assert _schema_diff(engine) == []


def test_second_upgrade_is_a_no_op(engine: Engine) -> None:
    upgrade(engine)
    statements: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    upgrade(engine)
    event.remove(engine, "before_cursor_execute", _record)
    writes = [
        s
        for s in statements
        if s.lstrip().split(None, 1)[0].upper()
        in {"CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE"}
    ]
    assert statements, "the listener saw nothing, so this test would prove nothing"
    assert writes == []
    assert current_revision(engine) == head_revision(engine)


def test_0005_adds_and_removes_the_live_lease_table(engine: Engine) -> None:
    upgrade(engine, "0004")
    assert "live_leases" not in _tables(engine)
    upgrade(engine, "0005_live_leases")
    assert current_revision(engine) == "0005_live_leases"
    with engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("live_leases")}
        primary = inspect(conn).get_pk_constraint("live_leases")["constrained_columns"]
    assert columns == {
        "account_id",
        "holder",
        "host",
        "pid",
        "acquired_at",
        "heartbeat_at",
        "expires_at",
    }
    assert primary == ["account_id"]
    downgrade(engine, "0004")
    assert "live_leases" not in _tables(engine)
    assert "oms_accounts" in _tables(engine)
    assert current_revision(engine) == "0004"


def test_0006_adds_and_removes_the_scheduled_jobs_tables(engine: Engine) -> None:
    jobs = {"model_promotions", "live_models", "pnl_daily", "pnl_checks"}
    upgrade(engine, "0005_live_leases")
    assert not jobs & _tables(engine)
    upgrade(engine, "0006_platform_jobs")
    assert jobs <= _tables(engine)
    with engine.connect() as conn:
        primary = inspect(conn).get_pk_constraint("pnl_daily")["constrained_columns"]
        unique = inspect(conn).get_unique_constraints("model_promotions")
    assert primary == ["day", "account_id", "deployment", "instrument"]
    assert [u["column_names"] for u in unique] == [["model_name", "run_key"]]
    downgrade(engine, "0005_live_leases")
    assert not jobs & _tables(engine)
    assert "live_leases" in _tables(engine)


def _views(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        insp = inspect(conn)
        if engine.dialect.name == "postgresql":
            if "reporting" not in insp.get_schema_names():
                return set()
            return {f"reporting.{v}" for v in insp.get_view_names(schema="reporting")}
        return set(insp.get_view_names())


TABLES_AFTER_0007 = {"oms_financing", "venue_order_state"}  # 0012, 0013


def test_0007_adds_and_removes_the_reporting_views(engine: Engine) -> None:
    upgrade(engine, "0006_platform_jobs")
    assert _views(engine) == set()
    upgrade(engine, "0007_reporting_views")
    dialect = engine.dialect.name
    assert _views(engine) == {view_name(v.name, dialect) for v in views_on(dialect, 1)}
    # views are not tables; tables of later revisions are not there yet
    assert _tables(engine) == MODEL_TABLES - TABLES_AFTER_0007 | {"alembic_version"}
    downgrade(engine, "0006_platform_jobs")
    assert _views(engine) == set()
    if dialect == "postgresql":  # no role was given rights on it: the schema goes too
        with engine.connect() as conn:
            assert "reporting" not in inspect(conn).get_schema_names()


def _run_columns(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns("runs")}


def test_0009_adds_and_removes_the_run_marks(engine: Engine) -> None:
    upgrade(engine, "0008_instrument_details")
    assert "marks" not in _run_columns(engine)
    views = _views(engine)
    upgrade(engine, "0009_run_sample_marks")
    assert "marks" in _run_columns(engine)
    assert _views(engine) == views  # the reporting views on runs still stand
    downgrade(engine, "0008_instrument_details")
    assert "marks" not in _run_columns(engine)
    assert _views(engine) == views


def test_0010_adds_and_removes_exit_reasons_and_fill_costs(engine: Engine) -> None:
    def columns() -> set[str]:
        with engine.connect() as conn:
            i = inspect(conn)
            return {
                c["name"] for t in ("backtest_trades", "backtest_fills") for c in i.get_columns(t)
            }

    new = {"exit_reason", "spread_cost", "slippage_cost"}
    upgrade(engine, "0009_run_sample_marks")
    assert not new & columns()
    upgrade(engine, "0010_backtest_costs_exits")
    assert new <= columns()
    downgrade(engine, "0009_run_sample_marks")
    assert not new & columns()
    assert {"closed", "order_ref"} <= columns()
    dialect = engine.dialect.name
    assert _views(engine) == {view_name(v.name, dialect) for v in views_on(dialect, 1)}


def test_0011_adds_and_removes_result_financing(engine: Engine) -> None:
    def columns() -> set[str]:
        with engine.connect() as conn:
            return {c["name"] for c in inspect(conn).get_columns("backtest_results")}

    upgrade(engine, "0010_backtest_costs_exits")
    assert "financing" not in columns()
    views = _views(engine)
    upgrade(engine, "0011_backtest_financing")
    assert "financing" in columns()
    assert _views(engine) == views  # the reporting views on backtest_results still stand
    downgrade(engine, "0010_backtest_costs_exits")
    assert "financing" not in columns()
    assert {"strategy", "metrics"} <= columns()
    assert _views(engine) == views


# --------------------------------------------------------------------------- UtcDateTime

_meta = MetaData()
_instants = Table(
    "utc_instants",
    _meta,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=True),
)


@pytest.fixture
def instants(engine: Engine) -> Iterator[Table]:
    _meta.create_all(engine)
    yield _instants
    _meta.drop_all(engine)


@pytest.mark.parametrize(
    "value",
    [
        datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=UTC),
        datetime(2024, 3, 31, 1, 30, 0, 999999, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        datetime(1969, 7, 20, 20, 17, 40, 1, tzinfo=timezone(timedelta(hours=-4))),
    ],
    ids=["utc", "plus-0530", "pre-epoch-minus-04"],
)
def test_utc_datetime_round_trips_the_instant(
    engine: Engine, instants: Table, value: datetime
) -> None:
    with engine.begin() as conn:
        conn.execute(insert(instants).values(id=1, at=value))
    with engine.connect() as conn:
        back = conn.scalar(select(instants.c.at).where(instants.c.id == 1))
    assert back == value  # same instant
    assert back.utcoffset() == timedelta(0)  # handed back in UTC
    assert back.microsecond == value.astimezone(UTC).microsecond


def test_utc_datetime_keeps_null(engine: Engine, instants: Table) -> None:
    with engine.begin() as conn:
        conn.execute(insert(instants).values(id=1, at=None))
    with engine.connect() as conn:
        assert conn.scalar(select(instants.c.at)) is None


def test_utc_datetime_refuses_naive_values(engine: Engine, instants: Table) -> None:
    with pytest.raises(StatementError, match="naive datetime"), engine.begin() as conn:
        conn.execute(insert(instants).values(id=1, at=datetime(2024, 1, 1, 12, 0)))
    with engine.connect() as conn:
        assert conn.scalar(select(instants.c.id)) is None  # nothing was written


def test_0012_adds_and_removes_the_oms_financing_table(engine: Engine) -> None:
    def tables() -> set[str]:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())

    upgrade(engine, "0011_backtest_financing")
    assert "oms_financing" not in tables()
    upgrade(engine, "0012_oms_financing")
    assert "oms_financing" in tables()
    with engine.connect() as conn:
        pk = inspect(conn).get_pk_constraint("oms_financing")["constrained_columns"]
    assert pk == ["account_id", "transaction_id", "instrument"]
    downgrade(engine, "0011_backtest_financing")
    assert "oms_financing" not in tables()
    assert "oms_fills" in tables()


def test_0013_adds_and_removes_the_venue_order_state_table(engine: Engine) -> None:
    def tables() -> set[str]:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())

    upgrade(engine, "0012_oms_financing")
    assert "venue_order_state" not in tables()
    upgrade(engine, "0013_venue_order_state")
    with engine.connect() as conn:
        pk = inspect(conn).get_pk_constraint("venue_order_state")["constrained_columns"]
    assert pk == ["account_id", "order_id", "key"]
    downgrade(engine, "0012_oms_financing")
    assert "venue_order_state" not in tables()
    assert "venue_transactions" in tables()
