"""The ``iamgen`` command line: wires the pipeline stages, maps errors to exit codes."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import Any

import typer

from . import __version__
from .errors import IamgenError

# (module in iamgen.commands, function, command name)
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("suggest", "suggest", "suggest"),
    ("explain", "explain", "explain"),
    ("diff", "diff_command", "diff"),
    ("graph", "graph", "graph"),
    ("graph", "who", "who"),
    ("graph", "chains", "chains"),
    ("review", "review_command", "review"),
    ("backtest", "backtest_command", "backtest"),
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"iamgen {__version__}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    """The typer application with every command registered."""
    app = typer.Typer(
        name="iamgen",
        help="Least-privilege IAM policies from what AWS principals did in CloudTrail.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def _root(
        version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                     help="Print the version and exit."),
    ) -> None:
        """iamgen: least-privilege IAM from CloudTrail."""

    for module_name, function, command in COMMANDS:
        module = importlib.import_module(f"iamgen.commands.{module_name}")
        app.command(command)(guarded(getattr(module, function)))
    return app


def guarded(function: Callable[..., None]) -> Callable[..., None]:
    """Wrap a command so an IamgenError prints one line and exits with its code."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            function(*args, **kwargs)
        except IamgenError as exc:
            typer.echo(f"iamgen: error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("iamgen: interrupted", err=True)
            raise typer.Exit(130) from None

    return wrapper


def main() -> None:
    """Console-script entry point."""
    build_app()()
