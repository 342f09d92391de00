"""``--store PATH`` (or ``IAMGEN_STORE``): the option, on every command that reads a trail.

Like the SQL options (:mod:`.sql_options`), it is added to every command of
the group that has ``--source`` (:func:`add_store_option`) and its value goes
to the click context, where :func:`given` finds it for
:func:`~iamgen.commands.reading.read_chosen`.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer._click.globals import get_current_context

ENVIRONMENT = "IAMGEN_STORE"
_META = "iamgen.store"


def _remember(ctx: typer.Context, param: typer.CallbackParam, value: Any) -> Any:
    ctx.meta[_META] = value or None
    return value


StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store", metavar="PATH", envvar=ENVIRONMENT, callback=_remember, expose_value=False,
        show_envvar=True,
        help="Keep what is learned from each trail file in this file (SQLite; made when "
        "missing) and, on later runs, read only the files it does not hold. The output is "
        "the same as without it. See `iamgen store --help`.",
    ),
]


def _declared(store: StoreOption = None) -> None:
    """The option, declared once (see :func:`store_parameters`)."""


def store_parameters() -> list[Any]:
    """The option as click parameters (typer builds them from :func:`_declared`)."""
    app = typer.Typer()
    app.command()(_declared)
    return list(typer.main.get_command(app).params)


def add_store_option(group: Any) -> None:
    """Add ``--store`` to every command of ``group`` that has ``--source``."""
    for command in group.commands.values():
        if any("--source" in getattr(p, "opts", ()) for p in command.params):
            command.params.extend(store_parameters())


def given() -> str | None:
    """The store of the command being run (None: none, or outside a command)."""
    ctx = get_current_context(silent=True)
    return ctx.meta.get(_META) if ctx is not None else None
