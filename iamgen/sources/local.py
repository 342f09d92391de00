"""Trail files on the local disk, or one document on standard input."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..model import Filters
from .base import TrailFile
from .layout import NOT_A_TRAIL_FILE, is_trail_file_name, skip_reason

STDIN = "-"
STDIN_LOCATION = "<stdin>"


@dataclass
class LocalSource:
    """Files and directories (walked recursively) given with ``--trail``.

    ``stdin_bytes`` holds what was read from ``-``; it is read once by the CLI.
    """

    paths: tuple[str, ...]
    stdin_bytes: bytes | None = None
    _skipped: Counter[str] = field(default_factory=Counter)
    _real_folders: dict[str, str] = field(default_factory=dict, repr=False)
    _real_paths: tuple[str, ...] | None = field(default=None, repr=False)
    _unlisted: list[tuple[str, str]] = field(default_factory=list, repr=False)

    def files(self, filters: Filters) -> list[TrailFile]:
        """Every trail file under the paths, sorted, pruned by layout facts. A
        path that is another one, or lies under another, by another spelling
        (``trail`` and ``/home/me/trail/2026``) is not listed twice."""
        found: set[str] = set()
        # Links to folders are followed (a trail folder made of links to others is
        # read whole), each real folder walked once in all: a link to one walked
        # already, by this path or another (or to a folder above it: a loop), is not.
        walked: set[str] = set()
        for raw in _distinct(self.paths):
            if raw == STDIN:
                found.add(STDIN_LOCATION)
                continue
            path = Path(raw)
            if path.is_dir():
                for root, dirs, names in os.walk(path, onerror=self._unlistable,
                                                 followlinks=True):
                    real = os.path.realpath(root)
                    if real in walked:
                        dirs[:] = []
                        continue
                    walked.add(real)
                    self._real_folders[root] = real  # (what identity() would work out again)
                    dirs.sort()
                    for name in names:
                        if is_trail_file_name(name):
                            self._consider(os.path.join(root, name), filters, found)
                        else:  # counted: a file a user put there is never passed over unsaid
                            self._skipped[NOT_A_TRAIL_FILE] += 1
            elif path.is_file():
                self._consider(str(path), filters, found)
            elif path.exists():  # a device, a pipe, a socket: nothing to list or re-read
                raise InputError(f"{raw}: not a file or directory (a trail is read from "
                                 "files, or from - for standard input)")
            else:
                raise InputError(f"{raw}: no such file or directory")
        self._read_once(found)
        return [TrailFile(location) for location in sorted(found)]

    def _read_once(self, found: set[str]) -> None:
        """Leave out all but one name of each file listed by several (a link
        to it, a folder link above it, a second ``--trail`` path): its own name
        when listed, else the first."""
        names: dict[str, list[str]] = {}
        for location in found:
            names.setdefault(self.identity(TrailFile(location)), []).append(location)
        for identity, listed in names.items():
            if len(listed) < 2:
                continue
            own = sorted(name for name in listed
                         if not os.path.islink(name) and os.path.abspath(name) == identity)
            keep = own[0] if own else min(listed)
            found.difference_update(name for name in listed if name != keep)

    def _unlistable(self, error: OSError) -> None:
        """A folder under a path that cannot be listed: counted and named, never
        silently passed over."""
        self._skipped["unlistable_folder"] += 1
        self._unlisted.append((str(error.filename or "?"),
                               f"cannot list folder ({error.strerror or error}); its files "
                               "are not read"))

    def listing_warnings(self) -> list[tuple[str, str]]:
        """(folder, text) of each folder under the paths that could not be listed."""
        return sorted(self._unlisted)

    def _consider(self, location: str, filters: Filters, found: set[str]) -> None:
        reason = skip_reason(location, filters)
        if reason is not None:
            self._skipped[reason] += 1
            return
        found.add(location)

    def read(self, trail_file: TrailFile) -> bytes:
        """The file's raw bytes (``<stdin>`` gives what the CLI read)."""
        if trail_file.location == STDIN_LOCATION:
            return self.stdin_bytes or b""
        with open(trail_file.location, "rb") as handle:
            return handle.read()

    def skipped(self) -> dict[str, int]:
        """Files passed over while listing, by reason."""
        return dict(self._skipped)

    def version(self, trail_file: TrailFile) -> str | None:
        """``SIZE:MTIME_NS`` of the file (None for stdin, or when it cannot be
        opened for reading: it is then read, and warned about, as usual; a
        store never serves a file this run could not read)."""
        if trail_file.location == STDIN_LOCATION:
            return None
        try:
            handle = os.open(trail_file.location, os.O_RDONLY)
        except OSError:
            return None
        try:
            status = os.fstat(handle)
        finally:
            os.close(handle)
        return f"{status.st_size}:{status.st_mtime_ns}"

    def identity(self, trail_file: TrailFile) -> str:
        """The file's absolute path, its links resolved (``<stdin>`` as it is)."""
        location = trail_file.location
        if location == STDIN_LOCATION:
            return STDIN_LOCATION
        if os.path.islink(location):
            return os.path.realpath(location)
        # Resolving each file's path costs ~30 µs; its folder's, once, is enough.
        folder, name = os.path.split(location)
        real = self._real_folders.get(folder)
        if real is None:
            real = self._real_folders[folder] = os.path.realpath(folder)
        return os.path.join(real, name)

    def covers(self, location: str) -> bool:
        """Whether ``location`` (an :meth:`identity`) is one of the paths, or
        under one of them (the paths' links resolved too)."""
        if self._real_paths is None:  # asked once per file the store holds: resolved once
            self._real_paths = tuple(os.path.realpath(raw) for raw in self.paths if raw != STDIN)
        return any(_within(location, real) for real in self._real_paths)


def _distinct(paths: tuple[str, ...]) -> list[str]:
    """``paths`` without those that are, or lie under, an earlier or wider
    one once links are resolved (``-``, and paths that are not there, are
    kept: the one is stdin, the others an error when listed)."""
    real = {raw: os.path.realpath(raw) for raw in paths if raw != STDIN}
    kept = []
    for raw in paths:
        if raw != STDIN and os.path.exists(raw) and any(
                other != raw and _within(real[raw], real[other])
                and (real[raw] != real[other] or paths.index(other) < paths.index(raw))
                for other in real):
            continue
        kept.append(raw)
    return kept


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)
