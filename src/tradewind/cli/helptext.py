"""Help screens as a shell user expects them.

Typer labels every option with its Python type (``--json <bool>``) and writes a required
argument as ``{run_id}`` in the usage line. Here flags get no label, other options a
conventional one (``TEXT``, ``INTEGER``, ``PATH``, or the choices ``mid|bid|ask``), and
arguments are written in capitals (``RUN``, ``[FILE]``, ``RUN...``). Applied once to the
built command tree by :func:`tidy_help`."""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperOption

_LABELS = {"str": "TEXT", "int": "INTEGER", "float": "FLOAT", "path": "PATH", "datetime": "DATE"}


def _label(raw: str | None) -> str | None:
    if raw is None:
        return None
    inner = raw.removeprefix("<").removesuffix(">")
    base = inner.removesuffix(" range")
    if "|" in base:
        return base
    return _LABELS.get(base, base.upper())


class TidyOption(TyperOption):
    def display_type_rich(self, ctx: Any) -> str | None:
        if self.is_flag or self.count:
            return None
        if self.metavar is not None:
            return self.metavar
        label = _label(self.display_type(ctx))
        return f"{label}..." if label and self.nargs != 1 else label


class TidyArgument(TyperArgument):
    def display_type_rich(self, ctx: Any) -> str | None:
        return None  # the name says it: RUN, FILE

    @property
    def display_name_raw(self) -> str:
        return self.metavar if self.metavar is not None else self.name.upper()

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        if self.nargs != 1 and not name.endswith("..."):
            name += "..."
        return name if self.required else f"[{name}]"


def tidy_help(command: Any) -> Any:
    """Give every parameter of ``command`` (a command built by ``typer.main.get_command``)
    and of its subcommands the tidy help labels; returns ``command``."""
    help_option = command.get_help_option(command.context_class(command))
    for param in [*command.params, *([help_option] if help_option else [])]:
        if type(param) is TyperOption:
            param.__class__ = TidyOption
        elif type(param) is TyperArgument:
            param.__class__ = TidyArgument
    for sub in getattr(command, "commands", {}).values():
        tidy_help(sub)
    return command
