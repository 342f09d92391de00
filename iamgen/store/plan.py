"""What a run takes from the store and what it reads: pure decisions over
the files listed and the store's rows.

A listed file the store holds, unchanged, with a result made under the
current rules, is taken from the store: its *whole* result when its events
lie inside the run's window, its *outside* result when they all lie outside.
Files are known by their identity (a local path made absolute, its links
resolved), so a run given the trail by another path finds them kept.
Every other file is read (:class:`~iamgen.scanning.units.UnitJob`): new or
changed ones whole (their results are kept), ones lying across an edge of the
window under the window (and their whole result kept, if the store lacks it),
files no version can be given for (standard input, today's LookupEvents)
under the window only. A whole result kept without the calls' request
context serves only runs that need none; a run that needs it reads the file
again. The results taken are then covered by as few pieces
as possible: aggregates first (largest first, each wholly wanted and sharing
no result with another piece), single results for the rest.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from ..model import Filters
from ..scanning.units import Place, Reading, UnitJob, Way, placement
from ..sources.base import TrailFile
from ..sources.layout import skip_reason
from .db import AggregateRow, ResultRow, UnitRow


# In a whole read's key: the read left the calls' request context out (a run
# that needs none reads so when its store keeps none). Keys without it hold
# the context: every store made before the context could be left out.
WITHOUT_CONTEXT = "context=none"


def filters_key(filters: Filters, contexts: bool = True) -> str:
    """How a whole read was made, as text: the account and region filters it
    was made with (the time window is not part of it: a whole read has none),
    and :data:`WITHOUT_CONTEXT` when the calls' request context was left out.
    Raises ValueError for a value that would make the key ambiguous (empty,
    or holding a separator): the command line lets none through."""
    for value in (*filters.accounts, *filters.regions):
        if not value or any(mark in value for mark in ",;="):
            raise ValueError(f"{value!r} cannot be part of a store key")
    parts = []
    if filters.accounts:
        parts.append("accounts=" + ",".join(sorted(filters.accounts)))
    if filters.regions:
        parts.append("regions=" + ",".join(sorted(filters.regions)))
    if not contexts:
        parts.append(WITHOUT_CONTEXT)
    return ";".join(parts)


def filters_of_key(key: str) -> Filters:
    """The filters :func:`filters_key` gave ``key`` for (no window)."""
    given = dict(part.split("=", 1) for part in key.split(";") if "=" in part)
    return Filters(accounts=frozenset(filter(None, given.get("accounts", "").split(","))),
                   regions=frozenset(filter(None, given.get("regions", "").split(","))))


def holds_contexts(key: str) -> bool:
    """Whether the whole read of key ``key`` kept the calls' request context."""
    return WITHOUT_CONTEXT not in key.split(";")


def replaced_key(key: str) -> str | None:
    """The key of the whole result a read of key ``key`` replaces: the same
    read without the request context (None: ``key`` is that one)."""
    return filters_key(filters_of_key(key), contexts=False) if holds_contexts(key) else None


def superseded(results: Sequence[ResultRow]) -> list[int]:
    """Whole results read without the request context whose file also has
    one read with it, under the same rules and otherwise the same filters.
    Two runs on one store at once can leave both (one replaced the file's
    result while the other read it). The one with the context serves every
    run the other serves (:func:`make_plan`), so the other only takes space."""
    served = {(kept.unit, kept.rules, bare) for kept in results
              if kept.way == Way.WHOLE.value and (bare := replaced_key(kept.filters)) is not None}
    return sorted(kept.id for kept in results if kept.way == Way.WHOLE.value
                  and (kept.unit, kept.rules, kept.filters) in served)


@dataclass(frozen=True, slots=True)
class Plan:
    """What a run takes from the store (result ids) and what it reads; why,
    counted by reason for the report."""

    stored: list[int]
    jobs: list[UnitJob]
    reasons: Counter[str]
    stale: set[int]  # rules ids of stale results met


def make_plan(files: Sequence[TrailFile], key: Callable[[TrailFile], tuple[str, str] | None],
              units: Iterable[UnitRow], results: Iterable[ResultRow], filters: Filters,
              rules: int, contexts: bool = True) -> Plan:
    """Decide, for each listed file, whether it comes from the store or is read,
    and how. ``key``: a file's identity and version (None: it cannot be kept).
    ``contexts``: the run needs the calls' request context, so a whole result
    kept without it is read again (one kept with it serves every run)."""
    by_location = {unit.location: unit for unit in units}
    kept = {(result.unit, result.way, result.filters): result for result in results}
    wanted_filters = filters_key(filters)
    bare_filters = filters_key(filters, contexts=False)
    stored: list[int] = []
    jobs: list[UnitJob] = []
    reasons: Counter[str] = Counter()
    stale: set[int] = set()  # rules ids of stale results met

    def note_stale(result: ResultRow | None) -> None:
        if result is not None and result.rules != rules:
            stale.add(result.rules)

    for trail_file in files:
        current = key(trail_file)
        if current is None:
            jobs.append(UnitJob(trail_file, Reading.WINDOWED))
            reasons["not kept"] += 1
            continue
        identity, version = current
        unit = by_location.get(identity)
        if unit is None or unit.version != version:
            jobs.append(UnitJob(trail_file, Reading.WHOLE, current))
            reasons["new" if unit is None else "changed"] += 1
            continue
        place = placement(unit.span, filters.window)
        whole = kept.get((unit.id, Way.WHOLE.value, wanted_filters))
        bare = kept.get((unit.id, Way.WHOLE.value, bare_filters))
        if not contexts and (whole is None or whole.rules != rules) and bare is not None:
            whole = bare
        usable_whole = whole is not None and whole.rules == rules
        if place is Place.ACROSS:
            jobs.append(UnitJob(trail_file, Reading.WINDOWED if usable_whole
                                     else Reading.WHOLE, current))
            reasons["across the window's edge"] += 1
            note_stale(whole)
            continue
        if place is Place.INSIDE:
            wanted, job = whole, UnitJob(trail_file, Reading.WHOLE, current)
        else:
            wanted = kept.get((unit.id, Way.OUTSIDE.value, ""))
            job = UnitJob(trail_file, Reading.OUTSIDE, current)
        if wanted is not None and wanted.rules == rules:
            stored.append(wanted.id)
            continue
        jobs.append(job)
        if wanted is None and place is Place.INSIDE and bare is not None:
            if bare.rules == rules:
                reasons["kept without request context"] += 1
                continue
            wanted = bare  # stale, and without the context: said stale
        if wanted is None:
            reasons["other filters" if place is Place.INSIDE else "outside the window"] += 1
        else:
            reasons["stale"] += 1
            note_stale(wanted)
    return Plan(stored, jobs, reasons, stale)


def gone(units: Iterable[UnitRow], listed: set[str], covers: Callable[[str], bool],
         filters: Filters) -> list[UnitRow]:
    """Files the store holds that the source would have listed (under its
    paths, and not passed over by the filters) but did not: they have gone.
    ``listed``: the identities of the files listed."""
    return [unit for unit in units
            if unit.location not in listed and covers(unit.location)
            and skip_reason(unit.location, filters) is None]


@dataclass(frozen=True, slots=True)
class Cover:
    """The pieces that hold the results a run takes: aggregates, then single results."""

    aggregates: list[AggregateRow]
    singles: list[int]
    dead: list[int]  # aggregates no run can use again


def make_cover(wanted: Iterable[int], aggregates: Sequence[AggregateRow], existing: set[int],
               rules: int) -> Cover:
    """Cover the results ``wanted`` with aggregates (largest first, each
    wholly wanted and sharing no result with another piece), then single
    results. Aggregates holding a result that no longer ``exists``, or made
    under other rules, are dead."""
    remaining = set(wanted)
    used, dead = [], []
    for aggregate in aggregates:
        members = set(aggregate.members)
        if is_dead(aggregate, existing, rules):
            dead.append(aggregate.id)
        elif len(members) > 1 and members <= remaining:
            used.append(aggregate)
            remaining -= members
    return Cover(used, sorted(remaining), dead)


def is_dead(aggregate: AggregateRow, existing: set[int], rules: int) -> bool:
    """Whether no run can use ``aggregate`` again: a result it holds no longer
    ``exists``, it was made under other rules, or its member list is damaged."""
    return (aggregate.damaged or aggregate.rules != rules
            or not set(aggregate.members) <= existing)


def spent_aggregates(aggregates: Sequence[AggregateRow], made: int, taken: set[int],
                     day_of: Mapping[int, date | None], behind: set[int]) -> list[int]:
    """Aggregates later runs are not expected to take, once a run kept the
    aggregate ``made`` of the results it ``taken``:

    - those holding a whole result ``behind`` the run's window (of a file
      whose events all came before it): windows move forward, and no window
      from this one on takes such a result (an earlier one takes single
      results, or days, again);
    - those holding results the new one holds, only, unless they are one
      day's or one block's (``day_of``, :func:`is_block`): it takes their
      place. Days and blocks are kept: a window that moves on finds them merged;
    - a day's or a block's that another aggregate of the same days holds
      wholly (a day merged again once more of its files came).
    """
    behind_ids = {a.id for a in aggregates if any(m in behind for m in a.members)}
    days_of = {a.id: frozenset(day_of.get(m) for m in a.members) for a in aggregates}
    fuller: dict[frozenset[date | None], list[frozenset[int]]] = {}
    for aggregate in aggregates:
        if aggregate.id not in behind_ids:
            fuller.setdefault(days_of[aggregate.id], []).append(frozenset(aggregate.members))
    spent = []
    for aggregate in aggregates:
        if aggregate.id == made:
            continue
        members = aggregate.members
        block = is_block(days_of[aggregate.id])
        if aggregate.id in behind_ids or (taken.issuperset(members) and not block) or (
                block and any(other > set(members)
                              for other in fuller.get(days_of[aggregate.id], ()))):
            spent.append(aggregate.id)
    return spent


# Whole days merged are rolled up into blocks of this many days, aligned on the
# calendar (a block of each size is made of blocks, or days, of the sizes
# below it): a window that moves on takes a few blocks, in which a usage seen
# every day is one row, rather than a row per day it was seen.
BLOCK_DAYS = (4, 16, 64)


_LAST_ORDINAL = date.max.toordinal()


def block_of(days: Collection[date | None], size: int) -> int | None:
    """The number of the aligned block of ``size`` days that holds every one
    of ``days`` (the ordinal of its first day, over ``size``); None: they lie
    in several, or a day is not known."""
    if not days or None in days:
        return None
    blocks = {day.toordinal() // size for day in days if day is not None}
    return blocks.pop() if len(blocks) == 1 else None


def block_days(block: int, size: int) -> frozenset[date]:
    """Every day of the aligned block numbered ``block`` of ``size`` days."""
    return frozenset(date.fromordinal(block * size + offset) for offset in range(size))


def is_block(days: Collection[date | None]) -> bool:
    """Whether ``days`` are one day, or every day of one aligned block."""
    if len(days) == 1:
        return True
    for size in BLOCK_DAYS:
        block = block_of(days, size)
        if block is not None and len(days) == size:
            return True
    return False


def roll_up(days: Sequence[frozenset[date] | None], latest: date | None) -> list[list[int]]:
    """Which pieces to merge into blocks (:data:`BLOCK_DAYS`), in order.
    ``days``: the days each piece holds (None: not whole days, or unknown).
    Each entry lists the pieces one block is made of: by index in ``days``,
    then the blocks made before it, numbered on from ``len(days)``. A block is
    made of two pieces or more that hold every one of its days and no other,
    when it ends before ``latest`` (the last day may yet grow)."""
    known: list[frozenset[date] | None] = list(days)
    free = set(range(len(known)))
    merges: list[list[int]] = []
    if latest is None:
        return merges
    for size in BLOCK_DAYS:
        groups: dict[int, list[int]] = {}
        for index in sorted(free):
            held = known[index]
            block = None if held is None else block_of(held, size)
            if block is not None:
                groups.setdefault(block, []).append(index)
        for block, pieces in sorted(groups.items()):
            if len(pieces) < 2 or block * size < 1 or (block + 1) * size > _LAST_ORDINAL:
                continue  # (a block past the last day a date can hold: never whole)
            full = block_days(block, size)
            if max(full) >= latest or frozenset().union(*(known[i] or () for i in pieces)) != full:
                continue
            merges.append(pieces)
            free.difference_update(pieces)
            free.add(len(known))
            known.append(full)
    return merges
