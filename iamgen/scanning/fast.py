"""The fast path of a scan: files folded into a :class:`ScanResult` with memo tables.

S3-delivered files (and JSON Lines exports) are decoded into typed records
(only the fields the scan reads are materialized), and memo tables skip
repeated work: the principal of a ``userIdentity`` (keyed on its exact JSON
bytes) and the resolution of a call (keyed on its
:class:`~iamgen.mapping.resources.Call`, then on only what the resolution read
of it: :mod:`iamgen.scanning.memo`). Events are tallied per distinct outcome,
so memory grows with distinct (principal, permission, region) tuples, not
with events. Any record the fast path cannot vouch for goes through
:func:`~iamgen.scanning.tally.scan_record`, and both give the same totals
(tests/test_scan_fast.py).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from msgspec import UNSET

from ..model import Filters, Principal, Resolution
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
from ..mapping.identity import principal_of
from .memo import Memo, Shape
from ..mapping.resources import Call, CallerFacts, Observed, caller_facts
from .tally import (
    BAD_INPUT_REASONS,
    ScanResult,
    UsageTotals,
    announce_only,
    count_outcome,
    parse_event_time,
    producer_names,
    scan_record,
)

# The second memo table is asked for a kind of call (eventSource, eventName)
# until it has been asked SHAPE_TRIAL times and found less than one in
# SHAPE_HIT_RATE: keeping what a resolution read then costs more than it saves.
SHAPE_TRIAL = 256
SHAPE_HIT_RATE = 64

# Entries per memo table (identities: a quarter). The distinct calls of one
# process on the 1M-event bench fit (40,000 did not: 1.5 s more CPU in all),
# for 15-30 MB more peak memory a process.
MAX_MEMO = 100_000


class ReadLog(dict[str, Any]):
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


class Folder:
    """Folds files into one :class:`ScanResult`.

    Typed records are tallied by outcome ``(identity, resolution, errorCode,
    region)`` with a count and first/last time, then expanded once in
    :meth:`finish`; every other record goes through :func:`scan_record`. Both
    give the same totals (tests/test_scan_fast.py).

    Two memo tables skip resolving a call again: the first keyed on the exact
    JSON of every :class:`Call` field (and the caller facts of the identity),
    the second, asked when the first misses, on only what the resolution
    depended on (:class:`~iamgen.scanning.memo.Shape`).
    """

    def __init__(self, filters: Filters) -> None:
        from ..mapping.resolve import resolve_call  # the resolver loads its data lazily

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
        self._producers = producer_names()
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
        announcing: list[int] = []  # skipped records that may announce an id
        producers = self._producers
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
                if name.lower() in producers:
                    announcing.append(index)
                continue
            region = rec.awsRegion if rec.awsRegion.__class__ is str else ""
            if regions and region not in regions:
                skipped["other_region"] += 1
                if name.lower() in producers:
                    announcing.append(index)
                continue
            if accounts:
                recipient = rec.recipientAccountId
                account = recipient if recipient.__class__ is str else ident.account
                if account not in accounts:
                    skipped["other_account"] += 1
                    if name.lower() in producers:
                        announcing.append(index)
                    continue
            principal = ident.principal
            if principal.__class__ is str:
                if principal in BAD_INPUT_REASONS:
                    slow.append(index)
                    continue
                if name.lower() in producers:
                    announcing.append(index)
                # No resolution: the kind of call takes its place (see finish).
                key: tuple[Any, ...] = (ident.token, None, (source, name), region)
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
        for index in announcing:  # not counted, but what they started is evidence
            record = generic(index)
            announce_only(result, record["eventSource"], record["eventName"], record)
        for index in slow:
            scan_record(result, location, index, generic(index), filters)

    def _identity(self, identity_key: bytes,
                  whole: Callable[[], dict[str, Any]]) -> _Identity | None:
        """principal_of() for a userIdentity not seen before (None: not an object)."""
        identity = json_decode(identity_key)
        if not isinstance(identity, dict):
            return None
        log = ReadLog({"userIdentity": identity}, whole)
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
            # ``detail`` is the errorCode of a principal's call, and the
            # (eventSource, eventName) of a call that belongs to no principal.
            (token, resolved, detail, region), (count, first, last) = tally.popitem()
            if earliest is None or first < earliest:
                earliest = first
            if latest is None or last > latest:
                latest = last
            events[token] += count
            principal = principals[token]
            if principal.__class__ is str:
                result.other_calls[detail] += count
                continue
            denied = count_outcome(result, resolved.resolution, resolved.source, resolved.name,
                                   detail, count)
            if denied is None:
                continue
            arn, kind = principal.arn, principal.kind
            awaits = resolved.resolution.awaits
            for permission in resolved.resolution.permissions:
                if awaits is not None and permission.resource == "*":
                    result._await(principal, permission, denied, first, last, (region,), count,
                                  awaits)
                    continue
                key = (arn, kind, permission.action, permission.resource, permission.conditions,
                       denied)
                seen = usage.get(key)
                if seen is None:
                    usage[key] = UsageTotals(principal, permission, denied, count, first, last,
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


