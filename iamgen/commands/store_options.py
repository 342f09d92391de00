"""``--store PATH`` (or ``IAMGEN_STORE``): the option, on every command that reads a trail.

Like the SQL options (:mod:`.sql_options`), it is added to every command of
the group that has ``--trail`` (:func:`add_store_option`, through
:mod:`.group_options`) and its value goes to the click context, where
:func:`given` finds it for :func:`~iamgen.commands.reading.source_choice` (the
CLI edge), which carries it to the reading.
"""

from __future__ import annotations

from typing import Annotated, Any

from . import group_options
from .group_options import group_option
from .sql_options import SOURCES as SQL_SOURCES

ENVIRONMENT = "IAMGEN_STORE"

StoreOption = Annotated[
    str | None,
    group_option(
        "--store", metavar="PATH", envvar=ENVIRONMENT, show_envvar=True,
        help="Keep what is learned from each trail file in this file (SQLite; made when "
        "missing) and, on later runs, read only the files it does not hold. The output is "
        "the same as without it. See `iamgen store --help`.",
    ),
]


def _declared(store: StoreOption = None) -> None:
    """The option, declared once (see :func:`add_store_option`)."""


def add_store_option(group: Any) -> None:
    """Add ``--store`` to every command of ``group`` that has ``--trail``."""
    group_options.add_to_reading_commands(group, _declared, marker="--trail")


def given() -> str | None:
    """The store of the command being run (None: none, or outside a command)."""
    return group_options.given("store") or None


def given_for(source: str) -> str | None:
    """The store a run reading ``source`` uses: :func:`given`, except one
    only named by the environment for a SQL source, whose reads are never
    kept (exporting the variable for trail runs leaves SQL runs usable;
    ``--store`` given with one is refused where the source is checked)."""
    store = given()
    if store is not None and source in SQL_SOURCES and group_options.from_environment("store"):
        return None
    return store
