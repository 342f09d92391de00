"""Looking after a store: what it holds (``info``), forgetting old files
(``prune``), reading every file again under the current rules (``rebuild``),
and giving space back (``vacuum``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from ..model import Filters
from ..scanning.scan import Progress
from ..scanning.units import Reading, UnitJob, Way, scan_units
from ..sources.base import CombinedSource, RecordSource
from ..sources.layout import path_facts
from ..sources.local import LocalSource
from ..sources.lookup import SCHEME as LOOKUP_SCHEME
from ..sources.s3 import SCHEME as S3_SCHEME
from ..sources.s3 import S3Source
from .db import ResultRow, Store
from .plan import filters_of_key, is_dead
from .read import StoreSink
from .rules import Rules, current_rules


@dataclass(frozen=True, slots=True)
class StoreInfo:
    """What ``iamgen store info`` shows."""

    path: Path
    file_bytes: int
    meta: dict[str, str]
    units: int
    by_kind: Counter[str]  # local, S3, LookupEvents
    events: int
    span: tuple[datetime, datetime] | None
    gone: int
    results: Counter[str]  # by way (and filters)
    result_bytes: int
    by_rules: dict[Rules, int]
    aggregates: int
    aggregate_bytes: int
    free_bytes: int
    check: str | None


def kind_of(location: str) -> str:
    """Where a file came from: ``S3``, ``LookupEvents`` or ``local``."""
    if location.startswith(S3_SCHEME):
        return "S3"
    if location.startswith(LOOKUP_SCHEME):
        return "LookupEvents"
    return "local"


def info(store: Store, *, check: bool = False) -> StoreInfo:
    """What the store holds."""
    units = store.units()
    results = store.results()
    rules = store.all_rules()
    sizes = store.sizes()
    events = _events_by_unit(results)
    spans = [unit.span for unit in units if unit.span is not None]
    ways = Counter(("read whole" if result.way == Way.WHOLE.value else "outside a window")
                   + (f" ({result.filters})" if result.filters else "") for result in results)
    by_rules = Counter(rules[result.rules] for result in results)
    return StoreInfo(
        store.path, store.path.stat().st_size, store.meta(), len(units),
        Counter(kind_of(unit.location) for unit in units), sum(events.values()),
        (min(s[0] for s in spans), max(s[1] for s in spans)) if spans else None,
        sum(1 for unit in units if unit.missing_since is not None), ways,
        sizes["result_bytes"], dict(by_rules), sizes["aggregates"], sizes["aggregate_bytes"],
        sizes["free_pages"] * sizes["page_size"], store.check() if check else None)


def _events_by_unit(results: Iterable[ResultRow]) -> dict[int, int]:
    """Each file's events (the most any of its results read)."""
    events: dict[int, int] = {}
    for result in results:
        events[result.unit] = max(events.get(result.unit, 0), result.events)
    return events


def prune(store: Store, before: datetime) -> tuple[int, int]:
    """Forget every file whose events all lie before ``before`` (a file
    without events: by the date in its path, if any), with its results and
    the aggregates holding them: how many files, and their events."""
    events = _events_by_unit(store.results())
    old = []
    for unit in store.units():
        if unit.span is not None:
            if unit.span[1] < before:
                old.append(unit.id)
        else:
            day = path_facts(unit.location).day
            if day is not None and day < before.date():
                old.append(unit.id)
    store.delete_units(old)
    return len(old), sum(events.get(unit, 0) for unit in old)


def drop_dead_aggregates(store: Store) -> int:
    """Forget aggregates no run can use (a result they hold has gone, or
    they were made under other rules): how many."""
    rules = store.rules_id(current_rules())
    aggregates = store.aggregates()  # before the results: see read_with_store
    existing = {result.id for result in store.results()}
    dead = [a.id for a in aggregates if is_dead(a, existing, rules)]
    store.delete_aggregates(dead)
    return len(dead)


def vacuum(store: Store) -> tuple[int, int, int]:
    """Drop dead aggregates and give the free space back: aggregates
    dropped, file bytes before and after."""
    before = _file_bytes(store.path)
    dropped = drop_dead_aggregates(store)
    store.vacuum()
    return dropped, before, _file_bytes(store.path)


def _file_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


@dataclass(frozen=True, slots=True)
class Rebuilt:
    """What ``iamgen store rebuild`` did."""

    read: int  # files read again
    gone: list[str]  # files that could not be found to read again
    not_rebuilt: list[str]  # files of a kind rebuild does not read (LookupEvents days)


def rebuild(path: Path, s3_factory: Callable[[], Any], workers: int = 1,
            progress: Callable[[Progress], None] | None = None) -> Rebuilt:
    """Read every file the store holds again, under the current rules, for
    every way it was kept (whole under each set of account and region
    filters, and outside a window). Files that are gone keep what they had."""
    rules = current_rules()
    with Store.open(path, create=False) as store:
        rules_id = store.rules_id(rules)
        units = {unit.id: unit for unit in store.units()}
        results = store.results()
    locations = sorted({unit.location for unit in units.values()})
    not_rebuilt = [loc for loc in locations if kind_of(loc) == "LookupEvents"]
    readable = [loc for loc in locations if kind_of(loc) != "LookupEvents"]
    source = _source_of(readable, s3_factory)
    listed = {trail_file.location: trail_file for trail_file in source.files(Filters())}
    gone = [loc for loc in readable if loc not in listed]
    outside = {r.unit for r in results if r.way == Way.OUTSIDE.value}
    groups: dict[str, set[int]] = {}
    for result in results:
        if result.way == Way.WHOLE.value:
            groups.setdefault(result.filters, set()).add(result.unit)
    done: set[int] = set()
    for key, members in sorted(groups.items()):
        jobs = []
        for unit_id in sorted(members):
            trail_file = listed.get(units[unit_id].location)
            version = source.version(trail_file) if trail_file is not None else None
            if trail_file is None or version is None:
                continue
            both = unit_id in outside and unit_id not in done
            jobs.append(UnitJob(trail_file, Reading.WHOLE_AND_OUTSIDE if both else Reading.WHOLE,
                                (trail_file.location, version)))
            done.add(unit_id)
        if jobs:
            scan_units(source, jobs, filters_of_key(key),
                       partial(StoreSink, path, rules_id, key, False), workers, progress)
    with Store.open(path, create=False) as store:
        drop_dead_aggregates(store)
    return Rebuilt(len(done), gone, not_rebuilt)


def _source_of(locations: list[str], s3_factory: Callable[[], Any]) -> CombinedSource:
    """A source listing the files at ``locations`` that are still there
    (S3 objects with their ETags, listed folder by folder)."""
    parts: list[RecordSource] = []
    local = tuple(loc for loc in locations if kind_of(loc) == "local" and Path(loc).is_file())
    if local:
        parts.append(LocalSource(local))
    folders = sorted({loc.rsplit("/", 1)[0] + "/" for loc in locations if kind_of(loc) == "S3"})
    parts.extend(S3Source(folder, s3_factory) for folder in folders)
    return CombinedSource(tuple(parts))

