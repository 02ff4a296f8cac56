"""Usage errors as one line.

A bad option value, an unknown option or command, a missing argument: typer would draw its
boxed usage panel. Here every such error is one line on stderr that says what and where,
with exit code 2 (click's code for usage errors)::

    error: --port: 70000 is not in the range 1<=x<=65535 (try 'tradewind venue serve --help')

The root command's class, :class:`OneLineUsageGroup`, does it, so it holds for the console
script and for anything that runs the app in standalone mode (typer's ``CliRunner`` too).
Help screens (``--help``, and a group run with no arguments) are left as typer draws them."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer
from pydantic import ValidationError
from typer.core import TyperGroup

try:  # typer >= 0.2x carries its own copy of click
    from typer._click.exceptions import (
        BadParameter,
        ClickException,
        MissingParameter,
        NoArgsIsHelpError,
        UsageError,
    )
except ImportError:  # pragma: no cover - older typer on click
    from click.exceptions import (  # type: ignore[assignment]
        BadParameter,
        ClickException,
        MissingParameter,
        NoArgsIsHelpError,
        UsageError,
    )

_BOUNDS = frozenset({"less_than_equal", "greater_than_equal", "less_than", "greater_than"})


def _hint(exc: BadParameter) -> str:
    hint: Any = exc.param_hint
    if hint is None and exc.param is not None:
        opts = getattr(exc.param, "opts", None)
        if exc.param.param_type_name == "option" and opts:
            hint = max(opts, key=len)  # --port rather than -p
        else:
            hint = getattr(exc.param, "display_name_raw", None) or (exc.param.name or "").upper()
    if isinstance(hint, str):
        return hint.strip("'\"")
    return " / ".join(str(h).strip("'\"") for h in hint or ())


def _range(param: Any) -> str | None:
    lo, hi = getattr(param, "min", None), getattr(param, "max", None)
    if lo is not None and hi is not None:
        return f"{lo}<=x<={hi}"
    if lo is not None:
        return f"x>={lo}"
    if hi is not None:
        return f"x<={hi}"
    return None


def _detail(exc: BadParameter) -> str:
    """What was wrong with the value: typer validates with pydantic, whose message does not
    name the value; say it, and a range as click does."""
    cause = exc.__cause__
    if isinstance(cause, ValidationError) and cause.errors():
        first = cause.errors()[0]
        value = first.get("input")
        bounds = _range(exc.param) if first.get("type") in _BOUNDS else None
        if bounds is not None:
            return f"{value} is not in the range {bounds}"
        msg = str(first.get("msg", exc.message))
        return f"{value!r} is not valid: {msg[:1].lower()}{msg[1:]}"
    return exc.message


def _sentence(text: str) -> str:
    text = " ".join(text.split()).rstrip(".")
    return text[:1].lower() + text[1:]


def command_path(root: Any, prog_name: str, args: Sequence[str]) -> str:
    """The command ``args`` name below ``root``, e.g. ``tradewind venue serve``: for an error
    the parser raises without its context (an option missing its value)."""
    command, path = root, [prog_name]
    for arg in args:
        commands = getattr(command, "commands", None)
        if commands is None:
            break
        if arg in commands:  # anything else at a group is one of its options or their values
            command = commands[arg]
            path.append(arg)
    return " ".join(path)


def usage_line(exc: ClickException, where: str | None = None) -> str:
    """``exc`` as the one line the CLI prints (without the ``error:`` prefix); ``where``: the
    command path to point at when ``exc`` carries no context."""
    if isinstance(exc, BadParameter) and not isinstance(exc, MissingParameter):
        what = f"{_hint(exc)}: {_detail(exc)}" if (exc.param or exc.param_hint) else exc.message
    else:
        what = exc.format_message()
    line = _sentence(what)
    if not isinstance(exc, UsageError):
        return line
    ctx = exc.ctx
    if ctx is not None and ctx.command.get_help_option(ctx) is not None:
        line += f" (try '{ctx.command_path} {ctx.help_option_names[0]}')"
    elif ctx is None and where:
        line += f" (try '{where} --help')"
    return line


def _print_error(line: str) -> None:
    from tradewind.cli.context import err

    escaped = line.replace("[", "\\[")
    err.print(f"[bold red]error:[/] {escaped}", highlight=False, soft_wrap=True, emoji=False)


class OneLineUsageGroup(TyperGroup):
    """The root group: runs the command tree as typer does, but prints a usage error as one
    line (see the module's docstring)."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        args = list(sys.argv[1:] if args is None else args)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except NoArgsIsHelpError as exc:  # the help is already printed
            sys.exit(exc.exit_code)
        except ClickException as exc:
            where = command_path(self, prog_name or self.name or "tradewind", args)
            _print_error(usage_line(exc, where))
            sys.exit(exc.exit_code)
        except typer.Abort:
            _print_error("aborted")
            sys.exit(1)
        # not standalone, typer returns an Exit's code in place of the command's result
        sys.exit(rv if isinstance(rv, int) and not isinstance(rv, bool) else 0)
