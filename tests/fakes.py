"""An in-memory trail source for tests: files as bytes, no disk, no network."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from iamgen.model import Filters
from iamgen.sources.base import TrailFile


@dataclass
class MemorySource:
    """A :class:`~iamgen.sources.base.RecordSource` over files held in memory
    (location -> bytes). A location whose value is an OSError fails to read."""

    contents: Mapping[str, bytes | OSError]
    passed_over: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of_records(cls, *files: Sequence[Any]) -> MemorySource:
        """One delivered file (``{"Records": [...]}``) per list of records."""
        return cls({f"mem/{index:04d}.json": json.dumps({"Records": list(records)}).encode()
                    for index, records in enumerate(files)})

    def files(self, filters: Filters) -> list[TrailFile]:
        return [TrailFile(location) for location in sorted(self.contents)]

    def read(self, trail_file: TrailFile) -> bytes:
        data = self.contents[trail_file.location]
        if isinstance(data, OSError):
            raise data
        return data

    def skipped(self) -> dict[str, int]:
        return dict(self.passed_over)


class ContextsAsked:
    """Stands in for :func:`iamgen.commands.reading.read_chosen` while a test
    runs: notes whether each read asked for the calls' request contexts
    (:attr:`asked`), and reads with :attr:`forced` instead when it is set."""

    def __init__(self, monkeypatch: Any) -> None:
        from iamgen.commands import reading

        self.asked: list[bool] = []
        self.forced: bool | None = None
        real = reading.read_chosen

        def read_chosen(*given: Any, contexts: bool = True, **more: Any) -> Any:
            self.asked.append(contexts)
            return real(*given, contexts=contexts if self.forced is None else self.forced,
                        **more)

        monkeypatch.setattr(reading, "read_chosen", read_chosen)
