"""``--source athena`` and ``--source duckdb``: the options, and reading through them.

Every command that reads events (those with ``--source``) also takes
``--athena-table DB.TABLE``, ``--workgroup``, ``--output-location`` and
``--show-sql``; :func:`add_sql_options` adds them to the command group
(through :mod:`.group_options`: their values go to the click context, not to
each command's function, and :func:`settings` reads them there for
:func:`~iamgen.commands.reading.source_choice`, the CLI edge), and
:func:`read_sql` does the reading, with the settings it is given, when
``--source`` names an SQL engine.
AWS clients are made here, the edge, the way the other sources make them
(profile, region and endpoint settings; refusals stop the run, exit 7).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from ..errors import UsageError
from ..model import Filters
from ..scanning.tally import ScanResult
from ..sources.aws import ClientFactory
from ..sql.athena import Athena, AthenaTarget
from ..sql.read import SqlReport, athena_query, duckdb_query, read_athena, read_duckdb
from . import group_options
from .group_options import group_option

SOURCES = ("athena", "duckdb")


def _athena_option(name: str, metavar: str, what: str) -> Any:
    """An option of ``--source athena`` only (:func:`check` refuses it with another source)."""
    return group_option(name, metavar=metavar, help=f"With --source athena: {what}")


AthenaTableOption = Annotated[str | None, _athena_option(
    "--athena-table", "DB.TABLE",
    "the CloudTrail table (as the AWS documentation creates it) to query, DATABASE.TABLE.")]
WorkgroupOption = Annotated[str | None, _athena_option(
    "--workgroup", "NAME", "the workgroup to run in (default: primary).")]
OutputLocationOption = Annotated[str | None, _athena_option(
    "--output-location", "S3_URL",
    "where Athena writes the result (default: the workgroup's output location).")]
ShowSqlOption = Annotated[bool, group_option(
    "--show-sql", help="With --source athena or duckdb: print the query and exit.")]


def _declared(athena_table: AthenaTableOption = None, workgroup: WorkgroupOption = None,
              output_location: OutputLocationOption = None,
              show_sql: ShowSqlOption = False) -> None:
    """The options, declared once (see :func:`add_sql_options`)."""


def add_sql_options(group: Any) -> None:
    """Add the options to every command of ``group`` that has ``--source``."""
    group_options.add_to_reading_commands(group, _declared)


@dataclass(frozen=True, slots=True)
class SqlSettings:
    """The SQL options as given."""

    athena_table: str | None = None
    workgroup: str | None = None
    output_location: str | None = None
    show_sql: bool = False


def settings() -> SqlSettings:
    """The SQL options of the command being run (defaults outside one), read
    from the click context: for the CLI edge only."""
    value = group_options.given
    return SqlSettings(value("athena_table"), value("workgroup"), value("output_location"),
                       bool(value("show_sql")))


def check(source: str, trails: Sequence[str], given: SqlSettings) -> None:
    """Refuse options that do not go together."""
    athena_only = [name for name, value in (("--athena-table", given.athena_table),
                                             ("--workgroup", given.workgroup),
                                             ("--output-location", given.output_location))
                   if value is not None]
    if source != "athena" and athena_only:
        raise UsageError(f"{', '.join(athena_only)} go with --source athena")
    if source not in SOURCES and given.show_sql:
        raise UsageError("--show-sql goes with --source athena or --source duckdb")
    if source == "athena":
        if trails:
            raise UsageError("--source athena reads the --athena-table: give no --trail")
        if given.athena_table is None:
            raise UsageError("--source athena needs --athena-table DATABASE.TABLE")
    if source == "duckdb" and not trails:
        raise UsageError("--source duckdb needs at least one --trail PATH (files, folders, "
                         "s3:// URLs)")


def read_sql(trails: Sequence[str], filters: Filters, workers: int | None, *, source: str,
             sql: SqlSettings, aws_profile: str | None,
             quiet: bool) -> tuple[ScanResult, SqlReport]:
    """Read through Athena or DuckDB with the SQL options ``sql``: the scan
    result and how it went. ``--show-sql`` prints the query on stdout and ends
    the command. The caller has :func:`check`-ed ``sql`` against ``source``."""
    if source == "athena":
        target = AthenaTarget.parse(sql.athena_table or "", sql.workgroup,
                                    sql.output_location)
        athena = Athena(ClientFactory("athena", profile=aws_profile)(),
                        ClientFactory("glue", profile=aws_profile)(),
                        ClientFactory("s3", profile=aws_profile)())
        if sql.show_sql:
            typer.echo(athena_query(target, athena.table(target), filters).sql, nl=False)
            raise typer.Exit(0)
        line = None if quiet or not sys.stderr.isatty() else _PollLine()
        try:
            result, report = read_athena(athena, target, filters, on_poll=line)
        finally:
            if line is not None:
                line.close()
    else:
        if sql.show_sql:
            typer.echo(duckdb_query(filters), nl=False)
            raise typer.Exit(0)
        result, report = read_duckdb(trails, filters, threads=workers,
                                     s3_factory=ClientFactory("s3", profile=aws_profile))
    return result, report


class _PollLine:
    """The query's state and how long it has run, redrawn in place on stderr."""

    def __init__(self) -> None:
        self._width = 0

    def __call__(self, state: str, seconds: float) -> None:
        text = f"athena: query {state.lower()}, {seconds:.0f} s"
        typer.echo(f"\r{text:<{self._width}}", err=True, nl=False)
        self._width = max(self._width, len(text))

    def close(self) -> None:
        """Blank the line."""
        if self._width:
            typer.echo("\r" + " " * self._width + "\r", err=True, nl=False)
