"""Options the command group adds to every command that reads events: the SQL
options (:mod:`.sql_options`) to those with ``--source``, and ``--store``
(:mod:`.store_options`) to those with ``--trail``.

Each is declared once, as a parameter of a function that does nothing, and
added by :func:`add_to_reading_commands`. Their values go to the click context
(:func:`given` finds them there), not to each command's function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer
from typer._click.globals import get_current_context

_META = "iamgen.group_options"


def _remember(ctx: typer.Context, param: typer.CallbackParam, value: Any) -> Any:
    ctx.meta.setdefault(_META, {})[param.name] = value
    return value


def group_option(*names: str, **settings: Any) -> Any:
    """A ``typer.Option`` whose value goes to the click context, under the
    parameter's name, instead of to the command's function."""
    return typer.Option(*names, callback=_remember, expose_value=False, **settings)


def given(name: str) -> Any:
    """The value of the group option ``name`` in the command being run
    (None when it was not declared, or outside a command)."""
    ctx = get_current_context(silent=True)
    return ctx.meta.get(_META, {}).get(name) if ctx is not None else None


def from_environment(name: str) -> bool:
    """Whether the group option ``name`` of the command being run took its
    value from its environment variable (not the command line)."""
    ctx = get_current_context(silent=True)
    found = ctx.get_parameter_source(name) if ctx is not None else None
    return found is not None and found.name == "ENVIRONMENT"


def _parameters(declared: Callable[..., None]) -> list[Any]:
    """The click parameters typer builds from ``declared``'s parameters."""
    app = typer.Typer(add_completion=False)  # completion options belong to the group
    app.command()(declared)
    return list(typer.main.get_command(app).params)


def add_to_reading_commands(group: Any, declared: Callable[..., None],
                            marker: str = "--source") -> None:
    """Add the options ``declared`` declares to every command of ``group`` that
    has the option ``marker`` (each command gets its own copies)."""
    for command in group.commands.values():
        if any(marker in getattr(p, "opts", ()) for p in command.params):
            command.params.extend(_parameters(declared))
