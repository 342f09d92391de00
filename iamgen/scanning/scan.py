"""Read trail files into a tally of who needed what: the scanning stage.

Files are scanned in batches, spread over processes, into a
:class:`~iamgen.scanning.tally.ScanResult`; results merge in any order to the
same totals. Bad input never stops a scan: every skipped file or record is
counted by reason, and bad input also leaves a one-line warning naming the
file and record. Each process folds its files with the fast path of
:mod:`iamgen.scanning.fast`.

What each speed-up costs and saves, as measured on the 1M-event bench
(``make bench``), is said where it is made (:mod:`.fast`, :mod:`.memo`,
:mod:`.gc_tuning`, and the constants here).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import chain
from typing import Any, Protocol

from ..errors import IamgenError
from ..model import Filters
from ..orphans import in_worker
from ..sources.base import (
    FolderedSource,
    RecordSource,
    TrailFile,
    TrailFolder,
    listing_warnings,
    read_files,
)
from ..sources.decode import BadInput
from ..sources.layout import path_facts
from .fast import FastScanner
from .gc_tuning import collecting_rarely, freeze_and_collect_rarely
from .plain import parse_event_time, scan_record
from .tally import (
    BAD_INPUT_REASONS,
    MAX_WARNINGS_PER_FILE,
    ScanResult,
    Shipment,
    principals_seen,
)

__all__ = [
    "BAD_INPUT_REASONS",
    "MAX_WARNINGS_PER_FILE",
    "BadInput",
    "Progress",
    "ScanResult",
    "parse_event_time",
    "principals_seen",
    "read_in_processes",
    "scan",
    "scan_file",
    "scan_record",
]

# What a scan hands out: a file, or a folder its reader lists.
Unit = TrailFile | TrailFolder


def _listed(source: RecordSource, unit: Unit, filters: Filters,
            skipped: Counter[str]) -> Iterable[TrailFile]:
    """A unit's files: itself, or a folder's, listed now (a page at a time)."""
    if isinstance(unit, TrailFile):
        return (unit,)
    assert isinstance(source, FolderedSource)
    return source.list_folder(unit.location, filters, skipped)


def scan_file(source: RecordSource, trail_file: TrailFile, filters: Filters) -> ScanResult:
    """Scan one file into a fresh result. Never raises for bad content."""
    scanner = FastScanner(filters)
    try:
        data = source.read(trail_file)
    except OSError as exc:
        scanner.unreadable(trail_file.location, exc)
    else:
        scanner.add_file(trail_file.location, data)
    return scanner.finish()


@dataclass(frozen=True, slots=True)
class Progress:
    """Running totals, for a progress line."""

    files_total: int
    files_done: int
    bytes_read: int
    events_read: int
    unit: str = "files"  # what files_total and files_done count: "files" or "folders"
    files_read: int = 0  # files read so far (with folders as the unit: as they are listed)


def scan(source: RecordSource, filters: Filters, workers: int = 1,
         progress: Callable[[Progress], None] | None = None, *,
         contexts: bool = True) -> ScanResult:
    """Scan every file a source lists, on ``workers`` processes, into one result.

    This process is one of them; each other worker process keeps one running
    tally (and its memo tables) over all the batches it takes, and sends it
    back once, so the merge here costs one result per process, not one per
    file. Each process starts on the files of its own accounts and regions
    (their calls repeat, so its memo tables hit more), then takes what is left
    of the others'. ``progress`` (optional) is called in this process as
    batches complete.

    A :class:`~iamgen.sources.base.FolderedSource` (S3) is handed out by
    folder: each process lists the folders it takes as it reads them, so no
    process holds every file name.

    ``contexts=False``: the calls' request context is not recorded (see
    :class:`~.fast.FastScanner`); only for outputs that do not read it.
    """
    folders = source.folders(filters) if isinstance(source, FolderedSource) else None
    units: list[Unit] = ([TrailFolder(f) for f in folders] if folders is not None
                         else list(source.files(filters)))
    skipped = source.skipped()
    mine, shipments = read_in_processes(source, units, partial(_FoldReader, filters, contexts),
                                        workers, progress,
                                        "files" if folders is None else "folders")
    with collecting_rarely():
        mine.files_skipped.update(skipped)
        mine.listing_warnings(listing_warnings(source))
        for shipment in shipments:
            mine.merge_shipment(shipment)
    return mine


Advance = Callable[[int, int, int, int], None]
"""Progress of a batch: units done, bytes, events and files read."""


class Reader(Protocol):
    """What reads batches of units in one process of :func:`read_in_processes`."""

    def read_batch(self, source: RecordSource, batch: list[Any], advance: Advance) -> None:
        """Read one batch of units."""
        ...

    def finish(self, worker: bool) -> Any:
        """What this process hands back once every batch is read (``worker``:
        in a worker process, so it is sent to the main one)."""
        ...


def read_in_processes(source: RecordSource, units: Sequence[Any],
                      make_reader: Callable[[], Reader], workers: int = 1,
                      progress: Callable[[Progress], None] | None = None,
                      unit: str = "files",
                      meanwhile: Callable[[], None] | None = None) -> tuple[Any, list[Any]]:
    """Read ``units`` (each with a ``location``) in batches, on ``workers``
    processes, each with its own reader from ``make_reader``: what this
    process's reader finished with, and what each worker process's sent.

    This process is one of them; each other worker process keeps its reader
    over all the batches it takes, and sends what it finished with once, so
    the main process merges one payload per process, not one per unit. Each
    process starts on the units of its own accounts and regions (their calls
    repeat, so its memo tables hit more), then takes what is left of the
    others'. ``progress`` (optional) is called in this process as batches
    complete; ``unit`` says what a unit is in it ("files" or "folders").
    ``meanwhile`` (optional) is called in this process once the worker
    processes have started, before it reads: they take more batches while
    it works.
    """
    workers = max(1, min(workers, len(units)))
    if any(u.location == "<stdin>" for u in units):
        workers = 1
    batches, orders = _plan_batches(list(units), workers)
    counts = [0, 0, 0, 0]  # units, bytes, events, files

    def advance(units_done: int, bytes_read: int, events_read: int, files_read: int) -> None:
        counts[0] += units_done
        counts[1] += bytes_read
        counts[2] += events_read
        counts[3] += files_read
        if progress is not None:
            progress(Progress(len(units), counts[0], counts[1], counts[2], unit, counts[3]))

    reader = make_reader()
    with collecting_rarely():
        if workers == 1:
            if meanwhile is not None:
                meanwhile()
            for batch in batches:
                reader.read_batch(source, batch, advance)
            return reader.finish(False), []
        _warm_up()
        return _run_workers(source, batches, orders, make_reader, reader, advance, meanwhile)


class _FoldReader:
    """Folds every file a process reads into one running tally (:func:`scan`)."""

    def __init__(self, filters: Filters, contexts: bool = True) -> None:
        self.scanner = FastScanner(filters, contexts=contexts)

    def read_batch(self, source: RecordSource, batch: list[Unit], advance: Advance) -> None:
        _scan_batch(self.scanner, source, batch, advance)

    def finish(self, worker: bool) -> ScanResult | Shipment:
        result = self.scanner.finish()
        return result.ship() if worker else result


def _scan_batch(scanner: FastScanner, source: RecordSource, batch: list[Unit],
                advance: Advance) -> None:
    """Read and add a batch: files, or the folders of a foldered source
    (listed here, a page at a time, while their files are read)."""
    result = scanner.result
    before = (result.bytes_read, result.events_read, result.files_read)
    files: Iterable[TrailFile] = chain.from_iterable(
        _listed(source, unit, scanner.filters, result.files_skipped) for unit in batch)
    for trail_file, data in read_files(source, files):
        if isinstance(data, OSError):
            scanner.unreadable(trail_file.location, data)
        else:
            scanner.add_file(trail_file.location, data)
    advance(len(batch), result.bytes_read - before[0], result.events_read - before[1],
            result.files_read - before[2])


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


def _run_workers(source: RecordSource, batches: list[list[Any]], orders: list[list[int]],
                 make_reader: Callable[[], Reader], reader: Reader, advance: Advance,
                 meanwhile: Callable[[], None] | None = None) -> tuple[Any, list[Any]]:
    """Read ``batches`` here (with ``reader``, in ``orders[0]``) and in one
    worker process per other order: what this process's reader finished
    with, and what each worker sent."""
    context = multiprocessing.get_context()
    flags = context.Array("l", len(batches) + 1)
    claims = _Claims(flags)
    replies: Any = context.Queue()
    processes = [
        context.Process(target=in_worker, args=(os.getpid(), _worker, source, batches, order,
                                                flags, make_reader, replies), daemon=True)
        for order in orders[1:]
    ]
    for process in processes:
        process.start()
    results: list[Any] = []
    errors: list[str] = []
    input_errors: list[IamgenError] = []

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
        elif kind == "input_error":
            input_errors.append(payload)
        else:
            errors.append(payload)
        return True

    try:
        if meanwhile is not None:
            meanwhile()
        for index in orders[0]:
            if claims.take(index):
                reader.read_batch(source, batches[index], advance)
            while receive(wait=False):
                pass
            if errors or input_errors:
                break
        mine = reader.finish(False) if not (errors or input_errors) else None
        if isinstance(mine, ScanResult) and len(results) < len(processes):
            mine.prepare_usages()  # while the workers finish and send theirs
        while len(results) < len(processes) and not errors and not input_errors:
            receive(wait=True)
        if input_errors:
            raise input_errors[0]
        if errors:
            raise RuntimeError(f"a scan worker failed:\n{errors[0]}")
    finally:
        for process in processes:
            if len(results) < len(processes) and process.is_alive():
                process.terminate()
            process.join()
    return mine, results


def _worker(source: RecordSource, batches: list[list[Any]], order: list[int], flags: Any,
            make_reader: Callable[[], Reader], replies: Any) -> None:
    """One worker process: read the batches no other process took, in
    ``order``, then send what its reader finished with."""
    try:
        freeze_and_collect_rarely()
        claims = _Claims(flags)
        reader = make_reader()

        def advance(*counts: int) -> None:
            replies.put(("progress", counts))

        # The last few batches are left to the main process: it reads them
        # while this one sends its result, which it must then wait for.
        leave = len(batches) // TAIL_FRACTION
        for index in order:
            if claims.take(index, leave):
                reader.read_batch(source, batches[index], advance)
        replies.put(("result", reader.finish(True)))
    except IamgenError as exc:  # an unlistable folder, a refused call: the parent raises it
        replies.put(("input_error", exc))
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises
        replies.put(("error", traceback.format_exc()))


BATCHES_PER_WORKER = 48
TAIL_FRACTION = 64  # the share of batches worker processes leave to the main one: 1/64


def _plan_batches(files: list[Unit], workers: int
                  ) -> tuple[list[list[Unit]], list[list[int]]]:
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
    groups: dict[tuple[str | None, str | None], list[Any]] = {}
    for trail_file in files:
        facts = path_facts(trail_file.location)
        groups.setdefault((facts.account, facts.region), []).append(trail_file)
    batches: list[list[Any]] = []
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
    from ..mapping.resolve import resolve

    resolve({"eventSource": "s3.amazonaws.com", "eventName": "GetObject",
             "userIdentity": {"type": "IAMUser"}, "requestParameters": {}})


