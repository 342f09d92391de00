"""Per-file results for the store: a file's result taken alone, its rows kept
and merged back, and where its events lie against a window."""

from __future__ import annotations

import pickle
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iamgen.model import MANY_VALUES, Filters, Permission, Resolution, Window
from iamgen.scanning.fast import FastScanner
from iamgen.scanning.outcomes import Resolved, UnitOutcomes, add_units
from iamgen.scanning.tally import DamagedRows, ScanResult
from iamgen.scanning.units import Place, placement
from iamgen.sources.local import LocalSource
from iamgen.store import codec
from tests.records import record, role_identity, user_identity, write_trail_file
from tests.stores import EXAMPLE, assert_same


def _files() -> list[tuple[str, bytes]]:
    source = LocalSource((str(EXAMPLE),))
    return [(f.location, source.read(f)) for f in source.files(Filters())]


def _whole(files: list[tuple[str, bytes]], filters: Filters = Filters()) -> ScanResult:
    scanner = FastScanner(filters)
    for location, data in files:
        scanner.add_file(location, data)
    return scanner.finish()


def test_the_example_has_what_these_tests_need() -> None:
    whole = _whole(_files())
    assert whole.signals() and whole.warnings and whole.uncorrelated() is not None
    assert any(key for key in whole._awaiting), "correlated uses (Athena) waiting for ids"


@pytest.mark.parametrize("seed", range(3))
def test_one_result_per_file_merges_to_what_one_scan_gives(seed: int) -> None:
    files = _files()
    random.Random(seed).shuffle(files)
    scanner = FastScanner(Filters())
    merged = ScanResult()
    for location, data in files:
        scanner.add_file(location, data)
        merged.merge(scanner.take_unit().result())
    whole = _whole(files)
    assert_same(merged, whole)
    assert_same(scanner.finish(), whole)  # finish() still gives the total of what was counted


@pytest.mark.parametrize("seed", range(3))
def test_files_added_at_once_give_what_adding_each_gives(seed: int) -> None:
    """add_units folds files' outcomes before adding them: outcomes of
    files read by different scanners (processes: their own principal tokens
    and resolution objects) fold by what they are, and the result is the
    whole scan's."""
    files = _files()
    random.Random(seed).shuffle(files)
    scanners = [FastScanner(Filters()), FastScanner(Filters())]
    units = []
    for index, (location, data) in enumerate(files):
        scanner = scanners[index % 2]
        scanner.add_file(location, data)
        units.append(scanner.take_unit())
    merged = ScanResult()
    assert add_units(merged, units) == len(files)
    assert_same(merged, _whole(files))
    parts = ScanResult()
    for part in (units[:7], units[7:]):
        add_units(parts, part)
    assert_same(parts, _whole(files))


def test_results_taken_without_counting_stay_out_of_the_total() -> None:
    files = _files()
    scanner = FastScanner(Filters())
    counted = []
    for index, (location, data) in enumerate(files):
        scanner.add_file(location, data)
        if index % 3:
            counted.append((location, data))
            scanner.take_unit().result()
        else:
            scanner.take_unit(count=False)
    last = files[0]
    scanner.add_file(*last)  # added, not taken: part of the total
    assert_same(scanner.finish(), _whole([*counted, last]))


def test_rows_keep_everything_and_merge_back_in_any_order() -> None:
    files = _files()
    scanner = FastScanner(Filters())
    blobs = []
    for location, data in files:
        scanner.add_file(location, data)
        blobs.append(codec.encode(scanner.take_unit().result().export_rows()))
    whole = _whole(files)
    for seed in range(3):
        random.Random(seed).shuffle(blobs)
        merged = ScanResult()
        for blob in blobs:
            merged.merge_rows(codec.decode(blob))
        assert_same(merged, whole)
        again = ScanResult()
        again.merge_rows(codec.decode(codec.encode(merged.export_rows())))
        assert_same(again, whole)
        assert_same(pickle.loads(pickle.dumps(again)), whole)


def test_exported_rows_are_a_snapshot() -> None:
    """Rows merged into a result that then grows, or kept while their result
    grows, do not change."""
    files = _files()
    first = _whole(files[:80])
    rows = first.export_rows()
    blob = codec.encode(rows)
    first.merge(_whole(files[80:]))  # the exported result grows
    assert codec.encode(rows) == blob
    merged = ScanResult()
    merged.merge_rows(rows)
    merged.merge(_whole(files[80:]))  # absorbs the rows into its table, then grows
    assert codec.encode(rows) == blob
    assert_same(merged, _whole(files))


def test_foreign_bytes_are_a_codec_error() -> None:
    for blob in (b"", b"not zlib", codec.encode(ScanResult().export_rows())[:-3]):
        with pytest.raises(codec.CodecError):
            codec.decode(blob)
    import zlib

    with pytest.raises(codec.CodecError):
        codec.decode(zlib.compress(b"\x93\x01\x02\x03"))


WHEN = datetime(2026, 11, 3, 10, tzinfo=UTC)
LATER = datetime(2026, 11, 3, 11, tzinfo=UTC)


@pytest.mark.parametrize(("span", "window", "place"), [
    (None, Window(since=LATER), Place.INSIDE),
    ((WHEN, LATER), Window(), Place.INSIDE),
    ((WHEN, LATER), Window(since=WHEN, until=LATER), Place.INSIDE),
    ((WHEN, LATER), Window(since=LATER), Place.ACROSS),
    ((WHEN, LATER), Window(until=WHEN), Place.ACROSS),
    ((WHEN, WHEN), Window(since=LATER), Place.OUTSIDE),
    ((LATER, LATER), Window(until=WHEN), Place.OUTSIDE),
    ((WHEN, LATER), Window(since=datetime(2026, 11, 3, 10, 30, tzinfo=UTC),
                           until=datetime(2026, 11, 3, 10, 31, tzinfo=UTC)), Place.ACROSS),
])
def test_placement(span: tuple[datetime, datetime] | None, window: Window,
                   place: Place) -> None:
    assert placement(span, window) is place


def test_the_span_covers_records_other_filters_reject(tmp_path: Path) -> None:
    """A record of another region still counts toward a file's span: under a
    window it would be skipped as outside it, not as of another region. So
    do records the fast path hands to the plain one."""
    who = role_identity("Trainer")
    path = write_trail_file(tmp_path, [
        record(who, "s3.amazonaws.com", "ListBuckets", {}, time="2026-11-03T09:00:00Z",
               region="eu-west-1"),
        record(user_identity("alice"), "s3.amazonaws.com", "ListBuckets", {},
               time="2026-11-03T10:00:00Z"),
        {**record(who, "s3.amazonaws.com", "ListBuckets", {}, time="2026-11-03T11:00:00Z"),
         "eventID": 7},  # does not fit the typed shape: the plain path
    ])
    scanner = FastScanner(Filters(regions=frozenset({"us-east-1"})), spans=True)
    scanner.add_file(str(path), path.read_bytes())
    assert scanner.span() == (datetime(2026, 11, 3, 9, tzinfo=UTC),
                              datetime(2026, 11, 3, 11, tzinfo=UTC))
    span = scanner.span()
    unit = scanner.take_unit()
    assert unit.span == span
    result = unit.result()
    assert result.skipped["other_region"] == 1 and result.events_used == 2
    assert scanner.span() is None


# -- files' outcomes made by hand: what add_units folds across files ------------------------

_ROLES = [("arn:aws:iam::111122223333:role/train", "role"),
          ("arn:aws:iam::111122223333:user/priya", "user")]
_CALLERS = ["aws_service", "other_account"]  # callers that are no principal here
_RESOLUTIONS = [
    (Resolution((Permission("s3:GetObject", "arn:aws:s3:::data/a"),)), ()),
    (Resolution((Permission("s3:GetObject", "arn:aws:s3:::data/b"),)), (("mfa", "true"),)),
    (Resolution((Permission("kms:Decrypt", "*"),), unknown_resource=("kms:Decrypt",)), ()),
]
_TIMES = [datetime(2026, 11, day, hour, tzinfo=UTC) for day in (2, 3) for hour in (0, 12)]
_VPCES = [None, *(f"vpce-{n:02d}" for n in range(40))]  # more than a usage's facts keep
_TLS = [None, "TLSv1.2", "TLSv1.3"]


def _call(index: int) -> Resolved:
    """A principal's call with the resolution and facts ``_RESOLUTIONS[index]``."""
    return Resolved(*_RESOLUTIONS[index], "s3.amazonaws.com", "GetObject")


def _packed(callers: list[Any], entries: list[tuple[tuple[Any, ...], list[Any]]]
            ) -> UnitOutcomes:
    """A file's outcomes as a scanner packs them (nothing added directly, no span)."""
    return UnitOutcomes.pack(ScanResult().export_rows(), callers, entries, None)


@st.composite
def _unit(draw: st.DrawFn) -> UnitOutcomes:
    """One file's outcomes as a scanner of its own (another process) packs
    them: its own principal tokens, its own resolution objects."""
    callers: list[Any] = draw(st.permutations([*_ROLES, *_CALLERS]))
    resolved = [_call(index) for index in range(len(_RESOLUTIONS))]
    tally: dict[tuple[Any, ...], list[Any]] = {}
    for _ in range(draw(st.integers(1, 6))):
        token = draw(st.integers(0, len(callers) - 1))
        if isinstance(callers[token], str):
            key = (token, None, draw(st.sampled_from([("s3.amazonaws.com", "GetObject"),
                                                      ("sts.amazonaws.com", "AssumeRole")])),
                   "us-east-1")
        else:
            key = (token, draw(st.sampled_from(resolved)),
                   draw(st.sampled_from([None, "AccessDenied"])),
                   draw(st.sampled_from(["us-east-1", "eu-west-1"])))
        first, last = sorted(draw(st.lists(st.sampled_from(_TIMES), min_size=2, max_size=2)))
        calls = draw(st.integers(1, 3))
        others = draw(st.dictionaries(
            st.tuples(st.sampled_from(_VPCES), st.sampled_from(_TLS)), st.integers(1, 3),
            max_size=3))
        pair = (draw(st.sampled_from(_VPCES)), draw(st.sampled_from(_TLS)))
        others.pop(pair, None)
        tally[key] = [calls + sum(others.values()), first, last,
                      draw(st.sampled_from(["event-a", "event-b"])), *pair, calls,
                      others or None]
    return _packed(callers, list(tally.items()))


@settings(max_examples=150, deadline=None)
@given(st.lists(_unit(), min_size=1, max_size=8))
def test_outcomes_folded_across_files_add_up_as_each_file_alone(units: list[UnitOutcomes]
                                                                ) -> None:
    """Ties in first time (the first eventID decides), other callers, and
    connections past what a usage keeps apart (folded into "(many)") add up
    the same when files are folded first as when each is added alone."""
    at_once = ScanResult()
    assert add_units(at_once, units) == len(units)
    each = ScanResult()
    for unit in units:
        each.merge(unit.result())
    assert_same(at_once, each)


def test_many_connections_are_folded_as_many() -> None:
    """Over many files, one usage's VPC endpoints pass what its facts keep:
    the endpoint is then "(many)", whether the files are folded first or not."""
    units = [_packed([_ROLES[0]], [((0, _call(0), None, "us-east-1"),
                                     [1, _TIMES[0], _TIMES[0], "event-a", vpce, "TLSv1.3", 1,
                                      None])])
             for vpce in _VPCES[1:]]
    at_once = ScanResult()
    add_units(at_once, units)
    each = ScanResult()
    for unit in units:
        each.merge(unit.result())
    assert_same(at_once, each)
    (usage,) = at_once.usages()
    assert usage.context == (("tls", "TLSv1.3", 40), ("vpce", MANY_VALUES, 40))


@pytest.mark.parametrize("damage", [
    "token past the principals", "negative token", "principal without resolution",
    "caller without its call", "time without zone"])
def test_outcomes_that_do_not_fit_are_damaged_rows(damage: str) -> None:
    """Kept outcomes that decode but cannot be a file's (a store damaged
    where its checksums cannot tell) are DamagedRows, the one error the
    store's readers turn into a message; never a traceback or a wrong result."""
    key: list[Any] = [0, _call(0), None, "us-east-1"]
    entry: list[Any] = [1, _TIMES[0], _TIMES[0], "event-a", None, None, 1, None]
    callers: list[Any] = [_ROLES[0], _CALLERS[0]]
    if damage == "token past the principals":
        key[0] = 5
    elif damage == "negative token":
        key[0] = -1
    elif damage == "principal without resolution":
        key[1] = None
    elif damage == "caller without its call":
        key[:3] = [1, None, None]
    else:
        entry[1] = entry[2] = _TIMES[0].replace(tzinfo=None)
    good = _packed(callers, [((0, _call(1), None, "eu-west-1"),
                              [1, _TIMES[0], _TIMES[0], "event-a", None, None, 1, None])])
    bad = _packed(callers, [(tuple(key), entry)])
    with pytest.raises(DamagedRows):
        add_units(ScanResult(), [good, bad])


@pytest.mark.parametrize("order", [("event-b", "event-a"), ("event-a", "event-b")])
def test_a_tie_in_first_time_goes_to_the_smaller_event_id(order: tuple[str, str]) -> None:
    units = [_packed([_ROLES[0]], [((0, _call(0), None, "us-east-1"),
                                     [1, _TIMES[0], _TIMES[1], event_id, None, None, 1, None])])
             for event_id in order]
    at_once = ScanResult()
    add_units(at_once, units)
    (usage,) = at_once.usages()
    assert usage.example_event_id == "event-a"
