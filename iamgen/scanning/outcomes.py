"""Tallied outcomes: what the fast path (:mod:`.fast`) counts per distinct
outcome, and how outcomes become a :class:`~.tally.ScanResult`.

The fast path tallies typed records by outcome, ``(identity token,
resolution, errorCode, region)`` (or, for a caller that is no principal
here, ``(token, None, (eventSource, eventName), region)``), each with an
entry ``[count, first, last, first eventID, VPC endpoint, TLS version,
calls over that connection, {other (endpoint, TLS): calls} or None]``.
:func:`add_outcomes` adds entries to a result through
:meth:`~.tally.ScanResult.add_calls`, the one way any call is counted.

A file's outcomes can be kept as they are (:class:`UnitOutcomes`): encoding
them costs a fraction of making their result, and :meth:`UnitOutcomes.result`
makes exactly that result when it is wanted (a store of per-file results,
:mod:`iamgen.store`). Entries fold into another tally (:func:`fold`) as if
their records had been tallied there.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any, NamedTuple

import msgspec
from msgspec import UNSET

from ..model import MANY_VALUES, MAX_VALUES_PER_FACT, Principal, PrincipalKind, Resolution
from .tally import ConnectionFacts, DamagedRows, ResultRows, ScanResult

Entry = tuple[tuple[Any, ...], list[Any]]  # (key, entry) as described above


class Resolved:
    """A call's resolution and facts, and the kind of call they were for
    (compared by object identity; one per distinct outcome in a process)."""

    __slots__ = ("facts", "name", "packed", "resolution", "source")

    def __init__(self, resolution: Resolution, facts: tuple[tuple[str, str], ...], source: str,
                 name: str) -> None:
        self.resolution = resolution
        self.facts = facts
        self.source = source
        self.name = name
        self.packed: msgspec.Raw | None = None  # encoded once, when a file's outcomes are kept


def add_outcomes(result: ScanResult, entries: Iterable[Entry],
                 principals: list[Principal | str],
                 fact_counter: ConnectionFacts | None) -> None:
    """Add tallied outcomes to ``result``. ``principals``: by identity token
    (a skip reason for callers that are no principal here); ``fact_counter``:
    one for many calls (it keeps what it works out; None: the outcomes were
    tallied without their request context, and add none)."""
    for (token, resolved, detail, region), entry in entries:
        # ``detail`` is the errorCode of a principal's call, and the
        # (eventSource, eventName) of a call that belongs to no principal.
        count, first, last, event_id = entry[0], entry[1], entry[2], entry[3]
        result.span(first)
        result.span(last)
        principal = principals[token]
        if principal.__class__ is str:
            source, name = detail
            result.add_other_calls(principal, source, name, count)
            continue
        facts = None
        if fact_counter is not None:
            connections = [(entry[4], entry[5], entry[6])]
            if entry[7] is not None:
                connections.extend((vpce, tls, calls) for (vpce, tls), calls in entry[7].items())
            facts = fact_counter.counts(resolved.facts, connections)
        result.add_calls(principal, resolved.resolution, resolved.source, resolved.name,
                         detail, region, count, first, last, facts=facts,
                         first_event_id=event_id)


def fold(kept: dict[tuple[Any, ...], list[Any]], entries: Iterable[Entry]) -> None:
    """Add tally entries into another tally (``kept``), as if their records
    had been tallied there. An entry whose key ``kept`` lacks becomes its
    entry (and changes with later folds)."""
    get = kept.get
    for key, theirs in entries:
        mine = get(key)
        if mine is None:
            kept[key] = theirs
            continue
        mine[0] += theirs[0]
        first = theirs[1]
        if first < mine[1] or (first == mine[1] and theirs[3] < mine[3]):
            mine[1] = first
            mine[3] = theirs[3]
        if theirs[2] > mine[2]:
            mine[2] = theirs[2]
        if theirs[7] is None and theirs[4] == mine[4] and theirs[5] == mine[5]:
            mine[6] += theirs[6]  # the same one connection: most entries
            continue
        others = mine[7]
        if others is None:
            others = mine[7] = {}
        pairs = [((theirs[4], theirs[5]), theirs[6])]
        if theirs[7] is not None:
            pairs.extend(theirs[7].items())
        for pair, calls in pairs:
            if pair == (mine[4], mine[5]):
                mine[6] += calls
            else:
                others[pair] = others.get(pair, 0) + calls
        if not others:
            mine[7] = None
        elif len(others) > MAX_CONNECTIONS:
            compact(mine)


# An outcome's connections kept apart before compacting (one VPC endpoint and
# TLS version each, usually): past this, a value of more than
# MAX_VALUES_PER_FACT becomes MANY_VALUES here already, as the usage's
# context will have it (tally.add_facts), so memory stays bounded.
MAX_CONNECTIONS = 2 * MAX_VALUES_PER_FACT


def compact(entry: list[Any]) -> None:
    """Fold a tally entry's connections (first one and others) whose VPC
    endpoint or TLS version has too many values into MANY_VALUES."""
    connections = {(entry[4], entry[5]): entry[6]}
    for pair, count in entry[7].items():
        connections[pair] = connections.get(pair, 0) + count
    many_vpce = len({vpce for vpce, _ in connections}) > MAX_VALUES_PER_FACT
    many_tls = len({tls for _, tls in connections}) > MAX_VALUES_PER_FACT
    folded: dict[tuple[Any, Any], int] = {}
    for (vpce, tls), count in connections.items():
        key = (MANY_VALUES if many_vpce else vpce, MANY_VALUES if many_tls else tls)
        folded[key] = folded.get(key, 0) + count
    (entry[4], entry[5]), entry[6] = next(iter(folded.items()))
    del folded[(entry[4], entry[5])]
    entry[7] = folded or None


# -- a file's outcomes, kept ------------------------------------------------------------------


_Resolution = tuple[Resolution, tuple[tuple[str, str], ...], str, str]
_Token = Annotated[int, msgspec.Meta(ge=0)]  # an index into the file's principals
_Moment = Annotated[datetime, msgspec.Meta(tz=True)]
_Key = tuple[_Token, _Resolution | None, str | tuple[str, str] | None, str]
_Entry = tuple[int, _Moment, _Moment, str, str | None, str | None, int,
               dict[tuple[str | None, str | None], int] | None]


class _Packed(NamedTuple):
    """How :class:`UnitOutcomes` is encoded (MessagePack): the resolution
    of each outcome in place of its :class:`Resolved` (each encoded once)."""

    direct: ResultRows
    principals: list[str | tuple[str, str]]
    entries: list[tuple[_Key, _Entry]]


def _hook(value: Any) -> Any:
    if value is UNSET:
        return None
    if value.__class__ is Resolved:
        packed = value.packed
        if packed is None:
            packed = value.packed = msgspec.Raw(_ENCODER.encode(
                (value.resolution, value.facts, value.source, value.name)))
        return packed
    raise NotImplementedError(f"cannot encode {type(value).__name__}")


_ENCODER = msgspec.msgpack.Encoder(enc_hook=_hook)


class _PackedLazily(NamedTuple):
    """:class:`_Packed` as read back: each outcome's resolution left encoded
    (MessagePack nil: none), to be decoded once per distinct one."""

    direct: ResultRows
    principals: list[str | tuple[str, str]]
    entries: list[tuple[tuple[_Token, msgspec.Raw, str | tuple[str, str] | None, str], _Entry]]


_LAZY_DECODER = msgspec.msgpack.Decoder(_PackedLazily)
_RESOLUTION_DECODER = msgspec.msgpack.Decoder(_Resolution)
_NIL = b"\xc0"  # MessagePack's nil: an outcome with no resolution


class UnitOutcomes:
    """One file's result, kept as its tallied outcomes (and, as rows, what
    was added to its result directly: skips, warnings, records the fast
    path could not vouch for), encoded as they are taken: ``data`` is
    MessagePack; :meth:`result` makes the result itself."""

    __slots__ = ("data", "events_read", "bytes_read", "outcomes", "span")

    def __init__(self, data: bytes, events_read: int, bytes_read: int, outcomes: int,
                 span: tuple[datetime, datetime] | None = None) -> None:
        self.data = data
        self.events_read = events_read  # events the file held
        self.bytes_read = bytes_read  # bytes of the file
        self.outcomes = outcomes  # distinct outcomes tallied
        self.span = span  # of the records the filters were asked about (not in ``data``)

    @classmethod
    def pack(cls, direct: ResultRows, principals: Any, entries: list[Entry],
             span: tuple[datetime, datetime] | None) -> UnitOutcomes:
        """A file's outcomes: ``direct`` (its result without them),
        ``principals`` by identity token (a list, or one already encoded as
        ``msgspec.Raw``) and tally ``entries``, encoded now (so the entries
        may change afterwards)."""
        data = _ENCODER.encode(_Packed(direct, principals, entries))
        return cls(data, direct.counts[1], direct.counts[3], len(entries), span)

    @classmethod
    def unpack(cls, data: bytes) -> UnitOutcomes:
        """Outcomes from ``data`` (as :attr:`data` holds them), read when their
        result is made (:class:`~.tally.DamagedRows` then, when they are not
        that); their counts are not known (-1)."""
        return cls(data, -1, -1, -1)

    def result(self) -> ScanResult:
        """The file's result."""
        result = ScanResult()
        add_units(result, (self,))
        return result


def add_units(result: ScanResult, units: Iterable[UnitOutcomes]) -> int:
    """Add files' results to ``result``, as merging each one's
    :meth:`UnitOutcomes.result` would, for less: their outcomes are folded into one tally first
    (:func:`fold`), so an outcome many files share is added once, and each
    distinct resolution is decoded once. Returns how many files were added;
    :class:`~.tally.DamagedRows` when one does not hold outcomes (``result``
    is then incomplete, and is to be dropped)."""
    tally: dict[tuple[Any, ...], list[Any]] = {}
    principals: list[Principal | str] = []
    token_of: dict[Any, int] = {}  # a principal as encoded -> its token here
    resolved_of: dict[bytes, Resolved] = {}
    added = 0
    for unit in units:
        try:
            packed = _LAZY_DECODER.decode(unit.data)
            tokens = [_token(p, token_of, principals) for p in packed.principals]
            entries = []
            for (token, raw, detail, region), entry in packed.entries:
                mine = tokens[token]
                resolved = _resolved(raw, resolved_of)
                # A principal's call has a resolution; any other caller's (a
                # skip reason here), none, and its (eventSource, eventName).
                if (resolved is None) is not (principals[mine].__class__ is str) or (
                        resolved is None and detail.__class__ is not tuple):
                    raise ValueError("an outcome that does not fit its caller")
                entries.append(((mine, resolved, detail, region), list(entry)))
        except (msgspec.DecodeError, TypeError, ValueError, IndexError) as exc:
            raise DamagedRows(f"not outcomes of a file ({exc})") from None
        result.merge_rows(packed.direct)
        fold(tally, entries)
        added += 1
    add_outcomes(result, tally.items(), principals, ConnectionFacts())
    return added


def _token(principal: str | tuple[str, str], token_of: dict[Any, int],
           principals: list[Principal | str]) -> int:
    """The token here of a principal as a file's outcomes encode it
    (adding it to ``principals`` the first time)."""
    token = token_of.get(principal)
    if token is None:
        token = token_of[principal] = len(principals)
        principals.append(principal if isinstance(principal, str)
                          else Principal(principal[0], PrincipalKind(principal[1])))
    return token


def _resolved(raw: msgspec.Raw, resolved_of: dict[bytes, Resolved]) -> Resolved | None:
    """The outcome's resolution (None: it has none), decoded the first time
    its bytes are seen (equal bytes, one object: their outcomes fold together)."""
    data = bytes(raw)
    if data == _NIL:
        return None
    found = resolved_of.get(data)
    if found is None:
        found = resolved_of[data] = Resolved(*_RESOLUTION_DECODER.decode(data))
    return found
