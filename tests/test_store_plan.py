"""What a run takes from the store and what it reads (pure decisions)."""

from __future__ import annotations

from datetime import UTC, datetime

from iamgen.model import Filters, Window
from iamgen.scanning.units import Reading
from iamgen.sources.base import TrailFile
from iamgen.store.db import AggregateRow, ResultRow, UnitRow
from iamgen.store.plan import (
    filters_key,
    filters_of_key,
    make_cover,
    make_plan,
    spent_aggregates,
)

T9, T10, T11, T12 = (datetime(2026, 11, 3, hour, tzinfo=UTC) for hour in (9, 10, 11, 12))
RULES = 1


def test_filters_key_round_trips_and_ignores_the_window() -> None:
    filters = Filters(Window(since=T9), frozenset({"2", "1"}), frozenset({"eu-west-1"}))
    assert filters_key(filters) == "accounts=1,2;regions=eu-west-1"
    assert filters_of_key(filters_key(filters)) == Filters(accounts=filters.accounts,
                                                          regions=filters.regions)
    assert filters_key(Filters()) == "" and filters_of_key("") == Filters()


def test_each_file_is_taken_or_read_as_it_must_be() -> None:
    files = [TrailFile(name) for name in ("new", "changed", "inside", "outside", "outside-kept",
                                          "across", "stale", "stdin", "other-filters")]
    versions = {"stdin": None}
    units = [UnitRow(n, name, "v1" if name != "changed" else "v0", span, None)
             for n, (name, span) in enumerate([
                 ("changed", (T10, T10)), ("inside", (T10, T11)), ("outside", (T9, T9)),
                 ("outside-kept", (T9, T9)), ("across", (T9, T11)), ("stale", (T10, T11)),
                 ("other-filters", (T10, T10))], start=1)]
    results = [ResultRow(10 + unit.id, unit.id, "whole", "", RULES, 5) for unit in units
               if unit.location != "other-filters"]
    results.append(ResultRow(99, 4, "outside", "", RULES, 5))
    results.append(ResultRow(98, 7, "whole", "regions=us-east-1", RULES, 5))
    results = [r if r.unit != 6 else ResultRow(r.id, r.unit, r.way, r.filters, 2, 5)
               for r in results]

    def key(trail_file: TrailFile) -> tuple[str, str] | None:
        version = versions.get(trail_file.location, "v1")
        return None if version is None else (trail_file.location, version)

    plan = make_plan(files, key, units, results, Filters(Window(since=T10, until=T12)), RULES)
    assert sorted(plan.stored) == [12, 99]  # inside: its whole result; outside: its outside one
    jobs = {job.location: (job.reading, job.key is not None) for job in plan.jobs}
    assert jobs == {
        "new": (Reading.WHOLE, True),
        "changed": (Reading.WHOLE, True),
        "outside": (Reading.OUTSIDE, True),  # its outside result is read once, and kept
        "across": (Reading.WINDOWED, True),  # under the window; its whole result is kept
        "stale": (Reading.WHOLE, True),
        "stdin": (Reading.WINDOWED, False),
        "other-filters": (Reading.WHOLE, True),
    }
    assert plan.reasons == {"new": 1, "changed": 1, "outside the window": 1,
                            "across the window's edge": 1, "stale": 1, "not kept": 1,
                            "other filters": 1}
    assert plan.stale == {2}


def test_the_cover_takes_large_aggregates_first_and_never_twice() -> None:
    aggregates = [AggregateRow(1, RULES, (1, 2, 3)), AggregateRow(2, RULES, (3, 4)),
                  AggregateRow(3, RULES, (4, 5)), AggregateRow(4, 2, (6, 7)),
                  AggregateRow(5, RULES, (8, 9))]
    cover = make_cover([1, 2, 3, 4, 5, 6, 7], aggregates, existing={1, 2, 3, 4, 5, 6, 7},
                       rules=RULES)
    assert [a.id for a in cover.aggregates] == [1, 3]
    assert cover.singles == [6, 7]
    assert cover.dead == [4, 5]  # other rules; results gone


def test_spent_aggregates_reach_behind_the_window_or_are_taken_over() -> None:
    day1, day2 = datetime(2026, 11, 3).date(), datetime(2026, 11, 4).date()
    day_of = {1: day1, 2: day1, 3: day2, 4: day2, 5: None, 6: day1}
    behind = {1, 2}  # whole results of files that ended before the run's window
    aggregates = [
        AggregateRow(10, RULES, (1, 2, 3, 4)),  # holds results behind the window
        AggregateRow(11, RULES, (1, 2)),  # so does this one, wholly
        AggregateRow(12, RULES, (3, 4)),  # one day, held by the new one: kept
        AggregateRow(13, RULES, (3, 4, 5)),  # more than a day, held by the new one
        AggregateRow(14, RULES, (3, 4, 5, 6)),  # the new one itself (6: an outside result)
        AggregateRow(15, RULES, (4, 5, 7)),  # holds a result the new one does not
    ]
    assert spent_aggregates(aggregates, 14, {3, 4, 5, 6}, day_of, behind) == [10, 11, 13]
