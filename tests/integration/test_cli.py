"""The real `tradewind` console script, run as a subprocess against a throwaway home.

Each run gets a clean environment (no inherited ``TRADEWIND_*``), ``TRADEWIND_HOME`` under the
test's tmp_path, and that directory as its working directory (so no stray ``.env`` or
``configs/`` steers it). Error cases check the CLI contract: exit code != 0, exactly one line
on stderr that names the problem, no traceback, and nothing written to the database.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
import yaml
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tradewind.config import ImportSpec, Settings
from tradewind.pipelines.ingest import import_file
from tradewind.storage.engine import make_engine
from tradewind.testing.postgres import drop_database, fresh_database

REPO = Path(__file__).resolve().parents[2]
UNIVERSE = REPO / "configs" / "universe" / "fx_majors.yaml"
TRADEWIND = Path(sys.executable).parent / "tradewind"
HEADER = "time,open,high,low,close,volume"
TABLES = (
    "ingest_batches",
    "bars",
    "quarantine",
    "configs",
    "instruments",
    "data_vendors",
    "runs",
)
IMPORT_KEYS = {
    "batch_id",
    "rows_read",
    "inserted",
    "skipped_duplicates",
    "conflicts",
    "quarantined",
}


def tradewind(
    home: Path, *args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND_")}
    clean.update({"TRADEWIND_HOME": str(home), "COLUMNS": "200", **(env or {})})
    home.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [str(TRADEWIND), *map(str, args)],
        env=clean,
        cwd=cwd or home,
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


def assert_one_line_error(done: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    message = lines[0]
    assert message.startswith("error: "), message
    for needle in needles:
        assert needle in message, message
    return message


def db_counts(home: Path, url: str | None = None) -> dict[str, int]:
    """Rows per table in ``url``, by default the home's SQLite file."""
    engine = make_engine(url or f"sqlite:///{home / 'tradewind.db'}", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return {t: int(conn.scalar(text(f"SELECT count(*) FROM {t}"))) for t in TABLES}
    finally:
        engine.dispose()


def write_csv(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A home initialised once per module with the fx_majors universe, and init's JSON."""
    home = tmp_path_factory.mktemp("template") / "home"
    return home, ok_json(tradewind(home, "init", "--universe", UNIVERSE, "--json"))


@pytest.fixture
def home(template: tuple[Path, dict[str, Any]], tmp_path: Path) -> Path:
    """An initialised home of the test's own, copied from the module's template."""
    dest = tmp_path / "home"
    shutil.copytree(template[0], dest)
    return dest


# --------------------------------------------------------------------------- happy paths


def test_init_json_and_rerun(template: tuple[Path, dict[str, Any]], home: Path) -> None:
    first = template[1]
    assert first["revision_before"] is None
    assert first["revision"]
    assert first["universe"] == "fx-majors"
    assert first["instruments"] == 11
    assert first["database"] == f"sqlite:///{(template[0] / 'tradewind.db').resolve()}"
    assert len(first["universe_fingerprint"]) == 64

    again = ok_json(tradewind(home, "init", "--universe", UNIVERSE, "--json"))
    assert again["revision_before"] == again["revision"] == first["revision"]
    assert again["universe_fingerprint"] == first["universe_fingerprint"]
    assert db_counts(home)["instruments"] == 11


def test_synth_into_the_database_and_ls(home: Path) -> None:
    out = ok_json(tradewind(home, "data", "synth", "--bars", "500", "--json"))
    assert out["synthetic"] is True
    assert [(b["side"], b["inserted"], b["rows_read"]) for b in out["batches"]] == [
        ("mid", 500, 500),
        ("bid", 500, 500),
        ("ask", 500, 500),
    ]
    assert set(out["batches"][0]) >= IMPORT_KEYS

    series = ok_json(tradewind(home, "data", "ls", "--json"))["series"]
    got = sorted(
        (s["instrument"], s["timeframe"], s["side"], s["bars"], s["synthetic"]) for s in series
    )
    assert got == [("EUR_USD", "H1", side, 500, True) for side in ("ask", "bid", "mid")]
    assert db_counts(home)["bars"] == 1500


def test_synth_to_file_then_import_twice(home: Path) -> None:
    csv = home / "f.csv"
    done = tradewind(home, "data", "synth", "--bars", "300", "--out", csv)
    assert done.returncode == 0, done.stderr
    assert "300" in done.stdout
    assert len(csv.read_text().splitlines()) == 301

    args = ("data", "import", csv, "--instrument", "EUR_USD", "--timeframe", "H1", "--json")
    first = ok_json(tradewind(home, *args))
    assert set(first) >= IMPORT_KEYS
    assert (first["rows_read"], first["inserted"], first["quarantined"]) == (300, 300, 0)
    second = ok_json(tradewind(home, *args))
    assert second["batch_id"] != first["batch_id"]
    assert (second["inserted"], second["skipped_duplicates"], second["conflicts"]) == (0, 300, 0)

    series = ok_json(tradewind(home, "data", "ls", "--json"))["series"]
    assert [(s["instrument"], s["vendor"], s["bars"]) for s in series] == [("EUR_USD", "file", 300)]


PLANTED = [
    "2024-01-02 00:00:00,1.1,1.2,1.0,1.15,10",  # 2
    "2024-01-02 01:00:00,1.1,1.12,1.0,1.15,10",  # 3: high below close
    "2024-01-02 02:00:00,1.1,1.2,1.0,1.15,10",  # 4
    "2024-01-02 02:00:00,1.1,1.2,1.0,1.15,10",  # 5: duplicate of line 4
    "2024-01-02 02:30:00,1.1,1.2,1.0,1.15,10",  # 6: off the H1 grid
    "2024-01-02 03:00:00,1.1,1.2,1.0,1.15,-3",  # 7: negative volume
    "2024-01-02 04:00:00,1.1,1.2,1.0,1.15,10",  # 8
]


def test_quarantine_lists_planted_rows(home: Path) -> None:
    csv = write_csv(home / "planted.csv", PLANTED)
    report = ok_json(
        tradewind(
            home, "data", "import", csv, "--instrument", "EUR_USD", "--timeframe", "H1", "--json"
        )
    )
    assert (report["rows_read"], report["inserted"], report["quarantined"]) == (7, 3, 4)

    rows = ok_json(
        tradewind(home, "data", "quarantine", "--batch", str(report["batch_id"]), "--json")
    )["rows"]
    got = [(r["line"], r["category"], r["reason"], r["raw"]["text"]) for r in rows]
    assert got == [
        (3, "invalid", "high below max(open, close)", PLANTED[1]),
        (5, "invalid", "duplicate of line 4 (2024-01-02T02:00:00Z)", PLANTED[3]),
        (6, "invalid", "timestamp not on the H1 grid", PLANTED[4]),
        (7, "invalid", "volume is negative", PLANTED[5]),
    ]
    assert all(r["batch_id"] == report["batch_id"] for r in rows)


def test_config_push_ls_show(home: Path) -> None:
    pushed = ok_json(tradewind(home, "config", "push", UNIVERSE, "--json"))
    assert pushed["kind"] == "universe"
    fp = pushed["fingerprint"]
    assert len(fp) == 64

    listed = ok_json(tradewind(home, "config", "ls", "--json"))["configs"]
    assert fp in {c["fingerprint"] for c in listed}

    body = ok_json(tradewind(home, "config", "show", fp[:10], "--json"))
    assert body["fingerprint"] == fp
    assert body["kind"] == "universe"
    assert body["config"]["name"] == "fx-majors"
    assert len(body["config"]["instruments"]) == 11

    shown = tradewind(home, "config", "show", fp[:10])  # for people: YAML under a header line
    assert shown.returncode == 0, shown.stderr
    header, *yaml_lines = shown.stdout.splitlines()
    assert header.startswith(f"# universe config fx-majors {fp}")
    assert yaml.safe_load("\n".join(yaml_lines))["name"] == "fx-majors"


PAPER_NAV = re.compile(
    r"NAV (?P<start>[\d,.]+) -> (?P<end>[\d,.]+) \((?P<change>[-+][\d,.]+)\) = "
    r"realised (?P<realised>[-+][\d,.]+) \+ unrealised (?P<unrealised>[-+][\d,.]+) \+ "
    r"financing (?P<financing>[-+][\d,.]+) - commission (?P<commission>[\d,.]+); "
    r"the fills paid (?P<spread>[\d,.]+) of spread"
)


def paper_arithmetic(stdout: str) -> dict[str, float]:
    """The paper summary's NAV line as numbers; asserts that they add up to the cent."""
    found = PAPER_NAV.search(stdout)
    assert found is not None, stdout
    n = {k: float(v.replace(",", "")) for k, v in found.groupdict().items()}
    assert n["end"] - n["start"] == pytest.approx(n["change"], abs=0.006)
    parts = n["realised"] + n["unrealised"] + n["financing"] - n["commission"]
    assert parts == pytest.approx(n["change"], abs=0.011)
    return n


def test_demo_prints_a_summary(tmp_path: Path, db_url: str) -> None:
    """The whole demo on each backend (on Postgres as a user moving off the embedded
    default runs it), every stage checked by the demo itself."""
    home = tmp_path / "home"
    repo = Path(__file__).resolve().parents[2]  # the demo reads configs/ from the repository
    env = {} if db_url.startswith("sqlite") else {"TRADEWIND_DATABASE_URL": db_url}
    done = tradewind(home, "demo", "--timesteps", "2048", cwd=repo, env=env)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "SYNTHETIC" in done.stdout
    assert "inserted 0 bars: idempotent" in done.stdout
    assert "EUR_USD H1 mid" in done.stdout
    assert "GBP_USD M1 mid" in done.stdout
    counts = db_counts(home, None if db_url.startswith("sqlite") else db_url)
    assert counts["bars"] == 3 * 5000 + 20_000
    assert counts["ingest_batches"] == 5
    # the models: trained, registered, judged by the retraining job's gate (champion only
    # when they pass, and said so either way), the champions compared held out
    promoted = []
    for name, label, algo in (
        ("ppo-eurusd-h1", "ppo", "ppo"),
        ("gbm-eurusd-h1", "gbm", "gradient_boosting"),
    ):
        head = f"model {name} version 1 ({algo}) "
        passed = f"{head}promoted to champion\n  gate default: " in done.stdout
        failed = f"{head}NOT promoted; " in done.stdout
        assert passed != failed, done.stdout
        if passed:
            promoted.append(label)
        # a champion only for a model that passed: in the comparison only then
        assert (f"│ {label} " in done.stdout) == passed
    if not promoted:
        assert "no model passed the gate: nothing was promoted to champion" in done.stdout
    if "ppo" not in promoted:
        assert "paper trading skipped: models:/ppo-eurusd-h1@champion does not exist" in done.stdout
    else:  # the demo checked the session (trading enabled, fills = the broker's, ...)
        paper_arithmetic(done.stdout)
        assert "; trading: enabled" in done.stdout
    for strategy in ("buy_and_hold", "sma_crossover"):
        assert f"│ {strategy} " in done.stdout
    assert (home / "demo" / "models_report.html").stat().st_size > 100_000


def test_a_demo_stage_that_fails_its_check_fails_the_demo(tmp_path: Path) -> None:
    """A backtest strategy that never trades stops the demo at that stage: exit 1, one line
    naming the stage and why, and no later stage runs (no models trained)."""
    home, cwd = tmp_path / "home", tmp_path / "checkout"
    shutil.copytree(REPO / "configs", cwd / "configs")
    demo = cwd / "configs" / "backtests" / "demo.yaml"
    cfg = yaml.safe_load(demo.read_text())
    cfg["strategies"][1]["params"].update(lower=0.01, upper=99.99)  # RSI never gets there
    demo.write_text(yaml.safe_dump(cfg))
    quiet = {"TRADEWIND_PROGRESS": "off"}
    done = tradewind(home, "demo", "--timesteps", "2048", cwd=cwd, env=quiet)
    message = assert_one_line_error(done, "demo failed at demo 4/10 (backtesting")
    assert message.endswith("no trades from rsi_meanrev"), message
    assert done.stdout == ""  # no summary, and no model trained after the failed stage
    as_json = tradewind(home, "demo", "--json", cwd=cwd, env=quiet)
    assert as_json.returncode == 1
    body = json.loads(as_json.stdout)
    assert body["ok"] is False
    assert "no trades from rsi_meanrev" in body["error"]


# --------------------------------------------------------------------------- errors


def _import(path: Path, *extra: str, instrument: str = "EUR_USD", tf: str = "H1") -> list[Any]:
    return ["data", "import", path, "--instrument", instrument, "--timeframe", tf, *extra]


def good_csv(home: Path) -> Path:
    return write_csv(home / "good.csv", PLANTED[:1])


def _directory(home: Path) -> list[Any]:
    (home / "incoming.csv").mkdir()
    return _import(home / "incoming.csv")


def _bad_universe(home: Path) -> list[Any]:
    bad = home / "bad_universe.yaml"
    bad.write_text(
        "kind: universe\nname: x\ninstruments:\n"
        "  - {symbol: EUR_USD, pip_location: -4, display_precision: 5, colour: red}\n"
    )
    return ["config", "push", bad]


def _bad_top_level(home: Path) -> list[Any]:
    bad = home / "bad_import.yaml"
    bad.write_text("kind: import\ninstrument: EUR_USD\ntimeframe: H1\ntimezon: UTC\n")
    return [*_import(good_csv(home))[:3], "--spec", bad]


def _conflict(home: Path) -> list[Any]:
    engine = make_engine(f"sqlite:///{home / 'tradewind.db'}", poolclass=NullPool)
    spec = ImportSpec.model_validate({"instrument": "EUR_USD", "timeframe": "H1"})
    assert import_file(engine, good_csv(home), spec).inserted == 1
    engine.dispose()
    changed = write_csv(home / "changed.csv", [PLANTED[0].replace("1.15", "1.16")])
    return _import(changed, "--on-conflict", "fail")


ERRORS: list[Any] = [
    pytest.param(
        lambda h: _import(h / "missing.csv"), ("missing.csv", "no such file"), id="missing-file"
    ),
    pytest.param(_directory, ("incoming.csv", "is a directory"), id="directory"),
    pytest.param(
        lambda h: _import(write_csv(h / "cols.csv", ["2024-01-02,1.1"], header="when,price")),
        ("cols.csv", "no column for time, open, high, low, close"),
        id="wrong-columns",
    ),
    pytest.param(
        lambda h: _import(good_csv(h), instrument="EUR_XXX"),
        ("unknown instrument 'EUR_XXX'",),
        id="unknown-instrument",
    ),
    pytest.param(
        lambda h: _import(good_csv(h), tf="H7"), ("unknown timeframe 'H7'",), id="bad-timeframe"
    ),
    pytest.param(_bad_universe, ("bad_universe.yaml", "instruments.0.colour"), id="bad-config"),
    pytest.param(_bad_top_level, ("bad_import.yaml", "timezon"), id="bad-import-spec"),
    pytest.param(_conflict, ("conflict", "nothing was written"), id="conflict-fail"),
]


@pytest.mark.parametrize(("make_args", "needles"), ERRORS)
def test_errors_are_one_line_and_write_nothing(
    home: Path, make_args: Callable[[Path], list[Any]], needles: tuple[str, ...]
) -> None:
    args = make_args(home)
    before = db_counts(home)
    assert_one_line_error(tradewind(home, *args), *needles)
    assert db_counts(home) == before


def test_directory_without_suffix_is_named_as_a_directory(home: Path) -> None:
    (home / "incoming").mkdir()
    before = db_counts(home)
    assert_one_line_error(tradewind(home, *_import(home / "incoming")), "is a directory")
    assert db_counts(home) == before


def test_unreadable_file(home: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("running as root: chmod 000 does not stop root from reading the file")
    path = good_csv(home)
    path.chmod(0)
    try:
        before = db_counts(home)
        assert_one_line_error(tradewind(home, *_import(path)), "good.csv", "cannot read")
        assert db_counts(home) == before
    finally:
        path.chmod(0o644)


@pytest.mark.parametrize(
    "args",
    [
        ["config", "ls", "--json"],
        ["data", "import", "f.csv", "--instrument", "EUR_USD", "--timeframe", "H1"],
    ],
    ids=["config-ls", "data-import"],
)
def test_commands_before_init_say_so(tmp_path: Path, args: list[str]) -> None:
    home = tmp_path / "home"
    home.mkdir()
    write_csv(home / "f.csv", PLANTED[:1])
    assert_one_line_error(tradewind(home, *args), "tradewind init")
    assert not (home / "tradewind.db").exists()


# --------------------------------------------------------------------------- Postgres


def test_database_display_masks_passwords() -> None:
    shown = Settings(database_url="postgresql://u:secret@h/db").database_display
    assert "secret" not in shown
    assert shown == "postgresql://u:***@h/db"
    with_env_password = Settings(database_url="postgresql://u@h/db", database_password="secret")
    assert "secret" in with_env_password.resolved_database_url
    assert "secret" not in with_env_password.database_display


@pytest.fixture
def pg_role(pg_server_url: str) -> Iterator[Callable[[str], str]]:
    """Make a fresh database owned by a fresh role with the given password; return its URL."""
    admin = make_url(pg_server_url)
    kwargs = {"host": admin.host, "port": admin.port, "user": admin.username}
    kwargs |= {"dbname": admin.database, "password": admin.password}
    made: list[tuple[str, str]] = []

    def admin_sql(statement: sql.Composable) -> None:
        with psycopg.connect(**{k: v for k, v in kwargs.items() if v}, autocommit=True) as conn:
            conn.execute(statement)

    def make(password: str) -> str:
        role = f"tw_cli_{uuid.uuid4().hex[:8]}"
        try:
            admin_sql(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(role), sql.Literal(password)
                )
            )
        except psycopg.errors.InsufficientPrivilege:
            pytest.skip("the test server does not let us create a role with a password")
        db = fresh_database(pg_server_url)
        made.append((db, role))
        name = make_url(db).database or ""
        admin_sql(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                sql.Identifier(name), sql.Identifier(role)
            )
        )
        url = make_url(db).set(drivername="postgresql", username=role, password=password)
        return url.render_as_string(hide_password=False)

    yield make
    for db, role in made:
        drop_database(db)
        admin_sql(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def assert_password_never_shown(runs: list[subprocess.CompletedProcess[str]], pw: str) -> None:
    for done in runs:
        output = done.stdout + done.stderr
        assert pw not in output
        assert quote(pw, safe="") not in output  # nor percent-encoded, as in a rendered URL


def test_init_against_postgres_never_prints_the_password(
    tmp_path: Path, pg_role: Callable[[str], str]
) -> None:
    password = f"Pw{uuid.uuid4().hex}"
    url = pg_role(password)
    env = {"TRADEWIND_DATABASE_URL": url}
    runs = [tradewind(tmp_path, "init", "--universe", UNIVERSE, "--json", env=env)]
    info = ok_json(runs[0])
    assert info["instruments"] == 11
    assert info["revision"]
    assert info["database"].startswith("postgresql://tw_cli_")
    assert ":***@" in info["database"]

    # The password may also come on its own; the output stays clean either way.
    split = {
        "TRADEWIND_DATABASE_URL": url.replace(f":{password}@", "@"),
        "TRADEWIND_DATABASE_PASSWORD": password,
    }
    runs.append(tradewind(tmp_path, "data", "ls", "--json", env=split))
    assert ok_json(runs[-1]) == {"series": []}

    # Errors name the database without the password: a failed import, an unreachable server.
    runs.append(tradewind(tmp_path, *_import(tmp_path / "missing.csv"), env=env))
    assert_one_line_error(runs[-1], "no such file")
    dead = make_url(url).set(host="127.0.0.1", port=1).render_as_string(hide_password=False)
    runs.append(tradewind(tmp_path, "data", "ls", env={"TRADEWIND_DATABASE_URL": dead}))
    assert_one_line_error(runs[-1], "database postgresql://", ":***@127.0.0.1:1/")

    assert_password_never_shown(runs, password)


def test_postgres_password_with_special_characters(
    tmp_path: Path, pg_role: Callable[[str], str]
) -> None:
    password = f"s3cr@t%{uuid.uuid4().hex[:8]}"
    url = pg_role(password)
    done = tradewind(tmp_path, "init", "--json", env={"TRADEWIND_DATABASE_URL": url})
    assert_password_never_shown([done], password)
    assert ok_json(done)["revision"]
