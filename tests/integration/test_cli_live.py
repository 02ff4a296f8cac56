"""`tradewind live run/status/halt/resume`: the real console script against the paper venue
on loopback (token from the environment, never the command line), with a throwaway home."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from live_support import live_config
from venue_support import ACCOUNT, TOKEN, running_venue

from tradewind.storage.engine import make_engine
from tradewind.storage.live import SqlLiveStore

TRADEWIND = Path(sys.executable).parent / "tradewind"
REPO = Path(__file__).resolve().parents[2]


def tradewind(
    home: Path, *args: str | Path, db_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The console script with a home of its own (its SQLite file, or ``db_url``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND_")}
    env.update(TRADEWIND_HOME=str(home), TRADEWIND_VENUE_TOKEN=TOKEN)
    if db_url is not None:
        env["TRADEWIND_DATABASE_URL"] = db_url
    return subprocess.run(
        [str(TRADEWIND), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=180,
    )


_tradewind = tradewind


@pytest.fixture(scope="module")
def venue_url() -> Iterator[str]:
    with running_venue(speed=600.0) as v:
        yield v.base_url  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def bare_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return initialised(tmp_path_factory.mktemp("live-cli") / "home")


def config(tmp: Path, url: str, **changes: object) -> Path:
    path = live_config(tmp)
    body = yaml.safe_load(path.read_text())
    body["broker"]["url"] = url
    body["deployments"][0].update(changes)
    path.write_text(yaml.safe_dump(body))
    return path


def initialised(home: Path) -> Path:
    init = tradewind(home, "init")
    assert init.returncode == 0, init.stderr
    return home


def test_run_status_halt_resume(tmp_path: Path, venue_url: str, db_url: str) -> None:
    def tradewind(home: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
        return _tradewind(home, *args, db_url=db_url)

    home = tmp_path / "home"
    assert tradewind(home, "init").returncode == 0
    cfg = config(tmp_path, venue_url)
    run = tradewind(home, "live", "run", "--config", cfg, "--duration", "4", "--json")
    assert run.returncode == 0, run.stderr
    snap = json.loads(run.stdout)
    assert snap["kill_state"] == "active"
    assert snap["trading"] == "enabled"
    assert snap["counts"]["ticks"] > 0
    assert TOKEN not in run.stdout + run.stderr

    status = tradewind(home, "live", "status", "--json")
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert [d["name"] for d in report["deployments"]] == ["momentum-eur"]
    assert report["deployments"][0]["status"] == "stopped"
    assert ACCOUNT in report["pnl"]

    halt = tradewind(home, "live", "halt", "--reason", "maintenance", "--by", "alice")
    assert halt.returncode == 0, halt.stderr
    assert halt.stdout.startswith(f"{ACCOUNT}: trading: halted (maintenance, by alice, since ")
    assert "kill switch active" not in halt.stdout
    shown = json.loads(tradewind(home, "live", "status", "--json").stdout)
    switch = shown["kill_switches"][0]
    assert switch["state"] == "halted"
    assert (switch["trading"], switch["reason"], switch["by"]) == ("halted", "maintenance", "alice")
    assert switch["since"].endswith("Z")
    text = tradewind(home, "live", "status")
    assert text.returncode == 0, text.stderr
    assert f"{ACCOUNT}: trading: halted (maintenance, by alice, since " in text.stdout

    # a restart keeps the switch halted
    again = tradewind(home, "live", "run", "--config", cfg, "--duration", "3", "--json")
    assert again.returncode == 0, again.stderr
    snap = json.loads(again.stdout)
    assert snap["kill_state"] == "halted"
    assert snap["trading"] == "halted"
    assert snap["kill_switch"]["reason"] == "maintenance"

    refused = tradewind(home, "live", "resume", "--reason", "x", "--by", "system")
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1
    assert "person" in refused.stderr
    resumed = tradewind(home, "live", "resume", "--reason", "books checked", "--by", "alice")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip() == f"{ACCOUNT}: trading: enabled"

    # --json: one object with the account and the switch as `live status --json` shows it
    halted = json.loads(
        tradewind(home, "live", "halt", "--reason", "x", "--by", "alice", "--json").stdout
    )
    assert halted["account_id"] == ACCOUNT
    assert (halted["trading"], halted["reason"], halted["by"]) == ("halted", "x", "alice")
    enabled = json.loads(
        tradewind(home, "live", "resume", "--reason", "ok", "--by", "alice", "--json").stdout
    )
    assert (enabled["account_id"], enabled["trading"]) == (ACCOUNT, "enabled")


def test_status_shows_prices_to_each_instruments_precision(tmp_path: Path, db_url: str) -> None:
    """Average prices and mids read as quoted: EUR_USD to 5 decimals, USD_JPY to 3 (the
    universe's display precisions); an instrument the security master lacks shows as many
    decimals as its price needs. Units are integers, never 1e+06."""
    home = tmp_path / "home"
    init = tradewind(home, "init", db_url=db_url)
    assert init.returncode == 0, init.stderr
    engine = make_engine(db_url)
    try:
        store = SqlLiveStore(engine)
        store.start("prices", account_id=ACCOUNT, fingerprint="f" * 64, config={}, health_url=None)
        at = {"at_us": int(time.time() * 1e6), "account_id": ACCOUNT, "deployment": "prices"}
        flat = {"realized_pl": 0.0, "nav": None}
        store.pnl(
            [
                {**at, **flat, "instrument": "EUR_USD", "units": 100000.0,
                 "avg_price": 1.0842317, "mid": 1.0845, "unrealized_pl": 27.83},
                {**at, **flat, "instrument": "USD_JPY", "units": -2000000.0,
                 "avg_price": 151.23449, "mid": 151.2, "unrealized_pl": 455.29},
                {**at, **flat, "instrument": "XAU_XAG", "units": 10.0,
                 "avg_price": 84.1234567, "mid": None, "unrealized_pl": 0.0},
                {**at, **flat, "instrument": "GBP_USD", "units": 0.0,
                 "avg_price": 0.0, "mid": 1.27, "realized_pl": -12.5, "unrealized_pl": 0.0},
                {**at, "deployment": "", "instrument": "*", "units": 0.0, "avg_price": 0.0,
                 "mid": None, "realized_pl": -12.5, "unrealized_pl": 483.12, "nav": 100470.62},
            ]
        )  # fmt: skip
    finally:
        engine.dispose()
    status = tradewind(home, "live", "status", db_url=db_url)
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    for expected in (
        f"{ACCOUNT} EUR_USD: 100,000 units, avg 1.08423, mid 1.08450, realised +0.00, "
        "unrealised +27.83",
        f"{ACCOUNT} USD_JPY: -2,000,000 units, avg 151.234, mid 151.200, realised +0.00, "
        "unrealised +455.29",
        f"{ACCOUNT} XAU_XAG: 10 units, avg 84.123457, realised +0.00, unrealised +0.00",
        f"{ACCOUNT} GBP_USD: 0 units, mid 1.27000, realised -12.50, unrealised +0.00",
        f"{ACCOUNT} account: NAV 100,470.62, realised -12.50, unrealised +483.12",
    ):
        assert expected in lines, status.stdout


def test_the_summary_lines_name_the_trading_state() -> None:
    from tradewind.broker.ledger import AccountLedger
    from tradewind.cli.demo import paper_summary
    from tradewind.cli.live import summary_line
    from tradewind.risk import KillRecord, KillState

    enabled = KillRecord(ACCOUNT, KillState.ACTIVE, "", 0, "system").as_json()
    reducing = KillRecord(
        ACCOUNT, KillState.REDUCING, "daily loss 1500.00", 1_700_000_000_000_000, "system"
    ).as_json()
    snap = {"nav": 99_000.0, "nav_start": 100_000.0, "positions": {}, "kill_switch": enabled}
    assert summary_line(snap).endswith("; trading: enabled")
    assert summary_line({**snap, "kill_switch": reducing}).endswith(
        "; trading: reducing only (daily loss 1500.00, by system, since 2023-11-14T22:13:20Z)"
    )
    paper = {
        **snap,
        "account_id": ACCOUNT,
        "counts": {"bars": 10},
        "market_start": "2024-01-02T00:00:00",
        "speed": 600,
        "realized_pl": 0.0,
        "unrealized_pl": 0.0,
        "orders": 0,
        "filled_orders": 0,
        "fills": 0,
        "ledger": AccountLedger(100_000.0, 100_000.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0),
        "kill_switch": {
            "trading": "halted",
            "reason": "x",
            "by": "bob",
            "since": "2024-01-02T00:00:00Z",
        },
    }
    assert paper_summary(paper).endswith(
        "; trading: halted (x, by bob, since 2024-01-02T00:00:00Z)"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"execution": {"algo": "market", "bound_bps": 80}}, "price_collar_bps"),
        ({"strategy": {"decision": "nowhere.py:fn", "max_units": 10}}, "nowhere.py"),
        ({"bogus": 1}, "bogus"),
        ({"instruments": ["XAU_XYZ"]}, "XAU_XYZ"),
    ],
)
def test_bad_configs_fail_with_one_line(
    tmp_path: Path, bare_home: Path, venue_url: str, change: dict[str, object], message: str
) -> None:
    cfg = config(tmp_path, venue_url, **change)
    run = tradewind(
        initialised(tmp_path / "home"), "live", "run", "--config", cfg, "--duration", "1"
    )
    assert run.returncode == 1, run.stdout
    assert run.stderr.count("\n") == 1, run.stderr
    assert message in run.stderr
    assert "Traceback" not in run.stderr
