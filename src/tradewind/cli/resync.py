"""``tradewind live resync``: find the account's broker, adopt its books, say what changed."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from tradewind.cli.context import CliError, emit_json, out, ready_engine


def run_resync(
    *, reason: str, by: str | None, account: str | None, config: Path | None, as_json: bool = False
) -> None:
    from tradewind.broker.errors import BrokerError
    from tradewind.config.live import BrokerSpec
    from tradewind.pipelines.live import LiveStartError, load_live_config
    from tradewind.pipelines.live_resync import (
        ResyncRefused,
        resync_account,
        stored_broker_spec,
    )
    from tradewind.risk import KillState
    from tradewind.risk.killrecord import is_person

    if by is None or not is_person(by):
        raise CliError("resync needs --by NAME: the person who reviewed the mismatch")
    if not reason.strip():
        raise CliError("resync needs --reason: why the broker's books are right")
    engine = ready_engine()
    if config is not None:
        cfg = load_live_config(config)
        spec = cfg.broker
        ttl = cfg.lease_ttl_s
        if account is not None:
            spec = spec.model_copy(update={"account_id": account})
    else:
        from tradewind.cli.live import _scope

        account = _scope(account)
        stored = stored_broker_spec(engine, account)
        if stored is None:
            raise CliError(f"account {account}: no deployment has run on it; give --config")
        spec = BrokerSpec.model_validate({**stored, "account_id": account})
        ttl = None
    from tradewind.cli.live import make_broker

    broker = make_broker(spec)
    try:
        kw = {"lease_ttl_s": ttl} if ttl else {}
        done = resync_account(engine, broker, by, reason, **kw)
    except (LiveStartError, ResyncRefused, BrokerError) as exc:
        raise CliError(f"resync of {broker.account_id}: {exc}") from None
    finally:
        broker.close()
    if as_json:
        emit_json(
            {
                "account_id": broker.account_id,
                "resync": asdict(done.resync),
                "reconcile": asdict(done.reconcile),
                "kill_switch": {"state": done.kill_state.value, "reason": done.kill_reason},
            }
        )
        return
    out.print(done.resync.summary())
    out.print(f"reconcile: {done.reconcile.summary()}")
    if done.kill_state is not KillState.ACTIVE:
        out.print(
            f"kill switch {broker.account_id} is {done.kill_state.value} ({done.kill_reason}): "
            "trading needs `tradewind live resume --reason ... --by ...`"
        )
