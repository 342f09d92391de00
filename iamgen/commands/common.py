"""What the commands' arguments share: the options every command declares,
--since/--until/--account/--region as filters, role and user names matched to
the principals seen, and the files outputs are written to.

Reading events lives in :mod:`.reading`, the read every command starts with
in :mod:`.read_events`, the run summary in :mod:`.summary`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import InputError, NothingUsableError, UsageError
from ..model import Filters, Principal, PrincipalKind, Window, in_utc
from ..render.names import short_hash

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
        help="Where events come from: trail (the --trail paths and s3:// URLs), lookup "
        "(the LookupEvents API: management events of the last 90 days), athena (one "
        "aggregation query over --athena-table) or duckdb (the same query over the --trail "
        "files, on this machine).",
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
FoldThresholdOption = Annotated[
    int, typer.Option(help="Fold sibling S3 objects into prefix/* above this many.")
]
MinVariantsOption = Annotated[
    int,
    typer.Option(help="A word in a name (no date, id or number shape) becomes * in a name "
                 "pattern only when at least this many names differ in it."),
]
QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print no warnings and no summary on stderr.")
]


def format_option(formats: Sequence[str]) -> Any:
    """``--format``/``-f``: one of ``formats``, in any case (see :func:`checked_format`)."""
    return typer.Option("--format", "-f", metavar=f"[{'|'.join(formats)}]",
                        help="Output format (any case).")


def checked_format(fmt: str, formats: Sequence[str]) -> str:
    """The --format given, lower-cased; a usage error when it is none of ``formats``."""
    fmt = fmt.lower()
    if fmt not in formats:
        raise UsageError(f"unknown --format {fmt!r}: choose one of {', '.join(formats)}")
    return fmt


_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def relative_span(text: str) -> timedelta | None:
    """``90d``, ``12h``, ``2w`` (s, m, h, d, w) as a span, or None when ``text`` is no such span."""
    found = _RELATIVE.match(text.strip())
    if found is None:
        return None
    try:
        return timedelta(**{_UNITS[found[2]]: int(found[1])})
    except (OverflowError, ValueError):  # (ValueError: more digits than int() reads)
        shown = text.strip() if len(text.strip()) <= 40 else text.strip()[:40] + "..."
        raise UsageError(f"{shown!r} is too long a span") from None


def parse_moment(text: str, *, now: datetime, end_of_day: bool = False) -> datetime:
    """An ISO date/time or a relative span before ``now`` (``90d``) as UTC.

    A bare date means the start of that day, or its end when ``end_of_day``.
    """
    text = text.strip()
    span = relative_span(text)
    if span is not None:
        try:
            return now - span
        except OverflowError:
            raise UsageError(f"{text!r} is too long a span") from None
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
    found = in_utc(moment)
    if found is None:
        raise UsageError(f"cannot read time {text!r}: out of the years a date can hold "
                         "(1 to 9999) in UTC")
    return found


# What an AWS region's name looks like (us-east-1, us-gov-west-1, eu-isoe-west-1):
# a value that cannot be one would match no event's awsRegion.
_REGION = re.compile(r"[a-z]{2}(?:-[a-z0-9]+)+")


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
    for region in regions or ():
        if not _REGION.fullmatch(region):
            hint = ": give --region once per region" if "," in region else ""
            raise UsageError(f"--region {region!r} is not a region name (like us-east-1)"
                             + hint)
    return Filters(window=window, accounts=frozenset(accounts or ()),
                   regions=frozenset(regions or ()))


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


def check_subjects(principals: Sequence[str] | None, all_principals: bool) -> None:
    """A usage error unless the command line names roles or users, or says
    ``--all``: not neither, not both (a name next to --all would be ignored),
    and no empty name."""
    if not principals and not all_principals:
        raise UsageError("name at least one role or user, or use --all")
    if principals and all_principals:
        raise UsageError(f"--all, or names ({', '.join(principals)}): not both")
    if principals and any(not name.strip() for name in principals):
        raise UsageError("an empty role or user name")


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
    elif base in ("", ".", ".."):  # no file name (IAM's name pattern allows "..")
        base = f"{principal.kind.value}-{_arn_hash(principal)}"
    elif len(base) > _LONGEST_NAME:  # IAM's names are this long at most: a damaged record
        base = f"{base[:_LONGEST_NAME - 9]}-{_arn_hash(principal)}"
    elif clash:
        base = f"{base}-{principal.kind.value}-{principal.account}"
    return base


def file_stems(principals: Sequence[Principal]) -> dict[Principal, str]:
    """File-safe names, one per principal, no two alike in any case (some
    file systems ignore it, and so do IAM policy names) and none another's
    split part or sidecar (``<stem>.2``, ``<stem>.meta``), so no principal's
    files overwrite another's. A name that clashes is qualified with its kind
    and account, then, if that still clashes (role paths, or ARNs that differ
    only in partition or service), with a short hash of the ARN."""
    stems = {p: file_stem(p) for p in principals}
    for qualified in (lambda p: file_stem(p, clash=True),
                      lambda p: f"{file_stem(p, clash=True)}-{_arn_hash(p)}"):
        clashing = _clashing(stems)
        if not clashing:
            break
        for p in clashing:
            stems[p] = qualified(p)
    for number, p in enumerate(sorted(_clashing(stems), key=lambda p: (p.arn, p.kind.value)), 1):
        stems[p] = f"{stems[p]}-{number}"  # two hashes alike: never seen, still never lost
    return stems


_LONGEST_NAME = 64  # a role's or user's name; qualified stems stay within IAM's 128


def _arn_hash(principal: Principal) -> str:
    return short_hash(f"{principal.kind.value}:{principal.arn}")


_DERIVED = re.compile(r"(.+)\.(?:\d+|meta)")


def _clashing(stems: dict[Principal, str]) -> set[Principal]:
    """The principals whose stem is another's in any case, or another's with
    a part number or ``.meta`` after it."""
    folded: dict[str, list[Principal]] = {}
    for principal, stem in stems.items():
        folded.setdefault(stem.casefold(), []).append(principal)
    clashing = {p for group in folded.values() if len(group) > 1 for p in group}
    for principal, stem in stems.items():
        derived = _DERIVED.fullmatch(stem.casefold())
        if derived and derived.group(1) in folded:
            clashing.add(principal)
    return clashing


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


def write_outputs(files: Sequence[tuple[Path, str]]) -> None:
    """Write text files, all or none where it can be told beforehand: a path
    that is a folder fails the run before any file is written (a full disk
    may still stop it part way)."""
    for path, _ in files:
        try:
            check_output_file(path)
        except InputError as exc:
            raise InputError(f"{exc}; nothing was written") from None
    for path, text in files:
        write_output(path, text)


def write_output(path: Path, text: str) -> None:
    """Write a text file; an OSError becomes one line and exit 3."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None
