"""What a run takes from the store and what it reads (pure decisions)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iamgen.model import Filters, Window
from iamgen.scanning.units import Reading
from iamgen.sources.base import TrailFile
from iamgen.store.db import AggregateRow, ResultRow, UnitRow
from iamgen.store.plan import (
    block_days,
    block_of,
    filters_key,
    filters_of_key,
    holds_contexts,
    is_block,
    make_cover,
    make_plan,
    replaced_key,
    roll_up,
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


_ACCOUNTS = st.frozensets(st.from_regex(r"[0-9]{12}", fullmatch=True), max_size=3)
_REGIONS = st.frozensets(st.from_regex(r"[a-z]{2}(-[a-z0-9]{1,6}){1,3}", fullmatch=True),
                         max_size=3)


@settings(max_examples=200, deadline=None)
@given(_ACCOUNTS, _REGIONS, st.booleans(), _ACCOUNTS, _REGIONS, st.booleans())
def test_filters_keys_are_one_to_one(accounts: frozenset[str], regions: frozenset[str],
                                     contexts: bool, other_accounts: frozenset[str],
                                     other_regions: frozenset[str], other_contexts: bool) -> None:
    # Results are found by key: two reads share one only if made alike, and
    # store rebuild reads again with the filters the key gives back.
    one = Filters(accounts=accounts, regions=regions)
    other = Filters(accounts=other_accounts, regions=other_regions)
    key = filters_key(one, contexts)
    assert filters_of_key(key) == one and holds_contexts(key) == contexts
    assert (key == filters_key(other, other_contexts)) == (
        (one, contexts) == (other, other_contexts))


@pytest.mark.parametrize("region", ["us-east-1,us-west-2", "", "a;context=none", "x=y"])
def test_a_value_that_would_make_a_key_ambiguous_is_refused(region: str) -> None:
    with pytest.raises(ValueError, match="cannot be part of a store key"):
        filters_key(Filters(regions=frozenset({region})))


def test_a_read_without_request_context_has_a_key_of_its_own() -> None:
    filters = Filters(regions=frozenset({"eu-west-1"}))
    bare = filters_key(filters, contexts=False)
    assert bare == "regions=eu-west-1;context=none" and filters_key(Filters(), False) == (
        "context=none")
    assert filters_of_key(bare) == filters  # the filters it was made with, all the same
    assert holds_contexts(filters_key(filters)) and not holds_contexts(bare)
    assert holds_contexts("")  # a store made before contexts could be left out kept them
    assert replaced_key(filters_key(filters)) == bare and replaced_key("") == "context=none"
    assert replaced_key(bare) is None and replaced_key("context=none") is None


def test_a_result_kept_without_request_context_serves_only_runs_that_need_none() -> None:
    files = [TrailFile(name) for name in ("bare", "full", "both", "bare-across", "bare-stale",
                                          "full-stale")]
    units = [UnitRow(n, f.location, "v1", (T9, T11) if f.location == "bare-across" else
                     (T10, T11), None) for n, f in enumerate(files, start=1)]
    bare, full = filters_key(Filters(), contexts=False), filters_key(Filters())
    results = [ResultRow(11, 1, "whole", bare, RULES, 5), ResultRow(12, 2, "whole", full, RULES, 5),
               ResultRow(13, 3, "whole", bare, RULES, 5), ResultRow(23, 3, "whole", full, RULES, 5),
               ResultRow(14, 4, "whole", bare, RULES, 5), ResultRow(15, 5, "whole", bare, 2, 5),
               ResultRow(16, 6, "whole", full, 2, 5), ResultRow(26, 6, "whole", bare, RULES, 5)]

    def key(trail_file: TrailFile) -> tuple[str, str]:
        return trail_file.location, "v1"

    window = Filters(Window(since=T10, until=T12))
    needless = make_plan(files, key, units, results, window, RULES, contexts=False)
    assert sorted(needless.stored) == [11, 12, 23, 26]  # with the context when both serve
    assert {job.location: job.reading for job in needless.jobs} == {
        "bare-across": Reading.WINDOWED, "bare-stale": Reading.WHOLE}
    needing = make_plan(files, key, units, results, window, RULES, contexts=True)
    assert sorted(needing.stored) == [12, 23]
    assert {job.location: job.reading for job in needing.jobs} == {
        "bare": Reading.WHOLE, "bare-across": Reading.WHOLE, "bare-stale": Reading.WHOLE,
        "full-stale": Reading.WHOLE}
    assert needing.reasons == {"kept without request context": 1,
                               "across the window's edge": 1, "stale": 2}
    assert needing.stale == {2} and needless.stale == {2}


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


def test_spent_aggregates_keep_days_and_blocks_the_new_one_holds() -> None:
    start = date.fromordinal(date(2026, 11, 4).toordinal() // 4 * 4)  # a 4-day block's first day
    day_of = {m: start + timedelta(days=m - 1) for m in (1, 2, 3, 4, 5)}
    aggregates = [
        AggregateRow(20, RULES, (1, 2, 3, 4)),  # every day of one aligned block: kept
        AggregateRow(21, RULES, (2, 3, 4, 5)),  # four days, across two blocks: spent
        AggregateRow(22, RULES, (1, 2)),  # two days of a block, not all of it: spent
        AggregateRow(23, RULES, (5,)),  # one day: kept
        AggregateRow(24, RULES, (1, 2, 3, 4, 5)),  # the new one
    ]
    assert spent_aggregates(aggregates, 24, {1, 2, 3, 4, 5}, day_of, set()) == [21, 22]


def test_blocks_are_aligned_runs_of_days() -> None:
    first = date.fromordinal(date(2026, 11, 4).toordinal() // 16 * 16)
    days = [first + timedelta(days=n) for n in range(16)]
    assert block_of(days[:4], 4) == first.toordinal() // 4
    assert block_of(days[3:5], 4) is None  # across two blocks of 4
    assert block_of(days[3:5], 16) == first.toordinal() // 16
    assert block_of([days[0], None], 4) is None and block_of([], 4) is None
    assert block_days(first.toordinal() // 4, 4) == frozenset(days[:4])
    assert is_block(days[:4]) and is_block(days) and is_block([days[5]]) and is_block([None])
    assert not is_block(days[:3]) and not is_block(days[1:5]) and not is_block(days[:8])


def test_roll_up_makes_blocks_of_whole_days_then_blocks_of_blocks() -> None:
    first = date.fromordinal(date(2026, 11, 4).toordinal() // 16 * 16)
    day = [first + timedelta(days=n) for n in range(20)]
    pieces: list[frozenset[date] | None] = [frozenset({d}) for d in day[:16]]
    pieces += [frozenset({day[16]}), frozenset({day[17]})]  # the next block: not every day
    pieces.append(frozenset(day[:2]) | frozenset({day[18]}))  # spans two blocks: left alone
    pieces.append(None)  # days unknown
    pieces.append(frozenset({day[3]}))  # a second piece of one day (a file read later)
    merges = roll_up(pieces, latest=day[18])
    fours = [[0, 1, 2, 3, 20], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]]
    assert merges == [*fours, [21, 22, 23, 24]]  # then the four blocks into one of 16 days
    # A block that is not over before the latest day may yet grow: not made.
    assert roll_up(pieces[:4], latest=day[3]) == []
    assert roll_up(pieces[:4], latest=day[4]) == [[0, 1, 2, 3]]
    # A gap (a day with no piece) leaves the block unmade; one piece is a block already.
    assert roll_up([pieces[0], pieces[1], pieces[3]], latest=day[10]) == []
    assert roll_up([frozenset(day[:4])], latest=day[10]) == []
    assert roll_up(pieces, latest=None) == []


def test_a_day_held_wholly_by_a_fuller_aggregate_of_that_day_is_spent() -> None:
    day = date(2026, 11, 5)
    day_of = {m: day for m in (1, 2, 3, 4)}
    aggregates = [
        AggregateRow(30, RULES, (1, 2)),  # the day as it was: spent
        AggregateRow(31, RULES, (1, 2, 3)),  # the day once more of its files came
        AggregateRow(32, RULES, (4,)),  # one file of it, not held by the others: kept
        AggregateRow(33, RULES, (9,)),  # the new one, of something else
    ]
    assert spent_aggregates(aggregates, 33, {9}, {**day_of, 9: None}, set()) == [30]
    # A fuller one that is itself spent (it holds a result behind the window) spends nothing.
    assert spent_aggregates(aggregates, 33, {9}, {**day_of, 9: None}, {3}) == [31]


def test_blocks_past_the_last_date_are_never_made() -> None:
    last = date.max
    days = [frozenset({date.fromordinal(last.toordinal() - n)}) for n in range(9)]
    merges = roll_up(days, latest=last)  # blocks of 16 and 64 would end past it: not made
    assert all(len(pieces) == 4 for pieces in merges)
