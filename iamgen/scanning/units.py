"""Reading trail files one at a time, each file's result kept apart: for a
store of per-file results (:mod:`iamgen.store`).

A kept result must not depend on the time window of the run that made it, or
a later run with another window could not use it. So a file is read *whole*
(no time window; the account and region filters apply), and the span of its
events is noted (every record that reached the time check: what a window could
cut). Against a run's window a file then lies:

- **inside** (or has no event a window could cut): its whole result is what
  this run counts for it;
- **outside**: none of its events count; what a run counts for it (its events
  skipped as ``outside_window``, the ids its records announce, its damaged
  records) is read once as its *outside* result, which no window changes;
- **across** an edge: it is read under the run's window, like any file of a
  run without a store (few files: a delivery file spans about five minutes).

Each process of :func:`scan_units` keeps one :class:`~.fast.FastScanner` per
way of reading, so the memo tables stay warm from file to file, and hands
every result to keep to a :class:`UnitSink` (the store writes it) as soon as
the file is read, as its tallied outcomes (:class:`~.outcomes.UnitOutcomes`:
cheaper to take and keep than the result they make). What the run counts is
folded as in :func:`~.scan.scan`: one result per process, sent back once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import Enum
from functools import partial
from typing import Any, Protocol

from ..model import Filters, Window
from ..sources.base import RecordSource, TrailFile, read_files
from .fast import FastScanner
from .gc_tuning import collecting_rarely
from .outcomes import UnitOutcomes
from .scan import Advance, Progress, read_in_processes
from .tally import ResultRows, Shipment

Span = tuple[datetime, datetime]
"""The first and last eventTime of the records a window could cut."""


class Place(Enum):
    """Where a file's events lie against a window."""

    INSIDE = "inside"
    OUTSIDE = "outside"
    ACROSS = "across"


def placement(span: Span | None, window: Window) -> Place:
    """Where events spanning ``span`` lie against ``window`` (no span: no
    event a window could cut, so inside)."""
    if span is None:
        return Place.INSIDE
    first, last = span
    if window.contains(first) and window.contains(last):
        return Place.INSIDE
    if (window.since is not None and last < window.since) or (
            window.until is not None and first > window.until):
        return Place.OUTSIDE
    return Place.ACROSS


class Way(Enum):
    """How a file's kept result was read."""

    WHOLE = "whole"  # no time window: what a run with the file inside its window counts
    OUTSIDE = "outside"  # what a run with the file outside its window counts


# A window no event falls in (bounds are inclusive: it ends before it starts,
# so not even an event at the last moment a date can hold is inside).
_NEVER = Window(since=datetime.max.replace(tzinfo=UTC), until=datetime.min.replace(tzinfo=UTC))


class Reading(Enum):
    """How a :class:`UnitJob` reads its file."""

    WHOLE = "whole"  # whole, that result kept; then as its placement says
    OUTSIDE = "outside"  # as outside the window (its placement is known), that result kept
    WINDOWED = "windowed"  # under the run's window only (it lies across an edge, or is not kept)
    WHOLE_AND_OUTSIDE = "whole and outside"  # both results kept (``iamgen store rebuild``)


@dataclass(frozen=True, slots=True)
class UnitJob:
    """One file to read, and how.

    ``key``: the sink's reference for the file, (identity, version) (None:
    its results are not kept; it is then read :attr:`Reading.WINDOWED`).
    """

    trail_file: TrailFile
    reading: Reading
    key: tuple[str, str] | None = None

    @property
    def location(self) -> str:
        """What warnings name the file: its identity when it has a key (the
        same whatever path reached it: kept results name it so), else its
        location as listed."""
        return self.trail_file.location if self.key is None else self.key[0]


class UnitSink(Protocol):
    """Where the kept results of one process go (made in that process)."""

    def put(self, job: UnitJob, way: Way, unit: UnitOutcomes, span: Span | None,
            counted: bool) -> None:
        """Keep one file's result (``counted``: this run counts it)."""
        ...

    def close(self, counted: ResultRows) -> list[int]:
        """Every kept result this process counted, merged (the sink may keep
        that too); no more puts follow. Returns the sink's references of the
        results it kept that this process counted."""
        ...


@dataclass(frozen=True, slots=True)
class UnitsRead:
    """What :func:`scan_units` read and counts, per process: the results that
    were kept (as rows), and the others (read under the window); and the
    sinks' references of the kept results counted (every process's)."""

    kept: list[ResultRows]
    windowed: list[Shipment]
    kept_ids: list[int]


def scan_units(source: RecordSource, jobs: Sequence[UnitJob], filters: Filters,
               make_sink: Callable[[], UnitSink], workers: int = 1,
               progress: Callable[[Progress], None] | None = None,
               meanwhile: Callable[[], None] | None = None, contexts: bool = True
               ) -> UnitsRead:
    """Read ``jobs`` on ``workers`` processes; each process hands the results
    to keep to its own sink from ``make_sink``. ``meanwhile``: as for
    :func:`~.scan.read_in_processes`. ``contexts=False``: the results (kept
    and counted) are read as ``FastScanner(contexts=False)`` reads, the calls'
    request context left out."""
    mine, theirs = read_in_processes(source, jobs,
                                     partial(_UnitReader, filters, make_sink, contexts),
                                     workers, progress, meanwhile=meanwhile)
    kept, windowed, ids = [], [], []
    for rows, shipment, counted in [mine, *theirs]:
        kept.append(rows)
        windowed.append(shipment)
        ids.extend(counted)
    return UnitsRead(kept, windowed, sorted(ids))


class _UnitReader:
    """One process of :func:`scan_units`: a scanner per way of reading."""

    def __init__(self, filters: Filters, make_sink: Callable[[], UnitSink],
                 contexts: bool = True) -> None:
        self.window = filters.window
        self.whole = FastScanner(replace(filters, window=Window()), spans=True,
                                 contexts=contexts)
        self.outside = FastScanner(replace(filters, window=_NEVER))  # counts no call
        self.windowed = FastScanner(filters, contexts=contexts)
        self.sink = make_sink()

    def read_batch(self, source: RecordSource, batch: list[UnitJob], advance: Advance) -> None:
        read = [0, 0, 0]  # bytes, events, files
        for job, (_, data) in zip(batch, read_files(source, (j.trail_file for j in batch)),
                                  strict=True):
            if isinstance(data, OSError):  # counted as any run counts it; nothing kept
                self.windowed.unreadable(job.location, data)
                continue
            read[0] += len(data)
            read[2] += 1
            read[1] += self._read(job, data)
        advance(len(batch), *read)

    def _read(self, job: UnitJob, data: bytes) -> int:
        """Read one file as ``job`` says; the events it holds."""
        reading = job.reading
        outside = reading is Reading.OUTSIDE or reading is Reading.WHOLE_AND_OUTSIDE
        windowed = reading is Reading.WINDOWED
        span, events = None, -1
        if reading is Reading.WHOLE or reading is Reading.WHOLE_AND_OUTSIDE:
            self.whole.add_file(job.location, data)
            place = placement(self.whole.span(), self.window)
            unit = self.whole.take_unit(count=place is Place.INSIDE)
            span = unit.span
            events = unit.events_read
            self.sink.put(job, Way.WHOLE, unit, span, place is Place.INSIDE)
            outside = outside or place is Place.OUTSIDE
            windowed = windowed or place is Place.ACROSS
        if outside:
            self.outside.add_file(job.location, data)
            unit = self.outside.take_unit()
            events = unit.events_read if events < 0 else events
            self.sink.put(job, Way.OUTSIDE, unit, span, True)
        if windowed:
            before = self.windowed.result.events_read
            self.windowed.add_file(job.location, data)
            events = self.windowed.result.events_read - before if events < 0 else events
        return max(events, 0)

    def finish(self, worker: bool) -> tuple[ResultRows, Shipment, list[int]]:
        with collecting_rarely():
            kept = self.whole.finish()
            kept.merge(self.outside.finish())  # outside results hold no usages: cheap
            rows = kept.export_rows()
            ids = self.sink.close(rows)
            return rows, self.windowed.finish().ship(), ids
