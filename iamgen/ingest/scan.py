"""Read trail files into a tally of who needed what: the ingest stage.

Files are scanned in batches (so they can be spread over processes) into a
:class:`ScanResult`; results merge in any order to the same totals. Bad
input never stops a scan: every skipped file or record is counted by reason,
and bad input also leaves a one-line warning naming the file and record.

Speed: S3-delivered files are decoded into typed records (only the fields the
scan reads are materialized), and memo tables skip repeated work: the
principal of a ``userIdentity`` (keyed on its exact JSON bytes) and the
resolution of a call (keyed on its :class:`~iamgen.ingest.resources.Call`,
then on only what the resolution read of it; see :class:`_Folder`). Events
are tallied per distinct outcome, so memory grows with distinct (principal,
permission, region) tuples, not with events. Any record the fast path cannot
vouch for goes through :func:`scan_record`.
"""

from __future__ import annotations

import gc
import multiprocessing
import queue
import traceback
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from msgspec import UNSET

from ..model import Filters, Permission, Principal, Resolution, Usage, is_access_denied
from ..sources.base import RecordSource, TrailFile, read_files
from ..sources.decode import (
    BadInput,
    DeliveredRecord,
    decode_delivery,
    decode_delivery_typed,
    decode_json_lines_typed,
    decode_typed,
    decompress,
    iter_text_records,
    json_decode,
    json_encode,
)
from ..sources.layout import path_facts
from .identity import principal_of
from .memo import Memo, Shape
from .resources import Call, CallerFacts, Observed, caller_facts

MAX_WARNINGS_PER_FILE = 200
_WORKER_GC_THRESHOLDS = (50_000, 20, 100)

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
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _usage_key(principal: Principal, permission: Permission, denied: bool) -> _UsageKey:
    return (principal.arn, principal.kind, permission.action, permission.resource,
            permission.conditions, denied)


@dataclass
class ScanResult:
    """Totals of one or more scanned files. Merge with :meth:`merge`."""

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
    first_event: datetime | None = None
    last_event: datetime | None = None
    _usage: dict[_UsageKey, _Seen] = field(default_factory=dict)
    _warned: Counter[str] = field(default_factory=Counter, repr=False, compare=False)
    _usages: tuple[Usage, ...] | None = field(default=None, repr=False, compare=False)

    def merge(self, other: ScanResult) -> None:
        """Add another result's totals into this one."""
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
            (self._warned, other._warned),
        ):
            mine.update(theirs)
        self.warnings.extend(other.warnings)
        self.warnings_dropped += other.warnings_dropped
        for moment in (other.first_event, other.last_event):
            if moment is not None:
                self._span(moment)
        usage = self._usage
        for key, seen in other._usage.items():
            mine = usage.get(key)
            if mine is None:
                usage[key] = _Seen(seen.principal, seen.permission, seen.denied, seen.count,
                                   seen.first, seen.last, seen.regions)
            else:
                _add_to(mine, seen.count, seen.first, seen.last, seen.regions)

    def usages(self) -> tuple[Usage, ...]:
        """Every (principal, permission, denied) observed, sorted (computed once)."""
        if self._usages is None:
            usage = self._usage
            self._usages = tuple(
                Usage(
                    principal=seen.principal,
                    permission=seen.permission,
                    denied=seen.denied,
                    count=seen.count,
                    first_seen=seen.first,
                    last_seen=seen.last,
                    regions=seen.regions,
                )
                for seen in (usage[key] for key in sorted(usage))
            )
        return self._usages

    def __getstate__(self) -> dict[str, Any]:
        """Pickled compactly (worker processes send results this way): usages
        as plain tuples, each principal once, times as whole microseconds."""
        state = dict(self.__dict__)
        principals: dict[Principal, int] = {}
        rows = []
        for seen in self._usage.values():
            index = principals.setdefault(seen.principal, len(principals))
            permission = seen.permission
            rows.append((index, permission.action, permission.resource, permission.conditions,
                         seen.denied, seen.count, (seen.first - _EPOCH) // _MICROSECOND,
                         (seen.last - _EPOCH) // _MICROSECOND, seen.regions))
        state["_usage"] = (tuple(principals), rows)
        state["_usages"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        principals, rows = state["_usage"]
        usage = {}
        for index, action, resource, conditions, denied, count, first, last, regions in rows:
            principal = principals[index]
            usage[(principal.arn, principal.kind, action, resource, conditions, denied)] = _Seen(
                principal, Permission(action, resource, conditions), denied, count,
                _EPOCH + timedelta(microseconds=first), _EPOCH + timedelta(microseconds=last),
                regions)
        state["_usage"] = usage
        self.__dict__.update(state)

    def usages_by_principal(self) -> dict[Principal, tuple[Usage, ...]]:
        """:meth:`usages` grouped by principal (principals sorted)."""
        grouped: dict[Principal, list[Usage]] = {}
        for usage in self.usages():
            grouped.setdefault(usage.principal, []).append(usage)
        return {principal: tuple(items) for principal, items in grouped.items()}

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
        self._warned[location] += 1
        if self._warned[location] > MAX_WARNINGS_PER_FILE:
            self.warnings_dropped += 1
            return
        self.warnings.append((location, -1 if index is None else index, text))

    def _use(self, principal: Principal, permission: Permission, denied: bool,
             moment: datetime, region: str) -> None:
        self._use_many(principal, permission, denied, moment, moment, (region,), 1)

    def _use_many(self, principal: Principal, permission: Permission, denied: bool,
                  first: datetime, last: datetime, regions: Iterable[str], count: int) -> None:
        self._usages = None
        key = _usage_key(principal, permission, denied)
        seen = self._usage.get(key)
        if seen is None:
            self._usage[key] = _Seen(principal, permission, denied, count, first, last,
                                     tuple(sorted(set(regions))))
        else:
            _add_to(seen, count, first, last, regions)


def _add_to(seen: _Seen, count: int, first: datetime, last: datetime,
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
    folder = _Folder(filters)
    try:
        data = source.read(trail_file)
    except OSError as exc:
        folder.unreadable(trail_file.location, exc)
    else:
        folder.fold(trail_file.location, data)
    return folder.finish()


@dataclass(frozen=True, slots=True)
class Progress:
    """Running totals, for a progress line."""

    files_total: int
    files_done: int
    bytes_read: int
    events_read: int


def scan(source: RecordSource, filters: Filters, workers: int = 1,
         progress: Callable[[Progress], None] | None = None) -> ScanResult:
    """Scan every file a source lists, on ``workers`` processes, into one result.

    This process is one of them; each other worker process keeps one running
    tally (and its memo tables) over all the batches it takes, and sends it
    back once, so the merge here costs one result per process, not one per
    file. Each process starts on the files of its own accounts and regions
    (their calls repeat, so its memo tables hit more), then takes what is left
    of the others'. ``progress`` (optional) is called in this process as
    batches complete.
    """
    files = source.files(filters)
    skipped = source.skipped()
    workers = max(1, min(workers, len(files)))
    if any(f.location == "<stdin>" for f in files):
        workers = 1
    batches, orders = _plan_batches(files, workers)
    counts = [0, 0, 0]  # files, bytes, events

    def advance(files_done: int, bytes_read: int, events_read: int) -> None:
        counts[0] += files_done
        counts[1] += bytes_read
        counts[2] += events_read
        if progress is not None:
            progress(Progress(len(files), counts[0], counts[1], counts[2]))

    folder = _Folder(filters)
    thresholds = gc.get_threshold()
    gc.set_threshold(*_WORKER_GC_THRESHOLDS)
    try:
        if workers == 1:
            for batch in batches:
                _fold_batch(folder, source, batch, advance)
            parts = [folder.finish()]
        else:
            _warm_up()
            parts = _run_workers(source, batches, orders, filters, folder, advance)
        # Adopt the largest part rather than copying it.
        parts.sort(key=lambda part: len(part._usage), reverse=True)
        adopted = parts[0]
        adopted.files_skipped.update(skipped)
        for part in parts[1:]:
            adopted.merge(part)
    finally:
        gc.set_threshold(*thresholds)
    return adopted


def _fold_batch(folder: _Folder, source: RecordSource, batch: list[TrailFile],
                advance: Callable[[int, int, int], None]) -> None:
    result = folder.result
    before = (result.bytes_read, result.events_read)
    for trail_file, data in read_files(source, batch):
        if isinstance(data, OSError):
            folder.unreadable(trail_file.location, data)
        else:
            folder.fold(trail_file.location, data)
    advance(len(batch), result.bytes_read - before[0], result.events_read - before[1])


class _Claims:
    """Which batches some process has taken (shared between processes): one
    flag per batch, and after them the number taken."""

    def __init__(self, flags: Any) -> None:
        self._flags = flags
        self._total = len(flags) - 1

    def take(self, index: int, leave: int = 0) -> bool:
        """Take a batch; False when another process already has, or when no
        more than ``leave`` batches are left untaken."""
        flags = self._flags
        with flags.get_lock():
            if flags[index] or self._total - flags[self._total] <= leave:
                return False
            flags[index] = 1
            flags[self._total] += 1
            return True


def _run_workers(source: RecordSource, batches: list[list[TrailFile]], orders: list[list[int]],
                 filters: Filters, folder: _Folder,
                 advance: Callable[[int, int, int], None]) -> list[ScanResult]:
    """Fold ``batches`` here (into ``folder``, in ``orders[0]``) and in one
    worker process per other order; one result per process."""
    context = multiprocessing.get_context()
    flags = context.Array("l", len(batches) + 1)
    claims = _Claims(flags)
    replies: Any = context.Queue()
    processes = [
        context.Process(target=_worker,
                        args=(source, batches, order, flags, filters, replies), daemon=True)
        for order in orders[1:]
    ]
    for process in processes:
        process.start()
    results: list[ScanResult] = []
    errors: list[str] = []

    def receive(wait: bool) -> bool:
        """Handle one reply (waiting up to a second for it, if ``wait``); False if none came."""
        try:
            kind, payload = replies.get(timeout=1.0) if wait else replies.get_nowait()
        except queue.Empty:
            if wait and any(p.exitcode not in (None, 0) for p in processes):
                raise RuntimeError("a scan worker process died") from None
            return False
        if kind == "progress":
            advance(*payload)
        elif kind == "result":
            results.append(payload)
        else:
            errors.append(payload)
        return True

    try:
        for index in orders[0]:
            if claims.take(index):
                _fold_batch(folder, source, batches[index], advance)
            while receive(wait=False):
                pass
            if errors:
                break
        results.append(folder.finish())
        while len(results) < len(orders) and not errors:
            receive(wait=True)
        if errors:
            raise RuntimeError(f"a scan worker failed:\n{errors[0]}")
    finally:
        for process in processes:
            if len(results) < len(orders) and process.is_alive():
                process.terminate()
            process.join()
    return results


def _worker(source: RecordSource, batches: list[list[TrailFile]], order: list[int], flags: Any,
            filters: Filters, replies: Any) -> None:
    """One worker process: fold the batches no other process took, in
    ``order``, then send the tally."""
    try:
        # Most objects made here live until the end (tallies, memo tables), and
        # none form cycles: collect rarely (the default costs ~25% of the time).
        gc.freeze()
        gc.set_threshold(*_WORKER_GC_THRESHOLDS)
        claims = _Claims(flags)
        folder = _Folder(filters)

        def advance(*counts: int) -> None:
            replies.put(("progress", counts))

        # The last few batches are left to the main process: it folds them
        # while this one sends its result, which it must then wait for.
        leave = len(batches) // TAIL_FRACTION
        for index in order:
            if claims.take(index, leave):
                _fold_batch(folder, source, batches[index], advance)
        replies.put(("result", folder.finish()))
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises
        replies.put(("error", traceback.format_exc()))


BATCHES_PER_WORKER = 48
TAIL_FRACTION = 24  # the share of batches worker processes leave to the main one: 1/24


def _plan_batches(files: list[TrailFile], workers: int
                  ) -> tuple[list[list[TrailFile]], list[list[int]]]:
    """Runs of neighbouring files (about 48 per worker: even load, frequent
    progress), and the order each of ``workers`` processes takes them in.

    Files of one account and region (from the delivery layout) stay together,
    and each group goes to the process with the fewest files so far: a
    process first takes its own groups' runs, then what is left of the
    others', from their ends. A trail of a single account and region is thus
    read from both ends, one process each.
    """
    if not files:
        return [], [[] for _ in range(workers)]
    size = -(-len(files) // min(len(files), BATCHES_PER_WORKER * workers))
    groups: dict[tuple[str | None, str | None], list[TrailFile]] = {}
    for trail_file in files:
        facts = path_facts(trail_file.location)
        groups.setdefault((facts.account, facts.region), []).append(trail_file)
    batches: list[list[TrailFile]] = []
    owned: list[list[int]] = [[] for _ in range(workers)]
    loads = [0] * workers
    for group in sorted(groups.values(), key=len, reverse=True):
        owner = loads.index(min(loads))
        loads[owner] += len(group)
        for start in range(0, len(group), size):
            owned[owner].append(len(batches))
            batches.append(group[start:start + size])
    orders = []
    for worker in range(workers):
        order = list(owned[worker])
        for other in range(1, workers):
            order.extend(reversed(owned[(worker + other) % workers]))
        orders.append(order)
    return batches, orders


def _warm_up() -> None:
    """Load the catalog and resolver data here, before worker processes fork."""
    from .resolve import resolve

    resolve({"eventSource": "s3.amazonaws.com", "eventName": "GetObject",
             "userIdentity": {"type": "IAMUser"}, "requestParameters": {}})


# -- the fast path ------------------------------------------------------------

# The second memo table is asked for a kind of call (eventSource, eventName)
# until it has been asked SHAPE_TRIAL times and found less than one in
# SHAPE_HIT_RATE: keeping what a resolution read then costs more than it saves.
SHAPE_TRIAL = 256
SHAPE_HIT_RATE = 64

# Entries per memo table (identities: a quarter). The distinct calls of one
# process on the 1M-event bench fit (40,000 did not: 1.5 s more CPU in all),
# for 15-30 MB more peak memory a process.
MAX_MEMO = 100_000


class _ReadLog(dict[str, Any]):
    """A JSON object (a real dict) that notes which keys were read; any other
    use (iteration, length, copies, comparison, change) marks it opaque.

    It may start partial: ``complete`` then gives the whole object, and is
    called (once) before any read of a key that is neither held nor listed in
    ``absent``, and before any opaque use, so every answer is exact.
    """

    reads: set[str]
    opaque: bool

    def __init__(self, data: dict[str, Any],
                 complete: Callable[[], dict[str, Any]] | None = None,
                 absent: frozenset[str] = frozenset()) -> None:
        super().__init__(data)
        self.reads = set()
        self.opaque = False
        self._complete = complete
        self._absent = absent

    def _need(self, key: object) -> None:
        if not dict.__contains__(self, key) and key not in self._absent:
            self._fill()

    def _fill(self) -> None:
        complete, self._complete = self._complete, None
        if complete is None:
            return
        held = dict(super().items())
        super().clear()
        for key, value in complete().items():
            super().__setitem__(key, held.get(key, value))

    def __getitem__(self, key: str) -> Any:
        self.reads.add(key)
        if self._complete is not None:
            self._need(key)
        return dict.__getitem__(self, key)

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.reads.add(key)
        if self._complete is not None:
            self._need(key)
        return dict.get(self, key, default)

    def __contains__(self, key: object) -> bool:
        self.reads.add(key)  # type: ignore[arg-type]
        if self._complete is not None:
            self._need(key)
        return dict.__contains__(self, key)

    def _opaque(self) -> None:
        self.opaque = True
        self._fill()

    def __iter__(self) -> Any:
        self._opaque()
        return super().__iter__()

    def __len__(self) -> int:
        self._opaque()
        return super().__len__()

    def keys(self) -> Any:  # type: ignore[override]
        self._opaque()
        return super().keys()

    def values(self) -> Any:  # type: ignore[override]
        self._opaque()
        return super().values()

    def items(self) -> Any:  # type: ignore[override]
        self._opaque()
        return super().items()

    def copy(self) -> dict[str, Any]:
        self._opaque()
        return dict(super().items())

    def __eq__(self, other: object) -> bool:
        self._opaque()
        return super().__eq__(other)

    def __ne__(self, other: object) -> bool:
        self._opaque()
        return super().__ne__(other)

    __hash__ = None  # type: ignore[assignment]

    def __setitem__(self, key: str, value: Any) -> None:
        self._opaque()
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self._opaque()
        super().__delitem__(key)

    def __or__(self, other: Any) -> Any:
        self._opaque()
        return super().__or__(other)

    def __ror__(self, other: Any) -> Any:
        self._opaque()
        return super().__ror__(other)

    def __reduce_ex__(self, protocol: Any) -> Any:
        self._opaque()
        return super().__reduce_ex__(protocol)

    def __repr__(self) -> str:
        self._opaque()
        return super().__repr__()

    def pop(self, *args: Any) -> Any:
        self._opaque()
        return super().pop(*args)

    def setdefault(self, *args: Any) -> Any:
        self._opaque()
        return super().setdefault(*args)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._opaque()
        super().update(*args, **kwargs)


class _Identity:
    """What one exact userIdentity decides: its principal (or skip reason) as
    a small token, its account, and its caller facts as a small token."""

    __slots__ = ("account", "caller", "principal", "token")

    def __init__(self, principal: Principal | str, token: int, account: str | None,
                 caller: int) -> None:
        self.principal = principal
        self.token = token
        self.account = account
        self.caller = caller


class _GenericRecords:
    """A file's records as the generic decoder gives them, decoded on first need."""

    __slots__ = ("_records", "_text")

    def __init__(self, text: bytes) -> None:
        self._text = text
        self._records: list[Any] | None = None

    def __call__(self, index: int) -> Any:
        if self._records is None:
            self._records = json_decode(self._text)["Records"]
        return self._records[index]


class _Resolved:
    """A resolution and the call it was for (compared by object identity)."""

    __slots__ = ("name", "resolution", "source")

    def __init__(self, resolution: Resolution, source: str, name: str) -> None:
        self.resolution = resolution
        self.source = source
        self.name = name


def _decoded(raw: Any) -> Any:
    """A request or response member as ``record.get`` gives it."""
    return None if raw is UNSET else json_decode(raw)


def _observed(raw: Any) -> Any:
    """A request or response member as ``record.get`` gives it, objects wrapped
    in :class:`Observed` so the resolver's reads are noted."""
    if raw is UNSET:
        return None
    value = json_decode(raw)
    return Observed(value) if value.__class__ is dict else value


class _Folder:
    """Folds files into one :class:`ScanResult`.

    Typed records are tallied by outcome ``(identity, resolution, errorCode,
    region)`` with a count and first/last time, then expanded once in
    :meth:`finish`; every other record goes through :func:`scan_record`. Both
    give the same totals (tests/test_scan_fast.py).

    Two memo tables skip resolving a call again: the first keyed on the exact
    JSON of every :class:`Call` field (and the caller facts of the identity),
    the second, asked when the first misses, on only what the resolution
    depended on (:class:`~iamgen.ingest.memo.Shape`).
    """

    def __init__(self, filters: Filters) -> None:
        from .resolve import resolve_call  # the resolver loads its data lazily

        self.filters = filters
        self.result = ScanResult()
        self._tally: dict[tuple[Any, ...], list[Any]] = {}
        self._identities = Memo(MAX_MEMO // 4)
        self._resolutions = Memo(MAX_MEMO)
        self._shaped = Memo(MAX_MEMO)
        self._shapes: dict[tuple[str, str], Shape] = {}
        self._interned: dict[tuple[Resolution, str, str], _Resolved] = {}
        self._tokens: dict[Principal | str, int] = {}
        self._principals: list[Principal | str] = []
        self._caller_tokens: dict[bytes, int] = {}
        self._callers: list[CallerFacts] = []
        self._resolve_call = resolve_call
        self.memo_misses = 0

    def unreadable(self, location: str, exc: OSError) -> None:
        """Count a file that could not be read at all."""
        self.result.files_skipped["unreadable_file"] += 1
        self.result._warn(location, None, "unreadable_file",
                          f"cannot read file ({exc.strerror or exc})")

    def fold(self, location: str, data: bytes) -> None:
        """Add one file's records."""
        result = self.result
        result.files_read += 1
        result.bytes_read += len(data)
        try:
            text = decompress(data)
        except (EOFError, OSError, zlib.error) as exc:
            result._warn(location, None, "unreadable_file", f"damaged gzip data ({exc})")
            return
        typed = decode_delivery_typed(text)
        if typed is not None:
            self._fold_typed(location, typed, _GenericRecords(text))
            return
        raws = decode_delivery(text)
        if raws is not None:  # some record does not fit the typed shape: one by one
            self._fold_typed(location, [decode_typed(raw) for raw in raws],
                             lambda index: json_decode(raws[index]))
            return
        lines = decode_json_lines_typed(text)
        if lines is not None:
            typed_lines, texts = lines
            self._fold_typed(location, list(typed_lines),
                             lambda index: json_decode(texts[index]))
            return
        for item in iter_text_records(text):
            if isinstance(item, BadInput):
                result._warn(location, item.index, item.reason, item.detail)
            else:
                scan_record(result, location, item[0], item[1], self.filters)

    def _fold_typed(self, location: str, records: list[DeliveredRecord | None],
                    generic: Callable[[int], Any]) -> None:
        """Fold typed records (None: does not fit, take the plain path);
        ``generic(index)`` is the record as the generic decoder gives it."""
        result = self.result
        filters = self.filters
        since, until = filters.window.since, filters.window.until
        regions, accounts = filters.regions, filters.accounts
        identities, resolutions, tally = self._identities, self._resolutions, self._tally
        skipped = result.skipped
        from_iso = datetime.fromisoformat
        join = b"\0".join
        slow: list[int] = []
        for index, rec in enumerate(records):
            if rec is None:
                slow.append(index)
                continue
            name = rec.eventName
            source = rec.eventSource
            identity_raw = rec.userIdentity
            stamp = rec.eventTime
            if not name or not source or identity_raw is UNSET or not stamp:
                slow.append(index)
                continue
            identity_key = bytes(identity_raw)
            ident = identities.young.get(identity_key)
            if ident is None:
                ident = identities.get(identity_key) or self._identity(
                    identity_key, partial(generic, index))
                if ident is None:
                    slow.append(index)
                    continue
            if len(stamp) == 20 and stamp[19] == "Z":
                try:
                    moment = from_iso(stamp)
                except ValueError:
                    slow.append(index)
                    continue
            else:
                parsed = parse_event_time(stamp)
                if parsed is None:
                    slow.append(index)
                    continue
                moment = parsed
            if (since is not None and moment < since) or (until is not None and moment > until):
                skipped["outside_window"] += 1
                continue
            region = rec.awsRegion if rec.awsRegion.__class__ is str else ""
            if regions and region not in regions:
                skipped["other_region"] += 1
                continue
            if accounts:
                recipient = rec.recipientAccountId
                account = recipient if recipient.__class__ is str else ident.account
                if account not in accounts:
                    skipped["other_account"] += 1
                    continue
            principal = ident.principal
            if principal.__class__ is str:
                if principal in BAD_INPUT_REASONS:
                    slow.append(index)
                    continue
                key: tuple[Any, ...] = (ident.token, None, None, region)
            else:
                # The request, response and resources[] JSON, joined by NUL bytes
                # (never in JSON text; an absent member is empty): one bytes
                # object to build, hash and compare instead of three.
                params, response, listed = (rec.requestParameters, rec.responseElements,
                                            rec.resources)
                memo_key = (ident.caller, source, name, rec.eventType, rec.awsRegion,
                            rec.recipientAccountId,
                            join((b"" if params is UNSET else params,
                                  b"" if response is UNSET else response,
                                  b"" if listed is UNSET else listed)))
                resolved = resolutions.young.get(memo_key)
                if resolved is None:
                    resolved = resolutions.get(memo_key) or self._resolve(memo_key, rec)
                key = (ident.token, resolved, rec.errorCode, region)
            seen = tally.get(key)
            if seen is None:
                tally[key] = [1, moment, moment]
            else:
                seen[0] += 1
                if moment < seen[1]:
                    seen[1] = moment
                elif moment > seen[2]:
                    seen[2] = moment
        result.events_read += len(records) - len(slow)
        for index in slow:
            scan_record(result, location, index, generic(index), filters)

    def _identity(self, identity_key: bytes,
                  whole: Callable[[], dict[str, Any]]) -> _Identity | None:
        """principal_of() for a userIdentity not seen before (None: not an object)."""
        identity = json_decode(identity_key)
        if not isinstance(identity, dict):
            return None
        log = _ReadLog({"userIdentity": identity}, whole)
        principal = principal_of(log)
        account = identity.get("accountId")
        token = self._tokens.get(principal)
        if token is None:
            token = self._tokens[principal] = len(self._principals)
            self._principals.append(principal)
        facts = caller_facts(identity)
        facts_key = json_encode(facts)
        caller = self._caller_tokens.get(facts_key)
        if caller is None:
            caller = self._caller_tokens[facts_key] = len(self._callers)
            self._callers.append(facts)
        entry = _Identity(self._principals[token], token,
                          account if isinstance(account, str) else None, caller)
        if not log.opaque and log.reads <= {"userIdentity"}:
            self._identities.put(identity_key, entry)
        return entry

    def _resolve(self, memo_key: tuple[Any, ...], rec: DeliveredRecord) -> _Resolved:
        """The resolution of a call the first memo table lacks (``memo_key``
        is its key there): from the second table, else from the resolver.

        Kinds of call whose keys in the second table (almost) never repeat
        (each GetObject names a new object) soon stop asking it.
        """
        source, name = rec.eventSource, rec.eventName
        shape = self._shapes.get((source, name))
        if shape is None:
            shape = self._shapes[(source, name)] = Shape()
        if shape.tries > SHAPE_TRIAL and shape.hits * SHAPE_HIT_RATE < shape.tries:
            self.memo_misses += 1
            resolved = self._intern(self._resolve_call(self._call(memo_key, rec, _decoded)),
                                    source, name)
        else:
            resolved = self._resolve_shaped(memo_key, rec, shape)
        self._resolutions.put(memo_key, resolved)
        return resolved

    def _resolve_shaped(self, memo_key: tuple[Any, ...], rec: DeliveredRecord,
                        shape: Shape) -> _Resolved:
        """The resolution from the second memo table, else from the resolver
        (then remembered there under what it read; ``shape`` grows to cover it)."""
        params_raw, response_raw, listed = (rec.requestParameters, rec.responseElements,
                                            rec.resources)
        head = (memo_key[:6], None if listed is UNSET else bytes(listed))
        shape.tries += 1
        shaped = shape.key(params_raw, response_raw)
        resolved = self._shaped.get((head, shaped))
        if resolved is not None:
            shape.hits += 1
            return resolved
        self.memo_misses += 1
        call = self._call(memo_key, rec, _observed)
        resolved = self._intern(self._resolve_call(call), rec.eventSource, rec.eventName)
        params, response = call.params, call.response
        request_seen = params.seen if params.__class__ is Observed else ()
        response_seen = response.seen if response.__class__ is Observed else ()
        if not shape.covers(shaped, request_seen, response_seen):
            shape = shape.grown(request_seen, response_seen)
            self._shapes[(rec.eventSource, rec.eventName)] = shape
            shaped = shape.key(params_raw, response_raw)
        self._shaped.put((head, shaped), resolved)
        return resolved

    def _call(self, memo_key: tuple[Any, ...], rec: DeliveredRecord,
              member: Callable[[Any], Any]) -> Call:
        """The :class:`Call` of a typed record (``member`` decodes the request
        and response JSON)."""
        listed = rec.resources
        return Call(self._callers[memo_key[0]], _none(rec.eventType), rec.eventSource,
                    rec.eventName, _none(rec.awsRegion), _none(rec.recipientAccountId),
                    member(rec.requestParameters), member(rec.responseElements),
                    None if listed is UNSET else json_decode(listed))

    def _intern(self, resolution: Resolution, source: str, name: str) -> _Resolved:
        """One object per distinct outcome, so the tally grows with outcomes,
        not with memo keys (many keys resolve alike)."""
        resolved = self._interned.get((resolution, source, name))
        if resolved is None:
            resolved = self._interned[(resolution, source, name)] = _Resolved(
                resolution, source, name)
        return resolved

    def finish(self) -> ScanResult:
        """The result, with every tallied outcome expanded into it."""
        result = self.result
        # The memo tables are done with: free them before the result grows.
        self._identities = Memo(MAX_MEMO // 4)
        self._resolutions = Memo(MAX_MEMO)
        self._shaped = Memo(MAX_MEMO)
        self._interned.clear()
        principals = self._principals
        events = [0] * len(principals)
        usage = result._usage
        result._usages = None
        tally = self._tally
        earliest: datetime | None = None
        latest: datetime | None = None
        while tally:  # consumed as it goes, so the tally and the result never both peak
            (token, resolved, error, region), (count, first, last) = tally.popitem()
            if earliest is None or first < earliest:
                earliest = first
            if latest is None or last > latest:
                latest = last
            events[token] += count
            principal = principals[token]
            if principal.__class__ is str:
                continue
            denied = _count_outcome(result, resolved, error, count)
            if denied is None:
                continue
            arn, kind = principal.arn, principal.kind
            for permission in resolved.resolution.permissions:
                key = (arn, kind, permission.action, permission.resource, permission.conditions,
                       denied)
                seen = usage.get(key)
                if seen is None:
                    usage[key] = _Seen(principal, permission, denied, count, first, last,
                                       (region,))
                else:
                    seen.count += count
                    seen.first = min(seen.first, first)
                    seen.last = max(seen.last, last)
                    if region not in seen.regions:
                        seen.regions = tuple(sorted((*seen.regions, region)))
        if earliest is not None and latest is not None:
            result._span(earliest)
            result._span(latest)
        for token, count in enumerate(events):
            if count:
                principal = principals[token]
                if isinstance(principal, str):
                    result.skipped[principal] += count
                else:
                    result.principal_events[principal] += count
        return result


def _none(value: Any) -> Any:
    """A typed field as ``record.get`` gives it: UNSET (absent) is None."""
    return None if value is UNSET else value


def _count_outcome(result: ScanResult, resolved: _Resolved, error: Any,
                   count: int) -> bool | None:
    """Count ``count`` calls with one outcome as scan_record does; whether they
    were denied, or None when they use no permission."""
    resolution = resolved.resolution
    denied = isinstance(error, str) and is_access_denied(error)
    if resolution.no_grant is not None:
        result.skipped["no_permission_needed"] += count
        return None
    if resolution.unresolved or not resolution.permissions:
        result.skipped["unresolved_action"] += count
        result.unresolved[(resolved.source, resolved.name)] += count
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
        for action in resolution.unknown_resource:
            result.unknown_resource[action] += count
    return denied


def principals_seen(result: ScanResult) -> tuple[Principal, ...]:
    """Every principal with at least one event, sorted."""
    return tuple(sorted(result.principal_events))


def usage_for(usages: Iterable[Usage], principal: Principal) -> tuple[Usage, ...]:
    """The usages of one principal."""
    return tuple(u for u in usages if u.principal == principal)
