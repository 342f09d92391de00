"""The ``iamgen`` command line: wires the pipeline stages, maps errors to exit codes."""

from __future__ import annotations

import errno
import functools
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError
from typer._click.exceptions import UsageError as CommandLineError
from typer.core import TyperGroup

from . import __version__
from .commands.sql_options import add_sql_options
from .commands.store_options import add_store_option
from .errors import INTERRUPTED_EXIT, IamgenError, InputError

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

_USUAL = ("0 done; 2 bad usage; 3 unreadable input, or output that cannot be written; "
          "4 nothing usable read, or a named principal never seen")
_AWS = "7 AWS refused reading events (credentials, authorization)"
_TOO_LARGE = "6 a single permission cannot fit one policy document"
_GRANTS = "5 grants unreadable"
EXIT_CODES: dict[str, str] = {
    "suggest": f"{_USUAL}; {_TOO_LARGE}; {_AWS}",
    "explain": _USUAL,
    "diff": f"{_USUAL}, or grants of another account; {_GRANTS}; {_AWS}; "
            "10 removable grants found with --fail-on-unused",
    "graph": f"{_USUAL}; {_AWS}",
    "who": f"{_USUAL}; {_AWS}",
    "chains": f"{_USUAL}; {_AWS}",
    "review": f"{_USUAL}, or no principal to review; {_GRANTS}; {_AWS}",
    "backtest": f"{_USUAL}; {_TOO_LARGE}; {_AWS}; "
                "11 the learned policies fail --fail-under or allow an --expect-denied request",
}
"""Each command's exit codes, shown at the end of its --help (130 means interrupted)."""

# Placeholders for option values in --help, in place of typer's type names
# (<str>, <list[str]>); flags show none. Options a command declares with its
# own metavar (its --format choices) keep theirs.
METAVARS: dict[str, str] = {
    "--trail": "PATH", "--since": "WHEN", "--until": "WHEN", "--account": "ACCOUNT_ID",
    "--region": "REGION", "--output-dir": "DIR", "--output": "FILE", "--templates": "DIR",
    "--source": "[trail|lookup|athena|duckdb]", "--lookup-attribute": "KEY=VALUE", "--profile": "NAME",
    "--workers": "N", "--fold-threshold": "N", "--min-variants": "N", "--limit": "N",
    "--grants": "FILE", "--graph": "FILE", "--chart": "FILE", "--expect-denied": "FILE",
    "--endpoint-url": "URL", "--holdout": "SPAN", "--event": "NAME", "--principal": "NAME",
    "--format": "FORMAT",
}
ARGUMENT_METAVARS: dict[str, str] = {
    "principals": "PRINCIPAL", "pattern": "ARN_PATTERN", "role": "ROLE",
}


class IamgenGroup(TyperGroup):
    """The command group: plain help placeholders, and every usage error as one line.

    Click's own usage errors (an unknown option, a bad choice, a value out of
    range, a missing option) print as ``iamgen: error: ...`` and exit 2, the way
    iamgen's own errors do, instead of the framework's boxed help excerpt.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        add_sql_options(self)  # --athena-table, --workgroup, --output-location, --show-sql
        add_store_option(self)  # --store
        for command in self.commands.values():
            for param in command.params:
                _plain_metavar(param)
        # Options naming a file or folder: an empty value would be the current folder
        # (a Path of "" is "."), read or written in place of what was meant. (--store ''
        # is no store: it overrides IAMGEN_STORE.)
        self.path_options = frozenset(
            opt for command in self.commands.values() for param in command.params
            if getattr(param, "metavar", None) in _PATH_METAVARS and param.name != "store"
            for opt in (*param.opts, *param.secondary_opts))

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        try:
            _refuse_empty_paths(sys.argv[1:] if args is None else args, self.path_options)
            outcome = super().main(args, prog_name, complete_var, standalone_mode=False,
                                   **extra)
            sys.stdout.flush()  # now, so a failure to write is told here, not at exit
            code = outcome if isinstance(outcome, int) else 0
        except NoArgsIsHelpError as exc:  # bare ``iamgen``: the help, as click shows it
            exc.show()
            code = exc.exit_code
        except ClickException as exc:
            typer.echo(f"iamgen: error: {_one_line(exc)}", err=True)
            code = exc.exit_code
        except (typer.Abort, KeyboardInterrupt):
            typer.echo("iamgen: interrupted", err=True)
            code = INTERRUPTED_EXIT
        except OSError as exc:  # writing the output: a command's, --help's, --version's
            if exc.errno not in _OUTPUT_FAILURES:
                raise
            _drop_stdout()
            typer.echo(f"iamgen: error: cannot write output ({exc.strerror or exc})", err=True)
            code = InputError.exit_code
        if not standalone_mode:
            return code
        sys.exit(code)


_PATH_METAVARS = frozenset({"PATH", "DIR", "FILE"})


def _refuse_empty_paths(args: Sequence[str], path_options: frozenset[str]) -> None:
    """A usage error for a path option (one of ``path_options``) given an
    empty value (``--trail ''``)."""
    for index, arg in enumerate(args):
        if arg == "--":
            return
        name, equals, value = arg.partition("=")
        if name in path_options and (
                (equals and not value) or (not equals and index + 1 < len(args)
                                           and args[index + 1] == "")):
            raise CommandLineError(f"{name}: an empty path (give a file or folder, or leave the "
                             "option out)")


def _one_line(exc: ClickException) -> str:
    text = " ".join(exc.format_message().replace("Value error, ", "").split())
    text = text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text
    ctx = getattr(exc, "ctx", None)
    if ctx is not None and ctx.command_path:
        text += f" (see {ctx.command_path} --help)"
    return text


def _plain_metavar(param: Any) -> None:
    if getattr(param, "metavar", None) is not None:
        return
    if getattr(param, "param_type_name", "") == "argument":
        param.metavar = ARGUMENT_METAVARS.get(param.name or "", (param.name or "").upper())
        param.display_type_rich = lambda ctx: None  # the metavar says it; no <list[str]>
        return
    if getattr(param, "is_flag", False):
        param.metavar = ""
        return
    named = next((METAVARS[o] for o in param.opts if o in METAVARS), None)
    choices = getattr(param.type_descriptor, "choices", None) if hasattr(
        param, "type_descriptor") else None
    if choices:
        named = "[" + "|".join(str(getattr(c, "value", c)) for c in choices) + "]"
    param.metavar = named or "TEXT"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"iamgen {__version__}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    """The typer application with every command registered."""
    app = typer.Typer(
        name="iamgen",
        cls=IamgenGroup,
        help="Least-privilege IAM policies from what AWS principals did in CloudTrail.",
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings={"max_content_width": 100},
    )

    @app.callback(epilog="Exit codes: see each command's --help; 130 interrupted.")
    def _root(
        version: bool = typer.Option(False, "--version", "-V", callback=_version,
                                     is_eager=True, help="Print the version and exit."),
    ) -> None:
        """iamgen: least-privilege IAM from CloudTrail."""

    for module_name, function, command in COMMANDS:
        module = importlib.import_module(f"iamgen.commands.{module_name}")
        app.command(command, epilog=f"Exit codes: {EXIT_CODES[command]}; "
                    f"{INTERRUPTED_EXIT} interrupted.")(guarded(getattr(module, function)))
    store = importlib.import_module("iamgen.commands.store")
    app.add_typer(store.build_store_app(guarded, f"Exit codes: {store.EXIT_CODES}; "
                                        f"{INTERRUPTED_EXIT} interrupted."), name="store")
    return app


def guarded(function: Callable[..., None]) -> Callable[..., None]:
    """Wrap a command so an IamgenError prints one line and exits with its code."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            function(*args, **kwargs)
        except IamgenError as exc:  # one line, whatever a library's message holds
            typer.echo(f"iamgen: error: {' '.join(str(exc).split())}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("iamgen: interrupted", err=True)
            raise typer.Exit(INTERRUPTED_EXIT) from None

    return wrapper


# What writing the output (standard output: files are checked and reported
# where they are written) fails with: a full disk or quota, a file too large,
# a device that fails. Never a reading error: reading errors are told as
# iamgen's own errors where they happen.
_OUTPUT_FAILURES = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})


def _drop_stdout() -> None:
    """Send what is left in standard output's buffer nowhere, so the exit does
    not fail on it again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file behind stdout
        pass


def main() -> None:
    """Console-script entry point."""
    build_app()(prog_name="iamgen")
