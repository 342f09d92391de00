"""Results merge to the same totals however they are split, shipped or pickled."""

from __future__ import annotations

import pickle
import random

import pytest

from iamgen.scanning.tally import ScanResult, scan_record
from iamgen.model import Filters, SortedUsages
from tests.records import record, role_identity, user_identity

FILTERS = Filters()


def _records() -> list[dict]:
    trainer, alice = role_identity("Trainer", path="/service-role/"), user_identity("alice")
    out = []
    for n in range(40):
        who = trainer if n % 3 else alice
        region = "eu-west-1" if n % 4 == 0 else "us-east-1"
        out.append(record(who, "s3.amazonaws.com", "GetObject",
                          {"bucketName": "data", "key": f"k{n % 7}"}, region=region,
                          time=f"2026-11-0{1 + n % 8}T1{n % 10}:00:00Z"))
        out.append(record(who, "kms.amazonaws.com", "Decrypt", {}, region=region,
                          time=f"2026-11-0{1 + n % 5}T0{n % 9}:30:00Z",
                          error="AccessDenied" if n % 11 == 0 else None))
    out.append(record({"type": "AWSService", "invokedBy": "apigateway.amazonaws.com"},
                      "lambda.amazonaws.com", "Invoke", {"functionName": "f"}))
    return out


def _result(records: list[dict]) -> ScanResult:
    result = ScanResult()
    for index, rec in enumerate(records):
        scan_record(result, "f", index, rec, FILTERS)
    return result


@pytest.mark.parametrize("seed", range(5))
def test_shipped_parts_give_what_one_scan_gives(seed: int) -> None:
    records = _records()
    random.Random(seed).shuffle(records)
    whole = _result(records)
    cuts = sorted(random.Random(seed + 100).sample(range(1, len(records)), 2))
    parts = [records[:cuts[0]], records[cuts[0]:cuts[1]], records[cuts[1]:]]
    merged = _result(parts[0])
    for part in parts[1:]:
        merged.merge_shipment(_result(part).ship())
    assert len(merged._shipped) == 2  # both stay rows until usages() merges them in order
    assert isinstance(merged.usages(), SortedUsages)
    assert merged.usages() == whole.usages()  # merged in order, keys shared across parts
    assert merged == whole
    assert pickle.loads(pickle.dumps(merged)) == whole
    assert merged.usages() == whole.usages()  # still right once absorbed


def test_a_result_with_shipments_pending_merges_and_records_like_any_other() -> None:
    records = _records()
    first, second = _result(records[:30]), _result(records[30:60])
    first.merge_shipment(second.ship())
    first.merge(_result(records[60:]))
    assert first.usages() == _result(records).usages()
    pending = _result(records[:30])
    pending.merge_shipment(_result(records[30:]).ship())
    scan_record(pending, "g", 0, records[0], FILTERS)  # the slow path adds to the table
    assert pending.usages() == _result([*records, records[0]]).usages()
