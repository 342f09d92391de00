"""A store over an S3 trail (moto on 127.0.0.1): objects are known by key and
ETag; one rewritten is read again, alone; one deleted is reported gone."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from iamgen.commands.store import rebuild_lines
from iamgen.model import Filters
from iamgen.scanning.scan import scan
from iamgen.sources.aws import ClientFactory
from iamgen.sources.local import LocalSource
from iamgen.sources.s3 import S3Source
from iamgen.store.db import Store
from iamgen.store.read import read_with_store
from iamgen.store.rebuild import rebuild
from tests.awsserver import _moto_server  # noqa: F401 - a fixture
from tests.records import record, role_identity, write_trail_file
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


class _Refusing:
    """An S3 client that is refused every listing."""

    def get_paginator(self, name: str) -> Any:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "ListObjectsV2")


def test_a_rebuild_keeps_what_it_cannot_list_and_reads_the_rest(
        s3: tuple[str, Any], tmp_path: Path) -> None:
    """A folder that cannot be listed (access denied) keeps its objects'
    results and is said; the store's local files are read again all the same."""
    endpoint, _ = s3
    store = tmp_path / "store.db"
    _read(endpoint, store)
    local = write_trail_file(tmp_path / "trail", [record(role_identity("Local"), "s3.amazonaws.com",
                                                         "ListBuckets")])
    read_with_store(store, LocalSource((str(local),)), Filters())
    with Store.open(store, create=False) as opened:
        before = {r.id for r in opened.results()}
        objects = sorted(u.location for u in opened.units() if u.location.startswith("s3://"))
    done = rebuild(store, _Refusing)
    assert done.read == 1 and not done.gone and not done.failed
    assert objects and done.unlisted == objects
    assert done.unlisted_reason is not None and "AccessDenied" in done.unlisted_reason
    lines = "\n".join(rebuild_lines(done))
    assert f"could not be listed, kept as they were: {len(objects)} file(s), e.g. s3://" in lines
    with Store.open(store, create=False) as opened:
        after = {r.id for r in opened.results()}
    assert len(before - after) == 1 and len(after) == len(before)  # only the local one new


class _ListsOnce:
    """An S3 client whose listings after the first ``allowed`` are refused
    (as throttling or expiring credentials would); the rest is the real one."""

    def __init__(self, real: Any, allowed: int) -> None:
        self._real, self._left = real, allowed

    def get_paginator(self, name: str) -> Any:
        self._left -= 1
        if self._left < 0:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "late"}},
                              "ListObjectsV2")
        return self._real.get_paginator(name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def test_a_rebuild_lists_each_folder_once(s3: tuple[str, Any], tmp_path: Path) -> None:
    """What a folder's listing found is what the rebuild reads: a second
    listing, which could fail after the rebuild decided what to read, is
    never made."""
    endpoint, _ = s3
    store = tmp_path / "store.db"
    _read(endpoint, store)
    with Store.open(store, create=False) as opened:
        objects = [u.location for u in opened.units()]
    folders = {location.rsplit("/", 1)[0] for location in objects}
    client = _ListsOnce(CountingFactory(endpoint)(), len(folders))
    done = rebuild(store, lambda: client)
    assert done.read == len(objects) and not done.unlisted and not done.failed
