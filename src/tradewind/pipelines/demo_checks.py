"""The demo's own verdicts: each stage checks what it did, and a stage that did not do what
the demo shows fails it (``StageFailed``, one line saying why).

The demo is the newcomer's proof that the pipeline works on their machine, so "it printed
something" is not enough: an import must store every row of a clean file and a re-import
nothing; every backtested strategy must trade; a training must register a version; a paper
session must end with trading enabled, a clean reconcile, fills for its orders, the OMS's
fills and P&L equal to the broker's, and a NAV change that realised + unrealised P&L,
financing and commission explain to the cent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tradewind.broker.ledger import AccountLedger
    from tradewind.pipelines.backtest import BacktestRun
    from tradewind.pipelines.ingest import ImportReport
    from tradewind.pipelines.train import TrainResult

# v20 money has 4 decimals: each fill's P&L, financing and commission, and the NAV, round
# once each; a cent over a whole session is rounding, anything more is a real difference
MONEY_TOLERANCE = 0.01


class StageFailed(Exception):
    """A demo stage did not do what it shows. ``str()`` is the one line saying why."""


def check_stored(reports: Sequence[ImportReport], rows: int) -> None:
    """Each import of a clean source has all ``rows`` stored: inserted, or already there
    with the same values (a demo run again on the same database); none quarantined,
    conflicting or overwritten."""
    for r in reports:
        where = f"{r.instrument} {r.timeframe} {r.side} from {r.source}"
        if r.quarantined:
            raise StageFailed(f"{where}: {r.quarantined} of {r.rows_read} rows quarantined")
        if r.conflicts or r.overwritten:
            raise StageFailed(
                f"{where}: {r.conflicts} bars conflict with stored ones, "
                f"{r.overwritten} overwritten (expected the same values)"
            )
        if r.inserted + r.skipped_duplicates != rows:
            raise StageFailed(
                f"{where}: {r.inserted} bars inserted and {r.skipped_duplicates} already "
                f"stored, expected {rows}"
            )


def check_reimport(report: ImportReport) -> None:
    """The same file imported again stores nothing new and quarantines nothing."""
    if report.inserted or report.quarantined or report.conflicts or report.overwritten:
        raise StageFailed(
            f"re-importing {report.source} is not idempotent: {report.inserted} inserted, "
            f"{report.overwritten} overwritten, {report.conflicts} conflicts, "
            f"{report.quarantined} quarantined (expected nothing new)"
        )


def check_traded(run: BacktestRun) -> None:
    """Every strategy of a backtest traded at least once."""
    per = run.to_json()["results"]
    if not per:
        raise StageFailed(f"backtest {run.run_id[:8]} ran no strategy")
    idle = [p["strategy"] for p in per if p["trades"] == 0]
    if idle:
        raise StageFailed(f"backtest {run.run_id[:8]}: no trades from {', '.join(idle)}")


def check_registered(result: TrainResult) -> None:
    if not result.model_version:
        raise StageFailed(f"training {result.model_name} registered no model version")


def check_paper(snapshot: dict[str, Any], ledger: AccountLedger) -> None:
    """A paper session: trading still enabled, reconciled, orders filled, the OMS agreeing
    with the broker on fills and P&L, and the broker's NAV change explained."""
    kill = snapshot.get("kill_switch") or {}
    if kill.get("trading") != "enabled":
        why = kill.get("reason") or "no reason recorded"
        raise StageFailed(f"the kill switch halted trading: {why}")
    if not snapshot.get("reconciled"):
        raise StageFailed("the session did not end with a clean reconcile against the broker")
    orders, fills = snapshot["orders"], snapshot["fills"]
    if orders and not fills:
        raise StageFailed(f"{orders} orders placed and none filled")
    if fills != ledger.fills:
        raise StageFailed(f"the OMS recorded {fills} fills, the broker made {ledger.fills}")
    broker_realised = ledger.realised + ledger.financing - ledger.commission
    if abs(snapshot["realized_pl"] - broker_realised) > MONEY_TOLERANCE:
        raise StageFailed(
            f"realised P&L {snapshot['realized_pl']:+,.2f} in the OMS, "
            f"{broker_realised:+,.2f} at the broker (financing and commission included)"
        )
    if abs(ledger.residual) > MONEY_TOLERANCE:
        raise StageFailed(
            f"NAV {ledger.nav:,.2f} is {ledger.residual:+,.2f} away from what the broker's "
            f"transactions explain ({ledger.explained:,.2f})"
        )
