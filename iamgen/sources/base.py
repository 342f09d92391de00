"""The source protocol: where trail files come from, and how to read one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..model import Filters


@dataclass(frozen=True, slots=True, order=True)
class TrailFile:
    """One unit of input: a file (local path, S3 object, or stdin)."""

    location: str
    """What warnings name: a path, ``s3://bucket/key`` or ``<stdin>``."""


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
