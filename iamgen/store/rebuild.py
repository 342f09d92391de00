"""``iamgen store rebuild``: every file a store holds read again under the
current rules (local files, S3 objects, and the LookupEvents days
LookupEvents still holds); what cannot be read again keeps what it had."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from ..errors import AwsRefusedError, UsageError
from ..model import Filters
from ..scanning.scan import Progress
from ..scanning.units import Reading, UnitJob, Way, scan_units
from ..sources.base import CombinedSource, RecordSource, TrailFile, VersionedSource
from ..sources.local import LocalSource
from ..sources.lookup import LOOKUP_DAYS, LookupSource, attribute_of_version
from ..sources.lookup import parse_location as parse_lookup_location
from ..sources.s3 import S3Source
from .db import ResultRow, Store, UnitRow
from .maintain import drop_dead_aggregates, drop_superseded, kind_of
from .plan import filters_of_key, holds_contexts
from .read import StoreSink, unit_key
from .rules import current_rules


@dataclass(frozen=True, slots=True)
class DaysRebuilt:
    """What ``iamgen store rebuild`` did with the LookupEvents days a store
    holds. Every day not read again keeps the results it had."""

    read: int = 0  # days read again
    not_rebuilt: list[str] = field(default_factory=list)  # not read, for another reason (below)
    # Days older than the LOOKUP_DAYS LookupEvents keeps (less EXPIRY_MARGIN):
    # it would answer with fewer events or none, so reading them again would
    # lose what they hold.
    expired: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # days whose requests failed
    # Why no more days were asked for, when AWS refused the caller (the days
    # not read are then in not_rebuilt).
    refusal: str | None = None


@dataclass(frozen=True, slots=True)
class Rebuilt:
    """What ``iamgen store rebuild`` did. Every file not read again keeps
    the results it had."""

    read: int  # local and S3 files read again
    gone: list[str]  # files that could not be found to read again
    days: DaysRebuilt = field(default_factory=DaysRebuilt)  # what was done with LookupEvents days
    failed: list[str] = field(default_factory=list)  # files found but that could not be read
    # Files under an S3 folder that could not be listed, and why the first could not.
    unlisted: list[str] = field(default_factory=list)
    unlisted_reason: str | None = None


# A day this close to LookupEvents' limit is left as it was: a rebuild reads
# two requests a second, for hours on a large store, and the day could lose
# its first hours to the limit before it is read.
EXPIRY_MARGIN = timedelta(days=1)


def rebuild(path: Path, s3_factory: Callable[[], Any], workers: int = 1,
            progress: Callable[[Progress], None] | None = None, *,
            lookup_factory: Callable[[str | None], Any] | None = None,
            now: datetime | None = None,
            sleep: Callable[[float], None] = time.sleep) -> Rebuilt:
    """Read every file the store holds again, under the current rules, for
    every way it was kept (whole under each set of account and region
    filters, and outside a window). Files that are gone, and those under an
    S3 folder that cannot be listed, keep what they had.
    Results a file's result with the request context supersedes
    (:func:`~.plan.superseded`) are dropped, not read again.

    LookupEvents days are read again through ``lookup_factory`` (region ->
    CloudTrail client; None: they are not read again), with the lookup
    attribute each was kept with, in this process (LookupEvents allows two
    requests a second), except the days older than the 90 days LookupEvents
    keeps (counted from ``now``, default the current time). A day whose
    requests fail keeps what it had; when AWS refuses the caller (no
    credentials, access denied, no region) no more days are asked for, and
    those not read keep what they had (``refusal`` says why).
    ``sleep`` paces the requests (tests pass one that does not wait)."""
    rules = current_rules()
    with Store.open(path, create=False) as store:
        rules_id = store.rules_id(rules)
        units = {unit.id: unit for unit in store.units()}
        drop_superseded(store)  # not worth reading again
        results = store.results()
    locations = sorted({unit.location for unit in units.values()})
    readable = [loc for loc in locations if kind_of(loc) != "LookupEvents"]
    source = _source_of(readable, s3_factory)
    failures: list[tuple[RecordSource, Exception]] = []  # folders that could not be listed
    listed = {trail_file.location: trail_file for trail_file in source.files(
        Filters(), unlistable=lambda part, exc: failures.append((part, exc)))}
    unlisted = {loc for part, _ in failures if isinstance(part, VersionedSource)
                for loc in readable if part.covers(loc)}
    reason = str(failures[0][1]) if failures else None
    gone = [loc for loc in readable if loc not in listed and loc not in unlisted]
    files: dict[int, tuple[TrailFile, tuple[str, str]]] = {}
    for unit_id, unit in units.items():
        trail_file = listed.get(unit.location)
        key = unit_key(source, trail_file) if trail_file is not None else None
        if trail_file is not None and key is not None:
            files[unit_id] = (trail_file, key)
    jobs = _jobs_by_filters(files, results)
    kept: set[int] = set()
    for key, group in jobs.items():
        # Without a window every result kept is counted: kept_ids names them all.
        kept.update(scan_units(source, group, filters_of_key(key),
                               partial(StoreSink, path, rules_id, key, False), workers,
                               progress, contexts=holds_contexts(key)).kept_ids)
    days = [unit for unit in units.values() if kind_of(unit.location) == "LookupEvents"]
    if lookup_factory is None:
        days_read = DaysRebuilt(not_rebuilt=sorted(unit.location for unit in days))
    else:
        days_read = _read_days_again(path, rules_id, days, results, lookup_factory,
                                     now or datetime.now(UTC), sleep, progress)
    with Store.open(path, create=False) as store:
        drop_dead_aggregates(store)
        located = {unit.id: unit.location for unit in store.units()}
        rebuilt = {located[result.unit] for result in store.results() if result.id in kept}
    # A file that could not be read (scan_units counts it unreadable) kept nothing
    # new, so it still holds the results it had.
    asked = {job.key[0] for group in jobs.values() for job in group if job.key is not None}
    return Rebuilt(len(asked & rebuilt), gone, days_read, sorted(asked - rebuilt),
                   sorted(unlisted), reason)


def _jobs_by_filters(files: dict[int, tuple[TrailFile, tuple[str, str]]],
                     results: list[ResultRow]) -> dict[str, list[UnitJob]]:
    """The jobs reading ``files`` again (by unit id: the file, and its store
    key now, :func:`~.read.unit_key`), by the filters key of their whole
    results, sorted: a file is read whole under each key it was kept with,
    and, the first time, outside a window too when it was kept so."""
    outside = {r.unit for r in results if r.way == Way.OUTSIDE.value}
    groups: dict[str, set[int]] = {}
    for result in results:
        if result.way == Way.WHOLE.value and result.unit in files:
            groups.setdefault(result.filters, set()).add(result.unit)
    done: set[int] = set()
    jobs: dict[str, list[UnitJob]] = {}
    for key, members in sorted(groups.items()):
        for unit_id in sorted(members):
            trail_file, store_key = files[unit_id]
            both = unit_id in outside and unit_id not in done
            jobs.setdefault(key, []).append(UnitJob(
                trail_file, Reading.WHOLE_AND_OUTSIDE if both else Reading.WHOLE, store_key))
            done.add(unit_id)
    return jobs


def _read_days_again(path: Path, rules_id: int, days: list[UnitRow], results: list[ResultRow],
                     lookup_factory: Callable[[str | None], Any], now: datetime,
                     sleep: Callable[[float], None],
                     progress: Callable[[Progress], None] | None) -> DaysRebuilt:
    """Read the LookupEvents ``days`` LookupEvents still holds again, one
    source per lookup attribute they were kept with, in this process."""
    # The sources made from this one by replace() share its clients and its
    # pacing (the same dicts), so the attributes together keep to the rate.
    base = LookupSource(lookup_factory, now=now, sleep=sleep)
    oldest = now - timedelta(days=LOOKUP_DAYS) + EXPIRY_MARGIN
    sources: dict[str, LookupSource] = {}
    files: dict[str, dict[int, tuple[TrailFile, tuple[str, str]]]] = {}  # by version kept
    not_rebuilt: list[str] = []
    expired: list[str] = []
    for unit in sorted(days, key=lambda u: u.location):
        try:
            _, start, _, _ = parse_lookup_location(unit.location)
            attribute = attribute_of_version(unit.version)
        except ValueError:  # not made by this iamgen's LookupSource
            not_rebuilt.append(unit.location)
            continue
        if start < oldest:
            expired.append(unit.location)
            continue
        if unit.version not in sources:
            sources[unit.version] = replace(base, attribute=attribute)
        source = sources[unit.version]
        trail_file = TrailFile(unit.location)
        key = unit_key(source, trail_file)
        if key is None:  # no longer a finished day: never kept, so not read as one
            not_rebuilt.append(unit.location)
            continue
        files.setdefault(unit.version, {})[unit.id] = (trail_file, key)
    # (day, filters key) of every whole read asked for
    asked: set[tuple[str, str]] = set()
    kept: list[int] = []
    refusal: str | None = None
    for kept_version, wanted in sorted(files.items()):
        for key, group in _jobs_by_filters(wanted, results).items():
            asked.update((job.trail_file.location, key) for job in group)
            try:
                # Without a window every result kept is counted: kept_ids names them all.
                kept.extend(scan_units(sources[kept_version], group, filters_of_key(key),
                                       partial(StoreSink, path, rules_id, key, False), 1,
                                       progress, contexts=holds_contexts(key)).kept_ids)
            except (AwsRefusedError, UsageError) as exc:  # no day can be read: stop asking
                refusal = str(exc)
                break
        if refusal is not None:
            break
    location_of = {unit.id: unit.location for unit in days}
    with Store.open(path, create=False) as store:
        written = set(kept)
        answered = {(location_of[r.unit], r.filters) for r in store.results()
                    if r.id in written and r.way == Way.WHOLE.value}
    done = {day for day, _ in answered}
    if refusal is not None:  # what was not read keeps what it had
        left = {location_of[unit] for wanted in files.values() for unit in wanted} - done
        return DaysRebuilt(len(done), sorted([*not_rebuilt, *left]), expired, [], refusal)
    # A day whose read failed kept nothing (scan_units counts it unreadable),
    # so it still holds the results it had.
    failed = {day for day, _ in asked - answered}
    return DaysRebuilt(len({day for day, _ in asked} - failed), not_rebuilt, expired,
                       sorted(failed))


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
