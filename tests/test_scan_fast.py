"""The fast scan path (typed records, memo tables, tallies) gives exactly what
the plain path (generic JSON, scan_record on every record) gives."""

from __future__ import annotations

import copy
import gzip
import json
import random
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iamgen.mapping import resolve as resolve_module
from iamgen.mapping.reads import NO_TRACKING
from iamgen.scanning import fast as fast_module
from iamgen.scanning import plain as plain_module
from iamgen.scanning.fast import FastScanner
from iamgen.scanning.reads import TrackedObject
from iamgen.scanning.memo import Memo
from iamgen.scanning.plain import scan_record
from iamgen.scanning.scan import BadInput, ScanResult, scan
from iamgen.model import Filters, Resolution, Window
from iamgen.sources.decode import iter_records
from iamgen.sources.local import LocalSource
from tests.records import record, role_identity, user_identity, write_trail_file

from benchmarks import generate_trail
from tests.fakes import MemorySource
from tests.scanning import FIELDS, assert_same, fast_scan, plain_scan

def odd_records() -> list[Any]:
    """Records the fast path must hand to scan_record, or handle just the same."""
    me = role_identity("TrainingRole", path="/service-role/")
    good = record(me, "s3.amazonaws.com", "GetObject", {"bucketName": "d", "key": "k"})
    no_name = dict(good)
    del no_name["eventName"]
    no_identity = dict(good)
    del no_identity["userIdentity"]
    return [
        good,
        no_name,
        no_identity,
        dict(good, eventName=""),
        dict(good, eventName=7),
        dict(good, userIdentity="someone"),
        dict(good, eventTime="2026-11-03T10:00:00.250Z"),
        dict(good, eventTime="2026-11-03T12:00:00+02:00"),
        dict(good, eventTime="2026-02-30T10:00:00Z"),
        dict(good, eventTime=None),
        dict(good, awsRegion=None),
        dict(good, p_log_type="AWS.CloudTrail"),  # an unknown field: generic path
        dict(good, errorCode="AccessDenied", errorMessage="denied"),
        dict(good, errorCode="NoSuchKey"),
        dict(good, errorCode=""),
        dict(good, requestParameters=None, resources=[{"ARN": "arn:aws:s3:::d/k2"}]),
        dict(good, userIdentity={"type": "AWSService", "invokedBy": "s3.amazonaws.com"}),
        dict(good, userIdentity={"type": "IAMUser", "arn": "not-an-arn"}),
        dict(good, userIdentity={"type": "Root", "accountId": "111122223333",
                                 "arn": "arn:aws:iam::111122223333:root"}),
        record(user_identity("alice"), "sts.amazonaws.com", "GetCallerIdentity", None),
        record(me, "kms.amazonaws.com", "Decrypt", {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"},
               resources=[{"type": "AWS::KMS::Key",
                           "ARN": "arn:aws:kms:us-east-1:111122223333:key/k-1"}],
               userIdentity=dict(me, invokedBy="s3.amazonaws.com")),
        record(me, "nosuch.amazonaws.com", "DoThing", {}),
        "not a record",
        42,
    ]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synthetic")
    generate_trail.generate(6000, root, seed=7)
    write_trail_file(root, odd_records(), suffix="Odd0000000000000")
    # CloudTrail Lake / Athena exports: JSON Lines, plain and gzipped.
    lake = root / "lake"
    lake.mkdir()
    some = _records_of(root)[:300]
    lines = "\n".join(json.dumps(r) for r in some) + "\n\n"
    (lake / "export-1.jsonl").write_text(lines)
    (lake / "export-2.jsonl.gz").write_bytes(gzip.compress(lines.encode(), mtime=0))
    mixed = [json.dumps(r) for r in some[:20]]
    mixed[3] = json.dumps({"CloudTrailEvent": json.dumps(some[3])})
    mixed[5] = "{not json"
    (lake / "export-3.jsonl").write_text("\n".join(mixed))
    (lake / "export-4.jsonl").write_text(json.dumps(some[0]))  # one line: one document
    return root


@pytest.mark.parametrize("filters", [
    Filters(),
    Filters(window=Window(since=generate_trail.START.replace(day=3),
                          until=generate_trail.START.replace(day=5))),
    Filters(accounts=frozenset({"444455556666"}), regions=frozenset({"us-west-2"})),
])
def test_fast_path_equals_plain_path(synthetic: Path, filters: Filters) -> None:
    source = LocalSource((str(synthetic),))
    fast, scanner = fast_scan(source, filters)
    assert_same(fast, plain_scan(source, filters))
    assert scanner.memo_misses < fast.events_read  # the memo does hit


def test_repeated_calls_from_many_sessions_resolve_once(tmp_path: Path) -> None:
    records = []
    for index in range(200):
        me = role_identity("TrainingRole")
        me["arn"] = f"arn:aws:sts::111122223333:assumed-role/TrainingRole/session-{index % 20}"
        me["accessKeyId"] = f"ASIA{index % 20:016d}"
        records.append(record(me, "s3.amazonaws.com", "GetObject",
                              {"bucketName": "d", "key": f"k{index % 2}"},
                              time=f"2026-11-03T10:{index // 60:02d}:{index % 60:02d}Z",
                              eventID=f"id-{index}"))
    write_trail_file(tmp_path, records)
    source = LocalSource((str(tmp_path),))
    fast, scanner = fast_scan(source, Filters())
    assert scanner.memo_misses == 2  # two objects; the 20 sessions do not matter
    assert_same(fast, plain_scan(source, Filters()))
    [usage, _] = fast.usages()
    assert usage.count == 100


def test_workers_and_file_order_give_the_same_result(synthetic: Path) -> None:
    source = LocalSource((str(synthetic),))
    one = scan(source, Filters(), workers=1)
    two = scan(source, Filters(), workers=2)
    assert_same(two, one)
    assert_same(scan(source, Filters(), workers=3), one)  # machines with more cores

    class Shuffled(LocalSource):
        def files(self, filters: Filters) -> Any:
            found = super().files(filters)
            random.Random(3).shuffle(found)
            return found

    assert_same(scan(Shuffled((str(synthetic),)), Filters(), workers=2), one)


def test_a_scan_without_request_contexts_leaves_out_only_them(synthetic: Path) -> None:
    """contexts=False drops each call's facts and connection, and nothing
    else: totals, signals, warnings and every other field of every usage stay."""
    source = LocalSource((str(synthetic),))
    whole = scan(source, Filters(), workers=2)
    bare = scan(source, Filters(), workers=2, contexts=False)
    for name in FIELDS:
        assert getattr(bare, name) == getattr(whole, name), name
    assert bare.signals() == whole.signals()
    assert sorted(bare.warnings) == sorted(whole.warnings)
    assert ([replace(usage, context=()) for usage in bare.usages()]
            == [replace(usage, context=()) for usage in whole.usages()])
    with_context = sum(1 for usage in whole.usages() if usage.context)
    # Only calls the plain path took (the odd records) may keep theirs.
    assert sum(1 for usage in bare.usages() if usage.context) < with_context / 10


def _resolver_that_reads_more(monkeypatch: pytest.MonkeyPatch,
                              wrong: Callable[[Any], bool]) -> None:
    """Make the resolver answer "unresolved" for the calls where ``wrong(call)``
    holds, after resolving them as usual (so it reads whatever ``wrong`` reads)."""
    real = resolve_module.resolve_call

    def resolver(call: Any, tracker: Any = NO_TRACKING) -> Any:
        found = real(call, tracker)
        return Resolution(unresolved=True, rules=("test",)) if wrong(call) else found

    # Both scan paths, each through the name it calls the resolver by.
    monkeypatch.setattr(fast_module, "resolve_call", resolver)
    monkeypatch.setattr(plain_module, "resolve_call", resolver)


def test_a_resolver_reading_more_of_the_request_stays_exact(
        synthetic: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the resolver starts reading request members no memo key kept (a KMS
    encryption context), results stay exact: the keys learn to keep them."""
    _resolver_that_reads_more(monkeypatch, lambda call: isinstance(call.params, dict) and (
        "7.parquet" in str(call.params.get("encryptionContext"))))
    source = LocalSource((str(synthetic),))
    fast, _ = fast_scan(source, Filters())
    assert fast.unresolved[("kms.amazonaws.com", "Decrypt")] > 0
    assert fast.principal_events and fast.events_used > 0
    assert_same(fast, plain_scan(source, Filters()))


@pytest.mark.parametrize("look", [repr, lambda data: list(data), lambda data: data.copy(),
                                  lambda data: dict(data), len])
def test_a_resolver_looking_at_the_whole_request_stays_exact(
        synthetic: Path, monkeypatch: pytest.MonkeyPatch, look: Any) -> None:
    _resolver_that_reads_more(monkeypatch, lambda call: any(
        isinstance(data, dict) and sum(map(ord, str(look(data)))) % 3 == 0
        for data in (call.params, call.response)))
    source = LocalSource((str(synthetic),))
    fast, _ = fast_scan(source, Filters())
    assert fast.unresolved and fast.events_used > 0
    assert_same(fast, plain_scan(source, Filters()))


def test_a_resolver_reading_more_of_the_response_stays_exact(
        synthetic: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _resolver_that_reads_more(monkeypatch, lambda call: isinstance(call.response, dict) and (
        "A7" in str(call.response.get("credentials"))))
    source = LocalSource((str(synthetic),))
    fast, _ = fast_scan(source, Filters())
    assert fast.unresolved[("sts.amazonaws.com", "AssumeRole")] > 0
    assert_same(fast, plain_scan(source, Filters()))


def _records_of(root: Path) -> list[dict[str, Any]]:
    out = []
    for path in sorted(root.rglob("*.json.gz")):
        out.extend(r for r in json.loads(gzip.decompress(path.read_bytes()))["Records"]
                   if isinstance(r, dict))
    return out


def _with_session(rec: dict[str, Any], session: str) -> dict[str, Any]:
    changed = copy.deepcopy(rec)
    identity = changed.get("userIdentity")
    if isinstance(identity, dict) and isinstance(identity.get("arn"), str):
        head, _, _ = identity["arn"].rpartition("/")
        identity["arn"] = f"{head}/{session}" if head else identity["arn"] + session
    return changed


def test_resolution_ignores_the_identity_arn_beyond_its_partition(synthetic: Path) -> None:
    """The memo key keeps only the partition of userIdentity.arn (resources.context_of
    reads nothing else from it): changing the rest must never change a resolution."""
    for rec in _records_of(synthetic):
        assert resolve_module.resolve(_with_session(rec, "other-session")) == \
            resolve_module.resolve(rec)


def test_same_on_real_records(shared_data: Path, tmp_path: Path) -> None:
    records = []
    with (shared_data / "cloudtrail-real.jsonl").open() as handle:
        for line in handle:
            records.append(json.loads(line)["record"])
    for rec in records:
        assert resolve_module.resolve(_with_session(rec, "x")) == resolve_module.resolve(rec)
    for start in range(0, len(records), 50):
        write_trail_file(tmp_path, records[start:start + 50], suffix=f"Real{start:012d}")
    source = LocalSource((str(tmp_path),))
    fast, _ = fast_scan(source, Filters())
    assert_same(fast, plain_scan(source, Filters()))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                  max_size=3),
    max_leaves=6,
)


@given(st.lists(st.fixed_dictionaries({}, optional={
    "eventName": st.sampled_from(["GetObject", "Decrypt", ""]) | _JSON,
    "eventSource": st.sampled_from(["s3.amazonaws.com", "kms.amazonaws.com"]) | _JSON,
    "eventTime": st.sampled_from(["2026-11-03T10:00:00Z", "2026-11-03T10:00:00.5Z", "x"])
    | _JSON,
    "userIdentity": st.sampled_from([role_identity("R"), user_identity("u"),
                                     {"type": "AWSService"}]) | _JSON,
    "requestParameters": st.sampled_from([{"bucketName": "b", "key": "k"}, None]) | _JSON,
    "resources": _JSON,
    "errorCode": st.sampled_from(["AccessDenied", "Throttling", None]) | _JSON,
    "awsRegion": st.sampled_from(["us-east-1", None]) | _JSON,
    "recipientAccountId": st.sampled_from(["111122223333"]) | _JSON,
    "sessionCredentialFromConsole": _JSON,
}), max_size=8))
def test_arbitrary_records_same_both_ways(records: list[dict[str, Any]]) -> None:
    scanner = FastScanner(Filters())
    body = json.dumps({"Records": records}).encode()
    scanner.add_file("f.json", body)
    fast = scanner.finish()
    plain = ScanResult()
    plain.files_read, plain.bytes_read = 1, len(body)
    for item in iter_records(body):
        if isinstance(item, BadInput):
            plain.warn("f.json", item.index, item.reason, item.detail)
        else:
            scan_record(plain, "f.json", item[0], item[1], Filters())
    assert_same(fast, plain)


def test_a_partial_tracked_object_answers_exactly_and_notes_reads() -> None:
    full = {"a": 1, "b": {"c": 2}, "z": None}
    log = TrackedObject({"a": 1}, counted=False, complete=lambda: dict(full),
                        absent=frozenset({"q"}))
    assert log.get("a") == 1 and log.seen == {"a"}
    assert log.get("q") is None and "z" not in log.seen  # known absent: no decode
    assert log["b"] == {"c": 2}  # not held: the whole object is decoded first
    assert not log.opaque and len(log) == 3 and log.opaque  # uncounted: len is a whole use
    assert list(log) == ["a", "b", "z"]
    assert dict(log) == full


def test_memo_keeps_recent_entries_within_its_limit() -> None:
    memo = Memo(4)
    for key in range(10):
        memo.put(key, key)
        assert len(memo) <= 4
    assert memo.get(9) == 9
    assert memo.get(0) is None  # long unused: dropped
    memo.put("hot", 1)
    for key in range(20):
        memo.put(key, key)
        assert memo.get("hot") == 1  # used often, it survives every drop
    assert len(memo) <= 4


def test_result_pickles_compactly_and_whole(synthetic: Path) -> None:
    import pickle

    result = scan(LocalSource((str(synthetic),)), Filters(), workers=1)
    copy_ = pickle.loads(pickle.dumps(result))
    assert_same(copy_, result)
    assert copy_.sorted_warnings() == result.sorted_warnings()


class _Exploding(LocalSource):
    """A source whose reads fail with something other than OSError (a bug)."""

    def read(self, trail_file: Any) -> bytes:
        raise RuntimeError("boom in a worker")


def test_a_failing_worker_fails_the_scan(synthetic: Path) -> None:
    with pytest.raises(RuntimeError, match="boom in a worker"):
        scan(_Exploding((str(synthetic),)), Filters(), workers=2)


def test_workers_also_run_under_spawn(synthetic: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where processes are spawned, not forked (macOS, Windows), the source and the
    batches are pickled to the workers."""
    import multiprocessing

    from iamgen.scanning import scan as scan_module

    spawn = multiprocessing.get_context("spawn")
    monkeypatch.setattr(scan_module.multiprocessing, "get_context", lambda: spawn)
    source = LocalSource((str(synthetic),))
    assert_same(scan(source, Filters(), workers=2), scan(source, Filters(), workers=1))


def test_same_on_the_example_account(repo_root: Path) -> None:
    source = LocalSource((str(repo_root / "examples" / "ml-account" / "trail"),))
    fast, _ = fast_scan(source, Filters())
    assert fast.events_read > 1000 and fast.warnings  # it holds a damaged file
    assert_same(fast, plain_scan(source, Filters()))


@given(st.permutations(range(6)), st.lists(st.sampled_from(
    [None, "vpce-0a", "vpce-0b", "vpce-0c"]), min_size=6, max_size=6))
def test_first_event_and_connections_do_not_depend_on_record_order(
        order: list[int], endpoints: list[str | None]) -> None:
    """The earliest call's eventID (a tie at one second goes to the smallest
    id) and the calls per VPC endpoint come out as the plain path gives them,
    whatever order the records stand in."""
    times = ["2026-11-03T10:00:05Z", "2026-11-03T10:00:01Z", "2026-11-03T10:00:01Z",
             "2026-11-03T10:00:09Z", "2026-11-03T10:00:01Z", "2026-11-03T10:00:09Z"]
    me = role_identity("ScoringRole")
    records = []
    for index in order:
        extra = {} if endpoints[index] is None else {"vpcEndpointId": endpoints[index]}
        records.append(record(me, "s3.amazonaws.com", "GetObject",
                              {"bucketName": "d", "key": "k"}, time=times[index],
                              eventID=f"id-{5 - index}", **extra))
    source = MemorySource.of_records(records)
    fast, _ = fast_scan(source, Filters())
    assert_same(fast, plain_scan(source, Filters()))
    [usage] = fast.usages()
    assert usage.example_event_id == "id-1"  # 10:00:01, ids id-4, id-3 and id-1
    vpce = {value: count for fact, value, count in usage.context if fact == "vpce"}
    assert vpce == {("" if e is None else e): endpoints.count(e) for e in set(endpoints)}
