"""Memo keys that keep only what a resolution read (iamgen.scanning.memo), and the
notes the resolver leaves on the request and response (scanning.reads.TrackedObject)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from msgspec import UNSET

from iamgen.scanning.fast import FastScanner
from iamgen.scanning.memo import SHAPE_TRIAL
from iamgen.scanning.memo import Shape
from iamgen.mapping.resolve import resolve, resolve_call
from iamgen.mapping.context import RecordContext
from iamgen.mapping.call import Call, caller_facts
from iamgen.mapping.reads import ALL, ARN_VALUES, ROLE_WALK, any_case
from iamgen.scanning.reads import NOTE_TAKER, TrackedObject
from iamgen.scanning.tally import ScanResult
from iamgen.model import MANY_VALUES, Filters
from iamgen.sources.decode import BadInput, iter_records
from tests.records import ACCOUNT, record, role_identity
from tests.scanning import assert_same, fast_scan, one_file, plain_scan

ME = role_identity("AppRole")
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TABLE_ARN = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/jobs"


def fold(records: list[Any]) -> tuple[ScanResult, FastScanner]:
    return fast_scan(one_file(records))


def plain(records: list[Any]) -> ScanResult:
    return plain_scan(one_file(records))


def test_members_the_resolution_never_read_do_not_split_the_memo() -> None:
    """KMS Decrypt names a new object in its encryption context on every call, and
    a DynamoDB GetItem a new item key; neither changes the permission."""
    decrypts = [
        record(ME, "kms.amazonaws.com", "Decrypt",
               {"encryptionContext": {"aws:s3:arn": f"arn:aws:s3:::data/part-{i}.parquet"},
                "encryptionAlgorithm": "SYMMETRIC_DEFAULT"},
               resources=[{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": KEY_ARN}])
        for i in range(30)
    ]
    reads = [
        record(ME, "dynamodb.amazonaws.com", "GetItem",
               {"tableName": "jobs", "key": {"pk": f"id#{i:05d}"}},
               resources=[{"accountId": ACCOUNT, "type": "AWS::DynamoDB::Table",
                           "ARN": TABLE_ARN}])
        for i in range(30)
    ]
    fast, scanner = fold(decrypts + reads)
    assert scanner.memo_misses == 2
    assert_same(fast, plain(decrypts + reads))
    assert {u.permission.resource for u in fast.usages()} == {KEY_ARN, TABLE_ARN}


def test_a_member_first_read_late_grows_the_key() -> None:
    """GetItem names its table in resources[] (the request is not read); without
    resources[] the table name is read from the request: from then on the key
    keeps it, and different tables never share a resolution."""
    def get_item(table: str, item: int, listed: bool) -> dict[str, Any]:
        resources = [{"type": "AWS::DynamoDB::Table",
                      "ARN": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{table}"}]
        return record(ME, "dynamodb.amazonaws.com", "GetItem",
                      {"tableName": table, "key": {"pk": f"id#{item}"}},
                      resources=resources if listed else None)

    records = [get_item("jobs", 1, True), get_item("jobs", 2, True), get_item("runs", 3, False),
               get_item("users", 4, False), get_item("runs", 5, False), get_item("users", 6, False)]
    fast, scanner = fold(records)
    assert scanner.memo_misses == 3
    assert_same(fast, plain(records))
    assert {u.permission.resource.rsplit("/", 1)[1] for u in fast.usages()} == \
        {"jobs", "runs", "users"}


def test_calls_that_never_share_a_key_skip_the_second_table() -> None:
    """Each GetObject of a new object is a new key in both tables: after a few
    hundred such calls the second table is not asked any more; results stay
    exact, and every object is still resolved once."""
    records = [
        record(ME, "s3.amazonaws.com", "GetObject", {"bucketName": "data", "key": f"k/{i}"},
               resources=[{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::data/k/{i}"}])
        for i in range(600)
    ]
    records += records[:50]
    fast, scanner = fold(records)
    shape = scanner.shape_of("s3.amazonaws.com", "GetObject")
    assert shape.hits == 0 and SHAPE_TRIAL < shape.tries < 600
    assert scanner.memo_misses == 600
    assert_same(fast, plain(records))


def test_a_nul_byte_never_reaches_the_joined_memo_key() -> None:
    """The first memo key joins request, response and resources[] JSON with NUL
    bytes; JSON text cannot hold one (RFC 8259: control characters are escaped),
    and the decoder refuses a file that does: it is reported, not joined."""
    body = json.dumps({"Records": [record(ME, "s3.amazonaws.com", "GetObject",
                                          {"bucketName": "data", "key": "a"})]}).encode()
    damaged = body.replace(b'"key": "a"', b'"key": "a\x00b"')
    assert b"\x00" in damaged
    scanner = FastScanner(Filters())
    scanner.add_file("f.json", damaged)
    result = scanner.finish()
    assert result.skipped["invalid_json"] == 1 and scanner.memo_misses == 0


def test_a_wrapped_request_is_keyed_whole() -> None:
    """Newer EC2 records wrap the request in one member ({"XRequest": {...}}),
    which the resolver opens: such a request is keyed on all of its JSON."""
    records = [
        record(ME, "ec2.amazonaws.com", "DeleteFlowLogs",
               {"DeleteFlowLogsRequest": {"FlowLogId": {"content": f"fl-{i}", "tag": 1}}})
        for i in range(3)
    ]
    fast, scanner = fold(records)
    assert scanner.memo_misses == 3
    assert_same(fast, plain(records))


# -- Observed: what the resolver's reads leave behind ------------------------------


def test_observed_notes_reads_and_whole_object_uses() -> None:
    data = TrackedObject({"a": 1, "b": [2], "roleArn": "arn:aws:iam::1:role/r"})
    assert data.get("a") == 1 and data["b"] == [2] and "zz" not in data
    assert data.seen == {"a", "b", "zz"}
    assert len(data) == 3 and data.seen == {"a", "b", "zz"}  # the key always holds the length
    assert dict(data.whole(ARN_VALUES)) == {"a": 1, "b": [2], "roleArn": "arn:aws:iam::1:role/r"}
    assert ARN_VALUES in data.seen and ALL not in data.seen
    for use in (list, lambda d: d.items(), lambda d: d.copy(), repr, lambda d: d == {}):
        fresh = TrackedObject({"a": 1})
        use(fresh)
        assert ALL in fresh.seen
    with pytest.raises(TypeError):
        data["c"] = 3
    with pytest.raises(TypeError):
        data.update({"c": 3})


def test_the_resolver_names_its_whole_object_uses() -> None:
    params = TrackedObject({"RoleArn": "arn:aws:iam::111122223333:role/r", "x": "arn:aws:s3:::b"})
    ctx = RecordContext("aws", "us-east-1", ACCOUNT, params, TrackedObject({}), (), NOTE_TAKER)
    assert ctx.request_arns == ("arn:aws:iam::111122223333:role/r", "arn:aws:s3:::b")
    assert ctx.param_any_case("roleARN") == "arn:aws:iam::111122223333:role/r"
    assert params.seen == {ARN_VALUES, any_case("roleARN")}


# -- Shape: keys, coverage, growth -------------------------------------------------


def raw(data: Any) -> bytes:
    return json.dumps(data).encode()


def test_shape_keys_keep_what_may_matter() -> None:
    side = Shape().request.grown({"keyId", ARN_VALUES, ROLE_WALK, any_case("Name")})
    shape = Shape(side)
    request = {"keyId": "k", "junk": "x", "other": "arn:aws:s3:::b", "list": [1],
               "NAME": "n", "nested": {"deep": {"executionRoleArn": "r"}}, "flat": {"a": 1},
               "escaped": "\\u0061rn:aws:s3:::b"}
    _, key, _ = shape.key(raw(request), UNSET)
    assert key[0] == len(request)
    assert [name for name, _ in key[1]] == ["keyId", "other", "list", "NAME", "nested", "escaped"]
    _, same, _ = shape.key(raw({**request, "junk": "y", "flat": {"a": 2}}), UNSET)
    assert same == key
    for whole in ("null", "[1, 2]", '"text"', '{"only": 1}'):
        assert shape.key(whole.encode(), UNSET)[1] == whole.encode()
    assert shape.key(UNSET, UNSET)[1:] == (UNSET, UNSET)


def test_shape_covers_only_what_it_keeps_and_grows_to_cover_more() -> None:
    shape = Shape()
    key = shape.key(raw({"a": 1, "b": 2}), raw({"c": 1, "d": 2}))
    assert shape.covers(key, (), ())
    assert not shape.covers(key, {"a"}, ())
    assert not shape.covers(key, (), {ARN_VALUES})
    grown = shape.grown({"a", any_case("B")}, {ALL})
    assert grown.serial != shape.serial
    key = grown.key(raw({"a": 1, "b": 2}), raw({"c": 1, "d": 2}))
    assert grown.covers(key, {"a", any_case("b")}, {ALL, "zz"})
    assert not grown.covers(key, {"z"}, ())
    assert key[2] == raw({"c": 1, "d": 2})  # the response is now keyed whole
    whole = grown.key(raw({"only": 1}), UNSET)
    assert grown.covers(whole, {ALL}, {ALL})  # whole JSON covers any use


# -- the property: equal keys under a covering shape mean equal resolutions -------

PLANS = [
    ("s3.amazonaws.com", "GetObject"), ("s3.amazonaws.com", "CopyObject"),
    ("s3.amazonaws.com", "DeleteObjects"), ("kms.amazonaws.com", "Decrypt"),
    ("kms.amazonaws.com", "ReEncrypt"), ("dynamodb.amazonaws.com", "PutItem"),
    ("dynamodb.amazonaws.com", "TransactWriteItems"), ("sagemaker.amazonaws.com", "CreateTrainingJob"),
    ("lambda.amazonaws.com", "CreateFunction20150331"), ("iam.amazonaws.com", "PassRole"),
    ("ec2.amazonaws.com", "RunInstances"), ("ec2.amazonaws.com", "DeleteFlowLogs"),
    ("rds.amazonaws.com", "CreateDBSnapshot"), ("secretsmanager.amazonaws.com", "BatchGetSecretValue"),
    ("bedrock.amazonaws.com", "InvokeModel"), ("glue.amazonaws.com", "GetTable"),
    ("sagemaker.amazonaws.com", "CreateModelPackage"), ("apigateway.amazonaws.com", "GetResource"),
]
NAMES = ["bucketName", "key", "versionId", "roleArn", "RoleArn", "executionRoleArn", "role",
         "tableName", "TableName", "keyId", "KeyId", "name", "Name", "encryptionContext",
         "DeleteFlowLogsRequest", "x-amz-copy-source", "modelId", "secretIdList", "filters",
         "functionName", "dBSnapshotIdentifier", "DBSnapshotIdentifier", "databaseName",
         "modelPackageGroupName", "restApiId", "resourceId", "transactItems", "delete", "config",
         "iamInstanceProfile", "layers", "destinationKeyId", "sourceKeyId"]
VALUES = st.sampled_from([
    "data", "jobs", "alias/app", "us.anthropic.claude-3-haiku-20240307-v1:0", "12",
    "arn:aws:iam::111122223333:role/service-role/Exec", "arn:aws:s3:::data/k",
    "arn:aws:kms:us-east-1:111122223333:key/k-1", "data/k?versionId=3", "arn:aws:lambda:us-east-1:111122223333:layer:l:1",
]) | st.integers(0, 3) | st.none()
JSON = st.recursive(VALUES, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.sampled_from(NAMES + ["Put", "Key", "TableName"]), inner,
                                      max_size=3), max_leaves=6)
REQUEST = st.dictionaries(st.sampled_from(NAMES), JSON, max_size=5)
CHANGE = st.tuples(st.sampled_from(NAMES), JSON | st.just(UNSET))
LISTED = st.sampled_from([None, [{"ARN": KEY_ARN}], [{"ARN": TABLE_ARN}],
                          [{"ARN": "arn:aws:s3:::data/k"}]])


def _call(source: str, name: str, params: Any, response: Any, listed: Any,
          invoked_by: str | None) -> Call:
    identity = {**ME, "invokedBy": invoked_by} if invoked_by else ME
    return Call(caller_facts(identity), "AwsApiCall", source, name, "us-east-1", ACCOUNT,
                params, response, listed)


def _changed(data: dict[str, Any], change: tuple[str, Any]) -> dict[str, Any]:
    name, value = change
    out = dict(data)
    if value is UNSET:
        out.pop(name, None)
    else:
        out[name] = value
    return out


@given(st.sampled_from(PLANS), REQUEST, REQUEST, st.lists(CHANGE, max_size=3),
       st.lists(CHANGE, max_size=2), LISTED, st.sampled_from([None, "s3.amazonaws.com"]))
def test_equal_keys_under_a_covering_shape_mean_equal_resolutions(
        plan: tuple[str, str], request: dict[str, Any], response: dict[str, Any],
        request_changes: list[tuple[str, Any]], response_changes: list[tuple[str, Any]],
        listed: Any, invoked_by: str | None) -> None:
    source, name = plan
    params, answer = TrackedObject(request), TrackedObject(response)
    first = resolve_call(_call(source, name, params, answer, listed, invoked_by), NOTE_TAKER)
    assert first == resolve(record({**ME, **({"invokedBy": invoked_by} if invoked_by else {})},
                                   source, name, request, response=response, resources=listed))
    shape = Shape()
    key = shape.key(raw(request), raw(response))
    if not shape.covers(key, params.seen, answer.seen):
        shape = shape.grown(params.seen, answer.seen)
        key = shape.key(raw(request), raw(response))
    assert shape.covers(key, params.seen, answer.seen)
    other_request, other_response = request, response
    for change in request_changes:
        other_request = _changed(other_request, change)
    for change in response_changes:
        other_response = _changed(other_response, change)
    if shape.key(raw(other_request), raw(other_response)) == key:
        again = resolve_call(_call(source, name, other_request, other_response, listed,
                                   invoked_by))
        assert again == first


ROLE = "arn:aws:iam::111122223333:role/service-role/Exec"
OTHER_ROLE = "arn:aws:iam::111122223333:role/Other"
BASES = [
    {},
    {"bucketName": "data", "key": "k", "Host": "data.s3.amazonaws.com"},
    {"keyId": "k-1", "encryptionContext": {"aws:s3:arn": "arn:aws:s3:::data/k"}},
    {"tableName": "jobs", "key": {"pk": "1"}, "item": {"a": 1}},
    {"roleArn": ROLE, "trainingJobName": "t", "resourceConfig": {"instanceCount": 1}},
    {"functionName": "f", "role": ROLE, "layers": ["arn:aws:lambda:us-east-1:111122223333:layer:l:1"]},
    {"DeleteFlowLogsRequest": {"FlowLogId": "fl-1"}},
    {"DBSnapshotIdentifier": "s", "dBInstanceIdentifier": "d"},
    {"secretIdList": ["a"], "filters": [{"key": "name"}]},
    {"modelId": "us.anthropic.claude-3-haiku-20240307-v1:0", "body": "x"},
    {"transactItems": [{"Put": {"TableName": "jobs"}}], "clientRequestToken": "t"},
    {"x-amz-copy-source": "data/k?versionId=3", "bucketName": "b", "key": "k2"},
    {"tableName": "jobs", "RoleArn": "x", "other": "y", "config": {"a": 1}, "NAME": "n"},
]
SWEEP_NAMES = ["bucketName", "key", "versionId", "roleArn", "RoleArn", "role", "config",
               "tableName", "keyId", "name", "NAME", "encryptionContext", "filters",
               "functionName", "dbSnapshotIdentifier", "DeleteFlowLogsRequest", "other",
               "modelPackageGroupName", "layers", "destinationKeyId", "x-amz-copy-source"]
SWEEP_VALUES = ["x", "arn:aws:s3:::data/k2", ["arn:aws:s3:::data/k3"], {"roleArn": OTHER_ROLE},
                {"nested": [{"executionRoleArn": OTHER_ROLE}]}, OTHER_ROLE, [OTHER_ROLE], None, 7,
                "\u0061rn", UNSET]


@pytest.mark.parametrize("plan", PLANS)
def test_a_changed_member_the_key_drops_never_changes_the_resolution(
        plan: tuple[str, str]) -> None:
    """Every base request, every single-member change: when the covering shape's
    key does not change, neither does the resolution."""
    source, name = plan
    shared = 0
    for base in BASES:
        for listed in (None, [{"ARN": KEY_ARN}], [{"ARN": TABLE_ARN}]):
            params = TrackedObject(base)
            first = resolve_call(_call(source, name, params, None, listed, None), NOTE_TAKER)
            shape = Shape().grown(params.seen, ())
            key = shape.key(raw(base), UNSET)
            assert shape.covers(key, params.seen, ())
            for member in SWEEP_NAMES:
                for value in SWEEP_VALUES:
                    other = _changed(base, (member, value))
                    if other != base and shape.key(raw(other), UNSET) == key:
                        shared += 1
                        assert resolve_call(_call(source, name, other, None, listed, None)) \
                            == first, (base, member, value)
    assert shared > 0  # the sweep does test something


def test_the_example_trail_has_calls_that_share_keys(repo_root: Path) -> None:
    """The shaped memo saves work on the bundled example too (and stays exact:
    tests/test_scan_fast.py compares both paths on it)."""
    from iamgen.sources.local import LocalSource

    source = LocalSource((str(repo_root / "examples" / "ml-account" / "trail"),))
    result, scanner = fast_scan(source)
    assert 0 < scanner.memo_misses < result.events_read


def test_a_fact_of_too_many_values_is_one_entry_on_both_paths() -> None:
    """Forty VPC endpoints and three TLS versions behind one call: the fast
    path compacts the connections it tallies (scanning.outcomes.compact) and
    gives what the plain path gives: vpce as one MANY_VALUES entry holding
    every call, tls with its three values."""
    records = [
        record(ME, "s3.amazonaws.com", "GetObject", {"bucketName": "data", "key": "k"},
               time=f"2026-11-03T10:{i // 60:02d}:{i % 60:02d}Z", eventID=f"id-{i:03d}",
               vpcEndpointId=f"vpce-{i % 40:03d}",
               tlsDetails={"tlsVersion": ("TLSv1.2", "TLSv1.3", "TLSv1.1")[i % 3]})
        for i in range(120)
    ]
    fast, _ = fold(records)
    assert_same(fast, plain(records))
    (usage,) = [u for u in fast.usages() if u.permission.action == "s3:GetObject"]
    context = {(fact, value): count for fact, value, count in usage.context}
    assert context[("vpce", MANY_VALUES)] == 120
    assert not any(fact == "vpce" and value != MANY_VALUES for fact, value in context)
    assert sorted(v for f, v in context if f == "tls") == ["TLSv1.1", "TLSv1.2", "TLSv1.3"]
    assert usage.example_event_id == "id-000"
