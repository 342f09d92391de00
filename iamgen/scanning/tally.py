"""The totals of a scan: :class:`ScanResult`, and how calls add to them.

Both scan paths (:mod:`.plain`, one record at a time, and :mod:`.fast`,
memoized) add to a result through :meth:`ScanResult.add_calls` and the other
public methods here, so the way an outcome is counted is written once.
Results merge in any order to the same totals.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from operator import itemgetter
from typing import Any, NamedTuple

from ..mapping.facts import TRANSPORT, with_transport
from ..mapping.signals import Signal
from ..model import (
    MANY_VALUES,
    MAX_VALUES_PER_FACT,
    Condition,
    Evidence,
    Permission,
    Principal,
    PrincipalKind,
    Resolution,
    SortedUsages,
    Usage,
    is_access_denied,
    usage_key,
)

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

# A call's facts as :func:`iamgen.mapping.facts.facts_of_call` gives them:
# sorted (fact, value) pairs. A usage counts them as sorted (fact, value, count):
# its context (:data:`Context`).
Facts = tuple[tuple[str, str], ...]


def warning_line(location: str, index: int | None, text: str) -> str:
    """``warning: FILE[: record N]: TEXT``: how every bad file or record is reported."""
    where = location if index is None else f"{location}: record {index}"
    return f"warning: {where}: {text}"


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
    # Calls per (fact, value), a fact with too many values collapsed
    # (see add_facts); made into the usage's sorted context in usage().
    facts: dict[tuple[str, str], int] | None = None
    first_event_id: str = ""  # of the earliest call (ties: the smallest id)
    # The usage made of these totals (usage()), until they change.
    made: Usage | None = field(default=None, compare=False, repr=False)

    def add(self, other: UsageTotals) -> None:
        """Add another total of the same usage into this one."""
        self.made = None
        self.count += other.count
        if earlier(other.first, other.first_event_id, self.first, self.first_event_id):
            self.first_event_id = other.first_event_id
            self.first = other.first
        if other.last > self.last:
            self.last = other.last
        self.regions = regions_of(self.regions, other.regions)
        if other.facts:
            if self.facts is None:
                self.facts = dict(other.facts)
            else:
                add_facts(self.facts, other.facts)

    def copy(self) -> UsageTotals:
        """A copy that shares nothing mutable with this one."""
        return UsageTotals(self.principal, self.permission, self.denied, self.count, self.first,
                           self.last, self.regions,
                           None if self.facts is None else dict(self.facts),
                           self.first_event_id)

    def usage(self, contexts: dict[Any, Context] | None = None) -> Usage:
        """The model's frozen :class:`~iamgen.model.Usage` of these totals.
        ``contexts``: contexts made so far, by their facts as a tuple (many
        usages have the same: each is then made, and kept, once)."""
        if contexts is _LEFT_OUT:  # not kept: a usage with its context may be wanted too
            return Usage(self.principal, self.permission, self.denied, self.count, self.first,
                         self.last, self.regions, (), self.first_event_id)
        if self.made is None:
            self.made = Usage(self.principal, self.permission, self.denied, self.count,
                              self.first, self.last, self.regions,
                              _context_of(self.facts, contexts), self.first_event_id)
        return self.made


def earlier(moment: datetime, event_id: str, than: datetime, than_id: str) -> bool:
    """Whether a call at ``moment`` came before one at ``than`` (the same
    instant: the smaller eventID, so the first call is one whatever the order)."""
    return moment < than or (moment == than and event_id < than_id)


def regions_of(mine: tuple[str, ...], theirs: tuple[str, ...]) -> tuple[str, ...]:
    """Two usages' sorted regions together (``mine`` itself when it holds theirs)."""
    if theirs == mine or set(theirs) <= set(mine):
        return mine
    return tuple(sorted({*mine, *theirs}))


Context = tuple[tuple[str, str, int], ...]

class _LeftOut(dict[Any, Context]):
    """Given for the contexts made so far: usages are made without their
    context (ScanResult.leave_out_contexts); nothing is ever kept in it."""

    def __setitem__(self, key: Any, value: Context) -> None:
        raise TypeError("no context is made for usages that leave them out")


_LEFT_OUT: dict[Any, Context] = _LeftOut()


def _context_of(facts: dict[tuple[str, str], int] | None,
                contexts: dict[Any, Context] | None = None) -> Context:
    """A usage's context (:attr:`~iamgen.model.Usage.context`) from calls per
    (fact, value). ``contexts``: those made so far, by their facts as a tuple
    (many usages have the same: each is then made, and kept, once)."""
    if not facts:
        return ()
    if contexts is None:
        return tuple((fact, value, count) for (fact, value), count in sorted(facts.items()))
    seen = tuple(facts.items())
    context = contexts.get(seen)
    if context is None:
        context = contexts[seen] = _context_of(facts)
    return context


class ConnectionFacts:
    """Calls per (fact, value) of calls that share a request's facts and came
    over several connections (:func:`iamgen.mapping.facts.with_transport`);
    what it works out per set of facts and per connection is kept."""

    __slots__ = ("_requests", "_connections")

    def __init__(self) -> None:
        self._requests: dict[Facts, tuple[Facts, bool]] = {}
        self._connections: dict[tuple[Any, Any], tuple[Facts, bool]] = {}

    def counts(self, facts: Facts, connections: Iterable[tuple[Any, Any, int]]
               ) -> dict[tuple[str, str], int]:
        """Calls per (fact, value), collapsed as :func:`add_facts` does: ``facts``
        of the request (its connection's, if any, are replaced), and
        (VPC endpoint, TLS version, calls) per connection."""
        if len(self._requests) + len(self._connections) >= _MAX_KEPT:
            self._requests.clear()  # bounded; sets of facts and connections are few, as a rule
            self._connections.clear()
        request = self._requests.get(facts)
        if request is None:
            kept = tuple(pair for pair in facts if pair[0] not in TRANSPORT)
            request = self._requests[facts] = (kept, _plain(kept))
        counts: dict[tuple[str, str], int] = {}
        plain = request[1]
        total = 0
        for vpce, tls, calls in connections:
            total += calls
            over = self._connections.get((vpce, tls))
            if over is None:
                pairs = with_transport((), vpce, tls)
                over = self._connections[(vpce, tls)] = (pairs, _plain(pairs))
            plain = plain and over[1]
            for pair in over[0]:
                counts[pair] = counts.get(pair, 0) + calls
        counts.update(dict.fromkeys(request[0], total))  # every call has the request's
        # A fact has no more values than there are pairs: few pairs, none
        # MANY_VALUES, need no collapsing.
        return counts if plain and len(counts) <= _CHECK_AFTER else _collapsed(counts)


_MAX_KEPT = 65_536


def _plain(pairs: Facts) -> bool:
    """Whether no value of ``pairs`` is MANY_VALUES."""
    return all(value != MANY_VALUES for _, value in pairs)


def add_facts(mine: dict[tuple[str, str], int], theirs: dict[tuple[str, str], int]) -> None:
    """Add calls per (fact, value) into ``mine``. A fact seen with more than
    MAX_VALUES_PER_FACT values keeps one entry, MANY_VALUES, for all its
    calls: once that many, always that many, so the result does not depend on
    the order calls are added in, and memory stays bounded."""
    check = len(mine) + len(theirs) > _CHECK_AFTER
    for pair, count in theirs.items():
        if pair[1] == MANY_VALUES:
            check = True
        elif (pair[0], MANY_VALUES) in mine:
            pair = (pair[0], MANY_VALUES)
        mine[pair] = mine.get(pair, 0) + count
    if check:
        collapsed = _collapsed(mine)
        if collapsed is not mine:
            mine.clear()
            mine.update(collapsed)


# Facts per usage are few (about seven, one or two values each): look for a
# fact with too many values only past this many entries.
_CHECK_AFTER = MAX_VALUES_PER_FACT


def _collapsed(pairs: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    """``pairs`` with every fact of more than MAX_VALUES_PER_FACT values made
    one MANY_VALUES entry (``pairs`` itself when there is none)."""
    values: dict[str, int] = {}
    for fact, _ in pairs:
        values[fact] = values.get(fact, 0) + 1
    many = {fact for fact, n in values.items()
            if n > MAX_VALUES_PER_FACT or (n > 1 and (fact, MANY_VALUES) in pairs)}
    if not many:
        return pairs
    out: dict[tuple[str, str], int] = {}
    for (fact, value), count in pairs.items():
        key = (fact, MANY_VALUES) if fact in many else (fact, value)
        out[key] = out.get(key, 0) + count
    return out


# The key of a usage (:func:`~iamgen.model.usage_key`): sorting the keys sorts the usages.
UsageKey = tuple[str, str, str, str, tuple[Any, ...], bool]


@dataclass(slots=True)
class SignalTotals:
    """The running totals of one signal (see :mod:`iamgen.mapping.signals`)."""

    count: int
    first: datetime
    last: datetime
    first_event_id: str

    def add(self, other: SignalTotals) -> None:
        """Add another total of the same signal into this one."""
        self.count += other.count
        if (other.first, other.first_event_id) < (self.first, self.first_event_id):
            self.first_event_id = other.first_event_id
        self.first = min(self.first, other.first)
        self.last = max(self.last, other.last)


@dataclass
class ScanResult:
    """Totals of one or more scanned files. Merge with :meth:`merge`.

    Everything is added through the public methods; the underscored members
    are this class's own.
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
    _totals: dict[UsageKey, UsageTotals] = field(default_factory=dict)
    _signals: dict[Any, SignalTotals] = field(default_factory=dict)
    _warned: Counter[str] = field(default_factory=Counter, repr=False, compare=False)
    _sorted: SortedUsages | None = field(default=None, repr=False, compare=False)
    # Shipped usages not yet in ``_totals`` (see merge_shipment): usages()
    # merges them in order; everything else adds them to ``_totals`` first.
    _shipped: list[Shipment] = field(default_factory=list, repr=False, compare=False)
    # Correlation by id (``data/correlations.toml``): resources announced per
    # (kind, id), and uses of "*" waiting for them, keyed like usages plus
    # (kind, id). usages() settles them; until then nothing is lost by merging.
    _announced: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict, repr=False)
    _awaiting: dict[tuple[Any, ...], UsageTotals] = field(default_factory=dict, repr=False)
    # Whether usages() gives each usage its context (leave_out_contexts()).
    _with_contexts: bool = field(default=True, repr=False, compare=False)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ScanResult):
            return NotImplemented
        self._absorb()
        other._absorb()
        return all(getattr(self, f.name) == getattr(other, f.name)
                   for f in fields(self) if f.compare)

    __hash__ = None  # type: ignore[assignment]

    # -- adding ---------------------------------------------------------------

    def add_calls(self, principal: Principal, resolution: Resolution, source: str, name: str,
                  error_code: Any, region: str, count: int, first: datetime, last: datetime,
                  *, facts: dict[tuple[str, str], int] | None = None,
                  first_event_id: str = "") -> None:
        """Add ``count`` calls of one shape by ``principal`` (one resolution,
        errorCode and region), made between ``first`` and ``last``: their
        outcome is counted, and each permission becomes a use (or waits for
        the id it names, ``data/correlations.toml``). ``facts``: how many of
        the calls had each (fact, value) (:mod:`iamgen.mapping.facts`), no
        fact with more than MAX_VALUES_PER_FACT values (:class:`ConnectionFacts`
        gives them so; one call's facts are so); it becomes the result's.
        ``first_event_id``: the eventID of the earliest."""
        self.principal_events[principal] += count
        denied = self.count_outcome(resolution, source, name, error_code, count)
        if denied is None:
            return
        self._sorted = None
        if self._shipped:
            self._absorb()
        awaits = resolution.awaits
        pairs = facts
        for index, permission in enumerate(resolution.permissions):
            totals = UsageTotals(principal, permission, denied, count, first, last, (region,),
                                 pairs if index == 0 or pairs is None else dict(pairs),
                                 first_event_id)
            if awaits is not None and permission.resource == "*":
                _count_into(self._awaiting, (*usage_key(principal, permission, denied), *awaits),
                            totals)
            else:
                _count_into(self._totals, usage_key(principal, permission, denied), totals)

    def count_outcome(self, resolution: Resolution, source: str, name: str, error: Any,
                      count: int) -> bool | None:
        """Count ``count`` calls of one kind (``source``, ``name``) with one
        resolution and errorCode: whether they were denied, or None when they
        use no permission."""
        denied = isinstance(error, str) and is_access_denied(error)
        if resolution.no_grant is not None:
            self.skipped["no_permission_needed"] += count
            return None
        if resolution.unresolved or not resolution.permissions:
            self.skipped["unresolved_action"] += count
            self.unresolved[(source, name)] += count
            return None
        if error and not denied:
            self.skipped["failed_call"] += count
            for permission in resolution.permissions:
                self.failed_actions[permission.action] += count
            return None
        if denied:
            self.skipped["denied_call"] += count
            for action in {p.action for p in resolution.permissions}:
                self.denied_actions[action] += count
        else:
            self.events_used += count
            if resolution.awaits is None:  # else counted once settled: uncorrelated()
                for action in resolution.unknown_resource:
                    self.unknown_resource[action] += count
            if resolution.announces is not None:
                kind, found, resources = resolution.announces
                self.announce((kind, found), resources)
        return denied

    def add_other_calls(self, reason: str, source: str, name: str, count: int) -> None:
        """Add ``count`` calls by a caller that is no principal here (``reason``
        as :func:`~iamgen.mapping.identity.principal_of` gives it)."""
        self.skipped[reason] += count
        self.other_calls[(source, name)] += count

    def add_signal(self, signal: Any, moment: datetime, event_id: str, count: int = 1,
                   last: datetime | None = None) -> None:
        """Add ``count`` sightings of a signal (:mod:`iamgen.mapping.signals`)
        seen at ``moment`` (through ``last``, when several), the first with
        ``event_id``."""
        self._add_signal_totals(signal, SignalTotals(count, moment, last or moment, event_id))

    def _add_signal_totals(self, signal: Any, totals: SignalTotals) -> None:
        known = self._signals.get(signal)
        if known is None:
            self._signals[signal] = totals
        else:
            known.add(totals)

    def announce(self, key: tuple[str, str], resources: tuple[str, ...]) -> None:
        """Note the resources a call announced for an id (kind, id)."""
        self._sorted = None
        known = self._announced.get(key)
        self._announced[key] = resources if known is None else tuple(sorted({*known, *resources}))

    def span(self, moment: datetime) -> None:
        """Widen the span of counted events to ``moment``."""
        if self.first_event is None or moment < self.first_event:
            self.first_event = moment
        if self.last_event is None or moment > self.last_event:
            self.last_event = moment

    def warn(self, location: str, index: int | None, reason: str, text: str) -> None:
        """Count a bad file or record under ``reason``, with its warning line
        (at most :data:`MAX_WARNINGS_PER_FILE` lines a file; the rest are counted)."""
        self.skipped[reason] += 1
        self._warned[location] += 1
        if self._warned[location] > MAX_WARNINGS_PER_FILE:
            self.warnings_dropped += 1
            return
        self.warnings.append((location, -1 if index is None else index, text))

    def listing_warnings(self, warnings: Sequence[tuple[str, str]]) -> None:
        """Add warning lines for what listing passed over (``files_skipped``
        counts it already): (location, text) each."""
        for location, text in warnings:
            self._warned[location] += 1
            self.warnings.append((location, -1, text))

    # -- merging ----------------------------------------------------------------

    def merge(self, other: ScanResult) -> None:
        """Add another result's totals into this one."""
        self._absorb()
        other._absorb()
        self._merge_counts(other)
        _merge_totals(self._totals, other._totals)

    def _merge_counts(self, other: ScanResult) -> None:
        """Add another result's counters, warnings and span (not its usages)."""
        self._sorted = None
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
                self.span(moment)
        for key, resources in other._announced.items():
            self.announce(key, resources)
        _merge_totals(self._awaiting, other._awaiting)
        for signal, totals in other._signals.items():
            self._add_signal_totals(signal, SignalTotals(totals.count, totals.first, totals.last,
                                                         totals.first_event_id))

    def ship(self) -> Shipment:
        """This result as a worker process sends it (its usages move into the
        shipment, as plain rows sorted by usage: this result is left without them)."""
        self._absorb()
        principals, facts, rows = self._usage_rows()
        heads = [(principal.arn, principal.kind) for principal in principals]
        rows.sort(key=lambda row: (*heads[row[0]], row[1], row[2], row[3], row[4]))
        self._totals = {}
        self._sorted = None
        return Shipment(self, principals, facts, rows)

    def merge_shipment(self, shipment: Shipment) -> None:
        """:meth:`merge` for a shipped result. Its usages are kept as rows
        until :meth:`usages` merges them in order (or anything else needs them
        in this result's table)."""
        self._merge_counts(shipment.totals)  # the totals hold no usages: ship() moved them
        if shipment.rows:
            self._shipped.append(shipment)

    def export_rows(self) -> ResultRows:
        """Everything this result holds as plain rows (:class:`ResultRows`), to
        be kept and added to another result later with :meth:`merge_rows`.
        Usages are rows sorted by usage, as :meth:`ship` makes them (shipped
        rows still pending are merged in order); this result is left as it was."""
        return self._export()[0]

    def compact_rows(self) -> ResultRows:
        """:meth:`export_rows`, and this result keeps its usages as those rows
        from then on: the merge of its pending rows is done once, here, not
        again by :meth:`usages`."""
        rows, principals = self._export()
        self._totals = {}
        self._shipped = [Shipment(ScanResult(), principals, rows.facts, rows.usages)]
        self._sorted = None
        return rows

    def _export(self) -> tuple[ResultRows, tuple[Principal, ...]]:
        """:meth:`export_rows`, and the principals its rows name by index."""
        index: dict[Principal, int] = {}
        facts = FactTables()
        rows = _rows_of(self._sorted_parts(), index, facts)
        awaiting = [(key[-2], key[-1], _row_of(index, facts, seen))
                    for key, seen in self._awaiting.items()]
        events = [(index.setdefault(principal, len(index)), count)
                  for principal, count in self.principal_events.items()]
        first, last = self.first_event, self.last_event
        exported = ResultRows(
            (self.files_read, self.events_read, self.events_used, self.bytes_read,
             self.warnings_dropped),
            None if first is None or last is None else (first, last),
            dict(self.files_skipped), dict(self.skipped), dict(self.denied_actions),
            dict(self.failed_actions), dict(self.unknown_resource),
            [(source, name, count) for (source, name), count in self.unresolved.items()],
            [(source, name, count) for (source, name), count in self.other_calls.items()],
            list(self.warnings), dict(self._warned),
            [(principal.arn, principal.kind.value) for principal in index],
            events, facts.tables, rows, awaiting,
            [(kind, found, resources) for (kind, found), resources in self._announced.items()],
            [(signal.code, signal.principal, signal.subject, signal.detail, t.count, t.first,
              t.last, t.first_event_id) for signal, t in self._signals.items()],
        )
        return exported, tuple(index)

    def merge_rows(self, rows: ResultRows) -> None:
        """Add a result exported with :meth:`export_rows` into this one. Its
        usages are kept as rows until :meth:`usages` merges them in order, as
        with :meth:`merge_shipment`."""
        self._sorted = None
        try:
            principals = tuple(Principal(arn, PrincipalKind(kind))
                               for arn, kind in rows.principals)
        except ValueError as exc:  # rows typed as strings: a kind is checked here
            raise DamagedRows(f"not a result's rows ({exc})") from None
        (files_read, events_read, events_used, bytes_read, dropped) = rows.counts
        self.files_read += files_read
        self.events_read += events_read
        self.events_used += events_used
        self.bytes_read += bytes_read
        self.warnings_dropped += dropped
        for moment in rows.span or ():
            self.span(moment)
        self.files_skipped.update(rows.files_skipped)
        self.skipped.update(rows.skipped)
        self.denied_actions.update(rows.denied_actions)
        self.failed_actions.update(rows.failed_actions)
        self.unknown_resource.update(rows.unknown_resource)
        for source, name, count in rows.unresolved:
            self.unresolved[(source, name)] += count
        for source, name, count in rows.other_calls:
            self.other_calls[(source, name)] += count
        self.warnings.extend(rows.warnings)
        self._warned.update(rows.warned)
        for position, count in rows.principal_events:
            self.principal_events[principals[position]] += count
        for kind, found, row in rows.awaiting:
            seen = _row_totals(principals, rows.facts, row)
            if seen.facts is not None:  # the table's entry may grow; the row's stays as it is
                seen.facts = dict(seen.facts)
            _count_into(self._awaiting,
                        (*usage_key(seen.principal, seen.permission, seen.denied), kind, found),
                        seen)
        for kind, found, resources in rows.announced:
            self.announce((kind, found), tuple(resources))
        for code, who, subject, detail, count, first, last, event_id in rows.signals:
            self._add_signal_totals(Signal(code, who, subject, detail),
                                    SignalTotals(count, first, last, event_id))
        if rows.usages:
            self._shipped.append(Shipment(ScanResult(), principals, rows.facts, rows.usages))

    def __getstate__(self) -> dict[str, Any]:
        """Pickled compactly: usages as plain rows (see :meth:`ship`)."""
        self._absorb()
        state = dict(self.__dict__)
        state["_totals"] = self._usage_rows()
        state["_sorted"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        principals, facts, rows = state["_totals"]
        state["_totals"] = {}
        self.__dict__.update(state)
        self._add_usage_rows(principals, facts, rows)

    # -- reading ----------------------------------------------------------------

    def usages(self) -> SortedUsages:
        """Every (principal, permission, denied) observed, sorted (computed once).

        Shipped usages are merged in here, in order, without being added to
        this result's table first (each becomes one object, not two).
        """
        if self._sorted is None:
            own: list[tuple[UsageKey, Any]] = sorted(self._totals.items(), key=itemgetter(0))
            if self._awaiting:
                own = sorted([*own, *self._settled()], key=itemgetter(0))
            contexts: dict[Any, Context] = {} if self._with_contexts else _LEFT_OUT
            if not self._shipped and not self._awaiting:
                self._sorted = SortedUsages(totals.usage(contexts) for _, totals in own)
            elif not own and len(self._shipped) == 1:  # as a rerun from a store has it
                shipment = self._shipped[0]  # sorted, each usage once: taken as it is
                made: list[Context | None] | None = (
                    [None] * len(shipment.facts) if self._with_contexts else None)
                self._sorted = SortedUsages(
                    _row_usage(shipment.principals, shipment.facts, row, made)
                    for row in shipment.rows)
            else:
                # Each part is sorted and holds a key once: a stable sort of the
                # parts side by side merges runs (linear), equal keys adjacent.
                parts = own
                for shipment in self._shipped:
                    parts.extend(shipment.keyed_rows())
                parts.sort(key=itemgetter(0))
                self._sorted = SortedUsages(_combined(parts, contexts))
        return self._sorted

    def leave_out_contexts(self) -> None:
        """Make :meth:`usages` without the calls' request context (each
        ``Usage.context`` empty), as a read that records none gives them; for
        outputs that do not use it, sooner. What this result holds, and
        exports, keeps the context."""
        self._with_contexts = False
        self._sorted = None

    def prepare_usages(self) -> None:
        """Make the usages of this result's own table now, as :meth:`usages`
        would (for a process with time on its hands: the main one waiting for
        its workers' results; usages() then takes them as made)."""
        contexts: dict[Any, Context] = {}
        for totals in self._totals.values():
            totals.usage(contexts)

    def signals(self) -> tuple[tuple[Any, Evidence], ...]:
        """Every signal seen, sorted, with its evidence."""
        return tuple((signal, Evidence(t.count, t.first, t.last, t.first_event_id))
                     for signal, t in sorted(self._signals.items(), key=itemgetter(0)))

    def uncorrelated(self) -> Counter[str]:
        """Calls (by action, denied ones aside) still granted on "*": the id
        they name was never announced in the trail."""
        counts: Counter[str] = Counter()
        for key, seen in self._awaiting.items():
            if not seen.denied and key[-2:] not in self._announced:
                counts[seen.permission.action] += seen.count
        return counts

    def rename_files(self, names: dict[str, str]) -> None:
        """Name the files of warnings anew: ``names`` maps old names to new
        (names it lacks stay)."""
        self.warnings = [(names.get(location, location), index, text)
                         for location, index, text in self.warnings]
        renamed: Counter[str] = Counter()
        for location, count in self._warned.items():
            renamed[names.get(location, location)] += count
        self._warned = renamed

    def sorted_warnings(self) -> list[str]:
        """Warning lines, ordered by file and record index."""
        return [warning_line(location, None if index < 0 else index, text)
                for location, index, text in sorted(self.warnings)]

    # -- inside -----------------------------------------------------------------

    def _settled(self) -> list[tuple[UsageKey, UsageTotals]]:
        """Waiting uses on the resources announced for their id (else "*"),
        keyed as usages."""
        out = []
        for key, seen in self._awaiting.items():
            permission = seen.permission
            for resource in self._announced.get(key[-2:], ("*",)):
                settled = seen.copy()
                settled.permission = Permission(permission.action, resource,
                                                permission.conditions)
                out.append((usage_key(seen.principal, settled.permission, seen.denied), settled))
        return out

    def _absorb(self) -> None:
        """Add shipped rows still pending to this result's table."""
        while self._shipped:
            shipment = self._shipped.pop()
            self._add_usage_rows(shipment.principals, shipment.facts, shipment.rows)

    def _usage_rows(self) -> tuple[tuple[Principal, ...], list[dict[tuple[str, str], int]],
                                   list[tuple[Any, ...]]]:
        """Usages as plain tuples, each principal and set of facts once (by
        index): cheap to pickle."""
        principals: dict[Principal, int] = {}
        facts = FactTables()
        rows = [_row_of(principals, facts, seen) for seen in self._totals.values()]
        return tuple(principals), facts.tables, rows

    def _sorted_parts(self) -> list[tuple[UsageKey, Any]]:
        """Every usage (waiting ones aside) as sorted (key, totals or shipped
        row) pairs: this result's table and its pending shipped rows, in order
        (equal keys adjacent; neither is changed)."""
        own: list[tuple[UsageKey, Any]] = sorted(self._totals.items(), key=itemgetter(0))
        if self._shipped:
            for shipment in self._shipped:
                own.extend(shipment.keyed_rows())
            own.sort(key=itemgetter(0))
        return own

    def _add_usage_rows(self, principals: tuple[Principal, ...],
                        facts: Sequence[dict[tuple[str, str], int]],
                        rows: list[tuple[Any, ...]]) -> None:
        self._sorted = None
        for row in rows:
            totals = _row_totals(principals, facts, row)
            if totals.facts is not None:  # the table's entry may grow; the row stays as it is
                totals.facts = dict(totals.facts)
            _count_into(self._totals, usage_key(totals.principal, totals.permission,
                                                totals.denied), totals)


def _row_of(principals: dict[Principal, int], facts: FactTables,
            seen: UsageTotals) -> tuple[Any, ...]:
    """One usage's row (:data:`UsageRow`), its principal and facts by index."""
    permission = seen.permission
    return (principals.setdefault(seen.principal, len(principals)), permission.action,
            permission.resource, permission.conditions, seen.denied, seen.count, seen.first,
            seen.last, seen.regions, facts.index(seen.facts), seen.first_event_id)


class FactTables:
    """The distinct calls-per-(fact, value) tables of a set of usage rows
    (many usages have the same: each is kept, encoded and decoded once)."""

    __slots__ = ("tables", "_indexes")

    def __init__(self) -> None:
        self.tables: list[dict[tuple[str, str], int]] = []
        self._indexes: dict[tuple[Any, ...], int] = {}

    def index(self, facts: dict[tuple[str, str], int] | None) -> int:
        """The index of ``facts`` in :attr:`tables` (-1: none; a copy is kept)."""
        if not facts:
            return -1
        # Not sorted: a table equal to another but made in another order is
        # kept twice, which costs less than sorting every usage's.
        key = tuple(facts.items())
        found = self._indexes.get(key)
        if found is None:
            found = self._indexes[key] = len(self.tables)
            self.tables.append(dict(key))
        return found


def _row_usage(principals: tuple[Principal, ...], facts: Sequence[dict[tuple[str, str], int]],
               row: tuple[Any, ...], contexts: list[Context | None] | None) -> Usage:
    """The usage of one row; ``contexts``: the context of each of ``facts``
    made so far (None in it: not yet; None: the usage gets none, and its
    facts, perhaps not decoded yet, are not read)."""
    index, action, resource, conditions, denied, count, first, last, regions, which, eid = row
    if which < 0 or contexts is None:
        context: Context = ()
    else:
        made = contexts[which]
        context = contexts[which] = _context_of(facts[which]) if made is None else made
    return Usage(principals[index], Permission(action, resource, conditions), denied, count,
                 first, last, regions, context, eid)


def _row_totals(principals: tuple[Principal, ...], facts: Sequence[dict[tuple[str, str], int]],
                row: tuple[Any, ...]) -> UsageTotals:
    """The totals of one row (its facts the table's: copy them before they may grow)."""
    index, action, resource, conditions, denied, count, first, last, regions, which, eid = row
    return UsageTotals(principals[index], Permission(action, resource, conditions), denied,
                       count, first, last, regions, None if which < 0 else facts[which], eid)


# A usage as a row: (principal's index, action, resource, conditions, denied,
# count, first, last, regions, index of its calls per (fact, value) in the
# rows' table of them or -1, first eventID).
UsageRow = tuple[int, str, str, tuple[Condition, ...], bool, int, datetime, datetime,
                 tuple[str, ...], int, str]


class DamagedRows(ValueError):
    """Rows that do not hold a result (read back from a damaged store)."""


class ResultRows(NamedTuple):
    """A :class:`ScanResult` as plain rows (:meth:`ScanResult.export_rows`):
    only tuples, lists, dicts, strings, numbers, datetimes and
    :class:`~iamgen.model.Condition`, so it can be kept in any format that
    holds those, and added to a result again with :meth:`ScanResult.merge_rows`.
    (Rows read back from a store may hold ``facts`` as a sequence decoded when
    first read: :class:`iamgen.store.codec.KeptFacts`.)"""

    # files read, events read, events used, bytes read, warnings dropped
    counts: tuple[int, int, int, int, int]
    span: tuple[datetime, datetime] | None  # first and last counted event
    files_skipped: dict[str, int]
    skipped: dict[str, int]
    denied_actions: dict[str, int]
    failed_actions: dict[str, int]
    unknown_resource: dict[str, int]
    unresolved: list[tuple[str, str, int]]  # (eventSource, eventName, count)
    other_calls: list[tuple[str, str, int]]  # (eventSource, eventName, count)
    warnings: list[tuple[str, int, str]]  # (location, record index or -1, text)
    warned: dict[str, int]  # warnings per location, shown or not
    principals: list[tuple[str, str]]  # (ARN, kind): usages and events name them by index
    principal_events: list[tuple[int, int]]  # (principal's index, events)
    # calls per (fact, value): usages name them by index
    facts: Sequence[dict[tuple[str, str], int]]
    usages: list[UsageRow]  # sorted by usage
    awaiting: list[tuple[str, str, UsageRow]]  # uses of "*" waiting for (kind, id)
    announced: list[tuple[str, str, tuple[str, ...]]]  # (kind, id, resources)
    # a Signal's fields, then its evidence (count, first, last, eventID)
    signals: list[tuple[str, str, str, str, int, datetime, datetime, str]]


@dataclass(frozen=True, slots=True)
class Shipment:
    """A result on its way from a worker process: its totals (without usages)
    and its usages as rows sorted by usage (:meth:`ScanResult.ship`)."""

    totals: ScanResult
    principals: tuple[Principal, ...]
    facts: Sequence[dict[tuple[str, str], int]]  # the rows name them by index
    rows: list[tuple[Any, ...]]

    def keyed_rows(self) -> Iterator[tuple[UsageKey, Any]]:
        """(usage key, (principals, facts, row)) for each row, in order."""
        principals, facts = self.principals, self.facts
        heads = [(principal.arn, principal.kind) for principal in principals]
        for row in self.rows:
            arn, kind = heads[row[0]]
            yield (arn, kind, row[1], row[2], row[3], row[4]), (principals, facts, row)


def _combined(parts: list[tuple[UsageKey, Any]], contexts: dict[Any, Context]) -> list[Usage]:
    """One Usage per key of sorted (key, totals or shipped row) pairs; equal
    keys (adjacent: the same usage seen by two processes) are added up.
    ``contexts``: those made so far (:data:`_LEFT_OUT`: usages get none)."""
    made: dict[int, list[Context | None] | None] = {}  # by id() of a shipment's facts
    usages: list[Usage] = []
    for index, end in _runs(parts):
        item = parts[index][1]
        if end == index + 1:  # most usages: one part, made into a Usage directly
            if item.__class__ is UsageTotals:
                usages.append(item.usage(contexts))
            else:
                principals, facts, row = item
                if id(facts) not in made:
                    made[id(facts)] = None if contexts is _LEFT_OUT else [None] * len(facts)
                usages.append(_row_usage(principals, facts, row, made[id(facts)]))
        else:
            usages.append(_added_up(parts[index:end], facts=contexts is not _LEFT_OUT)
                          .usage(contexts))
    return usages


def _runs(parts: list[tuple[UsageKey, Any]]) -> Iterator[tuple[int, int]]:
    """(start, end) of each run of equal keys in sorted (key, item) pairs."""
    count = len(parts)
    index = 0
    while index < count:
        key = parts[index][0]
        end = index + 1
        while end < count and parts[end][0] == key:
            end += 1
        yield index, end
        index = end


def _rows_of(parts: list[tuple[UsageKey, Any]], principals: dict[Principal, int],
             facts: FactTables) -> list[tuple[Any, ...]]:
    """One row (:data:`UsageRow`) per key of sorted (key, totals or shipped
    row) pairs, equal keys added up, as :func:`_row_of` makes them (its
    principal in ``principals``, its facts in ``facts``). A shipped row whose
    key is its own (most) is renumbered as it is, not made into totals first."""
    # By id() of a shipment's principals, then of its facts: their new indexes.
    renumbered: dict[int, list[int | None]] = {}
    rows: list[tuple[Any, ...]] = []
    for index, end in _runs(parts):
        item = parts[index][1]
        if end > index + 1:
            run = parts[index:end]
            if any(part.__class__ is UsageTotals for _, part in run):
                rows.append(_row_of(principals, facts, _added_up(run)))
            else:  # shipped rows only (a store's pieces): added up as rows
                rows.append(_added_rows(run, principals, facts))
        elif item.__class__ is UsageTotals:
            rows.append(_row_of(principals, facts, item))
        else:
            theirs, tables, row = item
            who = renumbered.get(id(theirs))
            if who is None:
                who = renumbered[id(theirs)] = [None] * len(theirs)
            principal = who[row[0]]
            if principal is None:
                principal = who[row[0]] = principals.setdefault(theirs[row[0]], len(principals))
            which = row[9]
            if which >= 0:
                known = renumbered.get(id(tables))
                if known is None:
                    known = renumbered[id(tables)] = [None] * len(tables)
                table = known[which]
                if table is None:
                    table = known[which] = facts.index(tables[which])
                which = table
            rows.append((principal, row[1], row[2], row[3], row[4], row[5], row[6], row[7],
                         row[8], which, row[10]))
    return rows


def _added_rows(parts: list[tuple[UsageKey, Any]], principals: dict[Principal, int],
                facts: FactTables) -> tuple[Any, ...]:
    """The row :func:`_row_of` makes of ``_added_up(parts)`` when every part
    is a shipped row, made from the rows as they are (no totals made of each:
    a store's pieces hold most usages several times)."""
    theirs, tables, head = parts[0][1]
    count, first, last, regions, event_id = head[5], head[6], head[7], head[8], head[10]
    added: dict[tuple[str, str], int] | None = None if head[9] < 0 else dict(tables[head[9]])
    for _, (_, tables, row) in parts[1:]:
        count += row[5]
        if earlier(row[6], row[10], first, event_id):
            first, event_id = row[6], row[10]
        if row[7] > last:
            last = row[7]
        regions = regions_of(regions, row[8])
        which = row[9]
        if which >= 0 and tables[which]:
            if added is None:
                added = dict(tables[which])
            else:
                add_facts(added, tables[which])
    return (principals.setdefault(theirs[head[0]], len(principals)), head[1], head[2], head[3],
            head[4], count, first, last, regions, facts.index(added), event_id)


def _added_up(parts: list[tuple[UsageKey, Any]], *, facts: bool = True) -> UsageTotals:
    """The totals of (key, totals or shipped row) pairs of one key, added up
    into a copy (a table's entry or a row is never changed); without
    ``facts``, shipped rows' facts are not read (nor added up)."""
    total: UsageTotals | None = None
    for _, item in parts:
        if item.__class__ is UsageTotals:
            totals = item
        elif facts:
            totals = _row_totals(*item)
        else:
            principals, _, row = item
            totals = _row_totals(principals, (), row[:9] + (-1,) + row[10:])
        if total is None:
            total = totals.copy()
        else:
            total.add(totals)
    if total is None:
        raise ValueError("no totals to add up")
    return total


def _merge_totals(mine: dict[Any, UsageTotals], theirs: dict[Any, UsageTotals]) -> None:
    """Add one table of totals into another (copies: the two never share an entry)."""
    for key, seen in theirs.items():
        _count_into(mine, key, seen.copy())


def _count_into(table: dict[Any, UsageTotals], key: Any, totals: UsageTotals) -> None:
    """Add ``totals`` to the entry at ``key``, or make it the entry (it is not copied)."""
    found = table.get(key)
    if found is None:
        table[key] = totals
    else:
        found.add(totals)


def principals_seen(result: ScanResult) -> tuple[Principal, ...]:
    """Every principal with at least one event, sorted."""
    return tuple(sorted(result.principal_events))
