"""A store over an S3 trail (moto on 127.0.0.1): objects are known by key and
ETag; one rewritten is read again, alone; one deleted is reported gone."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from iamgen.model import Filters
from iamgen.scanning.scan import scan
from iamgen.sources.aws import ClientFactory
from iamgen.sources.s3 import S3Source
from iamgen.store.read import read_with_store
from tests.awsserver import _moto_server  # noqa: F401 - a fixture
from tests.records import record, role_identity
from tests.s3_trails import FAKE_ENV, CountingFactory, day_records, delivered_file
from tests.stores import assert_same

BUCKET = "store-trail"
DAYS = ("2026/11/01", "2026/11/02", "2026/11/03")
REGIONS = ("us-east-1", "eu-west-1")
ACCOUNT = "111122223333"


@pytest.fixture(scope="module")
def s3(_moto_server: str) -> Iterator[tuple[str, Any]]:  # noqa: F811 - the shared server
    with pytest.MonkeyPatch.context() as patch:
        for name, value in FAKE_ENV.items():
            patch.setenv(name, value)
        client = ClientFactory("s3", region="us-east-1", endpoint_url=_moto_server)()
        client.create_bucket(Bucket=BUCKET)
        for region in REGIONS:
            for day in DAYS:
                key, body = delivered_file(ACCOUNT, region, day, day_records(ACCOUNT, region, day))
                client.put_object(Bucket=BUCKET, Key=f"AWSLogs/{key}", Body=body)
        yield _moto_server, client


def _read(endpoint: str, store: Path) -> tuple[Any, Any, CountingFactory]:
    factory = CountingFactory(endpoint)
    source = S3Source(f"s3://{BUCKET}/", factory, concurrency=2)
    result, report = read_with_store(store, source, Filters(), workers=1)
    plain = scan(S3Source(f"s3://{BUCKET}/", CountingFactory(endpoint)), Filters(), workers=1)
    assert_same(result, plain)
    return result, report, factory


def test_objects_are_known_by_etag(s3: tuple[str, Any], tmp_path: Path) -> None:
    endpoint, client = s3
    store = tmp_path / "store.db"
    total = len(REGIONS) * len(DAYS)
    _, report, factory = _read(endpoint, store)
    assert dict(report.read) == {"new": total} and len(factory.fetched) == total
    _, report, factory = _read(endpoint, store)
    assert report.from_store == total and not report.read and factory.fetched == []

    key, _ = delivered_file(ACCOUNT, "eu-west-1", DAYS[1], [])
    late = [record(role_identity("Late", account=ACCOUNT), "s3.amazonaws.com", "ListBuckets",
                   {}, time="2026-11-02T13:00:00Z", region="eu-west-1")]
    client.put_object(Bucket=BUCKET, Key=f"AWSLogs/{key}",
                      Body=gzip.compress(json.dumps({"Records": late}).encode()))
    result, report, factory = _read(endpoint, store)
    assert dict(report.read) == {"changed": 1}
    assert factory.fetched == [f"AWSLogs/{key}"]
    assert any(p.name == "Late" for p in result.principal_events)

    client.delete_object(Bucket=BUCKET, Key=f"AWSLogs/{key}")
    _, report, factory = _read(endpoint, store)
    assert report.gone == 1 and factory.fetched == []
