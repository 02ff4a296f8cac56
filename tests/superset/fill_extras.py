"""What the demo leaves out, added the platform's own way so every dashboard has rows: a file
import with bad rows (quarantine), a kill switch latched and reset by a person (risk events),
and a retrain judged by the default champion/challenger gate (a promotion decision).

Run as ``python fill_extras.py`` with TRADEWIND_HOME and TRADEWIND_DATABASE_URL of a database
``tradewind demo`` filled; it exits non-zero with the failing step's output.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TRADEWIND = str(Path(sys.executable).parent / "tradewind")
# the demo's EUR_USD H1 bars end 2024-10-17: the gate's rolling splits (175 + 56 + 56 days)
# fit before this instant
RETRAIN_AS_OF = datetime(2024, 10, 14, tzinfo=UTC)


def bad_csv(path: Path) -> Path:
    """48 GBP_USD H1 bars of which 6 are bad in three ways the importer quarantines."""
    lines = ["time,open,high,low,close,volume"]
    start = datetime(2025, 3, 3, tzinfo=UTC)
    for i in range(48):
        ts = (start + timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        o, c = 1.27 + i * 1e-4, 1.2702 + i * 1e-4
        h, low, close, volume = f"{c + 3e-4:.5f}", f"{o - 3e-4:.5f}", f"{c:.5f}", "500"
        if i in (5, 17):
            h = f"{o - 1e-3:.5f}"  # high below open and close
        if i in (9, 21):
            close = "nan"
        if i in (30, 41):
            volume = "-5"
        lines.append(f"{ts},{o:.5f},{h},{low},{close},{volume}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(*args: str) -> None:
    done = subprocess.run([TRADEWIND, *args], capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        sys.exit(f"tradewind {' '.join(args)} failed: {(done.stdout + done.stderr)[-3000:]}")


def retrain() -> None:
    from tradewind.config import load_config
    from tradewind.config.promotion import PromotionGate
    from tradewind.pipelines.retrain import retrain as do_retrain
    from tradewind.registry import configure, resolve_tracking
    from tradewind.storage.engine import make_engine

    engine = make_engine(os.environ["TRADEWIND_DATABASE_URL"])
    try:
        do_retrain(
            engine,
            REPO / "configs" / "models" / "gbm_eurusd_h1.yaml",
            load_config(REPO / "configs" / "gates" / "default.yaml", PromotionGate),
            run_key="dashboard-test",
            as_of=RETRAIN_AS_OF,
            tracking=configure(resolve_tracking(Path(os.environ["TRADEWIND_HOME"]))),
            strategies_dir=REPO / "strategies",
        )
    finally:
        engine.dispose()


def main() -> None:
    home = Path(os.environ["TRADEWIND_HOME"])
    run("data", "import", str(bad_csv(home / "gbp_usd_h1.csv")), "--instrument", "GBP_USD",
        "--timeframe", "H1")  # fmt: skip
    run("live", "halt", "--reason", "desk review of the open short", "--by", "risk-desk")
    run("live", "resume", "--reason", "reviewed: within limits", "--by", "risk-desk")
    retrain()


if __name__ == "__main__":
    main()
