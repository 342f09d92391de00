"""The source protocol: where trail files come from, and how to read one."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ..errors import AwsRefusedError, IamgenError, InputError
from ..model import Filters


@dataclass(frozen=True, slots=True, order=True)
class TrailFile:
    """One unit of input: a file (local path, S3 object, or stdin)."""

    location: str
    """What warnings name: a path, ``s3://bucket/key`` or ``<stdin>``."""


@dataclass(frozen=True, slots=True, order=True)
class TrailFolder:
    """A folder of trail files, listed by the process that reads it (S3 day folders)."""

    location: str
    """``s3://bucket/prefix/``, as :meth:`FolderedSource.folders` gives it."""


class RecordSource(Protocol):
    """Lists the trail files a run needs and reads each one's bytes.

    Implementations prune by the filters before opening anything, and are
    picklable so files can be read in worker processes.
    """

    def files(self, filters: Filters) -> list[TrailFile]:
        """The files to read, sorted; pruned by path date, account and region."""
        ...

    def read(self, trail_file: TrailFile) -> bytes:
        """The raw (possibly gzipped) bytes of one file. Raises OSError on failure."""
        ...

    def skipped(self) -> dict[str, int]:
        """Files passed over while listing, by reason (digest, outside_window...)."""
        ...


@runtime_checkable
class FolderedSource(RecordSource, Protocol):
    """A source whose files are listed folder by folder while they are read
    (S3): a scan hands out folders, never the whole list of files, so memory
    does not grow with the number of files."""

    def folders(self, filters: Filters) -> list[str] | None:
        """The folders to list, sorted; each is listed by the process reading it.
        None: not this time (the files are then listed whole by ``files``)."""
        ...

    def list_folder(self, folder: str, filters: Filters,
                    skipped: Counter[str]) -> Iterator[TrailFile]:
        """One folder's files, pruned like :meth:`RecordSource.files`; files
        passed over are counted in ``skipped`` by reason."""
        ...


@runtime_checkable
class VersionedSource(RecordSource, Protocol):
    """A source that can tell when a file it lists has changed, so what was
    learned from the file can be kept and used again (``--store``)."""

    def version(self, trail_file: TrailFile) -> str | None:
        """What changes whenever the file's content may have (size and
        modification time, ETag); None: it cannot tell, so nothing is kept."""
        ...

    def identity(self, trail_file: TrailFile) -> str:
        """The file's name in a store: the same however it was reached (a
        local path made absolute, its links resolved), so a run started from
        another folder, or given the trail by another path, finds it kept."""
        ...

    def covers(self, location: str) -> bool:
        """Whether a file whose :meth:`identity` is ``location`` would be
        listed if it were there and the filters let it through (so one that
        is not listed has gone)."""
        ...


def read_files(source: RecordSource, files: Iterable[TrailFile]
               ) -> Iterator[tuple[TrailFile, bytes | OSError]]:
    """Each file with its bytes (or the OSError reading it raised), in order.

    A source with ``concurrency`` > 1 (S3) is read by that many threads, with
    at most twice as many files in memory at once; others are read in turn.
    """
    concurrency = int(getattr(source, "concurrency", 1) or 1)
    if concurrency <= 1:
        for trail_file in files:
            yield trail_file, _read_one(source, trail_file)
        return
    pending: deque[tuple[TrailFile, Future[bytes | OSError]]] = deque()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for trail_file in files:
            pending.append((trail_file, pool.submit(_read_one, source, trail_file)))
            if len(pending) >= 2 * concurrency:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()


def _read_one(source: RecordSource, trail_file: TrailFile) -> bytes | OSError:
    try:
        return source.read(trail_file)
    except OSError as exc:
        return exc


@dataclass
class CombinedSource:
    """Several sources read as one (``--trail`` given more than once)."""

    parts: tuple[RecordSource, ...]
    _owner: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def concurrency(self) -> int:
        """The most threads any part wants."""
        return max((int(getattr(p, "concurrency", 1) or 1) for p in self.parts), default=1)

    def files(self, filters: Filters,
              unlistable: Callable[[RecordSource, IamgenError], None] | None = None
              ) -> list[TrailFile]:
        """Every part's files, sorted; a file listed twice is read once.
        ``unlistable``: told of each part whose listing fails (InputError,
        AwsRefusedError), which is then left out; without it, the failure
        is raised."""
        for index, part in enumerate(self.parts):
            try:
                listed = part.files(filters)
            except (InputError, AwsRefusedError) as exc:
                if unlistable is None:
                    raise
                unlistable(part, exc)
                continue
            for trail_file in listed:
                self._owner.setdefault(trail_file.location, index)
        return [TrailFile(location) for location in sorted(self._owner)]

    def read(self, trail_file: TrailFile) -> bytes:
        """Read through the part that listed the file."""
        return self.parts[self._owner[trail_file.location]].read(trail_file)

    def version(self, trail_file: TrailFile) -> str | None:
        """The version the part that listed the file gives (None if it gives none)."""
        part = self.parts[self._owner[trail_file.location]]
        return part.version(trail_file) if isinstance(part, VersionedSource) else None

    def identity(self, trail_file: TrailFile) -> str:
        """The identity the part that listed the file gives (its location if none)."""
        part = self.parts[self._owner[trail_file.location]]
        return part.identity(trail_file) if isinstance(part, VersionedSource) \
            else trail_file.location

    def covers(self, location: str) -> bool:
        """Whether any part would list a file whose identity is ``location``."""
        return any(isinstance(part, VersionedSource) and part.covers(location)
                   for part in self.parts)

    def skipped(self) -> dict[str, int]:
        """Every part's passed-over files, added up."""
        total: dict[str, int] = {}
        for part in self.parts:
            for reason, count in part.skipped().items():
                total[reason] = total.get(reason, 0) + count
        return total

    def listing_warnings(self) -> list[tuple[str, str]]:
        """Every part's :func:`listing_warnings`."""
        return [warning for part in self.parts for warning in listing_warnings(part)]


def listing_warnings(source: object) -> list[tuple[str, str]]:
    """(location, text) of what a source could not list (a folder it may not
    read), counted in its ``skipped`` already: for the warning lines; none
    for a source that lists nothing it cannot name."""
    found = getattr(source, "listing_warnings", None)
    return list(found()) if callable(found) else []
