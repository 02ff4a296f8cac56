"""`tradewind demo`: the whole pipeline on the embedded default (SQLite, local files)."""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tradewind.cli.context import emit_json, engine, fail, out, settings
from tradewind.cli.data import report_table, series_table
from tradewind.cli.progress import task
from tradewind.config import ImportSpec, SyntheticConfig, load_config
from tradewind.config.backtest import BacktestConfig
from tradewind.domain import PriceSide, Timeframe
from tradewind.domain.progress import within
from tradewind.pipelines import demo_checks as check
from tradewind.pipelines.demo_checks import StageFailed
from tradewind.pipelines.ingest import IMPORT_PHASES, import_file
from tradewind.pipelines.setup import initialise, load_universe
from tradewind.pipelines.synthetic import synthesize_to_db, synthesize_to_file
from tradewind.storage import batches

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy import Engine

    from tradewind.broker.ledger import AccountLedger
    from tradewind.config.live import LiveConfig
    from tradewind.config.promotion import PromotionGate
    from tradewind.domain.progress import Progress

DEMO_BACKTEST = Path("configs/backtests/demo.yaml")
DEMO_MODELS = (Path("configs/models/ppo_eurusd_h1.yaml"), Path("configs/models/gbm_eurusd_h1.yaml"))
DEMO_MODELS_BACKTEST = Path("configs/backtests/models_demo.yaml")
DEMO_LIVE = Path("configs/live/paper_demo.yaml")
DEMO_GATE = Path("configs/gates/default.yaml")  # the retraining job's gate
# the paper session: the test split's first days, two hours of market time per wall second
PAPER_START = datetime(2024, 8, 20, tzinfo=UTC)
PAPER_SPEED = 7200.0
PAPER_SECONDS = 30.0


def paper_session(
    eng: Engine,
    cfg: LiveConfig,
    *,
    start: datetime,
    speed: float,
    duration_s: float,
    tracking: Any,
) -> dict[str, Any]:
    """The demo's composition root for its paper session: the in-process paper venue, the
    v20 adapter pointed at it and the trader. Trades ``cfg`` for ``duration_s`` wall seconds
    on the venue, whose fast clock starts at ``start`` and runs ``speed`` times real time
    over the stored bars, in a fresh account (so every session starts flat). Returns the
    trader's last snapshot with the account id, the orders and the fills the OMS recorded,
    and the broker's ledger of the account (what moved its NAV) under ``ledger``."""
    import secrets
    import time
    from collections import Counter

    from tradewind.broker.environments import register_environment
    from tradewind.broker.oanda import OandaBroker
    from tradewind.pipelines.live import build_trader, load_policies
    from tradewind.storage.oms import SqlOmsStore
    from tradewind.venue import service

    policies = load_policies(cfg, tracking)  # before the venue's clock starts running
    token = secrets.token_hex(16)
    venue = service.Venue.build(
        token=token,
        database_url=eng.url.render_as_string(hide_password=False),
        clock="fast",
        speed=speed,
        start_ns=int(start.timestamp()) * 1_000_000_000,
        persist=False,
    )
    account = f"101-001-{time.time_ns() // 1_000_000 % 10_000_000:07d}-002"
    venue.engine.open_account(account, 100_000.0)
    with service.serve_in_thread(venue) as base:
        register_environment("tradewind-paper", base)
        broker = OandaBroker("tradewind-paper", token=token, account_id=account)
        try:
            # market time is the feed's own (a fast clock's wall-time extrapolation would
            # call a price stale whenever the process pauses for a moment)
            built = build_trader(eng, cfg, broker, clock_speed=0.0, health=False, policies=policies)
            snap = built.trader.run(duration_s=duration_s)
            ledger = broker.ledger()
        finally:
            broker.close()
    store = SqlOmsStore(eng)
    orders = store.orders(account)
    return {
        **snap,
        "account_id": account,
        "orders": len(orders),
        "filled_orders": sum(o.state.value == "filled" for o in orders),
        "unfilled": dict(
            Counter(
                f"{o.state.value} ({o.reject_reason})" if o.reject_reason else o.state.value
                for o in orders
                if o.state.value != "filled"
            )
        ),
        "fills": len(store.fills(account)),
        "market_start": start.isoformat(),
        "speed": speed,
        "ledger": ledger,
    }


class Stages:
    """The demo's steps, numbered (``demo 3/10: ...``), each with its progress on stderr."""

    TOTAL = 10

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.done = 0

    @contextmanager
    def step(self, label: str, total: int | None = None) -> Iterator[Progress]:
        """One stage; a failure in it (a ``StageFailed`` check or an error) is re-raised as
        ``StageFailed`` naming the stage: ``demo 4/10 (backtesting ...): why``."""
        self.done += 1
        name = f"demo {self.done}/{self.TOTAL}"
        try:
            with task(f"{name}: {label}", total, quiet=self.quiet) as p:
                yield p
        except StageFailed as exc:
            raise StageFailed(f"{name} ({label}): {exc}") from exc
        except Exception as exc:
            if os.environ.get("TRADEWIND_DEBUG"):
                raise
            first = (str(exc).strip().splitlines() or [""])[0]
            raise StageFailed(f"{name} ({label}): {type(exc).__name__}: {first}") from exc


def paper_trade(eng: Any, home: Path, stages: Stages) -> dict[str, Any]:
    """The promoted model trading on an in-process paper venue over held-out bars."""
    from tradewind.pipelines.live import load_live_config
    from tradewind.registry import configure, resolve_tracking

    cfg = load_live_config(DEMO_LIVE)
    with stages.step("paper trading the champion on the venue (held-out data)"):
        paper = paper_session(
            eng,
            cfg,
            start=PAPER_START,
            speed=PAPER_SPEED,
            duration_s=PAPER_SECONDS,
            tracking=configure(resolve_tracking(home)),
        )
        check.check_paper(paper, paper["ledger"])
    return paper


def paper_summary(p: dict[str, Any]) -> str:
    """The paper session as arithmetic a trader can check, in the broker's figures: NAV
    start -> end = realised + unrealised + financing - commission, with the spread the fills
    paid (already inside realised and unrealised) shown beside it."""
    from tradewind.risk.killrecord import describe_trading

    led: AccountLedger = p["ledger"]
    start, nav = led.funded, led.nav
    held = {k: v for k, v in p["positions"].items() if v}
    positions = ", ".join(f"{k} {v:+,.0f}" for k, v in held.items()) or "flat"
    unfilled = "".join(f", {n} {what}" for what, n in p.get("unfilled", {}).items())
    return (
        f"paper trading (account {p['account_id']}, {p['counts']['bars']} H1 bars from "
        f"{p['market_start'][:10]} at {p['speed']:.0f}x):\n"
        f"  NAV {start:,.2f} -> {nav:,.2f} ({nav - start:+,.2f}) = realised "
        f"{led.realised:+,.2f} + unrealised {led.unrealised:+,.2f} + financing "
        f"{led.financing:+,.2f} - commission {led.commission:,.2f}; the fills paid "
        f"{led.spread:,.2f} of spread, inside realised and unrealised\n"
        f"  {p['orders']} orders: {p['filled_orders']} filled{unfilled} ({p['fills']} fills); "
        f"positions {positions}; {describe_trading(p['kill_switch'])}"
    )


@dataclass
class DemoModels:
    """What the demo's model stage did: each training, the gate's decision on it, the
    held-out comparison and its tear sheet, and the strategies left out for want of a
    champion."""

    trained: list[Any]
    decisions: list[Any]  # retrain.Outcome per training, in the same order
    compared: Any
    report: Path
    skipped: list[str] = field(default_factory=list)

    @property
    def promoted(self) -> list[str]:
        return [d.promotion.model_name for d in self.decisions if d.promotion.promoted]


def demo_gate() -> PromotionGate:
    """The retraining job's gate (``configs/gates/default.yaml``) on the model configs' own
    split dates: the demo trains on those, not on splits rolled to a run date."""
    from tradewind.config.promotion import FixedSplits, PromotionGate

    return load_config(DEMO_GATE, PromotionGate).model_copy(update={"splits": FixedSplits()})


def with_champions(cfg: BacktestConfig, tracking: Any) -> tuple[BacktestConfig, list[str]]:
    """``cfg`` without the strategies whose ``models:/NAME@champion`` has no champion (no
    version passed the gate), and the labels of those left out."""
    from tradewind.registry import parse_ref
    from tradewind.registry.versions import alias_version

    kept, skipped = [], []
    for strat in cfg.strategies:
        uri = strat.params.get("model")
        if isinstance(uri, str):
            ref = parse_ref(uri)
            if ref.alias and alias_version(tracking, ref.name, ref.alias) is None:
                skipped.append(strat.result_name)
                continue
        kept.append(strat)
    return cfg.model_copy(update={"strategies": tuple(kept)}), skipped


def train_and_compare(eng: Any, home: Path, stages: Stages, timesteps: int | None) -> DemoModels:
    """Train the demo models; each new version faces the retraining job's gate on the held-out
    test split (against the champion, if any) and becomes ``champion`` only when it passes.
    Then the champions are backtested by alias on the held-out test split against
    buy-and-hold and the SMA crossover, and a tear sheet written."""
    from tradewind.cli.runs import remember_report
    from tradewind.cli.train import training_steps
    from tradewind.config.models import ModelConfig
    from tradewind.pipelines.backtest import run_backtest
    from tradewind.pipelines.report import write_report
    from tradewind.pipelines.retrain import judge_version
    from tradewind.pipelines.train import train
    from tradewind.registry import configure, resolve_tracking

    tracking = configure(resolve_tracking(home))
    gate = demo_gate()
    trained, decisions = [], []
    for path in DEMO_MODELS:
        steps = training_steps(load_config(path, ModelConfig), timesteps)
        with stages.step(f"training {path.stem}", steps) as progress:
            result = train(eng, path, timesteps=timesteps, tracking=tracking, progress=progress)
            check.check_registered(result)
        with stages.step(f"judging {path.stem} by the gate on held-out data"):
            decision = judge_version(
                eng,
                path,
                gate,
                result.model_version,
                run_key=f"demo-v{result.model_version}",
                tracking=tracking,
            )
        trained.append(result)
        decisions.append(decision)
    report_path = home / "demo" / "models_report.html"
    cfg, skipped = with_champions(load_config(DEMO_MODELS_BACKTEST, BacktestConfig), tracking)
    with stages.step("backtesting the champions on held-out data", len(cfg.strategies)) as p:
        compared = run_backtest(eng, cfg, tracking=tracking, progress=p)
        check.check_traded(compared)
        write_report(eng, compared.run_id, report_path)
    remember_report(compared.run_id, report_path)
    return DemoModels(trained, decisions, compared, report_path, skipped)


def decision_line(trained: Any, decision: Any) -> str:
    """Two lines per trained demo model: promoted or not, then the gate's reason."""
    p = decision.promotion
    head = f"model [bold]{trained.model_name}[/] version {trained.model_version} ({trained.algo})"
    gate = f"\n  gate {p.gate.get('name', '')}: {p.reason}"
    if p.promoted:
        return f"{head} promoted to champion{gate}"
    kept = f"champion stays version {p.champion_version}" if p.champion_version else "no champion"
    return f"{head} NOT promoted; {kept}{gate}"


def paper_missing(tracking: Any) -> str | None:
    """Why the paper session cannot run (a deployment's model has no such alias), or None."""
    from tradewind.pipelines.live import load_live_config
    from tradewind.registry import parse_ref
    from tradewind.registry.versions import alias_version

    for d in load_live_config(DEMO_LIVE).deployments:
        uri = d.strategy.model
        if uri is None:
            continue
        ref = parse_ref(uri)
        if ref.alias and alias_version(tracking, ref.name, ref.alias) is None:
            return f"{uri} does not exist: no version of {ref.name} passed the gate"
    return None


def paper_stage(eng: Any, home: Path, stages: Stages) -> tuple[dict[str, Any] | None, str | None]:
    """The paper session's snapshot, or why it was skipped (no champion to trade)."""
    if not DEMO_LIVE.exists():
        return None, None
    from tradewind.registry import configure, resolve_tracking

    missing = paper_missing(configure(resolve_tracking(home)))
    if missing is not None:
        return None, missing
    return paper_trade(eng, home, stages), None


def print_models(models: DemoModels, table: Any) -> None:
    for t, d in zip(models.trained, models.decisions, strict=True):
        out.print(decision_line(t, d), highlight=False)
    if not models.promoted:
        out.print(
            "[yellow]no model passed the gate: nothing was promoted to champion[/]",
            highlight=False,
        )
    if models.skipped:
        out.print(
            f"held-out comparison without {', '.join(models.skipped)}: no champion",
            highlight=False,
        )
    out.print(table(models.compared))
    out.print(f"held-out comparison tear sheet: {models.report}")


def run_demo(as_json: bool, timesteps: int | None = None) -> None:
    """Every stage, then the summary; a stage that fails its own check stops the demo with
    one line naming it and why (exit 1; with ``--json``, ``{"ok": false, "error": ...}``)."""
    try:
        _run_demo(as_json, timesteps)
    except StageFailed as exc:
        if as_json:
            emit_json({"ok": False, "error": f"demo failed at {exc}"})
            raise typer.Exit(1) from exc
        fail(f"demo failed at {exc}")


def _run_demo(as_json: bool, timesteps: int | None) -> None:
    home = settings().home
    eng = engine()
    steps: dict[str, object] = {"database": settings().database_display}
    universe = load_universe()
    stages = Stages(as_json)
    with stages.step("migrating the database"):
        initialise(eng, universe)
    steps["universe"] = f"{universe.name} ({len(universe.instruments)} instruments)"

    # 1. Synthetic EUR_USD hourly bars straight into the security master (mid, bid, ask).
    synth = SyntheticConfig(instrument="EUR_USD", timeframe=Timeframe.H1, bars=5000, seed=7)
    with stages.step("synthesizing EUR_USD H1", 1 + len(PriceSide)) as progress:
        reports = synthesize_to_db(eng, synth, progress=progress)
        check.check_stored(reports, synth.bars)
    # 2. A GBP_USD file, written then imported like any vendor file; the second import is
    #    the idempotency check: it must insert nothing.
    csv_path = home / "demo" / "GBP_USD_M1.synthetic.csv"
    gbp = SyntheticConfig(
        instrument="GBP_USD", timeframe=Timeframe.M1, bars=20_000, seed=11, start_price=1.27
    )
    spec = ImportSpec(instrument="GBP_USD", timeframe=Timeframe.M1, vendor="synthetic")
    phases = len(IMPORT_PHASES)
    units = 2 + 2 * phases  # the file generated and written, then each import's phases
    with stages.step("writing a GBP_USD M1 file and importing it twice", units) as p:
        synthesize_to_file(gbp, Path(csv_path), progress=within(p, 0, units))
        first = import_file(eng, csv_path, spec, progress=within(p, 2, units))
        check.check_stored([first], gbp.bars)
        second = import_file(eng, csv_path, spec, progress=within(p, 2 + phases, units))
        check.check_reimport(second)
    reports += [first, second]
    with eng.connect() as conn:
        series = batches.summarize_bars(conn)

    # 3. The shipped strategies backtested on the EUR_USD bars, stored, and a tear sheet.
    backtest = None
    report_path = home / "demo" / "report.html"
    if DEMO_BACKTEST.exists():
        from tradewind.cli.runs import remember_report
        from tradewind.pipelines.backtest import run_backtest
        from tradewind.pipelines.report import write_report

        shipped = load_config(DEMO_BACKTEST, BacktestConfig)
        with stages.step("backtesting the shipped strategies", len(shipped.strategies)) as p:
            backtest = run_backtest(eng, shipped, progress=p)
            check.check_traded(backtest)
            write_report(eng, backtest.run_id, report_path)
        remember_report(backtest.run_id, report_path)

    # 4. Models: PPO and gradient boosting trained, registered, judged by the retraining
    #    job's gate (promoted only when they pass), the champions compared held out.
    models: DemoModels | None = None
    if all(p.exists() for p in (*DEMO_MODELS, DEMO_MODELS_BACKTEST, DEMO_GATE)):
        models = train_and_compare(eng, home, stages, timesteps)

    # 5. The champion PPO model paper-trading on the venue over held-out data (when there
    #    is a champion: no version that failed the gate trades).
    paper, paper_skipped = paper_stage(eng, home, stages) if models else (None, None)

    if as_json:
        emit_json(
            {
                "ok": True,
                **steps,
                "models": [t.to_json() for t in models.trained] if models else None,
                "promotions": [d.to_json() for d in models.decisions] if models else None,
                "promoted": models.promoted if models else None,
                "models_backtest": models.compared.to_json() if models else None,
                "models_backtest_skipped": models.skipped if models else None,
                "models_report": str(models.report) if models else None,
                "paper": {**paper, "ledger": paper["ledger"].to_json()} if paper else None,
                "paper_skipped": paper_skipped,
                "synthetic": True,
                "batches": [r.to_json() for r in reports],
                "reimport_inserted": second.inserted,
                "backtest": backtest.to_json() if backtest else None,
                "report": str(report_path) if backtest else None,
                "series": [s.__dict__ for s in series],
            }
        )
        return
    out.rule("[bold]Tradewind demo[/] — all data below is SYNTHETIC")
    out.print(f"database: {steps['database']}")
    out.print(f"universe: {steps['universe']}")
    out.print(report_table(reports))
    verdict = "[green]idempotent[/]" if second.inserted == 0 else "[red]NOT idempotent[/]"
    out.print(f"re-import of the same file inserted {second.inserted} bars: {verdict}")
    out.print(series_table(series, title="stored series"))
    if backtest is not None:
        from tradewind.cli.backtest import backtest_table

        out.print(backtest_table(backtest))
        out.print(f"tear sheet: {report_path}")
    else:
        out.print(f"backtest skipped: {DEMO_BACKTEST} not found (run from the repository root)")
    if models is not None:
        from tradewind.cli.backtest import backtest_table

        print_models(models, backtest_table)
    if paper is not None:
        out.print(paper_summary(paper), highlight=False, soft_wrap=True)
    elif paper_skipped is not None:
        out.print(f"paper trading skipped: {paper_skipped}", highlight=False)
    out.print(
        "next: tradewind models ls · tradewind data ls · tradewind runs ls · "
        "tradewind backtest run --config configs/backtests/demo.yaml · tradewind live status"
    )
