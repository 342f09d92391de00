"""Reading a trail through a store (``--store PATH``): what the store holds is
merged, only what it lacks is read, and what is read is kept for next time.

The result is the one a run without the store gives, byte for byte in every
output: each file's kept result is exact (:mod:`iamgen.scanning.units`), and
results merge in any order to the same totals. Files are listed as always
(files the filters pass over by their path are never opened, and counted).
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from time import monotonic
from typing import Any

from ..errors import InputError
from ..model import Filters
from ..orphans import in_worker
from ..scanning.gc_tuning import collecting_rarely, freeze_and_collect_rarely
from ..scanning.scan import Progress
from ..scanning.outcomes import UnitOutcomes, add_units
from ..scanning.tally import DamagedRows, ResultRows, ScanResult
from ..scanning.units import UnitJob, UnitsRead, Way, scan_units
from ..sources.base import RecordSource, TrailFile, VersionedSource, listing_warnings
from ..sources.lookup import LookupSource
from .codec import CodecError, damaged_store, decode, decode_unit, encode, encode_unit
from .db import AggregateRow, PendingResult, ResultRow, Store, store_path
from .plan import (
    BLOCK_DAYS,
    Cover,
    Plan,
    filters_key,
    gone,
    holds_contexts,
    make_cover,
    make_plan,
    replaced_key,
    roll_up,
    spent_aggregates,
)
from .rules import Rules, current_rules

# A run that took pieces from the store and read new files to keep, or
# merged more pieces than this, keeps all it took merged as one aggregate,
# so the next run over the same files merges one piece. (Merging pieces
# that hold the same usages costs: on the 1M-event bench trail a rerun
# merging four pieces took 0.4 s longer than one merging one.)
CONSOLIDATE_AFTER = 8

# Single results a run merges are kept merged per day their files start on
# (when a day has at least this many), so that a window that moved on (the
# weekly ``--since 90d``) finds whole days merged: an aggregate is only taken
# when every result it holds is wanted. Measured on the 1M-event bench trail
# (7 days): a window moved by a day merged 600 single results in ~5 s; the
# days' aggregates merge in well under a second.
DAY_AGGREGATE_FROM = 2


@dataclass(frozen=True, slots=True)
class StoreReport:
    """What a run did with its store, for the lines after the summary."""

    path: Path
    listed: int
    from_store: int
    read: Counter[str]
    gone: int
    stale: tuple[Rules, ...] = ()


def read_with_store(path: str | Path, source: RecordSource, filters: Filters, workers: int = 1,
                    progress: Callable[[Progress], None] | None = None, contexts: bool = True
                    ) -> tuple[ScanResult, StoreReport]:
    """Scan ``source`` through the store at ``path`` (made when missing).

    ``contexts=False``: the run needs no request context, so the result may
    hold it or not (the caller leaves it out). Files are then read without it,
    unless the store keeps it (some run on it needed it; LookupEvents days,
    always): such a store reads every file with it, and a run that needs it
    reads again, once, each file kept without it."""
    path = store_path(path)
    files = source.files(filters)
    skipped = source.skipped()
    survey = _survey(path, source, files, filters, contexts)
    loaded: list[ScanResult] = []
    load = partial(_load_held, path, survey, workers > 1, loaded)
    read = UnitsRead([], [], [])
    if survey.plan.jobs:
        # Each process keeps its own results merged, unless this run keeps
        # all it counts as one piece (below): it takes theirs over.
        read = scan_units(source, survey.plan.jobs, filters,
                          partial(StoreSink, path, survey.rules_id,
                                  filters_key(filters, survey.keep_contexts),
                                  aggregate=not survey.pieces),
                          workers, progress, meanwhile=load, contexts=survey.keep_contexts)
    else:
        load()
    (result,) = loaded
    _add_read(path, survey, result, read, filters)
    result.files_skipped.update(skipped)
    result.listing_warnings(listing_warnings(source))
    # What was kept, and what was read to keep, names files by identity;
    # warnings name them as this run listed them, as a run without a store does.
    result.rename_files({key[0]: trail_file.location for trail_file, key in survey.keys.items()
                         if key is not None and key[0] != trail_file.location})
    report = StoreReport(path, len(files), len(survey.plan.stored), survey.plan.reasons,
                         survey.missing, survey.stale)
    return result, report


@dataclass(frozen=True, slots=True)
class _Survey:
    """What the store holds for a run, and what the run takes, reads and drops."""

    rules_id: int
    keys: dict[TrailFile, tuple[str, str] | None]  # each file's identity and version
    plan: Plan
    keep_contexts: bool  # files are read (and kept) with the request context
    cover: Cover  # the aggregates and single results that hold what the run takes
    days: dict[int, date | None]  # each result taken: the day its file starts on
    missing: int  # files the store holds that are gone from the source
    stale: tuple[Rules, ...]  # the rules of the results read again as stale
    seen: _Seen  # the results taken, as the survey saw them

    @property
    def pieces(self) -> int:
        """How many pieces the run takes from the store."""
        return len(self.cover.aggregates) + len(self.cover.singles)


def _survey(path: Path, source: RecordSource, files: list[TrailFile], filters: Filters,
            contexts: bool) -> _Survey:
    """Look at the store (made when missing): what the run takes, reads and
    drops. Files gone from the source are marked, and aggregates no longer
    usable dropped."""
    rules = current_rules()
    versioned = isinstance(source, VersionedSource)
    with Store.open(path) as store:
        rules_id = store.rules_id(rules)
        # Aggregates first: one is written after its results, so every result
        # an aggregate read here holds is in the results read next (one
        # another run adds meanwhile is not taken for dead).
        aggregates = store.aggregates()
        units = store.units()
        results = store.results()
        keys = {trail_file: unit_key(source, trail_file) for trail_file in files}
        plan = make_plan(files, keys.__getitem__, units, results, filters, rules_id, contexts)
        # LookupEvents forgets a day after 90 days: one kept without the
        # context could never be given it, so its days are kept with it.
        keep_contexts = contexts or isinstance(source, LookupSource) or any(
            kept.way == Way.WHOLE.value and holds_contexts(kept.filters) for kept in results)
        # Every file listed, its version known or not: one it cannot read
        # now is read (and warned about) as without a store, not gone.
        listed = ({key[0] if key is not None else source.identity(trail_file)
                   for trail_file, key in keys.items()} if versioned else set())
        missing = gone(units, listed, source.covers, filters) if versioned else []
        store.mark_missing([unit.id for unit in missing if unit.missing_since is None],
                           [unit.id for unit in units
                            if unit.missing_since is not None and unit.location in listed],
                           datetime.now(UTC))
        cover = make_cover(plan.stored, aggregates, {r.id for r in results}, rules_id)
        store.delete_aggregates(cover.dead)
        all_rules = store.all_rules()
    stale = tuple(all_rules[r] for r in sorted(plan.stale) if r in all_rules)
    spans = {unit.id: unit.span for unit in units}
    unit_of = {kept.id: kept.unit for kept in results}
    days = {taken: _day(spans[unit_of[taken]]) for taken in plan.stored}
    wanted = set(plan.stored)
    taken = {kept.id: kept for kept in results if kept.id in wanted}
    versions = {unit.id: unit.version for unit in units}
    seen = _Seen(taken, {kept.unit: versions[kept.unit] for kept in taken.values()})
    return _Survey(rules_id, keys, plan, keep_contexts, cover, days, len(missing), stale, seen)


@dataclass(frozen=True, slots=True)
class _Seen:
    """The results a run takes, and their files' versions, as its survey saw
    them (another run may replace them while this one reads)."""

    results: dict[int, ResultRow]
    versions: dict[int, str]  # by unit id


def _load_held(path: Path, survey: _Survey, helper: bool, loaded: list[ScanResult]) -> None:
    """What the store holds for this run, merged, appended to ``loaded``
    (while worker processes read); with ``helper``, a second process may
    merge half of the days."""
    days = survey.days
    by_day: dict[date | None, list[int]] = {}
    for single in survey.cover.singles:
        by_day.setdefault(days.get(single), []).append(single)
    latest = max(filter(None, days.values()), default=None)
    held = {day for aggregate in survey.cover.aggregates for day in
            _whole_days(aggregate.members, days) or ()}
    mine, theirs = _share_days(by_day, helper)
    # The helper is forked before this process opens the store: an SQLite
    # connection must never cross a fork, even unused.
    with _DayMerger(path, survey.rules_id, theirs, latest, held, survey.seen) as merger, \
            Store.open(path, create=False) as store, collecting_rarely():
        loaded.append(_load(store, survey.cover.aggregates, mine, days, survey.rules_id,
                            latest, merger, survey.seen))


def _add_read(path: Path, survey: _Survey, result: ScanResult, read: UnitsRead,
              filters: Filters) -> None:
    """Add what the run read to what it took from the store, and keep all it
    counted as one piece when it took pieces and read files to keep (or took
    many pieces)."""
    with collecting_rarely():
        for rows in read.kept:
            result.merge_rows(rows)
        if survey.pieces and (read.kept_ids or survey.pieces > CONSOLIDATE_AFTER):
            _consolidate(path, survey.rules_id,
                         sorted({*survey.plan.stored, *read.kept_ids}), result, filters)
        for shipment in read.windowed:
            result.merge_shipment(shipment)


def _consolidate(path: Path, rules: int, members: list[int], result: ScanResult,
                 filters: Filters) -> None:
    """Keep ``result`` (what the results ``members`` hold, merged) as one
    aggregate, so the next run over the same files merges one piece; and
    drop the aggregates it makes spent (:func:`~.plan.spent_aggregates`)."""
    rows = result.compact_rows()  # the merge usages() would make; done once
    with Store.open(path, create=False) as store:
        made = store.put_aggregate(rules, members, encode(rows))
        spans = {unit.id: unit.span for unit in store.units()}
        day_of: dict[int, date | None] = {}
        behind: set[int] = set()
        since = filters.window.since
        for kept in store.results():
            span = spans.get(kept.unit)
            day_of[kept.id] = _day(span)
            if (since is not None and span is not None and span[1] < since
                    and kept.way == Way.WHOLE.value):
                behind.add(kept.id)
        store.delete_aggregates(spent_aggregates(store.aggregates(), made, set(members),
                                                 day_of, behind))


def unit_key(source: RecordSource, trail_file: TrailFile) -> tuple[str, str] | None:
    """The file's identity and version in the store (None: it cannot be kept)."""
    if not isinstance(source, VersionedSource):
        return None
    version = source.version(trail_file)
    return None if version is None else (source.identity(trail_file), version)


def _day(span: tuple[datetime, datetime] | None) -> date | None:
    """The UTC day a file's events start on (None: it has none a window could cut)."""
    return None if span is None else span[0].astimezone(UTC).date()


def _load(store: Store, aggregates: list[AggregateRow], by_day: dict[date | None, list[int]],
          days: dict[int, date | None], rules: int, latest: date | None,
          merger: _DayMerger, seen: _Seen) -> ScanResult:
    """The aggregates and single results (``by_day``: by the day their file
    starts on, ``days``) named, merged (usages pending, in order), with the
    days ``merger`` merges. Each day's single results are kept merged for the
    next run; whole days are then rolled up into blocks (:func:`~.plan.roll_up`;
    none ends on ``latest``), each kept too.
    An aggregate another run dropped since this one looked is replaced by its
    results; a result another run replaced since, by its replacement
    (:func:`_add_results`; ``seen``: the results as this run first saw them)."""
    result = ScanResult()
    by_day = {day: list(members) for day, members in by_day.items()}
    pieces: list[_Piece] = []
    try:
        for aggregate in aggregates:
            data = store.aggregate_data(aggregate.id)
            if data is None:
                for member in aggregate.members:
                    by_day.setdefault(days.get(member), []).append(member)
            else:
                pieces.append(_Piece(_whole_days(aggregate.members, days),
                                     list(aggregate.members), decode(data, store.path), data))
        undated = by_day.pop(None, [])
        if undated:  # files with no event a window could cut: in no day's piece
            loose = ScanResult()
            _add_results(store, undated, loose, seen)
            result.merge_shipment(loose.ship())
        for day in sorted(d for d in by_day if d is not None):
            pieces.append(_merged_day(store, rules, day, by_day[day], seen))
        helped = merger.pieces()
        if helped is None:  # the helper is gone: its days are merged here
            helped = [_merged_day(store, rules, day, members, seen)
                      for day, members in merger.days]
        pieces.extend(helped)
        for piece in _rolled_up(store, rules, pieces, latest):
            result.merge_rows(piece.rows)
    except (CodecError, DamagedRows) as exc:
        raise damaged_store(store.path, exc) from None
    return result


def _add_results(store: Store, members: list[int], into: ScanResult,
                 seen: _Seen) -> list[int]:
    """Add the single results ``members`` to ``into``; the ids added.
    One another run replaced since this run saw it (``seen``) by a result
    of the same version of its file that serves this run as well is added in
    its place (:func:`replacements`: a rebuild, a run that kept the request
    context); one replaced otherwise (its file changed or was pruned) is an
    error: run again."""
    data = dict(store.result_data(members))
    ids = list(members)
    taken: dict[int, ResultRow] = {}  # replacements taken (each may be replaced in turn)
    for _ in range(REPLACED_TRIES):
        missing = [member for member in ids if member not in data]
        if not missing:
            break
        found = replacements(store.results(),
                             [taken[member] if member in taken else seen.results[member]
                              for member in missing])
        versions = {unit.id: unit.version for unit in store.units()}
        found = {old: new for old, new in found.items()  # not of a file changed meanwhile
                 if versions.get(new.unit) == seen.versions.get(new.unit)}
        if len(found) < len(missing):
            break
        taken.update((row.id, row) for row in found.values())
        ids = [found[member].id if member in found else member for member in ids]
        data.update(store.result_data(row.id for row in found.values()))
    if any(member not in data for member in ids):
        raise InputError(f"{store.path}: another run replaced results while this one "
                         "read the store: run again")
    add_units(into, (decode_unit(data[member]) for member in ids))
    return ids


# Times a run looks again for results another run replaced while it read them.
REPLACED_TRIES = 3


def replacements(now: Iterable[ResultRow], replaced: Iterable[ResultRow]
                 ) -> dict[int, ResultRow]:
    """For each ``replaced`` result (gone from the store), by its id, the
    one ``now`` kept that serves every run it served, if any: the same
    file's, read the same way under the same rules, with the same filters,
    or the same with the request context added."""
    kept: dict[tuple[int, str, int, str], ResultRow] = {}
    for row in now:
        key = (row.unit, row.way, row.rules)
        kept[(*key, row.filters)] = row
        bare = replaced_key(row.filters) if row.way == Way.WHOLE.value else None
        if bare is not None:
            kept.setdefault((*key, bare), row)
    found = {}
    for old in replaced:
        new = kept.get((old.unit, old.way, old.rules, old.filters))
        if new is not None:
            found[old.id] = new
    return found


def _merged_day(store: Store, rules: int, day: date, members: list[int],
                seen: _Seen) -> _Piece:
    """One day's single results merged, as rows and as bytes (kept as an
    aggregate when there are a few)."""
    loose = ScanResult()
    members = _add_results(store, members, loose, seen)
    rows = loose.export_rows()
    data = encode(rows)
    if len(members) >= DAY_AGGREGATE_FROM:
        store.put_aggregate(rules, members, data)
    return _Piece(frozenset((day,)), members, rows, data)


# Days of single results are merged in a helper process beside this one when
# there are at least this many results (a result merges in about the time its
# file reads: a window that moved on for the first time merges most of them).
HELPER_FROM = 64


def _share_days(by_day: dict[date | None, list[int]], helper: bool
                ) -> tuple[dict[date | None, list[int]], list[tuple[date, list[int]]]]:
    """The days (with their results) this process merges, results with no
    day among them, and those a helper process merges: none, unless
    ``helper`` and there are enough results.
    Days are shared by aligned block (of the largest size below the largest
    in :data:`~.plan.BLOCK_DAYS` that makes two shares or more), so each
    process rolls up blocks of its own days."""
    dated = sorted(day for day in by_day if day is not None)
    if (not helper or sum(len(by_day[day]) for day in dated) < HELPER_FROM
            or "fork" not in multiprocessing.get_all_start_methods()):
        return by_day, []
    blocks: dict[int, list[date]] = {}
    for size in (*BLOCK_DAYS[-2::-1], 1):
        blocks = {}
        for day in dated:
            blocks.setdefault(day.toordinal() // size, []).append(day)
        if len(blocks) > 1:
            break
    load = {block: sum(len(by_day[day]) for day in held) for block, held in blocks.items()}
    shares: tuple[list[date], list[date]] = ([], [])
    loads = [0, 0]
    for block in sorted(blocks, key=lambda b: (-load[b], b)):  # largest first
        lighter = 0 if loads[0] <= loads[1] else 1
        shares[lighter].extend(blocks[block])
        loads[lighter] += load[block]
    mine: dict[date | None, list[int]] = {day: by_day[day] for day in shares[0]}
    if None in by_day:
        mine[None] = by_day[None]
    return mine, [(day, by_day[day]) for day in sorted(shares[1])]


class _DayMerger:
    """A forked process that merges days of single results (:func:`_merged_day`,
    on its own connection to the store), rolls up blocks of them (none that
    holds a day of ``held``: this process has other pieces of those days),
    and sends their rows back; with no days, nothing is started."""

    def __init__(self, path: Path, rules: int, days: list[tuple[date, list[int]]],
                 latest: date | None, held: set[date], seen: _Seen) -> None:
        self.days = days
        self._path = path
        self._process: Any = None
        self._receiver: Any = None
        if not days:
            return
        context = multiprocessing.get_context("fork")
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(target=in_worker,
                                  args=(os.getpid(), _merge_days, path, rules, days, latest,
                                        held, seen, receiver, sender),
                                  daemon=True)
        try:
            process.start()
        except OSError:  # cannot fork (memory): this process merges the days
            receiver.close()
            return
        finally:
            sender.close()
        self._process, self._receiver = process, receiver

    def __enter__(self) -> _DayMerger:
        return self

    def pieces(self) -> list[_Piece] | None:
        """The days merged (waits for them); None when the helper could not
        start or died (the caller merges :attr:`days`); the helper's error,
        raised here."""
        if self._receiver is None:
            return None if self.days else []
        try:
            kind, payload = self._receiver.recv()
        except EOFError:
            return None
        if kind == "damaged":
            raise DamagedRows(payload)
        if kind == "input":
            raise InputError(payload)
        if kind == "error":
            raise RuntimeError(f"a store helper process failed:\n{payload}")
        return [_Piece(frozenset(days), members, decode(data, self._path), data)
                for days, members, data in payload]

    def __exit__(self, *_: object) -> None:
        if self._process is not None:
            self._receiver.close()
            if self._process.is_alive():  # done sending (or this one failed first)
                self._process.terminate()
            self._process.join()


def _merge_days(path: Path, rules: int, days: list[tuple[date, list[int]]],
                latest: date | None, held: set[date], seen: _Seen,
                receiver: Any, sender: Any) -> None:
    """The helper process of :class:`_DayMerger`: its days merged, then rolled
    up, sent as (days, members, bytes)."""
    receiver.close()  # this process's copy: were the parent gone, a send must fail, not wait
    freeze_and_collect_rarely()  # the objects it was forked with: never collected here
    try:
        with Store.open(path, create=False) as store:
            mine: list[_Piece] = []
            left: list[_Piece] = []  # holding a day of ``held``: the parent rolls them up
            for day, members in days:
                piece = _merged_day(store, rules, day, members, seen)
                (left if day in held else mine).append(piece)
            pieces = [*_rolled_up(store, rules, mine, latest), *left]
            merged = [(sorted(piece.days or ()), piece.members, piece.data) for piece in pieces]
        reply: tuple[str, Any] = ("done", merged)
    except (CodecError, DamagedRows) as exc:
        reply = ("damaged", str(exc))
    except InputError as exc:
        reply = ("input", str(exc))
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises
        reply = ("error", traceback.format_exc())
    try:
        sender.send(reply)
    except OSError:  # the parent is gone: nothing to tell
        pass
    finally:
        sender.close()


@dataclass(frozen=True, slots=True)
class _Piece:
    """What :func:`_load` merges: an aggregate, or a day's single results."""

    days: frozenset[date] | None  # the days its results start on (None: not all known)
    members: list[int]
    rows: ResultRows
    data: bytes  # the rows encoded (as kept)


def _whole_days(members: Iterable[int], days: dict[int, date | None]) -> frozenset[date] | None:
    """The days results ``members`` start on (None: one is not known)."""
    held = set()
    for member in members:
        day = days.get(member)
        if day is None:
            return None
        held.add(day)
    return frozenset(held)


def _rolled_up(store: Store, rules: int, pieces: list[_Piece], latest: date | None
               ) -> list[_Piece]:
    """``pieces``, those that make up whole blocks of days merged into them
    (:func:`~.plan.roll_up`; none ends on ``latest``), each block kept as an
    aggregate."""
    known = list(pieces)
    merged_away: set[int] = set()
    for group in roll_up([piece.days for piece in pieces], latest):
        block = ScanResult()
        for index in group:
            block.merge_rows(known[index].rows)
        rows = block.export_rows()
        data = encode(rows)
        members = sorted(member for index in group for member in known[index].members)
        store.put_aggregate(rules, members, data)
        known.append(_Piece(frozenset().union(*(known[i].days or () for i in group)),
                            members, rows, data))
        merged_away.update(group)
    return [piece for index, piece in enumerate(known) if index not in merged_away]


class StoreSink:
    """Keeps the results one process of a run reads (a
    :class:`~iamgen.scanning.units.UnitSink`): a few files a transaction,
    each file's results with its marker, and at the end what the process
    counted, merged, as one aggregate. ``filters``: the key of its whole reads
    (:func:`~.plan.filters_key`); one that holds the request context replaces
    the file's whole result kept without it."""

    def __init__(self, path: Path, rules: int, filters: str, aggregate: bool = True) -> None:
        # Opened at the first write: a connection must never cross a fork
        # (the main process makes its sink before its worker processes start).
        self._path = path
        self._store: Store | None = None
        self._rules = rules
        self._filters = filters
        self._replaces = replaced_key(filters)
        self._aggregate = aggregate
        self._pending: list[PendingResult] = []
        self._since = 0.0
        self._counted: list[int] = []

    def put(self, job: UnitJob, way: Way, unit: UnitOutcomes,
            span: tuple[datetime, datetime] | None, counted: bool) -> None:
        location, version = job.key
        if not self._pending:
            self._since = monotonic()
        self._pending.append(PendingResult(
            location, version, span, way.value, self._filters if way is Way.WHOLE else "",
            unit.events_read, unit.outcomes, unit.bytes_read, encode_unit(unit),
            counted, self._replaces if way is Way.WHOLE else None))
        if len(self._pending) >= BATCH_FILES or monotonic() - self._since > BATCH_SECONDS:
            self._flush()

    def _opened(self) -> Store:
        if self._store is None:
            self._store = Store.open(self._path, create=False)
        return self._store

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if pending:
            ids = self._opened().put_results(self._rules, pending)
            self._counted.extend(i for i, p in zip(ids, pending, strict=True) if p.counted)

    def close(self, counted: ResultRows) -> list[int]:
        try:
            self._flush()
            if self._aggregate and len(self._counted) > 1:
                self._opened().put_aggregate(self._rules, self._counted, encode(counted))
        finally:
            if self._store is not None:
                self._store.close()
        return self._counted


# A sink writes its files' results in one transaction once it holds this many,
# or has held the first this long: each file is still complete or absent, and
# a run killed loses at most that much work.
BATCH_FILES = 32
BATCH_SECONDS = 0.5
