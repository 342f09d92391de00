"""Per-file results for the store: a file's result taken alone, its rows kept
and merged back, and where its events lie against a window."""

from __future__ import annotations

import pickle
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from iamgen.model import Filters, Window
from iamgen.scanning.fast import FastScanner
from iamgen.scanning.outcomes import add_units
from iamgen.scanning.tally import ScanResult
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
