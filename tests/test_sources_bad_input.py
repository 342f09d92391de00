"""Bad input never ends a run: each case is one warning naming the file (and
record index), counted by reason, and the other records still count.

The cases are those of the CloudTrail reading issue: a truncated gzip, invalid
JSON, JSON that is not CloudTrail, a record missing userIdentity or eventName,
an odd eventTime. Record layout as in
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
"""

from __future__ import annotations

import gzip
import os
import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from iamgen.scanning.scan import ScanResult, scan
from iamgen.model import Filters
from iamgen.sources.decode import split_records
from iamgen.sources.local import LocalSource
from tests.records import record, role_identity, write_trail_file

ROLE_ARN = "arn:aws:iam::111122223333:role/TrainingRole"


def _good(key: str = "a.csv", **extra: Any) -> dict[str, Any]:
    return record(role_identity("TrainingRole"), "s3.amazonaws.com", "GetObject",
                  {"bucketName": "data", "key": key}, **extra)


def _scan(root: Path, workers: int = 1) -> ScanResult:
    return scan(LocalSource((str(root),)), Filters(), workers=workers)


def _objects(result: ScanResult) -> set[str]:
    return {u.permission.resource for u in result.usages() if u.principal.arn == ROLE_ARN}


@pytest.fixture
def good_file(tmp_path: Path) -> Path:
    return write_trail_file(tmp_path, [_good("ok.csv")], stamp="20261103T0900Z",
                            suffix="Good000000000000")


def _bad_path(tmp_path: Path, suffix: str = ".json.gz") -> Path:
    folder = tmp_path / "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/03"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"111122223333_CloudTrail_us-east-1_20261103T1000Z_Bad0000000000000{suffix}"


def _only_warning(result: ScanResult) -> str:
    [line] = result.sorted_warnings()
    return line


def test_truncated_gzip(tmp_path: Path, good_file: Path) -> None:
    whole = gzip.compress(json.dumps({"Records": [_good("lost.csv")]}).encode(), mtime=0)
    bad = _bad_path(tmp_path)
    bad.write_bytes(whole[: len(whole) // 2])
    result = _scan(tmp_path)
    assert _only_warning(result).startswith(f"warning: {bad}: damaged gzip data")
    assert result.skipped["unreadable_file"] == 1
    assert result.files_read == 2
    assert _objects(result) == {"arn:aws:s3:::data/ok.csv"}


@pytest.mark.parametrize("workers", [1, 2])
def test_gzip_with_a_damaged_body(tmp_path: Path, good_file: Path, workers: int) -> None:
    """A gzip header, then bytes no inflater reads (bit rot mid-file): the
    inflater's own error (python-isal's derives from Exception only) is one
    warning, never a traceback that loses the good files."""
    whole = bytearray(gzip.compress(json.dumps({"Records": [_good(f"k{n}") for n in range(50)]})
                                    .encode(), mtime=0))
    whole[12:40] = b"\xff" * 28
    bad = _bad_path(tmp_path)
    bad.write_bytes(bytes(whole))
    result = _scan(tmp_path, workers)
    assert _only_warning(result).startswith(f"warning: {bad}: damaged gzip data")
    assert result.skipped["unreadable_file"] == 1
    assert _objects(result) == {"arn:aws:s3:::data/ok.csv"}


def test_invalid_json(tmp_path: Path, good_file: Path) -> None:
    bad = _bad_path(tmp_path)
    bad.write_bytes(gzip.compress(b'{"Records": [{"eventName": "GetObject",', mtime=0))
    result = _scan(tmp_path)
    assert _only_warning(result).startswith(f"warning: {bad}: invalid JSON")
    assert result.skipped["invalid_json"] == 1
    assert _objects(result) == {"arn:aws:s3:::data/ok.csv"}


def test_json_that_is_not_cloudtrail(tmp_path: Path, good_file: Path) -> None:
    bad = _bad_path(tmp_path)
    bad.write_bytes(gzip.compress(json.dumps({"Version": "2012-10-17", "Statement": []})
                                  .encode(), mtime=0))
    result = _scan(tmp_path)
    assert _only_warning(result) == (
        f"warning: {bad}: JSON document is not CloudTrail (no Records or Events)")
    assert result.skipped["not_cloudtrail"] == 1
    assert _objects(result) == {"arn:aws:s3:::data/ok.csv"}


@pytest.mark.parametrize(("field", "reason", "text"), [
    ("userIdentity", "missing_userIdentity", "GetObject: record has no userIdentity"),
    ("eventName", "missing_eventName", "record has no eventName"),
])
def test_record_missing_a_required_field(tmp_path: Path, field: str, reason: str,
                                         text: str) -> None:
    broken = _good("broken.csv")
    del broken[field]
    path = write_trail_file(tmp_path, [_good("first.csv"), broken, _good("third.csv")])
    result = _scan(tmp_path)
    assert _only_warning(result) == f"warning: {path}: record 1: {text}"
    assert result.skipped[reason] == 1
    assert result.events_read == 3
    assert result.events_used == 2
    assert _objects(result) == {"arn:aws:s3:::data/first.csv", "arn:aws:s3:::data/third.csv"}


@pytest.mark.parametrize("stamp", ["11/03/2026 10:00", "2026-13-45T10:00:00Z", "", "yesterday"])
def test_odd_event_time(tmp_path: Path, stamp: str) -> None:
    path = write_trail_file(tmp_path, [_good("first.csv"), _good("odd.csv", time=stamp)])
    result = _scan(tmp_path)
    assert _only_warning(result) == (
        f"warning: {path}: record 1: GetObject: unreadable eventTime {stamp!r}")
    assert result.skipped["bad_eventTime"] == 1
    assert _objects(result) == {"arn:aws:s3:::data/first.csv"}


@pytest.mark.parametrize("stamp", ["2026-11-03T10:00:00.123Z", "2026-11-03T12:00:00+02:00",
                                   "2026-11-03 10:00:00"])
def test_other_iso_event_times_are_read(tmp_path: Path, stamp: str) -> None:
    write_trail_file(tmp_path, [_good("first.csv", time=stamp)])
    result = _scan(tmp_path)
    assert not result.warnings
    assert result.first_event is not None
    assert result.first_event.isoformat().startswith("2026-11-03T10:00:00")


def _with_odd_member(value: str, member: str) -> str:
    odd = json.dumps(_good("odd.csv"))
    if member == "requestParameters":
        return odd.replace('"key": "odd.csv"', f'"key": "odd.csv", "n": {value}', 1)
    return odd.replace('"eventName": "GetObject"',
                       f'"eventName": "GetObject", "additionalEventData": {{"n": {value}}}', 1)


def _three(tmp_path: Path, odd: str, shape: str) -> Path:
    records = [json.dumps(_good("first.csv")), odd, json.dumps(_good("third.csv"))]
    path = _bad_path(tmp_path, ".json" if shape == "delivery" else ".jsonl")
    path.write_text('{"Records": [' + ", ".join(records) + "]}" if shape == "delivery"
                    else "\n".join(records) + "\n")
    return path


@pytest.mark.parametrize("first", [True, False])
@pytest.mark.parametrize("value", ["1e999", "9" * 5000])
@pytest.mark.parametrize("shape", ["delivery", "lines"])
def test_a_number_out_of_msgspecs_range_reads_as_any_other_in_any_order(
        tmp_path: Path, value: str, shape: str, first: bool) -> None:
    """A number msgspec cannot hold (as the standard library and DuckDB read
    it: infinity, a float) in one record's request: the record is read like
    any other, whether a like record came before it (the memo holds its
    resolution, the odd member never decoded) or not."""
    odd = _with_odd_member(value, "requestParameters").replace("odd.csv", "a.csv")
    like = json.dumps(_good("a.csv")).replace('"key": "a.csv"', '"key": "a.csv", "n": 1', 1)
    records = [odd, like] if first else [like, odd]
    path = _bad_path(tmp_path, ".json" if shape == "delivery" else ".jsonl")
    path.write_text('{"Records": [' + ", ".join(records) + "]}" if shape == "delivery"
                    else "\n".join(records) + "\n")
    result = _scan(tmp_path)
    assert not result.warnings and result.events_used == 2
    assert _objects(result) == {"arn:aws:s3:::data/a.csv"}


@pytest.mark.parametrize("value", ["[" * 3000 + "]" * 3000])
@pytest.mark.parametrize("member", ["requestParameters", "additionalEventData"])
@pytest.mark.parametrize("shape", ["delivery", "lines"])
def test_what_no_decoder_reads_is_a_warning_never_a_failed_run(
        tmp_path: Path, value: str, member: str, shape: str) -> None:
    """Nesting deeper than the decoders go, in any member, of a record in a
    file of records or a line of JSON Lines: that record is skipped with a
    warning naming it, and the file's other records count; never an
    exception, never the whole file lost."""
    path = _three(tmp_path, _with_odd_member(value, member), shape)
    result = _scan(tmp_path)
    assert result.sorted_warnings() == [
        f"warning: {path}: record 1: invalid JSON"
        + (" line" if shape == "lines" else "")
        + " (maximum recursion depth exceeded while deserializing an object)"]
    assert result.skipped["invalid_json"] == 1 and result.events_used == 2
    assert _objects(result) == {"arn:aws:s3:::data/first.csv", "arn:aws:s3:::data/third.csv"}


@pytest.mark.parametrize("document", [
    '{"Trail": {"Records": [[[1]]]}, "Records" : [ {"a": "]\\"[,"}, [[1]], 3 ] }',
    '[ {"a": "]\\"[,"} , [[1]],3]',
    '{"Records": [0], "Records": [{"a": "]\\"[,"}, [[1]], 3]}',  # the last, as decoders take
])
def test_records_are_told_apart_without_decoding_them(document: str) -> None:
    """The top-level ``Records`` (or array) is split at its own commas: not
    at those inside strings (escaped quotes too) or nested values."""
    assert split_records(document.encode()) == [b'{"a": "]\\"[,"}', b"[[1]]", b"3"]


@pytest.mark.parametrize("document", [
    "[1, 2,]", "[1,,2]", "[1, [2]", '{"Records": 1}', '{"Other": [1]}', '"Records"',
    '{"a": ["Records", [1]]}', '[1, "2]', '{"Records": [1]} x', '[1]\n[2]',
    '{"Records": [1]}\n{"Records": [2]}', '{"Records": [1]', '{"Records": [1, [2}]]}',
    '{"Records": [1]]'])
def test_what_is_no_array_of_records_is_not_split(document: str) -> None:
    assert split_records(document.encode()) is None


def test_a_json_lines_file_whose_first_line_no_decoder_reads_keeps_its_other_lines(
        tmp_path: Path) -> None:
    deep = _with_odd_member("[" * 3000 + "]" * 3000, "requestParameters")
    path = _three(tmp_path, deep, "lines")
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[1], lines[0], lines[2]]) + "\n")  # the deep one first
    result = _scan(tmp_path)
    assert result.sorted_warnings() == [
        f"warning: {path}: record 0: invalid JSON line "
        "(maximum recursion depth exceeded while deserializing an object)"]
    assert result.skipped["invalid_json"] == 1 and result.events_used == 2


@pytest.mark.parametrize("escape", ["\\ud800", "\\uDC00x", "\\ud83d\\ud83d"])
@pytest.mark.parametrize("member", ["requestParameters", "additionalEventData"])
@pytest.mark.parametrize("shape", ["delivery", "lines"])
def test_a_lone_surrogate_skips_its_record_only_and_says_so(
        tmp_path: Path, escape: str, member: str, shape: str) -> None:
    """A ``\\u`` escape that is no character (a lone UTF-16 surrogate) is
    valid JSON no report can be written in: its record is skipped with a
    warning saying so (msgspec calls it "Input data was truncated"), and the
    file's other records count."""
    odd = _with_odd_member(json.dumps("x").replace("x", escape), member)
    path = _three(tmp_path, odd, shape)
    result = _scan(tmp_path)
    assert result.sorted_warnings() == [
        f"warning: {path}: record 1: "
        + ("record holds " if shape == "delivery" else "invalid JSON line (")
        + "a \\u escape that is no character (a lone UTF-16 surrogate)"
        + ("" if shape == "delivery" else ")")]
    assert result.skipped["invalid_json"] == 1 and result.events_used == 2
    assert _objects(result) == {"arn:aws:s3:::data/first.csv", "arn:aws:s3:::data/third.csv"}


@pytest.mark.parametrize("big_first", [True, False])
def test_a_lone_surrogate_after_a_number_out_of_range_skips_only_its_record(
        tmp_path: Path, big_first: bool) -> None:
    """A file whose first oddity msgspec meets is a number out of its range
    (read leniently) and whose next is a lone surrogate: still only the
    record that holds the surrogate is skipped, in either order."""
    big = _with_odd_member("1e999", "requestParameters").replace("odd.csv", "big.csv")
    lone = _with_odd_member(json.dumps("x").replace("x", "\\ud800x"), "requestParameters")
    records = [json.dumps(_good("first.csv")), *([big, lone] if big_first else [lone, big])]
    path = _bad_path(tmp_path, ".json")
    path.write_text('{"Records": [' + ", ".join(records) + "]}")
    result = _scan(tmp_path)
    [line] = result.sorted_warnings()
    assert line.startswith(f"warning: {path}: record {2 if big_first else 1}: record holds ")
    assert _objects(result) == {"arn:aws:s3:::data/first.csv", "arn:aws:s3:::data/big.csv"}


def test_a_lone_surrogate_on_the_first_json_line_skips_that_line_only(tmp_path: Path) -> None:
    lone = _with_odd_member(json.dumps("x").replace("x", "\\ud800"), "requestParameters")
    path = _bad_path(tmp_path, ".jsonl")
    path.write_text("\n".join([lone, json.dumps(_good("second.csv"))]) + "\n")
    result = _scan(tmp_path)
    [line] = result.sorted_warnings()
    assert line.startswith(f"warning: {path}: record 0: ")
    assert _objects(result) == {"arn:aws:s3:::data/second.csv"}


def test_a_surrogate_pair_is_a_character() -> None:
    """An emoji written as an escaped surrogate pair reads as the character."""
    from iamgen.sources.decode import json_decode

    assert json_decode(b'{"k": "\\ud83d\\ude00"}') == {"k": "\U0001F600"}


@pytest.mark.parametrize("text", [b'{"k": "\\ud800", }', b'{"k": NaN, "j": "\\ud800"}'])
def test_text_with_a_lone_surrogate_that_is_no_json_says_what_msgspec_says(
        text: bytes) -> None:
    from iamgen.sources.decode import LoneSurrogate, json_decode

    with pytest.raises(msgspec.DecodeError) as raised:
        json_decode(text)
    assert not isinstance(raised.value, LoneSurrogate)


@pytest.mark.parametrize("kind", [["AssumedRole"], {"type": "Role"}, 7])
def test_an_identity_type_that_is_no_text_is_an_unknown_identity(tmp_path: Path,
                                                                 kind: Any) -> None:
    odd = _good("odd.csv")
    odd["userIdentity"] = {**odd["userIdentity"], "type": kind}
    write_trail_file(tmp_path, [_good("first.csv"), odd])
    result = _scan(tmp_path)
    assert result.skipped["unknown_identity"] == 1
    assert _objects(result) == {"arn:aws:s3:::data/first.csv"}


def test_record_that_is_not_an_object(tmp_path: Path) -> None:
    path = write_trail_file(tmp_path, [_good("first.csv"), "GetObject", None])
    result = _scan(tmp_path)
    assert result.sorted_warnings() == [
        f"warning: {path}: record 1: record is not a JSON object",
        f"warning: {path}: record 2: record is not a JSON object",
    ]
    assert _objects(result) == {"arn:aws:s3:::data/first.csv"}


def test_every_case_at_once_with_workers(tmp_path: Path, good_file: Path) -> None:
    """All the damage in one run, on two worker processes: each warned once."""
    for index in range(6):
        write_trail_file(tmp_path, [_good(f"more-{index}.csv")], suffix=f"More{index:012d}")
    whole = gzip.compress(b'{"Records": []}', mtime=0)
    _bad_path(tmp_path).write_bytes(whole[:10])
    _bad_path(tmp_path, ".json").write_bytes(b"[1, 2")
    no_name = _good("x")
    del no_name["eventName"]
    write_trail_file(tmp_path, [no_name, _good("y", time="soon")], suffix="Odd0000000000000")
    result = _scan(tmp_path, workers=2)
    assert result.skipped == {"unreadable_file": 1, "invalid_json": 1, "missing_eventName": 1,
                              "bad_eventTime": 1}
    assert len(result.sorted_warnings()) == 4
    assert len(_objects(result)) == 7


def test_digest_and_insights_files_are_never_opened(tmp_path: Path, good_file: Path) -> None:
    digest = tmp_path / "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/03"
    digest.mkdir(parents=True)
    (digest / "111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20261103T1000Z.json.gz"
     ).write_bytes(b"not gzip")
    insight = tmp_path / "AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2026/11/03"
    insight.mkdir(parents=True)
    (insight / "111122223333_CloudTrail-Insight_us-east-1_20261103T1000Z_x.json.gz"
     ).write_bytes(b"not gzip")
    result = _scan(tmp_path)
    assert result.files_skipped == {"digest_file": 1, "insights_file": 1}
    assert not result.warnings
    assert result.files_read == 1


def test_a_folder_that_cannot_be_listed_is_counted(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # As a user meets it (chmod 000 on a day's folder); the tests may run as
    # root, whom chmod does not stop, so listing it fails here by hand.
    write_trail_file(tmp_path / "2026" / "11" / "04" / "a.json.gz", [_good("a.csv")])
    write_trail_file(tmp_path / "2026" / "11" / "05" / "b.json.gz", [_good("b.csv")])
    locked = tmp_path / "2026" / "11" / "05"
    real = os.scandir

    def scandir(path: Any = ".") -> Any:
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = _scan(tmp_path)
    assert result.files_skipped == {"unlistable_folder": 1}
    assert _objects(result) == {"arn:aws:s3:::data/a.csv"}


@pytest.mark.parametrize("shape", ["delivery", "lines", "delivery-gz"])
def test_a_byte_order_mark_before_the_json_is_read_past(tmp_path: Path, shape: str) -> None:
    """Some Windows tools start UTF-8 text with a byte order mark (JSON has
    none): the file is read as without it, not skipped as invalid JSON."""
    records = [json.dumps(_good("first.csv")), json.dumps(_good("third.csv"))]
    text = ('{"Records": [' + ", ".join(records) + "]}" if shape.startswith("delivery")
            else "\n".join(records) + "\n").encode()
    data = b"\xef\xbb\xbf" + text
    path = _bad_path(tmp_path, ".jsonl" if shape == "lines" else ".json")
    if shape.endswith("gz"):
        data, path = gzip.compress(data, mtime=0), path.with_name(path.name + ".gz")
    path.write_bytes(data)
    result = _scan(tmp_path)
    assert not result.warnings
    assert _objects(result) == {"arn:aws:s3:::data/first.csv", "arn:aws:s3:::data/third.csv"}


def test_records_no_decoder_can_tell_apart_are_each_undecodable() -> None:
    """The generic records of a file the typed decoder read but nothing else
    can split (nesting as deep as the stack allows, reached from deeper in
    it): asking for any record raises what decoding raised, never an
    IndexError."""
    from iamgen.scanning.fast import _GenericRecords
    from iamgen.sources.decode import UNDECODABLE

    deep = b'{"Records": [' + b"[" * 100000 + b"]" * 100000 + b"]}"
    records = _GenericRecords(deep)
    for index in (0, 3):
        with pytest.raises(UNDECODABLE):
            records(index)


def test_a_record_the_fast_path_hands_on_after_resolving_gives_its_signal_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A call whose request the fast path's decoder refuses while resolving
    goes to the plain path, which counts it and adds its signals: once."""
    from iamgen.scanning import fast

    stop = record(role_identity("TrainingRole"), "cloudtrail.amazonaws.com", "DeleteTrail",
                  {"name": "main"})
    write_trail_file(tmp_path, [_good("first.csv"), stop])
    expected = _scan(tmp_path).signals()
    assert expected and expected[0][1].count == 1

    def refuses(self: Any, memo_key: Any, rec: Any) -> Any:
        raise msgspec.DecodeError("refused")

    monkeypatch.setattr(fast.FastScanner, "_resolve", refuses)
    result = _scan(tmp_path)
    assert result.signals() == expected
    assert result.events_read == 2


def test_folders_reached_by_links_are_read_once_and_other_files_are_counted(
        tmp_path: Path) -> None:
    """A link to a folder is followed (each real folder walked once: a link
    back up is no loop); a name of any case with a trail suffix is read; any
    other file is counted as passed over, never left out unsaid."""
    elsewhere = tmp_path / "elsewhere"
    linked = write_trail_file(elsewhere, [_good("linked.csv")], stamp="20261103T0905Z",
                              suffix="Link000000000000")
    root = tmp_path / "trail"
    write_trail_file(root, [_good("ok.csv")], stamp="20261103T0900Z", suffix="Good000000000000")
    (root / "more").symlink_to(elsewhere, target_is_directory=True)
    (root / "again").symlink_to(elsewhere, target_is_directory=True)  # the same folder twice
    (root / "loop").symlink_to(root, target_is_directory=True)  # a link to a folder above
    (root / "UPPER.JSON").write_text(json.dumps({"Records": [_good("upper.csv")]}))
    (root / "README.txt").write_text("not a trail")
    result = _scan(root)
    assert _objects(result) == {f"arn:aws:s3:::data/{k}.csv" for k in ("ok", "linked", "upper")}
    assert result.files_read == 3
    assert result.files_skipped["not_a_trail_file_name"] == 1
    assert linked.exists()


def test_a_file_reached_by_two_trail_paths_through_a_folder_link_is_read_once(
        tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    write_trail_file(first, [_good("a.csv")], stamp="20261103T0900Z", suffix="A" * 16)
    write_trail_file(second, [_good("b.csv")], stamp="20261103T0905Z", suffix="B" * 16)
    (first / "link-to-b").symlink_to(second, target_is_directory=True)
    result = scan(LocalSource((str(first), str(second))), Filters(), workers=1)
    assert result.files_read == 2
    assert {u.permission.resource: u.count for u in result.usages()} == {
        "arn:aws:s3:::data/a.csv": 1, "arn:aws:s3:::data/b.csv": 1}


def test_documents_run_together_in_one_file_are_named_as_such(tmp_path: Path) -> None:
    bad = _bad_path(tmp_path, ".json")
    bad.write_text(json.dumps({"Records": [_good("a.csv")]}) + "\n"
                   + json.dumps({"Records": [_good("b.csv")]}) + "\n")
    result = _scan(tmp_path)
    lines = result.sorted_warnings()
    assert len(lines) == 2 and all("a whole {\"Records\": [...]} document" in line
                                   for line in lines)
    assert result.skipped["missing_eventName"] == 2


def test_a_folder_that_cannot_be_listed_is_named_in_a_warning(tmp_path: Path, good_file: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    import os

    locked = tmp_path / "locked"
    locked.mkdir()
    real_scandir = os.scandir

    def scandir(path: Any = ".") -> Any:
        if str(path) == str(locked):  # as for a folder this user may not read
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = _scan(tmp_path)
    assert result.files_skipped["unlistable_folder"] == 1
    assert _only_warning(result) == (f"warning: {locked}: cannot list folder (Permission "
                                     "denied); its files are not read")
    assert _objects(result) == {"arn:aws:s3:::data/ok.csv"}
