"""The totals of a scan (:class:`ScanResult`), and how one record adds to them.

:func:`scan_record` folds one generically decoded record into a result: the
plain path, which every record the fast path (:mod:`iamgen.scanning.fast`)
cannot vouch for takes, and the reference the fast path is tested against.
Results merge in any order to the same totals.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from functools import cache
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from ..model import (
    Filters,
    Permission,
    Principal,
    Resolution,
    SortedUsages,
    Usage,
    is_access_denied,
)
from ..mapping.identity import principal_of

MAX_WARNINGS_PER_FILE = 200


def warning_line(location: str, index: int | None, text: str) -> str:
    """``warning: FILE[: record N]: TEXT``: how every bad file or record is reported."""
    where = location if index is None else f"{location}: record {index}"
    return f"warning: {where}: {text}"

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
class UsageTotals:
    """The running totals of one (principal, permission, denied)."""

    principal: Principal
    permission: Permission
    denied: bool
    count: int
    first: datetime
    last: datetime
    regions: tuple[str, ...]  # sorted; a tuple is a quarter the size of a set


# The key of a usage: (principal ARN, principal kind, action, resource,
# conditions, denied): plain values hash and compare faster than the model's
# dataclasses, and sorting the keys sorts the usages.
_UsageKey = tuple[str, str, str, str, tuple[Any, ...], bool]


def _usage_key(principal: Principal, permission: Permission, denied: bool) -> _UsageKey:
    return (principal.arn, principal.kind, permission.action, permission.resource,
            permission.conditions, denied)


@dataclass
class ScanResult:
    """Totals of one or more scanned files. Merge with :meth:`merge`.

    The underscored members are shared with :mod:`iamgen.scanning.fast`, the
    fast path that fills a result in bulk; nothing else touches them.
    """

    files_read: int = 0
    events_read: int = 0
    events_used: int = 0
    bytes_read: int = 0
    files_skipped: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    warnings: list[tuple[str, int, str]] = field(default_factory=list)
    warnings_dropped: int = 0
    principal_events: Counter[Principal] = field(default_factory=Counter)
    denied_actions: Counter[str] = field(default_factory=Counter)
    failed_actions: Counter[str] = field(default_factory=Counter)
    unresolved: Counter[tuple[str, str]] = field(default_factory=Counter)
    unknown_resource: Counter[str] = field(default_factory=Counter)
    # (eventSource, eventName) of calls that belong to no role or user here
    # (AWS services, other accounts' and federated callers): they show which
    # data events the trail records even when no principal made one.
    other_calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    first_event: datetime | None = None
    last_event: datetime | None = None
    _usage: dict[_UsageKey, UsageTotals] = field(default_factory=dict)
    _warned: Counter[str] = field(default_factory=Counter, repr=False, compare=False)
    _usages: SortedUsages | None = field(default=None, repr=False, compare=False)
    # Shipped usages not yet in ``_usage`` (see merge_shipment): usages()
    # merges them in order; everything else adds them to ``_usage`` first.
    _shipped: list[Shipment] = field(default_factory=list, repr=False, compare=False)
    # Correlation by id (``data/correlations.toml``): resources announced per
    # (kind, id), and uses of "*" waiting for them, keyed like usages plus
    # (kind, id). usages() settles them; until then nothing is lost by merging.
    _announced: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict, repr=False)
    _awaiting: dict[tuple[Any, ...], UsageTotals] = field(default_factory=dict, repr=False)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ScanResult):
            return NotImplemented
        self._absorb()
        other._absorb()
        return all(getattr(self, f.name) == getattr(other, f.name)
                   for f in fields(self) if f.compare)

    __hash__ = None  # type: ignore[assignment]

    def merge(self, other: ScanResult) -> None:
        """Add another result's totals into this one."""
        self._absorb()
        other._absorb()
        self._merge_counts(other)
        _merge_totals(self._usage, other._usage)

    def _merge_counts(self, other: ScanResult) -> None:
        """Add another result's counters, warnings and span (not its usages)."""
        self._usages = None
        self.files_read += other.files_read
        self.events_read += other.events_read
        self.events_used += other.events_used
        self.bytes_read += other.bytes_read
        for mine, theirs in (
            (self.files_skipped, other.files_skipped),
            (self.skipped, other.skipped),
            (self.principal_events, other.principal_events),
            (self.denied_actions, other.denied_actions),
            (self.failed_actions, other.failed_actions),
            (self.unresolved, other.unresolved),
            (self.unknown_resource, other.unknown_resource),
            (self.other_calls, other.other_calls),
            (self._warned, other._warned),
        ):
            mine.update(theirs)
        self.warnings.extend(other.warnings)
        self.warnings_dropped += other.warnings_dropped
        for moment in (other.first_event, other.last_event):
            if moment is not None:
                self._span(moment)
        for key, resources in other._announced.items():
            self._announce(key, resources)
        _merge_totals(self._awaiting, other._awaiting)

    def usages(self) -> SortedUsages:
        """Every (principal, permission, denied) observed, sorted (computed once).

        Shipped usages are merged in here, in order, without being added to
        this result's table first (each becomes one object, not two).
        """
        if self._usages is None:
            own = sorted(self._usage.items(), key=itemgetter(0))
            if self._awaiting:
                own = sorted([*own, *self._settled()], key=itemgetter(0))
            if not self._shipped and not self._awaiting:
                self._usages = SortedUsages(
                    Usage(seen.principal, seen.permission, seen.denied, seen.count, seen.first,
                          seen.last, seen.regions)
                    for _, seen in own)
            else:
                # Each part is sorted and holds a key once: a stable sort of the
                # parts side by side merges runs (linear), equal keys adjacent.
                parts: list[tuple[_UsageKey, Any]] = own
                for shipment in self._shipped:
                    parts.extend(shipment.keyed_rows())
                parts.sort(key=itemgetter(0))
                self._usages = SortedUsages(_combined(parts))
        return self._usages

    def __getstate__(self) -> dict[str, Any]:
        """Pickled compactly: usages as plain rows (see :meth:`ship`)."""
        self._absorb()
        state = dict(self.__dict__)
        state["_usage"] = self._usage_rows()
        state["_usages"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        principals, rows = state["_usage"]
        state["_usage"] = {}
        self.__dict__.update(state)
        self._add_usage_rows(principals, rows)

    def ship(self) -> Shipment:
        """This result as a worker process sends it (its usages move into the
        shipment, as plain rows sorted by usage: this result is left without them)."""
        self._absorb()
        principals, rows = self._usage_rows()
        heads = [(principal.arn, principal.kind) for principal in principals]
        rows.sort(key=lambda row: (*heads[row[0]], row[1], row[2], row[3], row[4]))
        self._usage = {}
        self._usages = None
        return Shipment(self, principals, rows)

    def merge_shipment(self, shipment: Shipment) -> None:
        """:meth:`merge` for a shipped result. Its usages are kept as rows
        until :meth:`usages` merges them in order (or anything else needs them
        in this result's table)."""
        self._merge_counts(shipment.totals)  # the totals hold no usages: ship() moved them
        self._shipped.append(shipment)

    def uncorrelated(self) -> Counter[str]:
        """Calls (by action, denied ones aside) still granted on "*": the id
        they name was never announced in the trail."""
        counts: Counter[str] = Counter()
        for key, seen in self._awaiting.items():
            if not seen.denied and key[-2:] not in self._announced:
                counts[seen.permission.action] += seen.count
        return counts

    def _settled(self) -> list[tuple[_UsageKey, UsageTotals]]:
        """Waiting uses on the resources announced for their id (else "*"),
        keyed as usages."""
        out = []
        for key, seen in self._awaiting.items():
            permission = seen.permission
            for resource in self._announced.get(key[-2:], ("*",)):
                settled = Permission(permission.action, resource, permission.conditions)
                out.append((_usage_key(seen.principal, settled, seen.denied),
                            UsageTotals(seen.principal, settled, seen.denied, seen.count,
                                        seen.first, seen.last, seen.regions)))
        return out

    def _announce(self, key: tuple[str, str], resources: tuple[str, ...]) -> None:
        self._usages = None
        known = self._announced.get(key)
        self._announced[key] = resources if known is None else tuple(sorted({*known, *resources}))

    def _await(self, principal: Principal, permission: Permission, denied: bool,
               first: datetime, last: datetime, regions: tuple[str, ...], count: int,
               awaits: tuple[str, str]) -> None:
        self._usages = None
        _count_into(self._awaiting, (*_usage_key(principal, permission, denied), *awaits),
                    UsageTotals(principal, permission, denied, count, first, last, regions))

    def _use_resolution(self, principal: Principal, resolution: Resolution, denied: bool,
                        moment: datetime, region: str) -> None:
        """One call's permissions: each a use, or a use waiting for its id."""
        for permission in resolution.permissions:
            if resolution.awaits is not None and permission.resource == "*":
                self._await(principal, permission, denied, moment, moment, (region,), 1,
                            resolution.awaits)
            else:
                self._use(principal, permission, denied, moment, region)

    def _absorb(self) -> None:
        """Add shipped rows still pending to this result's table."""
        while self._shipped:
            shipment = self._shipped.pop()
            self._add_usage_rows(shipment.principals, shipment.rows)

    def _usage_rows(self) -> tuple[tuple[Principal, ...], list[tuple[Any, ...]]]:
        """Usages as plain tuples, each principal once (by index): cheap to pickle."""
        principals: dict[Principal, int] = {}
        rows = []
        for seen in self._usage.values():
            index = principals.setdefault(seen.principal, len(principals))
            permission = seen.permission
            rows.append((index, permission.action, permission.resource, permission.conditions,
                         seen.denied, seen.count, seen.first, seen.last, seen.regions))
        return tuple(principals), rows

    def _add_usage_rows(self, principals: tuple[Principal, ...],
                        rows: list[tuple[Any, ...]]) -> None:
        self._usages = None
        usage = self._usage
        heads = [(principal.arn, principal.kind) for principal in principals]
        for index, action, resource, conditions, denied, count, first, last, regions in rows:
            arn, kind = heads[index]
            _count_into(usage, (arn, kind, action, resource, conditions, denied),
                        UsageTotals(principals[index], Permission(action, resource, conditions),
                                    denied, count, first, last, regions))

    def sorted_warnings(self) -> list[str]:
        """Warning lines, ordered by file and record index."""
        return [warning_line(location, None if index < 0 else index, text)
                for location, index, text in sorted(self.warnings)]

    # -- accumulation -------------------------------------------------------

    def _span(self, moment: datetime) -> None:
        if self.first_event is None or moment < self.first_event:
            self.first_event = moment
        if self.last_event is None or moment > self.last_event:
            self.last_event = moment

    def _warn(self, location: str, index: int | None, reason: str, text: str) -> None:
        self.skipped[reason] += 1
        self._warned[location] += 1
        if self._warned[location] > MAX_WARNINGS_PER_FILE:
            self.warnings_dropped += 1
            return
        self.warnings.append((location, -1 if index is None else index, text))

    def _use(self, principal: Principal, permission: Permission, denied: bool,
             moment: datetime, region: str) -> None:
        if self._shipped:
            self._absorb()
        self._usages = None
        _count_into(self._usage, _usage_key(principal, permission, denied),
                    UsageTotals(principal, permission, denied, 1, moment, moment, (region,)))


@dataclass(frozen=True, slots=True)
class Shipment:
    """A result on its way from a worker process: its totals (without usages)
    and its usages as rows sorted by usage (:meth:`ScanResult.ship`)."""

    totals: ScanResult
    principals: tuple[Principal, ...]
    rows: list[tuple[Any, ...]]

    def keyed_rows(self) -> Iterator[tuple[_UsageKey, Any]]:
        """(usage key, (principal, row)) for each row, in order."""
        principals = self.principals
        heads = [(principal.arn, principal.kind) for principal in principals]
        for row in self.rows:
            arn, kind = heads[row[0]]
            yield (arn, kind, row[1], row[2], row[3], row[4]), (principals[row[0]], row)


def _combined(parts: list[tuple[_UsageKey, Any]]) -> list[Usage]:
    """One Usage per key of sorted (key, totals or shipped row) pairs; equal
    keys (adjacent: the same usage seen by two processes) are added up."""
    out: list[Usage] = []
    append = out.append
    last_key: _UsageKey | None = None
    for key, item in parts:
        if item.__class__ is UsageTotals:
            usage = Usage(item.principal, item.permission, item.denied, item.count, item.first,
                          item.last, item.regions)
        else:
            principal, row = item
            usage = Usage(principal, Permission(row[1], row[2], row[3]), row[4], row[5], row[6],
                          row[7], row[8])
        if key == last_key:
            before = out[-1]
            out[-1] = Usage(before.principal, before.permission, before.denied,
                            before.count + usage.count, min(before.first_seen, usage.first_seen),
                            max(before.last_seen, usage.last_seen),
                            tuple(sorted({*before.regions, *usage.regions})))
        else:
            append(usage)
            last_key = key
    return out


def _merge_totals(mine: dict[Any, UsageTotals], theirs: dict[Any, UsageTotals]) -> None:
    """Add one table of totals into another (copies: the two never share an entry)."""
    for key, seen in theirs.items():
        _count_into(mine, key, UsageTotals(seen.principal, seen.permission, seen.denied,
                                           seen.count, seen.first, seen.last, seen.regions))


def _count_into(table: dict[Any, UsageTotals], key: Any, totals: UsageTotals) -> None:
    """Add ``totals`` to the entry at ``key``, or make it the entry (it is not copied)."""
    found = table.get(key)
    if found is None:
        table[key] = totals
    else:
        _add_to(found, totals.count, totals.first, totals.last, totals.regions)


def _add_to(seen: UsageTotals, count: int, first: datetime, last: datetime,
            regions: Iterable[str]) -> None:
    seen.count += count
    seen.first = min(seen.first, first)
    seen.last = max(seen.last, last)
    if not set(regions) <= set(seen.regions):
        seen.regions = tuple(sorted({*seen.regions, *regions}))


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
    from ..mapping.resolve import resolve  # the resolver loads its data lazily

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
        announce_only(result, source, name, record)
        return
    region = record.get("awsRegion") if isinstance(record.get("awsRegion"), str) else ""
    if filters.regions and region not in filters.regions:
        result.skipped["other_region"] += 1
        announce_only(result, source, name, record)
        return
    if filters.accounts and _record_account(record) not in filters.accounts:
        result.skipped["other_account"] += 1
        announce_only(result, source, name, record)
        return
    result._span(moment)
    principal = principal_of(record)
    if isinstance(principal, str):
        if principal in BAD_INPUT_REASONS:
            result._warn(location, index, principal, f"{name}: unusable userIdentity")
        else:
            result.skipped[principal] += 1
            result.other_calls[(source, name)] += 1
            announce_only(result, source, name, record)
        return
    result.principal_events[principal] += 1
    resolution: Resolution = resolve(record)
    denied = count_outcome(result, resolution, source, name, record.get("errorCode"), 1)
    if denied is not None:
        result._use_resolution(principal, resolution, denied, moment, region)


@cache
def producer_names() -> frozenset[str]:
    """Lower-cased eventNames of calls that announce ids (``data/correlations.toml``)."""
    from ..mapping.rules import correlation_rules

    return frozenset(name for _, name in correlation_rules()[0])


def announce_only(result: ScanResult, source: str, name: str, record: Mapping[str, Any]) -> None:
    """Take the ids a record announces even though it is not counted (outside
    the filters, or by a caller that is no principal here): the query it
    started ran in that workgroup all the same."""
    if name.lower() not in producer_names() or record.get("errorCode"):
        return
    from ..mapping.resolve import resolve

    announces = resolve(record).announces
    if announces is not None:
        kind, found, resources = announces
        result._announce((kind, found), resources)


def count_outcome(result: ScanResult, resolution: Resolution, source: str, name: str,
                  error: Any, count: int) -> bool | None:
    """Count ``count`` calls of one kind (``source``, ``name``) with one
    resolution and errorCode, in both scan paths: whether they were denied,
    or None when they use no permission."""
    denied = isinstance(error, str) and is_access_denied(error)
    if resolution.no_grant is not None:
        result.skipped["no_permission_needed"] += count
        return None
    if resolution.unresolved or not resolution.permissions:
        result.skipped["unresolved_action"] += count
        result.unresolved[(source, name)] += count
        return None
    if error and not denied:
        result.skipped["failed_call"] += count
        for permission in resolution.permissions:
            result.failed_actions[permission.action] += count
        return None
    if denied:
        result.skipped["denied_call"] += count
        for action in {p.action for p in resolution.permissions}:
            result.denied_actions[action] += count
    else:
        result.events_used += count
        if resolution.awaits is None:  # else counted once settled: uncorrelated()
            for action in resolution.unknown_resource:
                result.unknown_resource[action] += count
        if resolution.announces is not None:
            kind, found, resources = resolution.announces
            result._announce((kind, found), resources)
    return denied


def principals_seen(result: ScanResult) -> tuple[Principal, ...]:
    """Every principal with at least one event, sorted."""
    return tuple(sorted(result.principal_events))
