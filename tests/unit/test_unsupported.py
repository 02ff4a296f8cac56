"""A valid config this engine cannot run is a domain error with the reason, one CLI line."""

from __future__ import annotations

import pytest
import typer

from tradewind.cli.context import one_line_errors
from tradewind.domain.errors import Unsupported


def test_unsupported_is_a_value_error_not_not_implemented() -> None:
    assert issubclass(Unsupported, ValueError)
    assert not issubclass(Unsupported, NotImplementedError)


def test_the_cli_prints_it_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    reason = "the vectorised engine sizes fixed_units only, not 'vol_target'"

    @one_line_errors
    def command() -> None:
        raise Unsupported(reason)

    with pytest.raises(typer.Exit) as exit_:
        command()
    assert exit_.value.exit_code == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert reason in lines[0]
