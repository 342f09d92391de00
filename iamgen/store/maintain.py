"""Looking after a store: what it holds (``info``), forgetting old files
(``prune``) and giving space back (``vacuum``). Reading every file again
under the current rules is :mod:`.rebuild`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..errors import InputError
from ..scanning.tally import DamagedRows
from ..scanning.units import Reading, Way
from ..sources.layout import path_facts
from ..sources.lookup import SCHEME as LOOKUP_SCHEME
from ..sources.s3 import SCHEME as S3_SCHEME
from .codec import CodecError, decode, decode_unit
from .db import ResultRow, Store
from .plan import filters_key, filters_of_key, holds_contexts, is_dead, superseded
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
    outcomes: int  # tallied outcomes the results keep
    trail_bytes: int  # of the files read, as delivered (compressed)
    by_rules: dict[Rules, int]
    aggregates: int
    aggregate_bytes: int
    syntheses: int  # principals' policies kept as synthesized (.syntheses)
    synthesis_bytes: int
    free_bytes: int
    check: str | None
    superseded: int  # results without the request context a result with it supersedes


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
    ways = Counter(_way_of(result) for result in results)
    unknown = next((result for result in results if result.rules not in rules), None)
    if unknown is not None:
        raise InputError(f"{store.path}: damaged store (result {unknown.id} names rules "
                         f"{unknown.rules}, which the store does not hold); `iamgen store "
                         "rebuild` reads its files again")
    by_rules = Counter(rules[result.rules] for result in results)
    return StoreInfo(
        store.path, store.path.stat().st_size, store.meta(), len(units),
        Counter(kind_of(unit.location) for unit in units), sum(events.values()),
        (min(s[0] for s in spans), max(s[1] for s in spans)) if spans else None,
        sum(1 for unit in units if unit.missing_since is not None), ways,
        sizes["result_bytes"], sizes["outcomes"], sizes["trail_bytes"], dict(by_rules),
        sizes["aggregates"], sizes["aggregate_bytes"], sizes["syntheses"],
        sizes["synthesis_bytes"], sizes["free_pages"] * sizes["page_size"],
        _checked(store) if check else None,
        len(superseded(results)))


def _checked(store: Store) -> str:
    """SQLite's check of the file, then every kept result and aggregate read
    back as a run reads it: "ok", or what is wrong."""
    pages = store.check()
    results = [r.id for r in store.results()]
    bad_results = 0
    for _, data in store.result_data(results):
        try:
            decode_unit(data).result()
        except (CodecError, DamagedRows):
            bad_results += 1
    aggregates = store.aggregates()
    bad_aggregates = 0
    for aggregate in aggregates:
        if aggregate.damaged:
            bad_aggregates += 1
            continue
        data = store.aggregate_data(aggregate.id)
        try:
            if data is not None:
                list(decode(data, store.path).facts)  # the facts are read when first used
        except (CodecError, InputError):
            bad_aggregates += 1
    if not (bad_results or bad_aggregates):
        return pages
    return (f"{pages}; cannot be read: {bad_results} of {len(results)} results, "
            f"{bad_aggregates} of {len(aggregates)} merged pieces (`iamgen store rebuild` "
            "reads their files again)")


def _way_of(result: ResultRow) -> str:
    """How a result was read, for ``store info``."""
    if result.way != Way.WHOLE.value:
        return "outside a window"
    filters = filters_key(filters_of_key(result.filters))  # the key less the context
    return ("read whole" + ("" if holds_contexts(result.filters) else " without request context")
            + (f" ({filters})" if filters else ""))


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


@dataclass(frozen=True, slots=True)
class Vacuumed:
    """What ``iamgen store vacuum`` did."""

    results: int  # results without the request context that one with it superseded
    aggregates: int  # aggregates no run could use
    before: int  # file bytes
    after: int


def vacuum(store: Store) -> Vacuumed:
    """Drop superseded results (:func:`~.plan.superseded`) and dead
    aggregates, and give the free space back."""
    before = _file_bytes(store.path)
    results = drop_superseded(store)
    dropped = drop_dead_aggregates(store)
    store.vacuum()
    return Vacuumed(results, dropped, before, _file_bytes(store.path))


def drop_superseded(store: Store) -> int:
    """Forget results a file's result with the request context supersedes
    (:func:`~.plan.superseded`; the aggregates holding them are dead from
    then on): how many."""
    dropped = superseded(store.results())
    store.delete_results(dropped)
    return len(dropped)


def _file_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
