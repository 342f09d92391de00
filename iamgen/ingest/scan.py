"""Read trail files into a tally of who needed what: the ingest stage.

Each file is scanned on its own (so files can be spread over processes) into
a :class:`ScanResult`; results merge in any order to the same totals. Bad
input never stops a scan: every skipped file or record is counted by reason,
and bad input also leaves a one-line warning naming the file and record.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..model import Filters, Permission, Principal, Resolution, Usage, is_access_denied
from ..sources.base import RecordSource, TrailFile
from ..sources.decode import BadInput, iter_records
from .identity import principal_of

MAX_WARNINGS_PER_FILE = 200

# Skip reasons that mean the input itself is damaged: each gets a warning line.
BAD_INPUT_REASONS = frozenset(
    {
        "unreadable_file",
        "invalid_json",
        "not_cloudtrail",
        "not_a_record",
        "missing_userIdentity",
        "missing_eventName",
        "missing_eventSource",
        "bad_eventTime",
        "bad_identity_arn",
    }
)


@dataclass(slots=True)
class _Seen:
    count: int
    first: datetime
    last: datetime
    regions: set[str]


@dataclass
class ScanResult:
    """Totals of one or more scanned files. Merge with :meth:`merge`."""

    files_read: int = 0
    events_read: int = 0
    events_used: int = 0
    files_skipped: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    warnings: list[tuple[str, int, str]] = field(default_factory=list)
    warnings_dropped: int = 0
    principal_events: Counter[Principal] = field(default_factory=Counter)
    denied_actions: Counter[str] = field(default_factory=Counter)
    failed_actions: Counter[str] = field(default_factory=Counter)
    unresolved: Counter[tuple[str, str]] = field(default_factory=Counter)
    unknown_resource: Counter[str] = field(default_factory=Counter)
    first_event: datetime | None = None
    last_event: datetime | None = None
    _usage: dict[tuple[Principal, Permission, bool], _Seen] = field(default_factory=dict)

    def merge(self, other: ScanResult) -> None:
        """Add another result's totals into this one."""
        self.files_read += other.files_read
        self.events_read += other.events_read
        self.events_used += other.events_used
        for mine, theirs in (
            (self.files_skipped, other.files_skipped),
            (self.skipped, other.skipped),
            (self.principal_events, other.principal_events),
            (self.denied_actions, other.denied_actions),
            (self.failed_actions, other.failed_actions),
            (self.unresolved, other.unresolved),
            (self.unknown_resource, other.unknown_resource),
        ):
            mine.update(theirs)
        self.warnings.extend(other.warnings)
        self.warnings_dropped += other.warnings_dropped
        for moment in (other.first_event, other.last_event):
            if moment is not None:
                self._span(moment)
        for key, seen in other._usage.items():
            mine_seen = self._usage.get(key)
            if mine_seen is None:
                self._usage[key] = _Seen(seen.count, seen.first, seen.last, set(seen.regions))
            else:
                mine_seen.count += seen.count
                mine_seen.first = min(mine_seen.first, seen.first)
                mine_seen.last = max(mine_seen.last, seen.last)
                mine_seen.regions |= seen.regions

    def usages(self) -> tuple[Usage, ...]:
        """Every (principal, permission, denied) observed, sorted."""
        return tuple(
            Usage(
                principal=principal,
                permission=permission,
                denied=denied,
                count=seen.count,
                first_seen=seen.first,
                last_seen=seen.last,
                regions=tuple(sorted(seen.regions)),
            )
            for (principal, permission, denied), seen in sorted(
                self._usage.items(), key=lambda item: item[0]
            )
        )

    def sorted_warnings(self) -> list[str]:
        """Warning lines, ordered by file and record index."""
        lines = []
        for location, index, text in sorted(self.warnings):
            where = location if index < 0 else f"{location}: record {index}"
            lines.append(f"warning: {where}: {text}")
        return lines

    # -- accumulation -------------------------------------------------------

    def _span(self, moment: datetime) -> None:
        if self.first_event is None or moment < self.first_event:
            self.first_event = moment
        if self.last_event is None or moment > self.last_event:
            self.last_event = moment

    def _warn(self, location: str, index: int | None, reason: str, text: str) -> None:
        self.skipped[reason] += 1
        if len(self.warnings) >= MAX_WARNINGS_PER_FILE:
            self.warnings_dropped += 1
            return
        self.warnings.append((location, -1 if index is None else index, text))

    def _use(self, principal: Principal, permission: Permission, denied: bool,
             moment: datetime, region: str) -> None:
        key = (principal, permission, denied)
        seen = self._usage.get(key)
        if seen is None:
            self._usage[key] = _Seen(1, moment, moment, {region})
        else:
            seen.count += 1
            if moment < seen.first:
                seen.first = moment
            if moment > seen.last:
                seen.last = moment
            seen.regions.add(region)


def parse_event_time(value: Any) -> datetime | None:
    """CloudTrail's ``eventTime`` as an aware UTC datetime, or None when unreadable."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    text = value.strip().replace(" ", "T", 1)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _record_account(record: Mapping[str, Any]) -> str | None:
    account = record.get("recipientAccountId")
    if isinstance(account, str):
        return account
    identity = record.get("userIdentity")
    if isinstance(identity, Mapping) and isinstance(identity.get("accountId"), str):
        return identity["accountId"]
    return None


def scan_record(result: ScanResult, location: str, index: int, record: Any,
                filters: Filters) -> None:
    """Fold one decoded record into ``result``."""
    from .resolve import resolve  # the resolver loads its data lazily

    result.events_read += 1
    if not isinstance(record, Mapping):
        result._warn(location, index, "not_a_record", "record is not a JSON object")
        return
    name = record.get("eventName")
    if not isinstance(name, str) or not name:
        result._warn(location, index, "missing_eventName", "record has no eventName")
        return
    source = record.get("eventSource")
    if not isinstance(source, str) or not source:
        result._warn(location, index, "missing_eventSource", f"{name}: record has no eventSource")
        return
    if not isinstance(record.get("userIdentity"), Mapping):
        result._warn(location, index, "missing_userIdentity", f"{name}: record has no userIdentity")
        return
    moment = parse_event_time(record.get("eventTime"))
    if moment is None:
        result._warn(location, index, "bad_eventTime",
                     f"{name}: unreadable eventTime {record.get('eventTime')!r}")
        return
    if not filters.window.contains(moment):
        result.skipped["outside_window"] += 1
        return
    region = record.get("awsRegion") if isinstance(record.get("awsRegion"), str) else ""
    if filters.regions and region not in filters.regions:
        result.skipped["other_region"] += 1
        return
    if filters.accounts and _record_account(record) not in filters.accounts:
        result.skipped["other_account"] += 1
        return
    result._span(moment)
    principal = principal_of(record)
    if isinstance(principal, str):
        if principal in BAD_INPUT_REASONS:
            result._warn(location, index, principal, f"{name}: unusable userIdentity")
        else:
            result.skipped[principal] += 1
        return
    result.principal_events[principal] += 1
    error = record.get("errorCode")
    denied = isinstance(error, str) and is_access_denied(error)
    resolution: Resolution = resolve(record)
    if resolution.no_grant is not None:
        result.skipped["no_permission_needed"] += 1
        return
    if resolution.unresolved or not resolution.permissions:
        result.skipped["unresolved_action"] += 1
        result.unresolved[(source, name)] += 1
        return
    if error and not denied:
        result.skipped["failed_call"] += 1
        for permission in resolution.permissions:
            result.failed_actions[permission.action] += 1
        return
    if denied:
        result.skipped["denied_call"] += 1
        for action in {p.action for p in resolution.permissions}:
            result.denied_actions[action] += 1
    else:
        result.events_used += 1
        for action in resolution.unknown_resource:
            result.unknown_resource[action] += 1
    for permission in resolution.permissions:
        result._use(principal, permission, denied, moment, region)


def scan_file(source: RecordSource, trail_file: TrailFile, filters: Filters) -> ScanResult:
    """Scan one file into a fresh result. Never raises for bad content."""
    result = ScanResult()
    location = trail_file.location
    try:
        data = source.read(trail_file)
    except OSError as exc:
        result.files_skipped["unreadable_file"] += 1
        result._warn(location, None, "unreadable_file", f"cannot read file ({exc.strerror or exc})")
        return result
    result.files_read += 1
    for item in iter_records(data):
        if isinstance(item, BadInput):
            result._warn(location, item.index, item.reason, item.detail)
            continue
        index, record = item
        scan_record(result, location, index, record, filters)
    return result


def _scan_batch(source: RecordSource, batch: list[TrailFile], filters: Filters) -> ScanResult:
    total = ScanResult()
    for trail_file in batch:
        total.merge(scan_file(source, trail_file, filters))
    return total


def scan(source: RecordSource, filters: Filters, workers: int = 1) -> ScanResult:
    """Scan every file a source lists, on ``workers`` processes, into one result."""
    files = source.files(filters)
    total = ScanResult()
    total.files_skipped.update(source.skipped())
    if workers <= 1 or len(files) < 4 or any(f.location == "<stdin>" for f in files):
        for trail_file in files:
            total.merge(scan_file(source, trail_file, filters))
        return total
    batches = _batches(files, workers * 8)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for part in pool.map(_scan_batch, [source] * len(batches), batches,
                             [filters] * len(batches)):
            total.merge(part)
    return total


def _batches(files: list[TrailFile], count: int) -> list[list[TrailFile]]:
    count = max(1, min(count, len(files)))
    return [files[i::count] for i in range(count)]


def principals_seen(result: ScanResult) -> tuple[Principal, ...]:
    """Every principal with at least one event, sorted."""
    return tuple(sorted(result.principal_events))


def usage_for(usages: Iterable[Usage], principal: Principal) -> tuple[Usage, ...]:
    """The usages of one principal."""
    return tuple(u for u in usages if u.principal == principal)
