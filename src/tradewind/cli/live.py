"""`tradewind live`: run deployments against the paper venue or OANDA, see how they do, halt
and resume them. ``halt`` and ``resume`` act on the account's latched kill switch in the
database; a running trader picks the change up within ``snapshot_every_s``."""

from __future__ import annotations

import getpass
import logging
import signal
from pathlib import Path
from typing import Annotated, Any

import typer

from tradewind.cli.context import (
    CliError,
    JsonOpt,
    emit_json,
    one_line_errors,
    out,
    price_format,
    ready_engine,
    registry,
    settings,
)
from tradewind.cli.numbers import PriceFormat, fmt_number, fmt_units

app = typer.Typer(help="The live trader: run, status, halt, resume, resync.", no_args_is_help=True)


def make_broker(spec: Any) -> Any:
    """The broker adapter for a config's ``broker`` section (tokens from the environment)."""
    from tradewind.broker.environments import register_environment
    from tradewind.broker.oanda import OandaBroker
    from tradewind.cli.venue import resolve_token

    if spec.environment == "venue":
        if not spec.url:
            raise CliError(
                "broker.environment is 'venue' but broker.url is not set: start one with "
                "`tradewind venue serve` and give its URL"
            )
        register_environment("tradewind-venue", spec.url)
        token, _ = resolve_token(None, settings().home)
        return OandaBroker("tradewind-venue", token=token, account_id=spec.account_id)
    return OandaBroker.from_env(
        spec.environment, allow_live=spec.allow_live, account_id=spec.account_id
    )


@app.command("run")
@one_line_errors
def run(
    config: Annotated[Path, typer.Option("--config", "-c", help="A `kind: live` config.")],
    duration: Annotated[
        float | None,
        typer.Option(help="Stop after this many seconds (default: run until stopped)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Reconcile, then trade until SIGTERM/SIGINT (or --duration); graceful shutdown."""
    from tradewind.broker.errors import BrokerError
    from tradewind.live.heap import settled_heap
    from tradewind.pipelines.live import LiveStartError, build_trader, load_live_config

    cfg = load_live_config(config)
    engine = ready_engine()
    broker = make_broker(cfg.broker)
    try:
        built = build_trader(engine, cfg, broker, tracking=registry())
    except (LiveStartError, BrokerError) as exc:
        broker.close()
        raise CliError(f"{config}: cannot start: {exc}") from None
    trader = built.trader

    def on_signal(signum: int, _frame: Any) -> None:
        out.print(f"signal {signal.Signals(signum).name}: stopping")
        trader.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def ready(t: Any) -> None:
        if not as_json:
            out.print(
                f"trading {', '.join(t.deployments)} on account {t.oms.account_id}; "
                f"health {t.health_url}; reconcile: {t.status.reconcile}"
            )

    try:
        with settled_heap():  # start-up's objects out of the collector's way while trading
            snap = trader.run(duration_s=duration, on_ready=ready)
    finally:
        if trader.lease is not None:
            trader.lease.release()  # released at shutdown; this covers a run that raised
    broker.close()
    reason = trader.status.stop_reason or trader.lease_lost
    if as_json:
        emit_json({**snap, "stop_reason": reason or None})
    else:
        out.print(summary_line(snap))
    if reason:  # it stopped by itself (the broker gone too long, the lease lost): exit 1
        raise CliError(f"{config}: the trader stopped: {reason}")


def summary_line(snap: dict[str, Any]) -> str:
    from tradewind.risk.killrecord import describe_trading

    nav, start = snap.get("nav"), snap.get("nav_start")
    change = f" ({nav - start:+,.2f})" if nav is not None and start is not None else ""
    counts = snap.get("counts", {})
    return (
        f"stopped: NAV {nav:,.2f}{change}; realised {snap.get('realized_pl', 0):+,.2f}, "
        f"unrealised {snap.get('unrealized_pl', 0):+,.2f}; positions {snap.get('positions')}; "
        f"{counts.get('bars', 0)} bars, {counts.get('intents', 0)} orders; "
        f"{describe_trading(snap.get('kill_switch') or {})}"
    )


@app.command("status")
@one_line_errors
def status(as_json: JsonOpt = False) -> None:
    """Deployments, heartbeats, the kill switches, positions and P&L from the database."""
    from tradewind.pipelines.live import live_status
    from tradewind.risk.killrecord import describe_trading

    report = live_status(ready_engine())
    if as_json:
        emit_json(report)
        return
    if not report["deployments"]:
        out.print("no deployments have run yet (tradewind live run --config FILE)")
    for d in report["deployments"]:
        out.print(
            f"{d['name']}: {d['status']} on {d['account_id']}, "
            f"heartbeat {d['heartbeat_age_s']:.0f}s ago"
            f"{'; ' + d['detail'] if d['detail'] else ''}"
        )
    for k in report["kill_switches"]:
        out.print(f"{k['scope']}: {describe_trading(k)}")
    price = price_format(ready_engine())
    for acct, rows in report["pnl"].items():
        for r in rows:
            out.print(
                f"{acct} {pnl_line(r, price)}, realised {r['realized_pl']:+,.2f}, "
                f"unrealised {r['unrealized_pl']:+,.2f}"
            )


def pnl_line(r: dict[str, Any], price: PriceFormat) -> str:
    """The head of one ``live status`` P&L line: the account's NAV, or a position's size,
    average price and mid (to the instrument's display precision)."""
    if r["instrument"] == "*":
        return f"account: NAV {fmt_number(r['nav'])}"
    head = f"{r['instrument']}: {fmt_units(r['units'])} units"
    if r["units"] and r.get("avg_price") is not None:
        head += f", avg {price(r['instrument'], r['avg_price'])}"
    if r.get("mid") is not None:
        head += f", mid {price(r['instrument'], r['mid'])}"
    return head


def _scope(account: str | None) -> str:
    from tradewind.pipelines.live import known_accounts

    if account:
        return account
    accounts = known_accounts(ready_engine())
    if len(accounts) != 1:
        raise CliError(
            f"give --account (known: {', '.join(accounts) or 'none; run a deployment first'})"
        )
    return accounts[0]


Account = Annotated[str | None, typer.Option(help="The account (default: the only one).")]
By = Annotated[str | None, typer.Option(help="Who (default: your user name).")]


def _set_switch(
    state: str, reason: str, account: str | None, by: str | None, as_json: bool
) -> None:
    """Halt or reset the account's kill switch and print it. The risk log's own warning
    that a switch is latched is silenced: the printed state says it."""
    from tradewind.pipelines.live import set_kill_switch

    logging.getLogger("tradewind.risk").setLevel(logging.ERROR)
    scope = _scope(account)
    rec = set_kill_switch(ready_engine(), scope, state, reason, by or getpass.getuser())
    if as_json:
        emit_json({"account_id": scope, **rec.as_json()})
        return
    out.print(f"{scope}: {rec.describe()}")


@app.command("halt")
@one_line_errors
def halt(
    reason: Annotated[str, typer.Option(help="Why (kept with the switch).")],
    account: Account = None,
    by: By = None,
    as_json: JsonOpt = False,
) -> None:
    """Latch the account's kill switch to halted: no order goes out until a person resumes."""
    _set_switch("halted", reason, account, by, as_json)


@app.command("resume")
@one_line_errors
def resume(
    reason: Annotated[str, typer.Option(help="Why it is safe to trade again.")],
    account: Account = None,
    by: By = None,
    as_json: JsonOpt = False,
) -> None:
    """Reset a latched kill switch to active (only a person can)."""
    _set_switch("active", reason, account, by, as_json)


@app.command("resync")
@one_line_errors
def resync(
    reason: Annotated[str, typer.Option(help="Why the broker's books are right (reviewed).")],
    by: Annotated[str | None, typer.Option(help="The person who reviewed the mismatch.")] = None,
    account: Account = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="A `kind: live` config for the broker (default: "
            "the one the account was last traded with).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Adopt the broker's positions and pending orders into the OMS after a reviewed
    mismatch. Refused while a trader holds the account; the kill switch stays as it is."""
    from tradewind.cli.resync import run_resync

    run_resync(reason=reason, by=by, account=account, config=config, as_json=as_json)
