"""Reading events as a command's options say: where from (files, S3, the
LookupEvents API, or the account's own trail, discovered), with how many
processes, and a progress line on a terminal."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from time import monotonic

import typer

from ..errors import NothingUsableError, UsageError
from ..model import Filters, Window
from ..scanning.gc_tuning import freeze_large_read
from ..scanning.scan import Progress, ScanResult, scan
from ..sources.aws import ClientFactory
from ..sources.base import CombinedSource, RecordSource
from ..sources.discover import TrailPlan, check_principals, discover
from ..sources.local import STDIN, LocalSource
from ..sources.lookup import LookupAttribute, LookupSource
from ..sources.s3 import SCHEME as S3_SCHEME
from ..sources.s3 import S3Source
from ..sql.read import SqlReport
from ..store.read import StoreReport, read_with_store
from ..store.syntheses import code_fingerprint
from . import sql_options, store_options
from .sql_options import SqlSettings


@dataclass(frozen=True, slots=True)
class Run:
    """A scan and the filters it used (and, when no trail was given, what
    discovery found)."""

    result: ScanResult
    filters: Filters
    discovery: TrailPlan | None = None
    default_window: bool = False
    sql: SqlReport | None = None  # --source athena|duckdb: how the query went
    store: StoreReport | None = None  # --store: what came from the store, what was read
    # Whether the usages carry their calls' request context (Usage.context):
    # a read without it is for outputs that do not use it (suggest without --harden).
    contexts: bool = True


@dataclass(frozen=True, slots=True)
class SourceChoice:
    """Where a command reads events from, as its options said (``store`` and
    ``sql``: the group's ``--store`` and SQL options)."""

    source: str = "trail"
    lookup_attribute: tuple[str, str] | None = None
    profile: str | None = None
    quiet: bool = False
    store: str | None = None
    sql: SqlSettings = SqlSettings()


def source_choice(source: str, lookup_attribute: str | None, profile: str | None,
                  quiet: bool) -> SourceChoice:
    """Check and bundle the --source, --lookup-attribute and --profile options,
    with the group's --store and SQL options of the command being run (the CLI
    edge: the one place below a command that reads them from the click context)."""
    attribute = None
    if lookup_attribute is not None:
        key, sep, value = lookup_attribute.partition("=")
        if not sep or not key or not value:
            raise UsageError(f"--lookup-attribute {lookup_attribute!r}: use KEY=VALUE")
        if source != "lookup":
            raise UsageError("--lookup-attribute filters --source lookup only")
        attribute = (key, value)
    return SourceChoice(source, attribute, profile, quiet, store=store_options.given_for(source),
                        sql=sql_options.settings())


def read_chosen(trails: Sequence[str], filters: Filters, workers: int | None,
                choice: SourceChoice, principals: Sequence[str] = (), *,
                contexts: bool = True) -> Run:
    """:func:`read_trails` with a command's source options (no progress when quiet)."""
    return read_trails(trails, filters, workers, source=choice.source,
                       aws_profile=choice.profile, lookup_attribute=choice.lookup_attribute,
                       progress=False if choice.quiet else None, principals=principals,
                       store=choice.store, sql=choice.sql, contexts=contexts)


def read_trails(trails: Sequence[str], filters: Filters, workers: int | None = None, *,
                source: str = "trail", aws_profile: str | None = None,
                lookup_attribute: tuple[str, str] | None = None,
                progress: bool | None = None, principals: Sequence[str] = (),
                store: str | None = None, sql: SqlSettings | None = None,
                contexts: bool = True) -> Run:
    """Scan trails into one result.

    ``source="trail"`` reads ``trails``: files, directories, ``-`` (stdin) and
    ``s3://bucket/prefix`` URLs, mixed freely. ``source="lookup"`` reads the
    CloudTrail LookupEvents API instead (``trails`` must then be empty;
    ``lookup_attribute`` is its one server-side filter, e.g. ``("EventSource",
    "bedrock.amazonaws.com")``). AWS clients follow boto3's conventions
    (``AWS_PROFILE``, ``AWS_REGION``, ``AWS_ENDPOINT_URL``); ``aws_profile``
    overrides the profile. ``progress`` shows a progress line on stderr; by
    default only when stderr is a terminal.

    ``source="trail"`` with no ``trails``: the account's trail is discovered
    (:mod:`iamgen.sources.discover`) and read from its bucket, or LookupEvents
    when it cannot be; an open ``since`` becomes the last 90 days, and each
    of ``principals`` (names or ARNs) is checked against IAM first.

    ``store``: a store file (:mod:`iamgen.store`): files it holds are not
    read again, and what is read is kept there; the result is the same.

    ``sql``: the SQL options (``--athena-table``, ``--workgroup``,
    ``--output-location``, ``--show-sql``) for ``source="athena"`` or
    ``"duckdb"``; None: none given. Options that do not go with ``source``
    are refused (:func:`~.sql_options.check`).

    ``contexts=False``: the calls' request context (``Usage.context``) may be
    left out, which reads faster; for outputs that do not use it. A store
    keeps it once a run on it needed it (:func:`~iamgen.store.read.read_with_store`),
    and SQL sources give it (``Run.contexts`` says whether the usages hold it).
    """
    plan = None
    default_window = False
    sql = SqlSettings() if sql is None else sql
    sql_options.check(source, trails, sql)
    if source in sql_options.SOURCES and store is not None:
        raise UsageError(f"--store goes with --source trail or lookup, not {source}")
    if source in sql_options.SOURCES:
        result, report = sql_options.read_sql(trails, filters, workers, source=source, sql=sql,
                                              aws_profile=aws_profile, quiet=progress is False)
        freeze_large_read(result.events_read)
        return Run(result, filters, sql=report)
    if source == "trail" and not trails:
        plan = discover_trail(aws_profile, principals)
        default_window = filters.window.since is None
        filters = replace(filters, window=discovery_window(filters.window, datetime.now(UTC)))
        source = "lookup" if plan.use_lookup else source
        trails = () if plan.url is None else (plan.url,)
        lookup_attribute = None if plan.use_lookup else lookup_attribute
    if source == "lookup":
        if trails:
            raise UsageError("--source lookup reads the LookupEvents API: give no --trail")
        attribute = LookupAttribute(*lookup_attribute) if lookup_attribute else None
        record_source: RecordSource = LookupSource(
            ClientFactory("cloudtrail", profile=aws_profile).regional,
            attribute=attribute, now=datetime.now(UTC),
        )
        count = 1  # one request stream per region; LookupEvents allows 2 requests/s
    elif source == "trail":
        if not trails:
            raise UsageError(
                "give at least one --trail PATH (a file, a directory, s3://bucket/prefix, "
                "or - for stdin)"
            )
        record_source = _trail_source(trails, aws_profile)
        count = workers if workers is not None else default_workers()
    else:
        raise UsageError(f"unknown source {source!r}: use trail, lookup, athena or duckdb")
    show = sys.stderr.isatty() if progress is None else progress
    line = _ProgressLine() if show else None
    kept = None
    try:
        if store is None:
            result = scan(record_source, filters, workers=max(1, count), progress=line,
                          contexts=contexts)
        else:
            # iamgen as this process loaded it, fingerprinted before a long read:
            # what it synthesizes is kept under that (store.syntheses).
            code_fingerprint()
            result, kept = read_with_store(store, record_source, filters, max(1, count), line,
                                           contexts)
            if not contexts:  # what the store held may have them
                result.leave_out_contexts()
    finally:
        if line is not None:
            line.close()
    freeze_large_read(result.events_read)
    return Run(result, filters, plan, default_window, store=kept, contexts=contexts)


def require_usable(run: Run) -> None:
    """Fail when nothing usable was read at all."""
    result = run.result
    if result.events_used == 0 and not result.principal_events:
        raise NothingUsableError(
            f"nothing usable was read: {result.files_read} files, {result.events_read} events, "
            f"{result.events_used} usable"
        )


DISCOVERY_DAYS = 90


def discovery_window(window: Window, now: datetime) -> Window:
    """The window read from a discovered trail: an open ``since`` becomes
    DISCOVERY_DAYS before now (or before ``until``, when that is earlier still)."""
    if window.since is not None:
        return window
    since = now - timedelta(days=DISCOVERY_DAYS)
    if window.until is not None and window.until <= since:
        since = window.until - timedelta(days=DISCOVERY_DAYS)
    return Window(since=since, until=window.until)


def discover_trail(aws_profile: str | None, principals: Sequence[str] = ()) -> TrailPlan:
    """The plan for the account the AWS settings are for (clients made here,
    the edge); ``principals`` are checked against IAM first."""
    regional = ClientFactory("cloudtrail", profile=aws_profile)
    sts = ClientFactory("sts", profile=aws_profile)()
    plan = discover(sts=sts, cloudtrail=regional(), s3=ClientFactory("s3", profile=aws_profile)(),
                    organizations=ClientFactory("organizations", profile=aws_profile)(),
                    cloudtrail_in=regional.regional)
    named = [p for p in principals if p]
    if named:
        notes = check_principals(ClientFactory("iam", profile=aws_profile)(), plan.account, named)
        plan = replace(plan, notes=(*notes, *plan.notes))
    return plan


# Each reading process keeps its own memo tables and tally (about 150 MB at
# 1M events): beyond this many, memory grows faster than the time saved.
MAX_DEFAULT_WORKERS = 8


def default_workers() -> int:
    """Processes to read with when --workers is not given: the machine's
    cores, at most MAX_DEFAULT_WORKERS."""
    return max(1, min(MAX_DEFAULT_WORKERS, os.cpu_count() or 1))


def _trail_source(trails: Sequence[str], aws_profile: str | None) -> RecordSource:
    local = tuple(t for t in trails if not t.startswith(S3_SCHEME))
    stdin_bytes = sys.stdin.buffer.read() if STDIN in local else None
    parts: list[RecordSource] = []
    if local:
        parts.append(LocalSource(local, stdin_bytes))
    factory = ClientFactory("s3", profile=aws_profile)
    urls = [t for t in dict.fromkeys(trails) if t.startswith(S3_SCHEME)]
    parts.extend(S3Source(url, factory) for url in urls)
    return parts[0] if len(parts) == 1 else CombinedSource(tuple(parts))


class _ProgressLine:
    """Files, bytes and events so far, redrawn in place on stderr (a terminal)."""

    def __init__(self) -> None:
        self._last = 0.0
        self._width = 0

    def __call__(self, done: Progress) -> None:
        now = monotonic()
        if now - self._last < 0.25 and done.files_done < done.files_total:
            return
        self._last = now
        listed = f", {done.files_read:,} files" if done.unit != "files" else ""
        text = (f"reading: {done.files_done}/{done.files_total} {done.unit}{listed}, "
                f"{done.bytes_read / 1e6:,.0f} MB, {done.events_read:,} events")
        typer.echo(f"\r{text:<{self._width}}", err=True, nl=False)
        self._width = max(self._width, len(text))

    def close(self) -> None:
        """Blank the line, so what is printed next starts clean."""
        if self._width:
            typer.echo("\r" + " " * self._width + "\r", err=True, nl=False)
