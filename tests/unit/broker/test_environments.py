"""Environments, the live guard and the token: never in errors, logs or repr (no network:
errors are forced against a loopback port nothing listens on)."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest
from oandapyV20 import oandapyV20 as v20

from tradewind.broker.environments import (
    LiveRefused,
    load_token,
    register_environment,
    resolve_environment,
)
from tradewind.broker.errors import AuthError, BrokerError, BrokerUnavailable, UnknownOutcome
from tradewind.broker.limits import Backoff
from tradewind.broker.oanda import OandaBroker, OandaOptions
from tradewind.broker.ports import Broker, OrderRequest

TOKEN = "tok-5f1d2c3b4a-SECRET-do-not-log"


@pytest.fixture
def env_name() -> Iterator[str]:
    name = "tw-unit-env"
    yield name
    v20.TRADING_ENVIRONMENTS.pop(name, None)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_register_environment(env_name: str) -> None:
    register_environment(env_name, "http://127.0.0.1:9/", "http://127.0.0.1:10")
    assert v20.TRADING_ENVIRONMENTS[env_name] == {
        "api": "http://127.0.0.1:9",
        "stream": "http://127.0.0.1:10",
    }
    # oandapyV20 builds its URLs from it
    api = v20.API(access_token="x", environment=env_name)
    assert api.environment == env_name
    with pytest.raises(BrokerError, match="cannot be redefined"):
        register_environment("practice", "http://127.0.0.1:9")
    with pytest.raises(BrokerError, match="http"):
        register_environment(env_name, "ftp://x")


def test_live_refused_without_the_flag() -> None:
    with pytest.raises(LiveRefused, match="allow_live"):
        resolve_environment("live")
    with pytest.raises(LiveRefused):
        OandaBroker("live", token=TOKEN, account_id="1")
    assert resolve_environment("live", allow_live=True) == "live"
    b = OandaBroker("live", token=TOKEN, account_id="1", allow_live=True)
    b.close()


def test_unknown_environment_registered_from_env_vars(env_name: str) -> None:
    with pytest.raises(BrokerError, match="unknown OANDA environment"):
        resolve_environment(env_name, environ={})
    resolve_environment(env_name, environ={"OANDA_API_URL": "http://127.0.0.1:7"})
    assert v20.TRADING_ENVIRONMENTS[env_name]["stream"] == "http://127.0.0.1:7"


def test_token_from_env_or_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert load_token({"OANDA_TOKEN": f" {TOKEN}\n"}) == TOKEN
    f = tmp_path / "tok"
    f.write_text(TOKEN + "\n")
    assert load_token({"OANDA_TOKEN_FILE": str(f)}) == TOKEN
    with pytest.raises(AuthError, match="OANDA_TOKEN"):
        load_token({})
    with pytest.raises(AuthError, match="cannot read"):
        load_token({"OANDA_TOKEN_FILE": str(tmp_path / "missing")})
    (tmp_path / "empty").write_text("")
    with pytest.raises(AuthError, match="empty"):
        load_token({"OANDA_TOKEN_FILE": str(tmp_path / "empty")})


def test_token_never_in_errors_logs_or_repr(
    env_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    register_environment(env_name, f"http://127.0.0.1:{closed_port()}")
    opts = OandaOptions(
        read_backoff=Backoff(base=0.001, attempts=3),
        resolve_backoff=Backoff(base=0.001, attempts=2),
        connect_timeout=0.5,
        read_timeout=0.5,
    )
    caplog.set_level(logging.DEBUG)
    broker = OandaBroker(env_name, token=TOKEN, account_id="101-1", options=opts)
    assert isinstance(broker, Broker)
    texts = [repr(broker), str(broker)]
    with pytest.raises(BrokerUnavailable) as read_err:
        broker.account_summary()
    texts += [str(read_err.value), repr(read_err.value)]
    broker._last_txn = 1  # a known id, so the submit goes straight to the wire
    with pytest.raises((BrokerUnavailable, UnknownOutcome)) as order_err:
        broker.submit_order(OrderRequest("EUR_USD", 10, client_id="c-1"))
    texts += [str(order_err.value), repr(order_err.value)]
    broker.close()
    texts += [r.getMessage() for r in caplog.records]
    texts += [repr(r.args) for r in caplog.records]
    assert len(caplog.records) > 0
    for t in texts:
        assert TOKEN not in t
    # a connection that was never made cannot have placed the order
    assert isinstance(order_err.value, BrokerUnavailable)


def test_redactor_scrubs_any_log_line_that_carries_the_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    b = OandaBroker("practice", token=TOKEN, account_id="1")
    caplog.set_level(logging.INFO)
    logging.getLogger("oandapyV20.oandapyV20").error("echo %s", f"Bearer {TOKEN}")
    assert caplog.records
    assert all(TOKEN not in r.getMessage() for r in caplog.records)
    assert "***" in caplog.records[-1].getMessage()
    b.close()
