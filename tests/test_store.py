"""Reading through a store gives what reading the trail gives, however the
files arrive, whatever the window; what changed is read again, and only that."""

from __future__ import annotations

import gzip
import json
import multiprocessing
import os
import re
import shutil
import sqlite3
import tempfile
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks import generate_trail
from iamgen.commands.store import info_lines, rebuild_lines
from iamgen.commands.summary import store_lines
from iamgen.errors import InputError
from iamgen.mapping.facts import TRANSPORT
from iamgen.model import Filters, Window
from iamgen.scanning import units as units_module
from iamgen.scanning.scan import scan
from iamgen.scanning.tally import ScanResult
from iamgen.sources import local as local_module
from iamgen.sources.local import LocalSource
from iamgen.store import codec, db, plan, read
from iamgen.store.db import Store
from iamgen.store.maintain import info, prune, vacuum
from iamgen.store.rebuild import rebuild
from iamgen.store.rules import Rules, current_rules
from tests.records import record, role_identity
from tests.stores import (
    EXAMPLE,
    FakeLookups,
    assert_same,
    assert_same_without_contexts,
    assert_store_sound,
)

ALL_FILES = sorted(str(p) for p in EXAMPLE.rglob("*.gz"))
# Two days of both regions (48 files): Athena ids announced and used in other
# files, a signal, a damaged gzip file.
TWO_DAYS = [f for f in ALL_FILES if "/11/04/" in f or "/11/05/" in f]


def plain(files: list[str], filters: Filters = Filters(), contexts: bool = True) -> ScanResult:
    return scan(LocalSource(tuple(files)), filters, contexts=contexts)


def stored(path: Path, files: list[str], filters: Filters = Filters(),
           workers: int = 1, contexts: bool = True) -> tuple[ScanResult, read.StoreReport]:
    return read.read_with_store(path, LocalSource(tuple(files)), filters, workers,
                                contexts=contexts)


def holds_contexts(path: Path) -> bool:
    """Whether some whole result kept holds the request context of its calls:
    a fact of a request itself, beyond the connection's (VPC endpoint, TLS),
    which every kept result gives, empty when read without it."""
    with sqlite3.connect(path) as connection:
        blobs = connection.execute("SELECT data FROM results WHERE way = 'whole'").fetchall()
    return any(name not in TRANSPORT
               for (blob,) in blobs
               for usage in codec.decode_unit(blob).result().usages()
               for name, _, _ in usage.context)


def whole_keys(path: Path) -> Counter[str]:
    """The filters keys of the store's whole results, counted."""
    with Store.open(path, create=False) as store:
        return Counter(r.filters for r in store.results() if r.way == "whole")


@pytest.mark.parametrize("workers", [1, 2])
def test_a_first_run_and_a_rerun_give_what_the_trail_gives(tmp_path: Path,
                                                            workers: int) -> None:
    store = tmp_path / "store.db"
    whole = plain(ALL_FILES)
    first, report = stored(store, ALL_FILES, workers=workers)
    assert_same(first, whole)
    assert report.from_store == 0 and report.read["new"] == len(ALL_FILES) - 1  # the digest
    again, report = stored(store, ALL_FILES, workers=workers)
    assert_same(again, whole)
    assert report.from_store == len(ALL_FILES) - 1 and not report.read
    assert_store_sound(store)


MOMENTS = [None, *(datetime.fromisoformat(t) for t in (
    "2026-11-04T00:00:00+00:00", "2026-11-04T09:30:00+00:00", "2026-11-04T12:00:00+00:00",
    "2026-11-05T03:00:00+00:00", "2026-11-05T10:42:42+00:00", "2026-11-05T23:59:59+00:00"))]


@st.composite
def windows(draw: st.DrawFn) -> Filters:
    since, until = draw(st.sampled_from(MOMENTS)), draw(st.sampled_from(MOMENTS))
    if since is not None and until is not None and since > until:
        since, until = until, since
    regions = draw(st.sampled_from([(), ("us-east-1",), ("us-west-2",)]))
    # The example's account, and one it never names (a read that keeps nothing).
    accounts = draw(st.sampled_from([(), (), ("111122223333",), ("444455556666",)]))
    return Filters(window=Window(since, until), accounts=frozenset(accounts),
                   regions=frozenset(regions))


@settings(max_examples=40, deadline=None)
@given(order=st.permutations(range(len(TWO_DAYS))),
       cuts=st.lists(st.integers(1, len(TWO_DAYS) - 1), max_size=3, unique=True),
       runs=st.lists(windows(), min_size=4, max_size=4),
       needs=st.lists(st.booleans(), min_size=4, max_size=4))
def test_any_split_into_successive_runs_gives_one_run_over_all(
        order: list[int], cuts: list[int], runs: list[Filters], needs: list[bool]) -> None:
    """Files arriving in any order, read in any number of runs (each with its
    own window, account and region filters, each needing the calls' request context or
    not) on one store: every run gives what one run without a store over the
    files there so far gives."""
    bounds = [*sorted(cuts), len(order)]
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "store.db"
        for number, end in enumerate(bounds):
            files = sorted(TWO_DAYS[i] for i in order[:end])
            filters, contexts = runs[number], needs[number]
            result, _ = stored(store, files, filters, contexts=contexts)
            if contexts:
                assert_same(result, plain(files, filters))
            else:
                assert_same_without_contexts(result, plain(files, filters, contexts=False))
        final, contexts = runs[-1], needs[-1]
        for _ in range(2):
            result, report = stored(store, TWO_DAYS, final, contexts=contexts)
            if contexts:
                assert_same(result, plain(TWO_DAYS, final))
            else:
                assert_same_without_contexts(result, plain(TWO_DAYS, final, contexts=False))
        assert set(report.read) <= {"across the window's edge"}  # all else was kept
        assert_store_sound(store)


def test_a_store_keeps_request_context_once_a_run_needed_it(tmp_path: Path) -> None:
    """A run that needs no request context reads without it, into a store
    that keeps none; a run that needs it reads those files again, once, and
    from then on every file is read with it, whatever the run needs."""
    store = tmp_path / "store.db"
    half = TWO_DAYS[:24]
    bare, report = stored(store, half, contexts=False, workers=2)
    assert_same(bare, plain(half, contexts=False))  # read without it, not only left out
    assert set(whole_keys(store)) == {"context=none"} and report.read == {"new": 24}
    assert not holds_contexts(store)
    full, report = stored(store, half)
    assert_same(full, plain(half))
    assert any(usage.context for usage in full.usages())
    assert report.read == {"kept without request context": 24} and report.from_store == 0
    assert set(whole_keys(store)) == {""}  # each file's result without it replaced
    assert holds_contexts(store)
    again, report = stored(store, TWO_DAYS, contexts=False)
    again.leave_out_contexts()
    assert_same_without_contexts(again, plain(TWO_DAYS))
    assert report.from_store == 24 and report.read == {"new": 24}
    assert set(whole_keys(store)) == {""}  # the store keeps the context now
    with Store.open(store, create=False) as opened:  # merged pieces of results replaced: gone
        held = {r.id for r in opened.results()}
        assert all(set(a.members) <= held for a in opened.aggregates())
    last, report = stored(store, TWO_DAYS)
    assert_same(last, plain(TWO_DAYS))
    assert report.from_store == 48 and not report.read
    assert_store_sound(store)


LONE = TWO_DAYS[-1]


def _raced(store: Path, files: list[str]) -> list[int]:
    """A store as two runs at once leave it: one replaced the files' results
    read without the request context by results with it, while the other,
    which planned before, wrote its own without it afterwards (and merged
    them). The ids of the latter. Beside them, the result of a file
    (``LONE``) that only a run needing no context read, which stays."""
    stored(store, [LONE], contexts=False)
    stored(store, files, contexts=False)
    lone = str(Path(LONE).resolve())
    with sqlite3.connect(store) as connection:
        late = connection.execute(
            "SELECT unit, way, filters, rules, events, outcomes, size, results.data FROM "
            "results JOIN units ON units.id = results.unit WHERE location != ?",
            (lone,)).fetchall()
    stored(store, files)  # replaces each with a result holding the context
    with sqlite3.connect(store) as connection:  # the other run's writes, after
        connection.executemany("INSERT INTO results (unit, way, filters, rules, events, "
                               "outcomes, size, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", late)
        ids = [row[0] for row in connection.execute(
            "SELECT results.id FROM results JOIN units ON units.id = results.unit "
            "WHERE filters = 'context=none' AND units.location != ?", (lone,))]
    with Store.open(store, create=False) as opened:
        opened.put_aggregate(late[0][3], ids, codec.encode(
            plain(files, contexts=False).export_rows()))
    assert whole_keys(store) == Counter({"": len(files), "context=none": len(files) + 1})
    return ids


def test_vacuum_drops_results_without_context_that_another_run_kept_with_it(
        tmp_path: Path) -> None:
    """Runs take the results with the context; vacuum drops the others and
    the merged piece holding them, and every run gives what it gave."""
    store = tmp_path / "store.db"
    files = TWO_DAYS[:12]
    ids = _raced(store, files)
    full, report = stored(store, files)
    assert_same(full, plain(files))  # not the merged piece without the context
    assert report.from_store == 12 and not report.read
    with Store.open(store, create=False) as opened:
        said = info_lines(info(opened))
        assert "  results without request context beside the file's with it: 12 " \
            "(`iamgen store vacuum` drops them)" in said
        done = vacuum(opened)
        assert (done.results, done.aggregates) == (12, 1)
        assert not any("beside" in line for line in info_lines(info(opened)))
        assert not [a for a in opened.aggregates() if set(a.members) & set(ids)]
    assert whole_keys(store) == Counter({"": 12, "context=none": 1})  # LONE's stays
    full, report = stored(store, files)
    assert_same(full, plain(files))
    assert report.from_store == 12 and not report.read
    bare, report = stored(store, files, contexts=False)
    bare.leave_out_contexts()
    assert_same_without_contexts(bare, plain(files, contexts=False))
    assert report.from_store == 12 and not report.read
    lone, report = stored(store, [LONE], contexts=False)
    lone.leave_out_contexts()
    assert_same_without_contexts(lone, plain([LONE], contexts=False))
    assert report.from_store == 1 and not report.read
    assert_store_sound(store)


def test_a_rebuild_drops_results_without_context_that_another_run_kept_with_it(
        tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    files = TWO_DAYS[:12]
    _raced(store, files)
    assert rebuild(store, lambda: None).read == len(files) + 1  # and LONE, as it was kept
    assert whole_keys(store) == Counter({"": 12, "context=none": 1})
    full, report = stored(store, files)
    assert_same(full, plain(files))
    assert report.from_store == 12 and not report.read
    assert_store_sound(store)


def test_a_result_without_context_is_superseded_only_by_its_own_files_with_it() -> None:
    def row(id_: int, unit: int, filters: str, rules: int = 1, way: str = "whole"
            ) -> db.ResultRow:
        return db.ResultRow(id_, unit, way, filters, rules, 5)

    assert plan.superseded([
        row(1, 1, ""), row(2, 1, "context=none"),  # superseded
        row(3, 2, "regions=eu-west-1"), row(4, 2, "regions=eu-west-1;context=none"),  # too
        row(5, 3, ""), row(6, 3, "regions=eu-west-1;context=none"),  # other filters
        row(7, 4, "", rules=2), row(8, 4, "context=none"),  # other rules
        row(9, 5, "context=none"), row(10, 6, ""),  # other files
        row(11, 7, "", way="outside"), row(12, 7, "context=none", way="outside"),
        row(13, 8, "", way="outside"), row(14, 8, "context=none"),  # outside: no context
    ]) == [2, 4]


def test_results_outside_a_window_do_not_make_a_store_keep_the_context(
        tmp_path: Path) -> None:
    """(They hold no calls, and have no context to keep or leave out.)"""
    store = tmp_path / "store.db"
    window = Filters(window=Window(since=datetime(2026, 11, 5, tzinfo=UTC)))
    first, _ = stored(store, TWO_DAYS[:30], window, contexts=False)
    assert_same(first, plain(TWO_DAYS[:30], window, contexts=False))
    with Store.open(store, create=False) as opened:
        assert {r.way for r in opened.results()} == {"whole", "outside"}
    again, report = stored(store, TWO_DAYS, window, contexts=False)
    assert_same(again, plain(TWO_DAYS, window, contexts=False))
    assert report.read["new"] == 18
    assert set(whole_keys(store)) == {"context=none"} and not holds_contexts(store)


def test_store_info_says_how_each_result_was_read() -> None:
    from iamgen.store.maintain import _way_of

    def way(kind: str, key: str) -> str:
        return _way_of(db.ResultRow(1, 1, kind, key, 1, 5))

    assert way("whole", "") == "read whole"
    assert way("whole", "regions=eu-west-1") == "read whole (regions=eu-west-1)"
    assert way("whole", "context=none") == "read whole without request context"
    assert way("whole", "accounts=1;regions=eu-west-1;context=none") == (
        "read whole without request context (accounts=1;regions=eu-west-1)")
    assert way("outside", "") == "outside a window"


def test_a_rebuild_reads_each_file_as_it_was_kept_with_the_context_or_without(
        tmp_path: Path) -> None:
    bare_store, full_store = tmp_path / "bare.db", tmp_path / "full.db"
    stored(bare_store, TWO_DAYS, contexts=False)
    stored(full_store, TWO_DAYS)
    for store, key in ((bare_store, "context=none"), (full_store, "")):
        assert rebuild(store, lambda: None).read == len(TWO_DAYS)
        assert whole_keys(store) == {key: len(TWO_DAYS)}
    again, report = stored(bare_store, TWO_DAYS, contexts=False)
    again.leave_out_contexts()
    assert_same_without_contexts(again, plain(TWO_DAYS))
    assert report.from_store == len(TWO_DAYS)
    full, report = stored(full_store, TWO_DAYS)
    assert_same(full, plain(TWO_DAYS))
    assert report.from_store == len(TWO_DAYS)
    assert not holds_contexts(bare_store) and holds_contexts(full_store)


def test_a_rebuild_says_which_files_it_could_not_read(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "store.db"
    stored(store, TWO_DAYS)
    with Store.open(store, create=False) as opened:
        before = sorted(r.id for r in opened.results())
    failing = str(Path(TWO_DAYS[3]).resolve())
    real = units_module.read_files

    def flaky(source: Any, files: Any) -> Any:
        for trail_file, data in real(source, files):
            yield trail_file, (OSError(5, "Input/output error") if trail_file.location == failing
                               else data)

    monkeypatch.setattr(units_module, "read_files", flaky)
    done = rebuild(store, lambda: None)
    assert done.read == len(TWO_DAYS) - 1 and done.failed == [failing]
    assert "could not be read, kept as they were: 1 file(s), e.g. " + failing in "\n".join(
        rebuild_lines(done))
    with Store.open(store, create=False) as opened:
        location = {unit.id: unit.location for unit in opened.units()}
        kept = {r.id for r in opened.results() if location[r.unit] == failing}
    assert kept and kept <= set(before)  # what it had, still there
    monkeypatch.undo()
    again, report = stored(store, TWO_DAYS)
    assert_same(again, plain(TWO_DAYS))
    assert report.from_store == len(TWO_DAYS)


def test_a_kept_file_that_cannot_be_read_now_is_not_served(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Its size and modification time are those kept, but a run without the
    # store would warn that it cannot read it and leave its calls out.
    store = tmp_path / "store.db"
    stored(store, TWO_DAYS)
    locked = str(Path(TWO_DAYS[3]).resolve())
    real_open, real_os_open = open, os.open

    def refusing(opener: Any) -> Any:
        def opened(name: Any, *args: Any, **kwargs: Any) -> Any:
            if str(Path(name).resolve()) == locked:
                raise PermissionError(13, "Permission denied", str(name))
            return opener(name, *args, **kwargs)
        return opened

    monkeypatch.setattr(local_module, "open", refusing(real_open), raising=False)
    monkeypatch.setattr(local_module.os, "open", refusing(real_os_open))
    result, report = stored(store, TWO_DAYS)
    without = plain(TWO_DAYS)
    assert without.files_skipped["unreadable_file"] == 1
    # The file it could not read is merged last: its warning is elsewhere in the
    # list, which every output shows sorted (sorted_warnings).
    result.warnings.sort()
    without.warnings.sort()
    assert_same(result, without)
    assert report.read == {"not kept": 1} and report.gone == 0
    monkeypatch.undo()
    again, report = stored(store, TWO_DAYS)  # readable again: its result was kept
    assert_same(again, plain(TWO_DAYS))
    assert report.from_store == len(TWO_DAYS) and report.gone == 0


def _copy(files: list[str], root: Path) -> list[str]:
    out = []
    for name in files:
        target = root / Path(name).relative_to(EXAMPLE)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(name, target)
        out.append(str(target))
    return out


def test_changing_one_file_reads_exactly_that_file(tmp_path: Path) -> None:
    trail = tmp_path / "trail"
    _copy(TWO_DAYS, trail)
    store = tmp_path / "store.db"
    source = lambda: LocalSource((str(trail),))  # noqa: E731 - listed afresh each run
    read.read_with_store(store, source(), Filters())
    changed = sorted(trail.rglob("*.gz"))[5]
    late = [record(role_identity("Late"), "s3.amazonaws.com", "ListBuckets", {},
                   time="2026-11-04T10:00:00Z")]
    changed.write_bytes(gzip.compress(json.dumps({"Records": late}).encode()))
    result, report = read.read_with_store(store, source(), Filters())
    assert dict(report.read) == {"changed": 1}
    assert report.from_store == len(TWO_DAYS) - 1
    assert_same(result, scan(source(), Filters()))
    assert "Late" in " ".join(p.arn for p in result.principal_events)
    # The same size and content, written again: a new modification time is a change too.
    os.utime(changed, ns=(0, 10**18))
    _, report = read.read_with_store(store, source(), Filters())
    assert dict(report.read) == {"changed": 1}
    assert_store_sound(store)


def test_a_file_is_known_however_the_trail_is_reached(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A relative path, then an absolute one through a link: nothing is read
    again, and warnings name files as each run was given them."""
    _copy(TWO_DAYS, tmp_path / "trail")
    (tmp_path / "link").symlink_to(tmp_path / "trail", target_is_directory=True)
    store = tmp_path / "store.db"
    monkeypatch.chdir(tmp_path)
    first, report = read.read_with_store(store, LocalSource(("trail",)), Filters())
    assert report.from_store == 0
    assert_same(first, plain(["trail"]))
    linked = str(tmp_path / "link")
    again, report = read.read_with_store(store, LocalSource((linked,)), Filters())
    assert not report.read and report.from_store == len(TWO_DAYS)
    assert_same(again, plain([linked]))
    warned = again.sorted_warnings()
    assert warned and all(line.startswith(f"warning: {linked}/") for line in warned)
    with Store.open(store) as opened:
        assert {u.location.split("/AWSLogs/")[0] for u in opened.units()} == {
            os.path.realpath(tmp_path / "trail")}
    # A file gone is found gone through the link too.
    sorted((tmp_path / "trail").rglob("*.gz"))[0].unlink()
    _, report = read.read_with_store(store, LocalSource((linked,)), Filters())
    assert report.gone == 1


def _records_of(paths: list[str]) -> list[dict[str, Any]]:
    """The records of the example's files ``paths`` (the damaged one left out), in order."""
    records: list[dict[str, Any]] = []
    for path in paths:
        try:
            records.extend(json.loads(gzip.decompress(Path(path).read_bytes()))["Records"])
        except (EOFError, OSError):
            continue
    return records


def _day_records() -> list[dict[str, Any]]:
    """The records of the example's files of 2026-11-04, us-east-1, in order."""
    return _records_of([path for path in ALL_FILES if "/us-east-1/2026/11/04/" in path])


CUTS = [Filters(window=Window(since=datetime.fromisoformat(since) if since else None,
                              until=datetime.fromisoformat(until) if until else None))
        for since, until in (("2026-11-04T09:30:00+00:00", None),
                             (None, "2026-11-04T09:30:00+00:00"),
                             ("2026-11-04T06:00:00+00:00", "2026-11-04T12:00:00+00:00"),
                             ("2026-11-06T00:00:00+00:00", None),
                             (None, "2026-11-01T00:00:00+00:00"))]


@pytest.mark.parametrize("shape", ["lookup-events", "array", "lines-cut-short"])
def test_files_read_record_by_record_are_cut_by_windows(tmp_path: Path, shape: str) -> None:
    """Shapes the typed decoders pass over (a saved LookupEvents answer, a
    bare array, JSON lines whose last line is cut short) are read record by
    record; their kept result knows its events' span, so a later window cuts
    them as a run without the store does (it was taken whole, every window)."""
    records = _day_records()
    assert len({r["eventTime"][:13] for r in records}) > 3, "records over several hours"
    trail = tmp_path / "trail.json"
    if shape == "lookup-events":
        trail.write_text(json.dumps({"Events": [{"CloudTrailEvent": json.dumps(r)}
                                                for r in records]}))
    elif shape == "array":
        trail.write_text(json.dumps(records))
    else:
        trail.write_text("".join(json.dumps(r) + "\n" for r in records) + '{"eventVersion": "1.')
    store = tmp_path / "store.db"
    first, _ = stored(store, [str(trail)])
    assert_same(first, plain([str(trail)]))
    for filters in CUTS:
        assert plain([str(trail)], filters) != plain([str(trail)]), "the window cuts"
        result, _ = stored(store, [str(trail)], filters)
        assert_same(result, plain([str(trail)], filters))


def _shaped(records: list[dict[str, Any]], shape: str) -> bytes:
    """Records written in one of the shapes iamgen reads (gzip or not)."""
    if shape == "lookup-events":
        text = json.dumps({"Events": [{"CloudTrailEvent": json.dumps(r)} for r in records]})
    elif shape == "array":
        text = json.dumps(records)
    elif shape == "lines-cut-short":
        text = "".join(json.dumps(r) + "\n" for r in records) + '{"eventVersion": "1.'
    elif shape == "lines":
        text = "".join(json.dumps(r) + "\n" for r in records)
    else:
        text = json.dumps({"Records": records})
    return gzip.compress(text.encode(), mtime=0) if shape.endswith("gz") else text.encode()


SHAPES = ["lookup-events", "array", "lines-cut-short", "lines", "delivery", "delivery-gz"]


@settings(max_examples=25, deadline=None)
@given(shapes=st.lists(st.sampled_from(SHAPES), min_size=3, max_size=6),
       cuts=st.lists(st.integers(1, 5), max_size=2, unique=True),
       runs=st.lists(windows(), min_size=3, max_size=3),
       needs=st.lists(st.booleans(), min_size=3, max_size=3))
def test_files_of_every_shape_in_successive_runs_give_one_run_over_all(
        shapes: list[str], cuts: list[int], runs: list[Filters], needs: list[bool]) -> None:
    """As the split property above, over files of every shape iamgen reads
    (the typed decoders' and the record-by-record reading's): each holds a
    slice of a day's records, so windows cut through files of each shape."""
    records = sorted(_records_of(TWO_DAYS), key=lambda r: r["eventTime"])
    size = len(records) // len(shapes)
    with tempfile.TemporaryDirectory() as folder:
        files = []
        for number, shape in enumerate(shapes):
            path = Path(folder) / f"part-{number}.{shape}"
            path.write_bytes(_shaped(records[number * size:(number + 1) * size], shape))
            files.append(str(path))
        store = Path(folder) / "store.db"
        bounds = [*sorted(c for c in cuts if c < len(files)), len(files)]
        for number, end in enumerate(bounds[:len(runs)]):
            filters, contexts = runs[number], needs[number]
            result, _ = stored(store, files[:end], filters, contexts=contexts)
            if contexts:
                assert_same(result, plain(files[:end], filters))
            else:
                assert_same_without_contexts(result, plain(files[:end], filters,
                                                           contexts=False))


def test_an_event_at_the_last_moment_a_date_holds_is_outside_an_earlier_window(
        tmp_path: Path) -> None:
    """A file wholly outside the window is counted outside: even an event
    stamped 9999-12-31T23:59:59.999999Z (the outside reading's window
    admits none)."""
    records = _day_records()[:20]
    for item in records:
        item["eventTime"] = "9999-12-31T23:59:59.999999Z"
    late = tmp_path / "late.json"
    late.write_text(json.dumps({"Records": records}))
    files = [str(late), *TWO_DAYS[:2]]
    store = tmp_path / "store.db"
    stored(store, files)
    filters = Filters(window=Window(until=datetime(2026, 11, 30, tzinfo=UTC)))
    result, report = stored(store, files, filters)
    assert report.from_store == 2 and report.read["outside the window"] == 1
    assert_same(result, plain(files, filters))
    assert result.skipped["outside_window"] >= 20


def test_a_linked_file_is_read_once_with_a_store_or_without(tmp_path: Path) -> None:
    files = _copy(TWO_DAYS, tmp_path / "trail")
    (Path(files[0]).parent / "again.json.gz").symlink_to(files[0])
    trail = [str(tmp_path / "trail")]
    once = plain(trail)
    assert once.files_read == len(TWO_DAYS)  # the link is not a second file
    store = tmp_path / "store.db"
    for _ in range(2):
        result, _ = read.read_with_store(store, LocalSource(tuple(trail)), Filters())
        assert_same(result, once)


def test_a_path_under_another_is_listed_once(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Overlapping --trail paths, spelled apart, count each file once; a
    missing path under a given folder is still an error."""
    files = _copy(TWO_DAYS, tmp_path / "trail")
    monkeypatch.chdir(tmp_path)
    one_day = str(Path(files[-1]).parent)
    assert plain(["trail", one_day]) == plain(["trail"])
    both = plain([str(tmp_path / "trail"), "trail"])  # named as first given: absolute
    assert (both.files_read, both.events_read, both.usages()) == (
        len(TWO_DAYS), plain(["trail"]).events_read, plain(["trail"]).usages())
    with pytest.raises(InputError, match="no such file"):
        plain(["trail", "trail/missing.json.gz"])


def test_results_made_under_other_rules_are_read_again_and_said(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "store.db"
    stored(store, TWO_DAYS)
    other = Rules("0.0.9", "0.1.1", "f" * 64)
    monkeypatch.setattr(read, "current_rules", lambda: other)
    result, report = stored(store, TWO_DAYS)
    assert dict(report.read) == {"stale": len(TWO_DAYS)} and report.from_store == 0
    assert report.stale == (current_rules(),)
    assert any("stale results read again" in line for line in store_lines(report))
    assert_same(result, plain(TWO_DAYS))
    _, report = stored(store, TWO_DAYS)  # now current under the other rules
    assert report.from_store == len(TWO_DAYS)


def test_a_file_gone_from_the_source_is_reported_and_kept_until_pruned(
        tmp_path: Path) -> None:
    trail = tmp_path / "trail"
    files = _copy(TWO_DAYS, trail)
    store = tmp_path / "store.db"
    read.read_with_store(store, LocalSource((str(trail),)), Filters())
    Path(files[0]).unlink()
    result, report = read.read_with_store(store, LocalSource((str(trail),)), Filters())
    assert report.gone == 1 and any("gone from the source: 1" in x for x in store_lines(report))
    assert_same(result, scan(LocalSource((str(trail),)), Filters()))
    with Store.open(store) as opened:
        assert len(opened.units()) == len(files)  # history is evidence
        assert sum(1 for u in opened.units() if u.missing_since is not None) == 1
        cut = datetime(2026, 11, 5, tzinfo=UTC)
        before = len(opened.units())
        pruned, events = prune(opened, cut)
        assert pruned >= sum(1 for f in files if "/11/04/" in f) and events > 0
        left = opened.units()
        assert len(left) == before - pruned
        assert all(unit.span is None or unit.span[1] >= cut for unit in left)
    # A narrower window passes files over by their path: they are not gone.
    _, report = read.read_with_store(store, LocalSource((str(trail),)), Filters(
        window=Window(since=datetime(2026, 11, 7, tzinfo=UTC))))
    assert report.gone == 0


def test_a_file_back_in_its_place_is_no_longer_gone(tmp_path: Path) -> None:
    trail = tmp_path / "trail"
    files = _copy(TWO_DAYS, trail)
    store = tmp_path / "store.db"
    source = lambda: LocalSource((str(trail),))  # noqa: E731 - listed afresh each run
    read.read_with_store(store, source(), Filters())
    away = tmp_path / "away.json.gz"
    Path(files[0]).rename(away)
    _, report = read.read_with_store(store, source(), Filters())
    assert report.gone == 1
    away.rename(files[0])  # the same size and modification time: unchanged
    _, report = read.read_with_store(store, source(), Filters())
    assert report.gone == 0 and not report.read
    with Store.open(store) as opened:
        assert all(unit.missing_since is None for unit in opened.units())


def test_standard_input_is_never_kept(tmp_path: Path) -> None:
    data = Path(TWO_DAYS[0]).read_bytes()
    store = tmp_path / "store.db"
    for _ in range(2):
        result, report = read.read_with_store(store, LocalSource(("-",), data), Filters())
        assert dict(report.read) == {"not kept": 1}
        assert_same(result, scan(LocalSource(("-",), data), Filters()))


def test_many_pieces_are_merged_into_one_aggregate_for_the_next_run(tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    for number in range(len(TWO_DAYS)):  # one file a run: one single result each
        stored(store, TWO_DAYS[number:number + 1])
    with Store.open(store) as opened:
        assert opened.aggregates() == []
    result, report = stored(store, TWO_DAYS)
    assert report.from_store == len(TWO_DAYS)
    with Store.open(store) as opened:
        whole, *days = opened.aggregates()  # largest first
        assert len(whole.members) == len(TWO_DAYS)
        merged = [m for day in days for m in day.members]  # and each day's singles, merged
        # (but for the damaged file: no event, so no day, and alone in that)
        assert len(days) == 2 and len(merged) == len(set(merged)) == len(TWO_DAYS) - 1
        assert set(merged) <= set(whole.members)
    again, _ = stored(store, TWO_DAYS)
    assert_same(again, result)
    assert_same(again, plain(TWO_DAYS))


def test_a_run_that_adds_files_keeps_all_it_counts_as_one_piece(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "store.db"
    half = len(TWO_DAYS) // 2
    stored(store, TWO_DAYS[:half])  # one piece, of both days
    with Store.open(store) as opened:
        first = {a.id for a in opened.aggregates()}
    assert len(first) == 1
    stored(store, TWO_DAYS, workers=2)  # takes it, reads the rest: keeps one of all
    pieces: list[int] = []

    def counted(data: bytes, where: object) -> Any:
        pieces.append(1)
        return codec.decode(data, where)

    monkeypatch.setattr(read, "decode", counted)
    again, report = stored(store, TWO_DAYS)
    assert report.from_store == len(TWO_DAYS) and pieces == [1]
    assert_same(again, plain(TWO_DAYS))
    with Store.open(store) as opened:
        left = opened.aggregates()
    # The new piece took over the first run's (of both days), and its reading
    # processes kept no pieces of their own.
    assert [len(a.members) for a in left] == [len(TWO_DAYS)]


def test_an_aggregate_another_run_dropped_is_taken_as_its_results(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "store.db"
    stored(store, TWO_DAYS)
    monkeypatch.setattr(db.Store, "aggregate_data", lambda self, aggregate: None)
    again, report = stored(store, TWO_DAYS)
    assert report.from_store == len(TWO_DAYS)
    assert_same(again, plain(TWO_DAYS))


def _replacing_meanwhile(monkeypatch: pytest.MonkeyPatch, path: Path,
                         replace_all: Any, times: int = 1) -> None:
    """Before this run reads results' bytes, the first ``times`` times,
    another run replaces them (``replace_all(connection)``)."""
    kept_data = db.Store.result_data
    done: list[bool] = []

    def meanwhile(self: Store, ids: Any) -> Any:
        if len(done) < times:
            done.append(True)
            with sqlite3.connect(path) as connection:
                replace_all(connection)
            connection.close()
        return kept_data(self, ids)

    monkeypatch.setattr(db.Store, "result_data", meanwhile)


@pytest.mark.parametrize("times", [1, 2])
@pytest.mark.parametrize("how", ["rebuilt", "kept with request context"])
def test_results_another_run_replaced_meanwhile_are_taken_as_their_replacements(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str, times: int) -> None:
    """A `store rebuild`, or a run that needs the request context, replaces
    results (new ids) while this run reads the store, once or again after
    this run found the replacements: it takes each replacement, which
    serves it as well, rather than fail."""
    path = tmp_path / "store.db"
    files = TWO_DAYS[:5]
    stored(path, files, contexts=False)
    with sqlite3.connect(path) as connection:
        connection.execute("DELETE FROM aggregates")
    connection.close()

    def replace_all(connection: sqlite3.Connection) -> None:
        rows = connection.execute("SELECT unit, way, filters, rules, events, outcomes, size, "
                                  "data FROM results").fetchall()
        for unit, way, filters, *rest in rows:
            connection.execute("DELETE FROM results WHERE unit = ? AND way = ? AND filters = ?",
                               (unit, way, filters))
            if how != "rebuilt" and way == "whole":
                filters = plan.filters_key(plan.filters_of_key(filters))  # with the context
            connection.execute("INSERT INTO results (unit, way, filters, rules, events, "
                               "outcomes, size, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               (unit, way, filters, *rest))

    _replacing_meanwhile(monkeypatch, path, replace_all, times)
    result, report = stored(path, files, contexts=False)
    assert_same_without_contexts(result, plain(files, contexts=False))
    assert report.from_store == len(files)
    with Store.open(path, create=False) as opened:
        members = {m for a in opened.aggregates() for m in a.members}
        assert members and members <= {r.id for r in opened.results()}  # kept: the new ids


def test_a_result_of_a_file_changed_meanwhile_is_no_replacement(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another run read a file again because it changed, while this run read
    the store: its new result is of another version of the file, so this
    run, which listed the old one, fails with run again."""
    path = tmp_path / "store.db"
    files = TWO_DAYS[:3]
    stored(path, files)
    with sqlite3.connect(path) as connection:
        connection.execute("DELETE FROM aggregates")
    connection.close()

    def changed(connection: sqlite3.Connection) -> None:
        unit, way, filters, *rest = connection.execute(
            "SELECT unit, way, filters, rules, events, outcomes, size, data FROM results "
            "ORDER BY id LIMIT 1").fetchone()
        connection.execute("UPDATE units SET version = 'another' WHERE id = ?", (unit,))
        connection.execute("DELETE FROM results WHERE unit = ?", (unit,))
        connection.execute("INSERT INTO results (unit, way, filters, rules, events, outcomes, "
                           "size, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           (unit, way, filters, *rest))

    _replacing_meanwhile(monkeypatch, path, changed)
    with pytest.raises(InputError, match="another run replaced results .* run again"):
        stored(path, files)


def test_results_another_run_dropped_meanwhile_are_an_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Results gone with nothing that serves in their place (a prune, a
    file changed) while this run reads: one clear error, run again."""
    path = tmp_path / "store.db"
    stored(path, TWO_DAYS[:3])
    with sqlite3.connect(path) as connection:
        connection.execute("DELETE FROM aggregates")
    connection.close()
    _replacing_meanwhile(monkeypatch, path, lambda connection: connection.execute(
        "DELETE FROM results WHERE id = (SELECT min(id) FROM results)"))
    with pytest.raises(InputError, match="another run replaced results .* run again"):
        stored(path, TWO_DAYS[:3])


def test_a_window_moved_on_finds_whole_days_merged(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "store.db"
    for number in range(len(TWO_DAYS)):
        stored(store, TWO_DAYS[number:number + 1])
    stored(store, TWO_DAYS)  # merges the single results, and keeps each day's merged
    singles_read: list[int] = []

    def counted(data: bytes) -> Any:
        singles_read.append(1)
        return codec.decode_unit(data)

    monkeypatch.setattr(read, "decode_unit", counted)
    moved = Filters(window=Window(since=datetime(2026, 11, 5, tzinfo=UTC)))
    result, report = stored(store, TWO_DAYS, moved)
    assert report.from_store > len(TWO_DAYS) // 3
    # The second day came merged, not file by file: one single is read, the
    # damaged file's (it has no event, so no day).
    assert len(singles_read) == 1
    assert_same(result, plain(TWO_DAYS, moved))
    with Store.open(store) as opened:  # pieces holding a first-day whole result are dropped
        spans = {unit.id: unit.span for unit in opened.units()}
        behind = {r.id for r in opened.results() if r.way == "whole"
                  and spans[r.unit] is not None and spans[r.unit][1] < moved.window.since}
        held = [set(a.members) for a in opened.aggregates()]
    assert behind and held and not any(members & behind for members in held)


def test_a_window_moving_on_takes_blocks_of_days(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Whole days merged are rolled up into aligned blocks, kept: the next
    window takes a block where it took each of its days."""
    store = tmp_path / "store.db"
    stored(store, ALL_FILES)  # a first run: one piece of everything
    block = plan.block_days(date(2026, 11, 4).toordinal() // 4, 4)  # 11-04 to 11-07
    taken: list[list[int]] = []  # the sizes of the aggregates each run took
    load = read._load

    def noting(store_: Store, aggregates: list[db.AggregateRow], *rest: Any,
               **options: Any) -> Any:
        taken.append([len(aggregate.members) for aggregate in aggregates])
        return load(store_, aggregates, *rest, **options)

    monkeypatch.setattr(read, "_load", noting)
    for since in ("2026-11-03", "2026-11-04"):
        moved = Filters(window=Window(since=datetime.fromisoformat(f"{since}T00:00:00+00:00")))
        result, _ = stored(store, ALL_FILES, moved)
        assert_same(result, plain(ALL_FILES, moved))
        with Store.open(store) as opened:
            spans = {unit.id: unit.span for unit in opened.units()}
            unit_of = {kept.id: kept.unit for kept in opened.results()}
            starts = {result: spans[unit] for result, unit in unit_of.items()}
            days = [{read._day(starts[m]) for m in aggregate.members}
                    for aggregate in opened.aggregates()]
        assert block in days  # made by the first moved run, kept by the second
        if since == "2026-11-04":  # the block was taken whole, beside a day or two
            blocks = taken[-1]
            assert len(blocks) <= 3 and sum(blocks) >= len(
                [f for f in ALL_FILES if any(f"/11/0{d.day}/" in f for d in block)]) - 2
    assert_store_sound(store)


def _helped(monkeypatch: pytest.MonkeyPatch, everything: bool = False) -> list[int]:
    """Note how many days each helper process is given (``everything``: all)."""
    given: list[int] = []
    share = read._share_days

    def sharing(by_day: dict[Any, list[int]], helper: bool) -> Any:
        mine, theirs = share(by_day, helper)
        if everything and helper:
            mine = {None: by_day[None]} if None in by_day else {}
            theirs = sorted((d, m) for d, m in by_day.items() if d is not None)
        given.append(len(theirs))
        return mine, theirs

    monkeypatch.setattr(read, "_share_days", sharing)
    return given


def _kept_aggregates(path: Path) -> set[frozenset[tuple[str, str]]]:
    """Each aggregate, as the (file, way) of the results it holds."""
    with Store.open(path) as opened:
        location = {unit.id: unit.location for unit in opened.units()}
        held = {kept.id: (location[kept.unit], kept.way) for kept in opened.results()}
        return {frozenset(held[m] for m in aggregate.members)
                for aggregate in opened.aggregates()}


def test_a_helper_process_merges_days_as_this_one_would(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A window that moved on merges most results one by one: a forked
    helper takes blocks of days. Same result, same days and blocks kept."""
    moved = Filters(window=Window(since=datetime(2026, 11, 3, tzinfo=UTC)))
    stores = {workers: tmp_path / f"{workers}.db" for workers in (1, 2)}
    given = _helped(monkeypatch)
    for workers, path in stores.items():
        stored(path, ALL_FILES, workers=workers)
        result, report = stored(path, ALL_FILES, moved, workers=workers)
        assert_same(result, plain(ALL_FILES, moved))
        assert report.from_store >= read.HELPER_FROM
    assert given[0] == 0 and given[-1] > 0  # one worker: no helper; two: a helper
    kept = [_kept_aggregates(path) for path in stores.values()]
    assert kept[0] == kept[1] and len(kept[0]) > 3
    for path in stores.values():
        assert_store_sound(path)


def test_a_day_kept_twice_is_rolled_up_once_with_a_helper_or_without(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files of a day that came late are merged beside that day's aggregate:
    the helper leaves blocks holding such a day to this process, so the store
    keeps the same days and blocks either way (the smaller day is spent)."""
    late = [f for f in ALL_FILES if "/11/05/" in f][-3:]
    runs = [(None, [f for f in ALL_FILES if f not in late]), ("2026-11-03", ALL_FILES),
            ("2026-11-03", ALL_FILES), ("2026-11-04", ALL_FILES)]
    monkeypatch.setattr(read, "HELPER_FROM", 1)
    given = _helped(monkeypatch, everything=True)  # the helper takes the late files' day
    kept = []
    for workers in (1, 2):
        path = tmp_path / f"{workers}.db"
        for since, files in runs:
            start = None if since is None else datetime.fromisoformat(f"{since}T00:00:00+00:00")
            window = Filters(window=Window(since=start))
            result, _ = stored(path, files, window, workers=workers)
            assert_same(result, plain(files, window))
        kept.append(_kept_aggregates(path))
        assert_store_sound(path)
    assert given[-1] > 0 and kept[0] == kept[1]
    # The block of 11-04 to 11-07 was made again with the late files, and the
    # one without them spent (its days are held, wholly, by the new one).
    large = [{f for f, _ in held} for held in kept[0] if len(held) > len(ALL_FILES) // 2]
    assert large and all(set(late) <= held for held in large)


@pytest.mark.parametrize("held", [False, True])
def test_the_helper_leaves_a_block_to_this_process_when_it_holds_a_day_of_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, held: bool) -> None:
    """The helper (run here, in this process) rolls up the days it merges,
    unless this process has another piece of one of them: that block is
    left whole to this process to make."""
    monkeypatch.setattr(read, "freeze_and_collect_rarely", lambda: None)  # not in pytest's
    path = tmp_path / "store.db"
    stored(path, ALL_FILES)
    with Store.open(path) as opened:
        spans = {unit.id: unit.span for unit in opened.units()}
        by_day: dict[Any, list[int]] = {}
        for kept in opened.results():
            by_day.setdefault(read._day(spans[kept.unit]), []).append(kept.id)
        rules = opened.rules_id(current_rules())
    block = sorted(plan.block_days(date(2026, 11, 4).toordinal() // 4, 4))
    receiver, sender = multiprocessing.Pipe(duplex=False)
    unused, _ = multiprocessing.Pipe(duplex=False)  # the helper closes its copy of the read end
    read._merge_days(path, rules, [(day, by_day[day]) for day in block], date(2026, 11, 8),
                     {block[1]} if held else set(), read._Seen({}, {}), unused, sender)
    kind, merged = receiver.recv()
    assert kind == "done"
    days = sorted(len(held_days) for held_days, _, _ in merged)
    assert days == ([1, 1, 1, 1] if held else [4])


def test_when_the_helper_cannot_start_or_dies_this_process_merges_its_days(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    moved = Filters(window=Window(since=datetime(2026, 11, 3, tzinfo=UTC)))
    expected = plain(ALL_FILES, moved)
    given = _helped(monkeypatch, everything=True)
    for failure in ("start", "death"):
        with monkeypatch.context() as patched:
            if failure == "start":
                class CannotFork:
                    def __init__(self, *args: Any, **options: Any) -> None:
                        pass

                    def start(self) -> None:
                        raise OSError(12, "Cannot allocate memory")

                forking = multiprocessing.get_context("fork")
                patched.setattr(read, "multiprocessing", SimpleNamespace(
                    get_all_start_methods=multiprocessing.get_all_start_methods,
                    get_context=lambda method: SimpleNamespace(Pipe=forking.Pipe,
                                                               Process=CannotFork)))
            else:
                patched.setattr(read, "_merge_days", lambda *args: os._exit(1))
            path = tmp_path / f"{failure}.db"
            stored(path, ALL_FILES, workers=2)
            result, _ = stored(path, ALL_FILES, moved, workers=2)
        assert_same(result, expected)
        assert_store_sound(path)
    assert given[-1] > 0 and not multiprocessing.active_children()


@pytest.mark.parametrize("damage", ["bytes", "replaced"])
def test_a_helper_process_reports_what_went_wrong(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  damage: str) -> None:
    path = tmp_path / "store.db"
    stored(path, ALL_FILES, workers=2)
    with sqlite3.connect(path) as connection:
        connection.execute("DELETE FROM aggregates")
        if damage == "bytes":
            connection.execute("UPDATE results SET data = x'00010203' WHERE id = "
                               "(SELECT max(id) FROM results)")
    if damage == "replaced":  # the helper, forked, finds a result gone (and no replacement)
        with Store.open(path, create=False) as opened:
            dated = {unit.id for unit in opened.units() if unit.span is not None}
            victim = max(r.id for r in opened.results() if r.unit in dated)  # a day's
        kept_data = db.Store.result_data
        monkeypatch.setattr(db.Store, "result_data", lambda self, ids: [
            (number, data) for number, data in kept_data(self, ids) if number != victim])
    given = _helped(monkeypatch, everything=True)
    message = "damaged store .*store rebuild" if damage == "bytes" else "run again"
    with pytest.raises(InputError, match=message):
        stored(path, ALL_FILES, workers=2)
    assert given and given[-1] > 0 and not multiprocessing.active_children()


def test_days_are_shared_with_a_helper_by_block() -> None:
    first = date.fromordinal(date(2026, 11, 4).toordinal() // 16 * 16)
    by_day: dict[date | None, list[int]] = {
        date.fromordinal(first.toordinal() + n): list(range(n * 10, n * 10 + 10))
        for n in range(40)}
    by_day[None] = [999]
    mine, theirs = read._share_days(by_day, helper=True)
    assert mine[None] == [999]  # results with no day: this process's
    blocks = [{day.toordinal() // 16 for day in days if day is not None}
              for days in (mine, [day for day, _ in theirs])]
    assert blocks[0] and blocks[1] and not blocks[0] & blocks[1]  # 40 days: by blocks of 16
    week = {day: by_day[day] for day in sorted(d for d in by_day if d is not None)[:7]}
    mine, theirs = read._share_days(week, helper=True)  # in one block of 16: by blocks of 4
    fours = [{day.toordinal() // 4 for day in days}
             for days in (mine, [day for day, _ in theirs])]
    assert fours[0] and fours[1] and not fours[0] & fours[1]
    mine, theirs = read._share_days(by_day, helper=True)
    assert sorted([*(d for d in mine if d is not None), *(day for day, _ in theirs)]) == sorted(
        day for day in by_day if day is not None)
    assert all(members == by_day[day] for day, members in [*mine.items(), *theirs])
    assert read._share_days(by_day, helper=False) == (by_day, [])
    few = {day: members for day, members in list(by_day.items())[:6]}
    assert read._share_days(few, helper=True)[1] == []  # too few results to fork for


class _CountingFacts:
    """Stands in for the codec's facts decoder, counting what it decodes."""

    def __init__(self, decoder: Any) -> None:
        self.decoder, self.calls = decoder, 0

    def decode(self, raw: Any) -> Any:
        self.calls += 1
        return self.decoder.decode(raw)


def test_a_run_without_request_contexts_leaves_kept_facts_undecoded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """(Calls that wait for an id another record announces read their facts
    as the result is read: the synthetic trail has none.)"""
    generate_trail.generate(6000, tmp_path / "trail", seed=3)
    files = sorted(str(p) for p in (tmp_path / "trail").rglob("*.gz"))
    path = tmp_path / "store.db"
    stored(path, files, workers=2)  # each process's files kept merged: the reruns take those
    counting = _CountingFacts(codec._FACTS)
    monkeypatch.setattr(codec, "_FACTS", counting)
    bare, _ = stored(path, files, contexts=False)  # as suggest reads
    bare.leave_out_contexts()
    full = plain(files)
    assert any(usage.context for usage in full.usages())
    assert [replace(u, context=()) for u in full.usages()] == list(bare.usages())
    assert counting.calls == 0
    with_contexts, _ = stored(path, files)
    assert with_contexts.usages() == full.usages() and counting.calls > 0


def test_kept_facts_are_bytes_for_bytes_what_was_kept(tmp_path: Path) -> None:
    rows = plain(ALL_FILES).export_rows()
    data = codec.encode(rows)
    again = codec.decode(data, tmp_path)
    assert isinstance(again.facts, codec.KeptFacts) and list(again.facts) == rows.facts
    assert codec.encode(again) == data


def test_kept_facts_that_do_not_decode_are_a_damaged_store(tmp_path: Path) -> None:
    """Facts are decoded when first read, after the store was read: bytes
    that are no facts are a damaged store then, not a traceback."""
    path = tmp_path / "store.db"
    stored(path, ALL_FILES)
    stored(path, ALL_FILES)
    with sqlite3.connect(path) as connection:
        for number, data in connection.execute("SELECT id, data FROM aggregates").fetchall():
            rows = codec.decode(data, path)
            not_tables = [["not", "a table"]] * len(rows.facts)
            bogus = codec._ENCODER.encode(rows._replace(facts=not_tables))
            connection.execute("UPDATE aggregates SET data = ? WHERE id = ?",
                               (codec._deflate.compress(bogus), number))
    with pytest.raises(InputError, match="damaged store .*store rebuild"):
        result, _ = stored(path, ALL_FILES)  # (calls awaiting an id read theirs here)
        result.usages()


# -- the file itself -----------------------------------------------------------------------


@pytest.mark.parametrize(("content", "message"), [
    (b"hello, this is not a database at all" * 200, "not an iamgen store (not an SQLite"),
    (None, "not an iamgen store (an SQLite database of something else)"),
    # Another program's database that numbers its own versions (no application
    # id): neither taken for a store of another format nor switched to WAL.
    (1, "not an iamgen store (an SQLite database of something else)"),
    (db.SCHEMA_VERSION + 6, "not an iamgen store (an SQLite database of something else)"),
])
def test_a_foreign_file_is_a_clear_error(tmp_path: Path, content: bytes | int | None,
                                         message: str) -> None:
    path = tmp_path / "other.db"
    if content is None or isinstance(content, int):
        with sqlite3.connect(path) as connection:
            connection.execute("CREATE TABLE notes (text TEXT)")
            if content is not None:
                connection.execute(f"PRAGMA user_version = {content}")
        connection.close()
    else:
        path.write_bytes(content)
    before = path.read_bytes()
    with pytest.raises(InputError, match=re.escape(message)):
        stored(path, TWO_DAYS[:2])
    assert path.read_bytes() == before  # left as it was


def test_info_check_reads_back_every_result_and_piece(tmp_path: Path) -> None:
    # Bytes that inflate but hold no result: SQLite's own check finds nothing.
    path = tmp_path / "store.db"
    stored(path, TWO_DAYS[:6])
    with Store.open(path, create=False) as opened:
        assert info(opened, check=True).check == "ok"
    garbage = codec._deflate.compress(codec._ENCODER.encode(["not", "outcomes"]))
    with sqlite3.connect(path) as connection:
        first = connection.execute("SELECT min(id) FROM results").fetchone()[0]
        connection.execute("UPDATE results SET data = ? WHERE id = ?", (garbage, first))
        connection.execute("UPDATE aggregates SET data = ?", (garbage,))
        pieces = connection.execute("SELECT count(*) FROM aggregates").fetchone()[0]
    connection.close()
    assert pieces >= 1
    with Store.open(path, create=False) as opened:
        said = info(opened, check=True).check
    assert said == (f"ok; cannot be read: 1 of 6 results, {pieces} of {pieces} merged pieces "
                    "(`iamgen store rebuild` reads their files again)")
    rebuild(path, lambda: None)
    with Store.open(path, create=False) as opened:
        assert info(opened, check=True).check == "ok"


def test_an_empty_file_becomes_a_store_only_for_a_run(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="not a store yet"):
        Store.open(empty, create=False)  # store info, prune, vacuum, rebuild
    assert empty.read_bytes() == b"" and sorted(tmp_path.iterdir()) == [empty]
    result, _ = stored(empty, TWO_DAYS[:3])  # a run given it makes it one
    assert_same(result, plain(TWO_DAYS[:3]))
    with Store.open(empty, create=False) as store:
        assert len(store.units()) == 3


@pytest.mark.parametrize(("read_only", "message"), [
    ("store.db", "(store.db is read-only)"),
    ("store.db-shm", "(store.db-shm is read-only)"),  # left by a run on a read-only store
    ("", "(its folder is read-only;"),
])
def test_a_store_that_cannot_be_written_is_a_clear_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, read_only: str, message: str) -> None:
    # Permissions as the user's: the tests may run as root, whom chmod does not stop.
    path = tmp_path / "store.db"
    stored(path, TWO_DAYS[:2])
    (tmp_path / "store.db-shm").write_bytes(b"")
    locked = tmp_path / read_only if read_only else tmp_path
    real = os.access
    monkeypatch.setattr(db.os, "access", lambda name, mode: Path(name) != locked
                        and real(name, mode))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(InputError, match=re.escape(f"the store cannot be written {message}")):
        stored(path, TWO_DAYS[:3])
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_directory_a_missing_folder_and_a_newer_format(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="a directory"):
        stored(tmp_path, TWO_DAYS[:1])
    with pytest.raises(InputError, match="no such directory"):
        stored(tmp_path / "nowhere" / "store.db", TWO_DAYS[:1])
    path = tmp_path / "store.db"
    stored(path, TWO_DAYS[:1])
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {db.SCHEMA_VERSION + 1}")
    with pytest.raises(InputError, match="written by a newer iamgen"):
        stored(path, TWO_DAYS[:1])


def test_a_damaged_result_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    stored(path, TWO_DAYS[:3])
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE results SET data = x'00010203'")
        connection.execute("DELETE FROM aggregates")
    with pytest.raises(InputError, match="damaged store .*store rebuild"):
        stored(path, TWO_DAYS[:3])


@pytest.mark.parametrize("value", ["'hello'", "42"])
@pytest.mark.parametrize("table", ["results", "aggregates"])
def test_kept_bytes_stored_as_text_or_a_number_are_a_damaged_store(
        tmp_path: Path, table: str, value: str) -> None:
    """SQLite keeps any type in any column: a result or a merged piece whose
    bytes were written as text or a number is a damaged store (and `store
    info --check` counts it), not a traceback."""
    path = tmp_path / "store.db"
    stored(path, TWO_DAYS[:3])
    with sqlite3.connect(path) as connection:
        if table == "results":
            connection.execute("DELETE FROM aggregates")
        connection.execute(f"UPDATE {table} SET data = {value}")
    connection.close()
    with pytest.raises(InputError, match="damaged store .*store rebuild"):
        stored(path, TWO_DAYS[:3])
    with Store.open(path, create=False) as opened:
        assert "cannot be read: " in info(opened, check=True).check


def test_a_damaged_member_list_is_dropped_as_dead(tmp_path: Path) -> None:
    """A merged piece whose list of results cannot be read is one no run can
    take: runs leave it out (its results are kept one by one) and drop it,
    `store info --check` counts it, `store vacuum` drops it."""
    path = tmp_path / "store.db"
    stored(path, TWO_DAYS[:3])
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT count(*) FROM aggregates").fetchone()[0] == 1
        connection.execute("UPDATE aggregates SET members = x'c1c1c1c1c1c1c1'")
    connection.close()
    with Store.open(path, create=False) as opened:
        assert "1 of 1 merged pieces" in info(opened, check=True).check
        assert vacuum(opened).aggregates == 1
    with sqlite3.connect(path) as connection:
        connection.execute("INSERT INTO aggregates (rules, members, size, data) SELECT rules, "
                           "x'c1c1', 2, x'00' FROM results LIMIT 1")
    connection.close()
    result, report = stored(path, TWO_DAYS[:3])
    assert_same(result, plain(TWO_DAYS[:3]))
    assert report.from_store == 3
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT count(*) FROM aggregates WHERE members = x'c1c1'"
                                  ).fetchone()[0] == 0
    connection.close()


def test_store_info_on_a_result_of_rules_the_store_lacks_is_a_damaged_store(
        tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    stored(path, TWO_DAYS[:2])
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA foreign_keys = OFF")
        connection.execute("UPDATE results SET rules = 999")
    connection.close()
    with Store.open(path, create=False) as opened, \
            pytest.raises(InputError, match="damaged store .*names rules 999"):
        info(opened)


def test_a_device_or_a_directory_path_is_not_a_store(tmp_path: Path) -> None:
    """Nothing is written beside a path that is no regular file (SQLite
    would leave its journal next to /dev/null), nor made of one that names a
    folder."""
    with pytest.raises(InputError, match="not a regular file"):
        stored(Path(os.devnull), TWO_DAYS[:1])
    assert not Path(os.devnull + "-journal").exists()
    with pytest.raises(InputError, match="a directory's path"):
        Store.open(str(tmp_path / "newdir") + "/")
    with pytest.raises(InputError, match="a directory's path"):  # as the command line gives it
        read.read_with_store(str(tmp_path / "newdir") + "/", LocalSource(tuple(TWO_DAYS[:1])),
                             Filters())
    assert list(tmp_path.iterdir()) == []


def test_a_store_that_could_not_be_made_leaves_no_file(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk fails the making of a store: the empty file SQLite made
    is removed (a next `store info` would take it for a store not yet made)."""
    path = tmp_path / "store.db"

    def full(self: Store, busy_seconds: float, create: bool) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Store, "_check_or_create", full)
    with pytest.raises(InputError, match="disk is full"):
        stored(path, TWO_DAYS[:1])
    assert list(tmp_path.iterdir()) == []
    path.write_bytes(b"")  # one the user made: left as it was
    with pytest.raises(InputError, match="disk is full"):
        stored(path, TWO_DAYS[:1])
    assert path.exists()


def test_rows_that_decode_but_name_no_principal_kind_are_a_damaged_store(
        tmp_path: Path) -> None:
    """Bytes that inflate and decode, yet hold a value no result can (a
    principal kind iamgen does not know), are damage, not a traceback."""
    path = tmp_path / "store.db"
    stored(path, TWO_DAYS[:3])
    stored(path, TWO_DAYS[:3])
    with sqlite3.connect(path) as connection:
        aggregates = connection.execute("SELECT id, data FROM aggregates").fetchall()
        assert aggregates
        for number, data in aggregates:
            rows = codec.decode(data)
            bogus = rows._replace(principals=[(arn, "bogus") for arn, _ in rows.principals])
            connection.execute("UPDATE aggregates SET data = ? WHERE id = ?",
                               (codec.encode(bogus), number))
    with pytest.raises(InputError, match="damaged store .*store rebuild"):
        stored(path, TWO_DAYS[:3])


@pytest.mark.parametrize("kept", ["aggregates", "results"])
def test_a_bug_while_merging_is_not_taken_for_a_damaged_store(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kept: str) -> None:
    """Only bytes that do not decode are a damaged store; an error the merge
    itself raises is a bug, and surfaces as one."""
    path = tmp_path / "store.db"
    stored(path, TWO_DAYS[:3])
    if kept == "results":
        with sqlite3.connect(path) as connection:
            connection.execute("DELETE FROM aggregates")

    def merge_fails(*args: Any, **kwargs: Any) -> None:
        raise ValueError("a bug")

    monkeypatch.setattr(ScanResult, "merge_rows", merge_fails)
    with pytest.raises(ValueError, match="a bug"):
        stored(path, TWO_DAYS[:3])


def test_pruning_drops_an_aggregate_whose_list_is_damaged(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    stored(path, TWO_DAYS)
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT count(*) FROM aggregates").fetchone()[0] > 0
        connection.execute("UPDATE aggregates SET members = x'c1'")
    with Store.open(path) as opened:
        pruned, _ = prune(opened, datetime(2026, 11, 5, tzinfo=UTC))
        assert pruned > 0
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT count(*) FROM aggregates").fetchone()[0] == 0
    result, report = stored(path, TWO_DAYS)
    assert_same(result, plain(TWO_DAYS))
    assert dict(report.read) == {"new": pruned}


def test_a_damaged_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    stored(path, TWO_DAYS)
    with Store.open(path) as opened:
        opened.vacuum()  # everything in the main file
    data = bytearray(path.read_bytes())
    for offset in range(4096 * 2, len(data), 4096):  # every page but the first two
        data[offset:offset + 64] = os.urandom(64)
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"store\.db: "):
        stored(path, TWO_DAYS)


def test_a_busy_store_fails_with_a_clear_message(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "store.db"
    stored(path, TWO_DAYS[:2])
    monkeypatch.setattr(db, "BUSY_SECONDS", 0.2)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another run, writing
    try:
        with pytest.raises(InputError, match="the store is busy: another iamgen run"):
            stored(path, TWO_DAYS[:4])
        result, _ = stored(path, TWO_DAYS[:2])  # reading what it holds does not wait
        assert_same(result, plain(TWO_DAYS[:2]))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    result, _ = stored(path, TWO_DAYS[:4])
    assert_same(result, plain(TWO_DAYS[:4]))


def test_finished_days_of_lookup_events_are_kept(tmp_path: Path) -> None:
    from iamgen.sources.lookup import LookupSource

    now = datetime(2026, 11, 3, 12, tzinfo=UTC)
    filters = Filters(window=Window(since=datetime(2026, 11, 1, tzinfo=UTC)))
    store = tmp_path / "store.db"
    for number in range(2):
        client = FakeLookups()
        source = LookupSource(lambda region: client, now=now, sleep=lambda s: None)
        # Kept with the request context, even by a run that needs none: a
        # day cannot be asked for again once LookupEvents has forgotten it.
        result, report = read.read_with_store(store, source, filters, contexts=number == 1)
        assert set(whole_keys(store)) == {""}
        plain_client = FakeLookups()
        expected = scan(LookupSource(lambda region: plain_client, now=now,
                                     sleep=lambda s: None), filters)
        if number == 0:
            result.leave_out_contexts()
            assert_same_without_contexts(result, expected)
        else:
            assert_same(result, expected)
        if number == 0:
            assert dict(report.read) == {"new": 2, "not kept": 1}
        else:  # the two whole days come from the store; today is asked again
            assert report.from_store == 2 and dict(report.read) == {"not kept": 1}
            assert client.days_asked() == [3]
