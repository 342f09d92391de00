"""S3 trail objects for tests that read from moto: keys and bodies as
CloudTrail delivers them, a day's records, and a client factory that counts
what it lists and fetches."""

from __future__ import annotations

import gzip
import json
from typing import Any

from iamgen.sources.aws import ClientFactory
from tests.records import record, role_identity

FAKE_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_EC2_METADATA_DISABLED": "true"}


class CountingFactory:
    """A picklable client factory that counts the objects fetched (this process)."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.fetched: list[str] = []
        self.listed: list[str] = []

    def __call__(self) -> Any:
        client = ClientFactory("s3", region="us-east-1", endpoint_url=self.endpoint)()
        fetched, listed = self.fetched, self.listed

        def on_get(params: dict[str, Any], **_: Any) -> None:
            fetched.append(params["Key"])

        def on_list(params: dict[str, Any], **_: Any) -> None:
            listed.append(params.get("Prefix", ""))

        client.meta.events.register("provide-client-params.s3.GetObject", on_get)
        client.meta.events.register("provide-client-params.s3.ListObjectsV2", on_list)
        return client


def delivered_file(account: str, region: str, day: str,
                   records: list[dict[str, Any]]) -> tuple[str, bytes]:
    """The key below ``AWSLogs/`` and the gzip body of one delivered log file."""
    stamp = day.replace("/", "") + "T1205Z"
    name = f"{account}_CloudTrail_{region}_{stamp}_AbCdEf0123456789.json.gz"
    body = gzip.compress(json.dumps({"Records": records}).encode(), mtime=0)
    return f"{account}/CloudTrail/{region}/{day}/{name}", body


def day_records(account: str, region: str, day: str) -> list[dict[str, Any]]:
    """Two records of one day (``YYYY/MM/DD``) by a role of ``account`` in ``region``."""
    me = role_identity("TrainingRole", account=account)
    time = day.replace("/", "-") + "T12:00:00Z"
    return [
        record(me, "s3.amazonaws.com", "GetObject", {"bucketName": "data", "key": f"{region}/a"},
               time=time, region=region, account=account,
               resources=[{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::data/{region}/a"}]),
        record(me, "ecr.amazonaws.com", "GetAuthorizationToken", {}, time=time, region=region,
               account=account),
    ]
