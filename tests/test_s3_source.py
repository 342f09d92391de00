"""Reading trails from S3: moto in server mode on 127.0.0.1, never AWS.

Layouts as CloudTrail delivers them:
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/get-and-view-cloudtrail-log-files.html
(``AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_ID.json.gz``)
and, for organization trails, ``AWSLogs/o-ORGID/ACCOUNT/...``:
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/creating-trail-organization.html
"""

from __future__ import annotations

import pickle
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from iamgen.errors import InputError
from iamgen.scanning.scan import scan
from iamgen.model import Filters, Window
from iamgen.sources.aws import ClientFactory
from iamgen.sources.s3 import S3Source, parse_s3_url
from tests.awsserver import _moto_server  # noqa: F401 - a fixture
from tests.s3_trails import FAKE_ENV, CountingFactory, day_records, delivered_file

BUCKET = "org-trail-bucket"
ORG = "o-a1b2c3d4e5"
ACCOUNTS = ("111122223333", "444455556666")
REGIONS = ("us-east-1", "eu-west-1")
DAYS = ("2026/11/01", "2026/11/02", "2026/11/03", "2026/11/04", "2026/11/05")


@pytest.fixture(scope="module")
def moto_endpoint(_moto_server: str) -> str:  # noqa: F811 - the shared server fixture
    """The module's moto server on 127.0.0.1 (tests/awsserver.py). Its state is
    kept between tests: the buckets below are filled once."""
    return _moto_server


def _fill(client: Any, bucket: str, root: str) -> int:
    client.create_bucket(Bucket=bucket)
    count = 0
    for account in ACCOUNTS:
        for region in REGIONS:
            for day in DAYS:
                key, body = delivered_file(account, region, day, day_records(account, region, day))
                client.put_object(Bucket=bucket, Key=f"{root}{key}", Body=body)
                count += 1
        digest = (f"{root}{account}/CloudTrail-Digest/us-east-1/2026/11/01/"
                  f"{account}_CloudTrail-Digest_us-east-1_t_us-east-1_20261101T1205Z.json.gz")
        client.put_object(Bucket=bucket, Key=digest, Body=b"{}")
    return count


@pytest.fixture(scope="module")
def buckets(moto_endpoint: str) -> Iterator[dict[str, int]]:
    """One bucket in the account layout, one in the organization layout."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in FAKE_ENV.items():
            patch.setenv(name, value)
        client = ClientFactory("s3", region="us-east-1", endpoint_url=moto_endpoint)()
        yield {
            "plain": _fill(client, "plain-trail", "AWSLogs/"),
            "org": _fill(client, BUCKET, f"AWSLogs/{ORG}/"),
        }


def _source(endpoint: str, url: str) -> tuple[S3Source, CountingFactory]:
    factory = CountingFactory(endpoint)
    return S3Source(url, factory, concurrency=4), factory


def _window(since: str, until: str) -> Window:
    return Window(datetime.fromisoformat(since).replace(tzinfo=UTC),
                  datetime.fromisoformat(until).replace(tzinfo=UTC))


@pytest.mark.parametrize(("url", "total"), [
    ("s3://plain-trail", "plain"),
    ("s3://plain-trail/AWSLogs/", "plain"),
    ("s3://plain-trail/AWSLogs", "plain"),
    (f"s3://{BUCKET}/", "org"),
    (f"s3://{BUCKET}/AWSLogs/{ORG}/", "org"),
    (f"s3://{BUCKET}/AWSLogs/{ORG}", "org"),
])
def test_every_file_of_both_layouts_is_read_once(moto_endpoint: str, buckets: dict[str, int],
                                                 url: str, total: str) -> None:
    source, factory = _source(moto_endpoint, url)
    result = scan(source, Filters(), workers=1)
    assert result.files_read == buckets[total]
    assert result.events_read == 2 * buckets[total]
    assert sorted(factory.fetched) == sorted(set(factory.fetched))
    assert len(factory.fetched) == buckets[total]
    assert not any("Digest" in key for key in factory.fetched)
    assert not result.warnings


def test_window_account_and_region_prune_what_is_listed_and_fetched(
        moto_endpoint: str, buckets: dict[str, int]) -> None:
    source, factory = _source(moto_endpoint, f"s3://{BUCKET}")
    filters = Filters(window=_window("2026-11-03T00:00:00", "2026-11-03T23:59:59"),
                      accounts=frozenset({"444455556666"}), regions=frozenset({"eu-west-1"}))
    result = scan(source, filters, workers=1)
    # One day of margin each side: 11-02, 11-03 and 11-04 are fetched, nothing else.
    assert sorted(k.split("/CloudTrail/")[1][:20] for k in factory.fetched) == [
        "eu-west-1/2026/11/02", "eu-west-1/2026/11/03", "eu-west-1/2026/11/04"]
    assert all(f"/{ORG}/444455556666/" in k for k in factory.fetched)
    assert result.events_used == 2  # only the 11-03 records are inside the window
    assert result.skipped["outside_window"] == 4
    # Named, not discovered: the other account's and region's folders are never listed.
    assert not any("111122223333" in prefix for prefix in factory.listed)
    assert not any("us-east-1" in prefix for prefix in factory.listed)


def test_accounts_and_regions_are_discovered_when_not_given(
        moto_endpoint: str, buckets: dict[str, int]) -> None:
    source, factory = _source(moto_endpoint, "s3://plain-trail")
    filters = Filters(window=_window("2026-11-05T00:00:00", "2026-11-05T23:59:59"))
    result = scan(source, filters, workers=1)
    # Days 11-04 and 11-05 (11-06 does not exist) in 2 accounts x 2 regions.
    assert len(factory.fetched) == 8
    assert Counter(k.split("/")[1] for k in factory.fetched) == Counter(
        {ACCOUNTS[0]: 4, ACCOUNTS[1]: 4})
    assert result.events_used == 2 * 2 * 2


def test_open_window_lists_year_and_month_folders(moto_endpoint: str,
                                                  buckets: dict[str, int]) -> None:
    source, factory = _source(moto_endpoint, "s3://plain-trail/AWSLogs/111122223333/")
    filters = Filters(window=Window(since=datetime(2026, 11, 4, tzinfo=UTC)),
                      regions=frozenset({"us-east-1"}))
    scan(source, filters, workers=1)
    assert sorted(k.rsplit("/", 1)[0][-10:] for k in factory.fetched) == [
        "2026/11/03", "2026/11/04", "2026/11/05"]


def test_damaged_object_is_warned_and_skipped(moto_endpoint: str, buckets: dict[str, int]) -> None:
    client = ClientFactory("s3", region="us-east-1", endpoint_url=moto_endpoint)()
    client.create_bucket(Bucket="damaged-trail")
    key, body = delivered_file(ACCOUNTS[0], "us-east-1", "2026/11/01",
                               day_records(ACCOUNTS[0], "us-east-1", "2026/11/01"))
    client.put_object(Bucket="damaged-trail", Key=f"AWSLogs/{key}", Body=body)
    bad = f"AWSLogs/{key.replace('AbCdEf', 'Broken')}"
    client.put_object(Bucket="damaged-trail", Key=bad, Body=body[: len(body) // 2])
    source, _ = _source(moto_endpoint, "s3://damaged-trail")
    result = scan(source, Filters(), workers=1)
    assert result.files_read == 2
    assert result.events_used == 2
    assert result.skipped["unreadable_file"] == 1
    [line] = result.sorted_warnings()
    assert line.startswith(f"warning: s3://damaged-trail/{bad}: damaged gzip data")


def test_other_objects_are_counted_and_suffixes_of_any_case_read(
        moto_endpoint: str, buckets: dict[str, int]) -> None:
    client = ClientFactory("s3", region="us-east-1", endpoint_url=moto_endpoint)()
    client.create_bucket(Bucket="mixed-trail")
    key, body = delivered_file(ACCOUNTS[0], "us-east-1", "2026/11/01",
                               day_records(ACCOUNTS[0], "us-east-1", "2026/11/01"))
    folder = f"AWSLogs/{key.rsplit('/', 1)[0]}"
    client.put_object(Bucket="mixed-trail", Key=f"AWSLogs/{key[:-len('.json.gz')]}.JSON.GZ",
                      Body=body)
    client.put_object(Bucket="mixed-trail", Key=f"{folder}/notes.txt", Body=b"hello")
    client.put_object(Bucket="mixed-trail", Key=f"{folder}/sub/", Body=b"")
    source, _ = _source(moto_endpoint, "s3://mixed-trail")
    result = scan(source, Filters(), workers=1)
    assert result.files_read == 1 and result.events_used == 2
    assert result.files_skipped["not_a_trail_file_name"] == 1  # the folder marker is no file


def test_missing_object_is_a_warning_not_an_abort(moto_endpoint: str,
                                                  buckets: dict[str, int]) -> None:
    from iamgen.scanning.scan import scan_file
    from iamgen.sources.base import TrailFile

    source, _ = _source(moto_endpoint, "s3://plain-trail")
    result = scan_file(source, TrailFile("s3://plain-trail/AWSLogs/gone.json.gz"), Filters())
    assert result.files_skipped["unreadable_file"] == 1
    assert "NoSuchKey" in result.sorted_warnings()[0]


def test_missing_bucket_is_an_error_never_no_data(moto_endpoint: str) -> None:
    source, _ = _source(moto_endpoint, "s3://no-such-bucket/AWSLogs/")
    with pytest.raises(InputError, match="NoSuchBucket"):
        source.files(Filters())


def test_source_pickles_without_its_client_and_reads_in_workers(
        moto_endpoint: str, buckets: dict[str, int]) -> None:
    source = S3Source("s3://plain-trail", ClientFactory("s3", region="us-east-1",
                                                       endpoint_url=moto_endpoint))
    made = source.client()
    assert source.client() is made
    copy = pickle.loads(pickle.dumps(source))
    assert copy._client is None
    source._client_pid = -1  # as seen from a forked worker: the parent's client is not reused
    assert source.client() is not made
    one = scan(source, Filters(), workers=1)
    two = scan(copy, Filters(), workers=2)
    assert two.events_read == one.events_read == 2 * buckets["plain"]
    assert two.usages() == one.usages()


def test_endpoint_comes_from_aws_endpoint_url(moto_endpoint: str, buckets: dict[str, int],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    source = S3Source("s3://plain-trail/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/01/",
                      ClientFactory("s3", region="us-east-1"))
    assert len(source.files(Filters())) == 1


def test_parse_s3_url() -> None:
    assert parse_s3_url("s3://b/AWSLogs/") == ("b", "AWSLogs/")
    assert parse_s3_url("s3://b") == ("b", "")
    with pytest.raises(InputError):
        parse_s3_url("s3:///x")


def test_read_trails_mixes_local_paths_and_s3(moto_endpoint: str, buckets: dict[str, int],
                                               tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from iamgen.commands.reading import read_trails
    from tests.records import write_trail_file

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    write_trail_file(tmp_path, day_records(ACCOUNTS[0], "us-east-1", "2026/11/09"))
    url = f"s3://plain-trail/AWSLogs/{ACCOUNTS[1]}/CloudTrail/eu-west-1/"
    run = read_trails([str(tmp_path), url, url], Filters(), workers=2, progress=True)
    assert run.result.files_read == 1 + len(DAYS)
    assert run.result.events_read == 2 * (1 + len(DAYS))
    progress = capsys.readouterr().err
    assert f"reading: {1 + len(DAYS)}/{1 + len(DAYS)} files" in progress
    assert progress.endswith(" \r")  # the line is blanked before anything else prints


def test_read_trails_refuses_trails_with_lookup() -> None:
    from iamgen.commands.reading import read_trails
    from iamgen.errors import UsageError

    with pytest.raises(UsageError, match="give no --trail"):
        read_trails(["x"], Filters(), source="lookup")
    with pytest.raises(UsageError, match="reads the --athena-table: give no --trail"):
        read_trails(["x"], Filters(), source="athena")
    with pytest.raises(UsageError, match="unknown source 'bigquery'"):
        read_trails(["x"], Filters(), source="bigquery")


@pytest.mark.parametrize("region", ["us-east-1", "us-gov-west-1", "cn-north-1",
                                    "ap-southeast-3", "il-central-1", "eusc-de-east-1"])
def test_region_folders_of_every_partition_are_walked(region: str) -> None:
    """Region codes: https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-regions.html"""
    from iamgen.sources.s3 import _REGION

    assert _REGION.match(region)


class _NoWholeListing(S3Source):
    """An S3 source whose whole-bucket listing must never be asked for."""

    def files(self, filters: Filters) -> list[Any]:
        raise AssertionError("a scan listed every key at once")


@pytest.mark.parametrize("workers", [1, 2])
def test_scan_lists_folder_by_folder_and_reads_what_a_whole_listing_reads(
        moto_endpoint: str, buckets: dict[str, int], workers: int) -> None:
    """No process holds every key: a scan hands out day folders, each listed by
    the process that reads it; the result is what reading the whole listing
    (CombinedSource takes that path) gives, passed-over digests included."""
    from iamgen.sources.base import CombinedSource

    for url in ("s3://plain-trail", f"s3://{BUCKET}/AWSLogs/{ORG}/"):
        factory = CountingFactory(moto_endpoint)
        foldered = _NoWholeListing(url, factory, concurrency=4)
        folders = foldered.folders(Filters())
        assert folders and all(f.endswith(("/01/", "/02/", "/03/", "/04/", "/05/"))
                               for f in folders)  # day folders, even with no window
        streamed = scan(foldered, Filters(), workers=workers)
        whole = scan(CombinedSource((S3Source(url, CountingFactory(moto_endpoint)),)),
                     Filters(), workers=1)
        assert streamed == whole
        assert streamed.files_read == len(DAYS) * len(ACCOUNTS) * len(REGIONS)


def test_a_folder_that_cannot_be_listed_stops_the_run_in_one_line(
        moto_endpoint: str, buckets: dict[str, int]) -> None:
    from botocore.exceptions import ClientError

    class Refusing(CountingFactory):
        def __call__(self) -> Any:
            client = super().__call__()

            def refuse(params: dict[str, Any], **_: Any) -> None:
                if params.get("Prefix", "").endswith("/2026/11/03/"):
                    # (a refused call stops it too, as AwsRefusedError:
                    # tests/test_aws_settings.py)
                    raise ClientError({"Error": {"Code": "NoSuchBucket", "Message": "no"}},
                                      "ListObjectsV2")

            client.meta.events.register("provide-client-params.s3.ListObjectsV2", refuse)
            return client

    for workers in (1, 2):
        source = S3Source("s3://plain-trail", Refusing(moto_endpoint), concurrency=2)
        with pytest.raises(InputError, match=r"2026/11/03/: cannot list the bucket.*NoSuchBucket"):
            scan(source, Filters(), workers=workers)


def test_progress_counts_folders_and_the_files_listed_in_them(
        moto_endpoint: str, buckets: dict[str, int], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from iamgen.commands.reading import read_trails

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    url = f"s3://plain-trail/AWSLogs/{ACCOUNTS[1]}/CloudTrail/"
    run = read_trails([url], Filters(), workers=2, progress=True)
    folders = len(REGIONS) * len(DAYS)
    assert run.result.files_read == folders  # one file a day folder here
    progress = capsys.readouterr().err
    assert f"reading: {folders}/{folders} folders, {folders:,} files" in progress


@pytest.mark.parametrize(("tail", "days"), [("2026/", 5), ("2026/11/", 5), ("2026/11/03/", 1)])
def test_a_year_or_month_url_is_shared_out_by_day(moto_endpoint: str, buckets: dict[str, int],
                                                  tail: str, days: int) -> None:
    url = f"s3://plain-trail/AWSLogs/{ACCOUNTS[0]}/CloudTrail/us-east-1/{tail}"
    source, _ = _source(moto_endpoint, url)
    folders = source.folders(Filters())
    assert folders is not None and len(folders) == days
    assert all(f.count("/") == url.count("/") + 3 - tail.count("/") for f in folders)
    assert scan(source, Filters(), workers=2).files_read == days


def test_a_prefix_outside_the_layout_is_listed_whole_and_shared_file_by_file(
        moto_endpoint: str, buckets: dict[str, int]) -> None:
    url = f"s3://plain-trail/AWSLogs/{ACCOUNTS[0]}/CloudTrail/us-east-1/2026/11/0"  # a partial name
    source, _ = _source(moto_endpoint, url)
    assert source.folders(Filters()) is None
    assert len(source.files(Filters())) == len(DAYS)
    assert scan(source, Filters(), workers=2).files_read == len(DAYS)


def test_a_year_url_is_pruned_by_the_window_and_walked_once(
        moto_endpoint: str, buckets: dict[str, int]) -> None:
    url = f"s3://plain-trail/AWSLogs/{ACCOUNTS[0]}/CloudTrail/us-east-1/2026/"
    source, factory = _source(moto_endpoint, url)
    filters = Filters(window=Window(since=datetime(2026, 11, 4, tzinfo=UTC)))
    folders = source.folders(filters)
    assert folders is not None
    # One day of margin before --since; days before it are never listed.
    assert [f[-11:-1] for f in folders] == ["2026/11/03", "2026/11/04", "2026/11/05"]
    walked = len(factory.listed)
    assert source.files(filters) and len(factory.listed) - walked == len(folders)  # no re-walk
