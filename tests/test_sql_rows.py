"""Rows of the aggregation query, as any engine returns them, added to a scan result."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from iamgen.mapping.identity import principal_of
from iamgen.scanning.tally import ScanResult
from iamgen.sql.query import SHAPE_FIELDS
from iamgen.sql.rows import RowReader, ShapeRow, identity_of, record_of
from tests.records import role_identity

ROLE = "arn:aws:iam::111122223333:role/service-role/Trainer"


def shape(**values: object) -> str:
    base: dict[str, object] = {name: None for name in SHAPE_FIELDS}
    base.update({"identity_type": "AssumedRole", "issuer_type": "Role", "issuer_arn": ROLE,
                 "identity_arn": "arn:aws:sts::111122223333:assumed-role/Trainer/",
                 "identity_account": "111122223333", "event_type": "AwsApiCall",
                 "event_source": "s3.amazonaws.com", "event_name": "GetObject",
                 "region": "us-east-1", "recipient": "111122223333",
                 "params": json.dumps({"bucketName": "data", "key": "a.csv"})})
    base.update(values)
    return json.dumps([base[name] for name in SHAPE_FIELDS])


def test_a_shape_stands_for_the_record_identity_reads() -> None:
    values = json.loads(shape(mfa="true"))
    identity = identity_of(values)
    assert principal_of({"userIdentity": identity}) == \
        principal_of({"userIdentity": role_identity("Trainer", path="/service-role/")})
    assert identity["sessionContext"] == {
        "sessionIssuer": {"type": "Role", "arn": ROLE},
        "attributes": {"mfaAuthenticated": "true"}}
    record = record_of(values)
    assert record["requestParameters"] == {"bucketName": "data", "key": "a.csv"}
    assert "responseElements" not in record and "resources" not in record


def test_rows_add_counts_times_and_connections() -> None:
    result = ScanResult()
    reader = RowReader(result, "athena:db.t")
    reader.add(ShapeRow.of(["counted", None, shape(), "5", "2026-11-03T10:00:00.000",
                            "2026-11-04T11:00:00.000", "e-1",
                            json.dumps({'["vpce-1","TLSv1.3"]': 4, "[null,null]": 1})]))
    (usage,) = result.usages()
    assert usage.permission.resource == "arn:aws:s3:::data/a.csv"
    assert (usage.count, usage.example_event_id) == (5, "e-1")
    assert usage.first_seen == datetime(2026, 11, 3, 10, tzinfo=UTC)
    assert usage.last_seen == datetime(2026, 11, 4, 11, tzinfo=UTC)
    assert ("vpce", "vpce-1", 4) in usage.context and ("vpce", "", 1) in usage.context
    assert result.events_read == result.events_used == 5
    assert (result.first_event, result.last_event) == (usage.first_seen, usage.last_seen)


def test_bad_and_skipped_rows_are_counted_and_warned_once_per_file() -> None:
    result = ScanResult()
    reader = RowReader(result, "athena:db.t")
    path = "s3://trail/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/03/x.json.gz"
    reader.add_all([
        ShapeRow.of(["missing_eventName", path, None, 3, None, None, None, None]),
        ShapeRow.of(["outside_window", None, None, 7, "2026-10-01T00:00:00.000",
                     "2026-10-02T00:00:00.000", "e", None]),
    ])
    assert result.events_read == 10
    assert result.skipped == {"missing_eventName": 3, "outside_window": 7}
    assert result.sorted_warnings() == [f"warning: {path}: 3 records skipped: missing_eventName"]
    assert not result.usages() and result.first_event is None


def test_a_caller_that_is_no_principal_is_another_call() -> None:
    result = ScanResult()
    RowReader(result, "x").add(ShapeRow.of([
        "counted", None, shape(identity_type="AWSService", issuer_type=None, issuer_arn=None,
                               identity_arn=None, invoked_by="lambda.amazonaws.com"),
        2, "2026-11-03T10:00:00.000", "2026-11-03T10:00:00.000", "", None]))
    assert result.other_calls == {("s3.amazonaws.com", "GetObject"): 2}
    assert result.skipped == {"service_call": 2}
