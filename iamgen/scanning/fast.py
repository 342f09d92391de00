"""The fast path of a scan: files added to a :class:`ScanResult` with memo tables.

S3-delivered files (and JSON Lines exports) are decoded into typed records
(only the fields the scan reads are materialized), and memo tables skip
repeated work: the principal of a ``userIdentity`` (keyed on its exact JSON
bytes) and the resolution of a call (keyed on its
:class:`~iamgen.mapping.call.Call`, then on only what the resolution read
of it: :mod:`iamgen.scanning.memo`). Events are tallied per distinct outcome,
so memory grows with distinct (principal, permission, region) tuples, not
with events. Any record the fast path cannot vouch for goes through
:func:`~iamgen.scanning.plain.scan_record`, and both give the same totals
(tests/test_scan_fast.py).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from typing import Any

from msgspec import UNSET, DecodeError, Raw
from msgspec.msgpack import encode as msgpack_encode

from ..mapping.call import Call, CallerFacts, caller_facts
from ..mapping.facts import facts_of_call
from ..mapping.identity import principal_of
from ..mapping.resolve import resolve_call
from ..mapping.signals import signal_event_names
from ..model import Filters, Principal, Resolution
from ..sources.decode import (
    UNDECODABLE,
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
from .memo import Memo, Shape, ShapedMemo
from .outcomes import (
    MAX_CONNECTIONS,
    Resolved,
    UnitOutcomes,
    add_outcomes,
    compact,
    fold,
)
from .plain import add_signals, announce_only, parse_event_time, producer_names, scan_record
from .reads import NOTE_TAKER, TrackedObject
from .tally import BAD_INPUT_REASONS, ConnectionFacts, ScanResult


# Entries per memo table (identities: a quarter). The distinct calls of one
# process on the 1M-event bench fit (40,000 did not: 1.5 s more CPU in all),
# for 15-30 MB more peak memory a process.
MAX_MEMO = 100_000


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
    """A file's records as the generic decoder gives them, decoded on first
    need. The typed decoder read the file, so the generic one fails only
    where it recurses deeper than the stack then allows: every record asked
    for is then undecodable (one of UNDECODABLE), for the plain path to say."""

    __slots__ = ("_failure", "_records", "_text")

    def __init__(self, text: bytes) -> None:
        self._text = text
        self._records: list[Any] | None = None
        self._failure: str | None = None

    def __call__(self, index: int) -> Any:
        if self._records is None:
            try:
                self._records = json_decode(self._text)["Records"]
            except UNDECODABLE as exc:
                self._records, self._failure = [], str(exc)
        if self._failure is not None:
            raise DecodeError(self._failure)
        return self._records[index]


def _decoded(raw: Any) -> Any:
    """A request or response member as ``record.get`` gives it."""
    return None if raw is UNSET else json_decode(raw)


def _tracked(raw: Any) -> Any:
    """A request or response member as ``record.get`` gives it, objects
    tracked so what the resolver reads is noted."""
    if raw is UNSET:
        return None
    value = json_decode(raw)
    return TrackedObject(value) if value.__class__ is dict else value


class FastScanner:
    """Adds files to one :class:`ScanResult`.

    Typed records are tallied by outcome ``(identity, resolution, errorCode,
    region)`` with a count, first/last time and the first event's id, then
    added to the result once in :meth:`finish`; every other record goes
    through :func:`scan_record`. Both give the same totals
    (tests/test_scan_fast.py).

    Two memo tables skip resolving a call again: the first keyed on the exact
    JSON of every :class:`Call` field (and the caller facts of the identity),
    the second, asked when the first misses, on only what the resolution
    depended on (:class:`~iamgen.scanning.memo.Shape`).
    """

    def __init__(self, filters: Filters, *, spans: bool = False, contexts: bool = True) -> None:
        self.filters = filters
        # Without ``contexts`` the calls' request context (each call's facts,
        # and the VPC endpoint and TLS version it came over) is not recorded:
        # usages read this way have none (the few records the plain path
        # takes still give theirs). Recording it costs about 14% of a
        # suggest --all on the 1M-event bench (measured: 6.1-6.4 s with,
        # 5.4-5.7 s without), so it is left out where no output reads it.
        self._contexts = contexts
        # With ``spans``: the first and last eventTime of every record the
        # filters were asked about since the last take (see take_unit()).
        self._spans: tuple[Any, Any] | None = (None, None) if spans else None
        self.result = ScanResult()
        self._tally: dict[tuple[Any, ...], list[Any]] = {}
        self._identities = Memo(MAX_MEMO // 4)
        self._resolutions = Memo(MAX_MEMO)
        self._shaped = ShapedMemo(MAX_MEMO)
        self._interned: dict[tuple[Any, ...], Resolved] = {}
        self._facts: dict[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]] = {}
        # VPC endpoint ids and TLS versions (and pairs of them) kept in the
        # tally: a few values, each decoded anew from every record, stored once.
        self._connection_values: dict[Any, Any] = {}
        self._tokens: dict[Principal | str, int] = {}
        self._principals: list[Principal | str] = []
        self._caller_tokens: dict[bytes, int] = {}
        self._callers: list[CallerFacts] = []
        self._producers = producer_names()
        self._signalling = signal_event_names()
        # eventName as written -> whether it may raise a signal (lower-casing
        # every record's name cost more than this lookup).
        self._signal_names: dict[str, bool] = {}
        self.memo_misses = 0
        # Once take_unit() has counted something: the total of what it took
        # (without the tallied outcomes) and their outcomes, folded.
        self._total: ScanResult | None = None
        self._kept: dict[tuple[Any, ...], list[Any]] = {}
        self._principals_packed: tuple[int, Raw | None] = (-1, None)

    def unreadable(self, location: str, exc: OSError) -> None:
        """Count a file that could not be read at all."""
        self.result.files_skipped["unreadable_file"] += 1
        self.result.warn(location, None, "unreadable_file",
                         f"cannot read file ({exc.strerror or exc})")

    def add_file(self, location: str, data: bytes) -> None:
        """Add one file's records."""
        result = self.result
        result.files_read += 1
        result.bytes_read += len(data)
        try:
            text = decompress(data)
        except (EOFError, OSError, zlib.error) as exc:
            result.warn(location, None, "unreadable_file", f"damaged gzip data ({exc})")
            return
        typed = decode_delivery_typed(text)
        if typed is not None:
            self._add_typed(location, typed, _GenericRecords(text))
            return
        raws = decode_delivery(text)
        if raws is not None:  # some record does not fit the typed shape: one by one
            self._add_typed(location, [decode_typed(raw) for raw in raws],
                            lambda index: json_decode(raws[index]))
            return
        lines = decode_json_lines_typed(text)
        if lines is not None:
            typed_lines, texts = lines
            self._add_typed(location, list(typed_lines),
                            lambda index: json_decode(texts[index]))
            return
        # Record by record: the span is noted as the typed path notes it for
        # the records it hands on, so a kept file of this shape is cut by windows.
        filters: Any = self.filters if self._spans is None else _Spanning(self.filters, self)
        for item in iter_text_records(text):
            if isinstance(item, BadInput):
                result.warn(location, item.index, item.reason, item.detail)
            else:
                scan_record(result, location, item[0], item[1], filters)

    def _add_typed(self, location: str, records: list[DeliveredRecord | None],
                   generic: Callable[[int], Any]) -> None:
        """Add typed records (None: does not fit, take the plain path);
        ``generic(index)`` is the record as the generic decoder gives it."""
        result = self.result
        filters = self.filters
        filtering = bool(filters.window.since or filters.window.until or filters.regions
                         or filters.accounts)
        identities, resolutions, tally = self._identities, self._resolutions, self._tally
        spanning = self._spans is not None
        low, high = self._spans or (None, None)
        skipped = result.skipped
        join = b"\0".join
        from_iso = datetime.fromisoformat
        slow: list[int] = []
        announcing: list[int] = []  # skipped records that may announce an id
        signalling: list[tuple[int, datetime]] = []  # counted records that may give a signal
        producers, signal_names = self._producers, self._signal_names
        if len(self._connection_values) > MAX_MEMO:  # bounded; only sharing is lost
            self._connection_values.clear()
        stored = self._connection_values.setdefault
        contexts = self._contexts
        vpce = tls = None
        for index, rec in enumerate(records):
            if rec is None:
                slow.append(index)
                continue
            name = rec.eventName
            source = rec.eventSource
            identity_raw = rec.userIdentity
            if not name or not source or identity_raw is UNSET or not rec.eventTime:
                slow.append(index)
                continue
            identity_key = bytes(identity_raw)
            ident = identities.young.get(identity_key)
            if ident is None:
                try:
                    ident = identities.get(identity_key) or self._identity(
                        identity_key, partial(generic, index))
                except UNDECODABLE:  # the plain path says what is wrong with the record
                    ident = None
                if ident is None:
                    slow.append(index)
                    continue
            stamp = rec.eventTime
            if len(stamp) == 20 and stamp[19] == "Z":  # as CloudTrail writes it: no call
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
            if spanning:  # every record the filters are asked about, let through or not
                if low is None or moment < low:
                    low = moment
                if high is None or moment > high:
                    high = moment
            region = rec.awsRegion if rec.awsRegion.__class__ is str else ""
            if filtering:
                recipient = rec.recipientAccountId
                rejected = filters.rejects(
                    moment, region,
                    lambda: recipient if recipient.__class__ is str else ident.account)
                if rejected is not None:
                    skipped[rejected] += 1
                    if name.lower() in producers:
                        announcing.append(index)
                    continue
            principal = ident.principal
            if principal.__class__ is str and principal in BAD_INPUT_REASONS:
                slow.append(index)
                continue
            if principal.__class__ is str:
                if name.lower() in producers:
                    announcing.append(index)
                # No resolution: the kind of call takes its place (see finish).
                key: tuple[Any, ...] = (ident.token, None, (source, name), region)
                tls = None
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
                    try:
                        resolved = resolutions.get(memo_key) or self._resolve(memo_key, rec)
                    except UNDECODABLE:  # a member the decoder refuses: the plain path says so
                        slow.append(index)
                        continue
                error = rec.errorCode
                # Absent (UNSET) and null are alike to every reader; one of
                # them keeps outcomes plain values.
                key = (ident.token, resolved, None if error is UNSET else error, region)
                if contexts:
                    # The connection is not part of the call (one resolution serves
                    # records that came over many): it is tallied beside it.
                    details = rec.tlsDetails
                    tls = None if details is UNSET or details is None else details.tlsVersion
                    if tls is UNSET:
                        tls = None
            # (after the resolution: a record it sends to the plain path gets its signals there)
            signals = signal_names.get(name)
            if signals is None:
                if len(signal_names) > MAX_MEMO:
                    signal_names.clear()
                signals = signal_names[name] = name.lower() in self._signalling
            if signals:
                signalling.append((index, moment))
            if contexts:
                vpce = rec.vpcEndpointId
                if vpce is UNSET:
                    vpce = None
            seen_ = tally.get(key)
            if seen_ is None:
                # count, first and last time, the first event's id, then the
                # first connection (VPC endpoint, TLS version) seen with its
                # count, and a dict of any others.
                event_id = rec.eventID if rec.eventID.__class__ is str else ""
                tally[key] = [1, moment, moment, event_id, stored(vpce, vpce), stored(tls, tls),
                              1, None]
                continue
            seen_[0] += 1
            # Records come roughly in time order: most are the latest yet.
            if moment > seen_[2]:
                seen_[2] = moment
            elif moment <= seen_[1]:
                event_id = rec.eventID if rec.eventID.__class__ is str else ""
                if moment < seen_[1] or event_id < seen_[3]:
                    seen_[1] = moment
                    seen_[3] = event_id
            if vpce == seen_[4] and tls == seen_[5]:
                seen_[6] += 1
            else:
                others = seen_[7]
                if others is None:
                    others = seen_[7] = {}
                pair = (vpce, tls)
                calls = others.get(pair)
                if calls is not None:
                    others[pair] = calls + 1  # the dict keeps its first (stored) key
                else:
                    others[stored(pair, pair)] = 1
                    if len(others) > MAX_CONNECTIONS:
                        compact(seen_)
        result.events_read += len(records) - len(slow)
        for index in announcing:  # not counted, but what they started is evidence
            try:
                record = generic(index)
            except UNDECODABLE:  # (counted as skipped already; it started nothing known)
                continue
            announce_only(result, record["eventSource"], record["eventName"], record)
        for index, moment in signalling:
            try:
                add_signals(result, generic(index), moment)
            except UNDECODABLE:  # counted already; no signal can be read from it
                continue
        if spanning:
            self._spans = (low, high)
            filters = _Spanning(filters, self)  # type: ignore[assignment]
        for index in slow:
            try:
                record = generic(index)
            except UNDECODABLE as exc:
                result.events_read += 1
                result.warn(location, index, "invalid_json", f"invalid JSON record ({exc})")
                continue
            scan_record(result, location, index, record, filters)

    def _identity(self, identity_key: bytes,
                  whole: Callable[[], dict[str, Any]]) -> _Identity | None:
        """principal_of() for a userIdentity not seen before (None: not an object)."""
        identity = json_decode(identity_key)
        if not isinstance(identity, dict):
            return None
        record = TrackedObject({"userIdentity": identity}, counted=False, complete=whole)
        principal = principal_of(record)
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
        if record.seen <= {"userIdentity"}:
            self._identities.put(identity_key, entry)
        return entry

    def _resolve(self, memo_key: tuple[Any, ...], rec: DeliveredRecord) -> Resolved:
        """The resolution of a call the first memo table lacks (``memo_key``
        is its key there): from the shaped table, else from the resolver."""
        source, name, listed = rec.eventSource, rec.eventName, rec.resources

        def resolve(tracked: bool) -> tuple[Resolved, Any, Any]:
            self.memo_misses += 1
            call = self._call(memo_key, rec, _tracked if tracked else _decoded)
            resolution = resolve_call(call, NOTE_TAKER) if tracked else resolve_call(call)
            facts = facts_of_call(call) if self._contexts else ()
            return (self._intern(resolution, facts, source, name),
                    call.params, call.response)

        head = (memo_key[:6], None if listed is UNSET else bytes(listed))
        resolved = self._shaped.get((source, name), head, rec.requestParameters,
                                    rec.responseElements, resolve)
        self._resolutions.put(memo_key, resolved)
        return resolved

    def _call(self, memo_key: tuple[Any, ...], rec: DeliveredRecord,
              member: Callable[[Any], Any]) -> Call:
        """The :class:`Call` of a typed record, without its connection (``vpce``
        and ``tls`` are tallied per record); ``member`` decodes the request
        and response JSON."""
        listed = rec.resources
        return Call(self._callers[memo_key[0]], _none(rec.eventType), rec.eventSource,
                    rec.eventName, _none(rec.awsRegion), _none(rec.recipientAccountId),
                    member(rec.requestParameters), member(rec.responseElements),
                    None if listed is UNSET else json_decode(listed))

    def shape_of(self, source: str, name: str) -> Shape | None:
        """What the shaped memo table keeps of one kind of call (None: not asked yet)."""
        return self._shaped.shape_of((source, name))

    def _intern(self, resolution: Resolution, facts: tuple[tuple[str, str], ...], source: str,
                name: str) -> Resolved:
        """One object per distinct outcome, so the tally grows with outcomes,
        not with memo keys (many keys resolve alike)."""
        facts = self._facts.setdefault(facts, facts)  # few sets, shared by many outcomes
        key = (resolution, facts, source, name)
        resolved = self._interned.get(key)
        if resolved is None:
            resolved = self._interned[key] = Resolved(resolution, facts, source, name)
        return resolved

    def take_unit(self, *, count: bool = True) -> UnitOutcomes:
        """What the files added since the last take (or the start) hold, as if
        they alone had been scanned, kept as outcomes (``.result()`` makes
        their result); a fresh result takes their place and the memo tables
        stay. ``count``: whether they also count in the total :meth:`finish`
        returns (if not, they are left out of it).

        Taking one file at a time costs little: the memo tables, the larger
        part of the work saved, are kept from file to file, and outcomes are
        kept as tallied, not added to a result (counted ones are folded into
        the total's tally: cheaper, measured, than tallying every record twice).
        """
        taken = self.result
        entries = list(self._tally.items())
        self._tally.clear()
        if len(self._principals) != self._principals_packed[0]:  # grown: packed again
            self._principals_packed = (len(self._principals), Raw(msgpack_encode(
                [p if p.__class__ is str else (p.arn, p.kind.value) for p in self._principals])))
        unit = UnitOutcomes.pack(taken.export_rows(), self._principals_packed[1], entries,
                                 self.span())
        if self._spans is not None:
            self._spans = (None, None)
        if count:
            if self._total is None:
                self._total = ScanResult()
            self._total.merge(taken)  # its outcomes are kept folded, and added in finish()
            fold(self._kept, entries)
        self.result = ScanResult()
        return unit

    def span(self) -> tuple[datetime, datetime] | None:
        """The first and last eventTime of the records the filters were asked
        about since the last take (a scanner made with ``spans``; None: none)."""
        return None if self._spans is None or self._spans[0] is None else self._spans

    def note_span(self, moment: datetime) -> None:
        """Widen the span of records asked about to ``moment`` (see ``spans``)."""
        if self._spans is not None:
            low, high = self._spans
            self._spans = (moment if low is None or moment < low else low,
                           moment if high is None or moment > high else high)

    def finish(self) -> ScanResult:
        """The result, with every tallied outcome added to it: everything
        added, less what :meth:`take_unit` took without counting."""
        result = self.result
        # The memo tables are done with: free them before the result grows.
        self._identities = Memo(MAX_MEMO // 4)
        self._resolutions = Memo(MAX_MEMO)
        self._shaped.forget()
        self._interned.clear()
        self._facts.clear()
        tally = self._tally
        if self._total is not None:
            self._total.merge(result)
            fold(self._kept, tally.items())
            tally.clear()
            result, tally = self._total, self._kept
            self._total, self._kept = None, {}
        # Consumed as it goes, so the tally and the result never both peak.
        add_outcomes(result, _consumed(tally), self._principals,
                      ConnectionFacts() if self._contexts else None)
        return result


class _Spanning:
    """Filters that note the span of the records they are asked about (the
    records a scanner with ``spans`` hands to the plain path)."""

    __slots__ = ("_filters", "_scanner")

    def __init__(self, filters: Filters, scanner: FastScanner) -> None:
        self._filters = filters
        self._scanner = scanner

    def rejects(self, moment: datetime, region: str, account: Callable[[], str | None]
                ) -> str | None:
        self._scanner.note_span(moment)
        return self._filters.rejects(moment, region, account)


def _consumed(tally: dict[Any, Any]) -> Iterator[tuple[Any, Any]]:
    """A dict's items, each removed as it is given."""
    while tally:
        yield tally.popitem()


def _none(value: Any) -> Any:
    """A typed field as ``record.get`` gives it: UNSET (absent) is None."""
    return None if value is UNSET else value
