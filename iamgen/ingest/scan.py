"""Read trail files into a tally of who needed what: the ingest stage.

Files are scanned in batches (so they can be spread over processes) into a
:class:`ScanResult`; results merge in any order to the same totals. Bad
input never stops a scan: every skipped file or record is counted by reason,
and bad input also leaves a one-line warning naming the file and record.

Speed: S3-delivered files are decoded into typed records (only the fields the
scan reads are materialized), and two memo tables skip repeated work: the
principal of a ``userIdentity`` (keyed on its exact JSON bytes) and the
resolution of a call (keyed on every field ``resolve`` is allowed to read;
see :class:`_Folder`). Events are tallied per distinct outcome, so memory
grows with distinct (principal, permission, region) tuples, not with events.
Any record the fast path cannot vouch for goes through :func:`scan_record`.
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
from datetime import UTC, datetime
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
from .identity import principal_of

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
    count: int
    first: datetime
    last: datetime
    regions: tuple[str, ...]  # sorted; a tuple is a quarter the size of a set


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
    _usage: dict[tuple[Principal, Permission, bool], _Seen] = field(default_factory=dict)
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
        for (principal, permission, denied), seen in other._usage.items():
            self._use_many(principal, permission, denied, seen.first, seen.last,
                           seen.regions, seen.count)

    def usages(self) -> tuple[Usage, ...]:
        """Every (principal, permission, denied) observed, sorted (computed once)."""
        if self._usages is None:
            self._usages = tuple(
                Usage(
                    principal=principal,
                    permission=permission,
                    denied=denied,
                    count=seen.count,
                    first_seen=seen.first,
                    last_seen=seen.last,
                    regions=seen.regions,
                )
                for (principal, permission, denied), seen in sorted(
                    self._usage.items(), key=_usage_order
                )
            )
        return self._usages

    def __getstate__(self) -> dict[str, Any]:
        """Pickled compactly (worker processes send results this way): usages
        as plain tuples, each principal once."""
        state = dict(self.__dict__)
        principals: dict[Principal, int] = {}
        rows = []
        for (principal, permission, denied), seen in self._usage.items():
            index = principals.setdefault(principal, len(principals))
            rows.append((index, permission.action, permission.resource, permission.conditions,
                         denied, seen.count, seen.first, seen.last, seen.regions))
        state["_usage"] = (tuple(principals), rows)
        state["_usages"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        principals, rows = state["_usage"]
        state["_usage"] = {
            (principals[index], Permission(action, resource, conditions), denied):
                _Seen(count, first, last, regions)
            for index, action, resource, conditions, denied, count, first, last, regions in rows
        }
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
        key = (principal, permission, denied)
        seen = self._usage.get(key)
        if seen is None:
            self._usage[key] = _Seen(count, first, last, tuple(sorted(set(regions))))
        else:
            seen.count += count
            seen.first = min(seen.first, first)
            seen.last = max(seen.last, last)
            if not set(regions) <= set(seen.regions):
                seen.regions = tuple(sorted({*seen.regions, *regions}))


def _usage_order(item: tuple[tuple[Principal, Permission, bool], _Seen]) -> tuple[Any, ...]:
    """The order of (principal, permission, denied) keys, as plain tuples (faster
    to compare than the dataclasses, same order)."""
    (principal, permission, denied), _ = item
    return (principal.arn, principal.kind, permission.action, permission.resource,
            permission.conditions, denied)


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

    Each worker process keeps one running tally (and its memo tables) over all
    the batches it takes from a shared queue, and sends it back once, so the
    merge here costs one result per process, not one per file. ``progress``
    (optional) is called in this process as batches complete.
    """
    files = source.files(filters)
    total = ScanResult()
    total.files_skipped.update(source.skipped())
    batches = _batches(files, workers)
    counts = [0, 0, 0]  # files, bytes, events

    def advance(files_done: int, bytes_read: int, events_read: int) -> None:
        counts[0] += files_done
        counts[1] += bytes_read
        counts[2] += events_read
        if progress is not None:
            progress(Progress(len(files), counts[0], counts[1], counts[2]))

    if workers <= 1 or len(batches) < 2 or any(f.location == "<stdin>" for f in files):
        folder = _Folder(filters)
        thresholds = gc.get_threshold()
        gc.set_threshold(*_WORKER_GC_THRESHOLDS)
        try:
            for batch in batches:
                before = (folder.result.bytes_read, folder.result.events_read)
                _fold_batch(folder, source, batch)
                advance(len(batch), folder.result.bytes_read - before[0],
                        folder.result.events_read - before[1])
        finally:
            gc.set_threshold(*thresholds)
        total.merge(folder.finish())
        return total
    _warm_up()
    parts = _run_workers(source, batches, filters, workers, advance)
    # Adopt the largest part (ours alone now) rather than copying it.
    parts.sort(key=lambda part: len(part._usage), reverse=True)
    adopted = parts[0]
    adopted.files_skipped.update(total.files_skipped)
    for part in parts[1:]:
        adopted.merge(part)
    return adopted


def _fold_batch(folder: _Folder, source: RecordSource, batch: list[TrailFile]) -> None:
    for trail_file, data in read_files(source, batch):
        if isinstance(data, OSError):
            folder.unreadable(trail_file.location, data)
        else:
            folder.fold(trail_file.location, data)


def _run_workers(source: RecordSource, batches: list[list[TrailFile]], filters: Filters,
                 workers: int, advance: Callable[[int, int, int], None]) -> list[ScanResult]:
    """Fold ``batches`` on ``workers`` processes; one result per process."""
    context = multiprocessing.get_context()
    tasks: Any = context.Queue()
    replies: Any = context.Queue()
    for index in range(len(batches)):
        tasks.put(index)
    for _ in range(workers):
        tasks.put(None)
    processes = [
        context.Process(target=_worker, args=(source, batches, filters, tasks, replies),
                        daemon=True)
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    results: list[ScanResult] = []
    try:
        while len(results) < workers:
            try:
                kind, payload = replies.get(timeout=1.0)
            except queue.Empty:
                if any(p.exitcode not in (None, 0) for p in processes):
                    raise RuntimeError("a scan worker process died") from None
                continue
            if kind == "progress":
                advance(*payload)
            elif kind == "result":
                results.append(payload)
            else:
                raise RuntimeError(f"a scan worker failed:\n{payload}")
    finally:
        for process in processes:
            if len(results) < workers and process.is_alive():
                process.terminate()
            process.join()
    return results


def _worker(source: RecordSource, batches: list[list[TrailFile]], filters: Filters,
            tasks: Any, replies: Any) -> None:
    """One worker process: fold batches until told to stop, then send the tally."""
    try:
        # Most objects made here live until the end (tallies, memo tables), and
        # none form cycles: collect rarely (the default costs ~25% of the time).
        gc.freeze()
        gc.set_threshold(*_WORKER_GC_THRESHOLDS)
        folder = _Folder(filters)
        while (index := tasks.get()) is not None:
            before = (folder.result.bytes_read, folder.result.events_read)
            _fold_batch(folder, source, batches[index])
            replies.put(("progress", (len(batches[index]),
                                      folder.result.bytes_read - before[0],
                                      folder.result.events_read - before[1])))
        replies.put(("result", folder.finish()))
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises
        replies.put(("error", traceback.format_exc()))


def _batches(files: list[TrailFile], workers: int) -> list[list[TrailFile]]:
    """Runs of neighbouring files, about 16 per worker: even load, frequent progress."""
    if not files:
        return []
    count = min(len(files), 16 * max(1, workers))
    size = -(-len(files) // count)
    return [files[i:i + size] for i in range(0, len(files), size)]


def _warm_up() -> None:
    """Load the catalog and resolver data here, before worker processes fork."""
    from .resolve import resolve

    resolve({"eventSource": "s3.amazonaws.com", "eventName": "GetObject",
             "userIdentity": {"type": "IAMUser"}, "requestParameters": {}})


# -- the fast path ------------------------------------------------------------

# Top-level fields resolve() may read for a cached result to be reused, and
# the userIdentity members among them. The resolution memo key holds the
# exact value of each (userIdentity.arn only through its partition, the one
# thing resources.context_of takes from it; tests/test_scan_fast.py checks
# that resolve() gives the same result whatever the rest of that ARN says).
# A call to resolve() that reads anything else, or iterates a mapping, is not
# cached, so a resolver that starts reading more stays correct, only slower.
RESOLVE_FIELDS = frozenset({
    "eventType", "userIdentity", "eventSource", "eventName", "awsRegion",
    "recipientAccountId", "requestParameters", "responseElements", "resources",
})
RESOLVE_IDENTITY_FIELDS = frozenset({"type", "invokedBy", "accountId", "arn"})
_RESOLVE_TYPED = ("eventType", "eventSource", "eventName", "awsRegion", "recipientAccountId")
_RESOLVE_RAW = ("requestParameters", "responseElements", "resources")
MAX_MEMO = 40_000


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
    a small token, its account, and its part of the resolution memo key."""

    __slots__ = ("account", "principal", "resolve_part", "token")

    def __init__(self, principal: Principal | str, token: int, account: str | None,
                 resolve_part: tuple[Any, ...]) -> None:
        self.principal = principal
        self.token = token
        self.account = account
        self.resolve_part = resolve_part


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


class _Memo:
    """A bounded memo table: two generations; when the young one is full the
    old one is dropped, so entries still in use survive (they move up)."""

    __slots__ = ("_limit", "_old", "young")

    def __init__(self, limit: int) -> None:
        self._limit = max(1, limit // 2)
        self.young: dict[Any, Any] = {}
        self._old: dict[Any, Any] = {}

    def get(self, key: Any) -> Any:
        found = self.young.get(key)
        if found is None and self._old:
            found = self._old.pop(key, None)
            if found is not None:
                self.put(key, found)
        return found

    def put(self, key: Any, value: Any) -> None:
        if len(self.young) >= self._limit:
            self._old = self.young
            self.young = {}
        self.young[key] = value

    def __len__(self) -> int:
        return len(self.young) + len(self._old)


class _Resolved:
    """A resolution and the call it was for (compared by object identity)."""

    __slots__ = ("name", "resolution", "source")

    def __init__(self, resolution: Resolution, source: str, name: str) -> None:
        self.resolution = resolution
        self.source = source
        self.name = name


def _member(data: dict[str, Any], key: str) -> bytes | None:
    """A member's exact JSON, or None when absent (hashable, for memo keys)."""
    return json_encode(data[key]) if key in data else None


def _identity_resolve_part(identity: dict[str, Any]) -> tuple[Any, ...]:
    arn = identity.get("arn")
    if isinstance(arn, str) and arn.startswith("arn:"):
        arn_part: Any = ("partition", arn.split(":", 2)[1])
    else:
        arn_part = ("value", _member(identity, "arn"))
    return (_member(identity, "type"), _member(identity, "invokedBy"),
            _member(identity, "accountId"), arn_part)


class _Folder:
    """Folds files into one :class:`ScanResult`.

    Typed records are tallied by outcome ``(identity, resolution, errorCode,
    region)`` with a count and first/last time, then expanded once in
    :meth:`finish`; every other record goes through :func:`scan_record`. Both
    give the same totals (tests/test_scan_fast.py).
    """

    def __init__(self, filters: Filters) -> None:
        self.filters = filters
        self.result = ScanResult()
        self._tally: dict[tuple[Any, ...], list[Any]] = {}
        self._identities = _Memo(MAX_MEMO // 4)
        self._resolutions = _Memo(MAX_MEMO)
        self._interned: dict[tuple[Resolution, str, str], _Resolved] = {}
        self._tokens: dict[Principal | str, int] = {}
        self._principals: list[Principal | str] = []
        self.memo_misses = 0
        self.uncacheable = 0

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
                params, response, listed = (rec.requestParameters, rec.responseElements,
                                            rec.resources)
                memo_key = (ident.resolve_part, source, name, rec.eventType, rec.awsRegion,
                            rec.recipientAccountId,
                            params if params is UNSET else bytes(params),
                            response if response is UNSET else bytes(response),
                            listed if listed is UNSET else bytes(listed))
                resolved = resolutions.young.get(memo_key)
                if resolved is None:
                    resolved = resolutions.get(memo_key) or self._resolve(
                        memo_key, partial(generic, index), rec)
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
        entry = _Identity(self._principals[token], token,
                          account if isinstance(account, str) else None,
                          _identity_resolve_part(identity))
        if not log.opaque and log.reads <= {"userIdentity"}:
            self._identities.put(identity_key, entry)
        return entry

    def _resolve(self, memo_key: tuple[Any, ...], whole: Callable[[], dict[str, Any]],
                 rec: DeliveredRecord) -> _Resolved:
        """resolve() on the record, remembered when it read only memo-key fields.

        resolve() gets the memo-key fields decoded; anything else it asks for
        is decoded from the record's JSON first (so the answer is exact), and
        the result is then not remembered.
        """
        from .resolve import resolve

        self.memo_misses += 1
        fields: dict[str, Any] = {}
        absent = set()
        for name in _RESOLVE_TYPED:
            value = getattr(rec, name)
            if value is UNSET:
                absent.add(name)
            else:
                fields[name] = value
        for name in _RESOLVE_RAW:
            value = getattr(rec, name)
            if value is UNSET:
                absent.add(name)
            else:
                fields[name] = json_decode(value)
        identity = _ReadLog(json_decode(rec.userIdentity))
        fields["userIdentity"] = identity
        log = _ReadLog(fields, whole, frozenset(absent))
        resolution = resolve(log)
        source, name = rec.eventSource, rec.eventName
        # One object per distinct outcome, so the tally grows with outcomes,
        # not with memo keys (many keys resolve alike).
        resolved = self._interned.get((resolution, source, name))
        if resolved is None:
            resolved = _Resolved(resolution, source, name)
            self._interned[(resolution, source, name)] = resolved
        if (not log.opaque and log.reads <= RESOLVE_FIELDS and not identity.opaque
                and identity.reads <= RESOLVE_IDENTITY_FIELDS):
            self._resolutions.put(memo_key, resolved)
        else:
            self.uncacheable += 1
        return resolved

    def finish(self) -> ScanResult:
        """The result, with every tallied outcome expanded into it."""
        result = self.result
        # The memo tables are done with: free them before the result grows.
        self._identities = _Memo(MAX_MEMO // 4)
        self._resolutions = _Memo(MAX_MEMO)
        self._interned.clear()
        tally = self._tally
        while tally:  # consumed as it goes, so the tally and the result never both peak
            (token, resolved, error, region), (count, first, last) = tally.popitem()
            result._span(first)
            result._span(last)
            principal = self._principals[token]
            if isinstance(principal, str):
                result.skipped[principal] += count
                continue
            result.principal_events[principal] += count
            _apply(result, principal, resolved, error, region, count, first, last)
        return result


def _apply(result: ScanResult, principal: Principal, resolved: _Resolved, error: Any,
           region: str, count: int, first: datetime, last: datetime) -> None:
    """What ``count`` calls with one outcome add to a result (as scan_record does)."""
    resolution = resolved.resolution
    denied = isinstance(error, str) and is_access_denied(error)
    if resolution.no_grant is not None:
        result.skipped["no_permission_needed"] += count
        return
    if resolution.unresolved or not resolution.permissions:
        result.skipped["unresolved_action"] += count
        result.unresolved[(resolved.source, resolved.name)] += count
        return
    if error and not denied:
        result.skipped["failed_call"] += count
        for permission in resolution.permissions:
            result.failed_actions[permission.action] += count
        return
    if denied:
        result.skipped["denied_call"] += count
        for action in {p.action for p in resolution.permissions}:
            result.denied_actions[action] += count
    else:
        result.events_used += count
        for action in resolution.unknown_resource:
            result.unknown_resource[action] += count
    for permission in resolution.permissions:
        result._use_many(principal, permission, denied, first, last, (region,), count)


def principals_seen(result: ScanResult) -> tuple[Principal, ...]:
    """Every principal with at least one event, sorted."""
    return tuple(sorted(result.principal_events))


def usage_for(usages: Iterable[Usage], principal: Principal) -> tuple[Usage, ...]:
    """The usages of one principal."""
    return tuple(u for u in usages if u.principal == principal)
