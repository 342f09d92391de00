"""The standard AWS settings, and calls AWS refuses, on every AWS-facing path.

Settings (https://docs.aws.amazon.com/sdkref/latest/guide/settings-reference.html):
``AWS_REGION`` (botocore itself reads only ``AWS_DEFAULT_REGION``),
``AWS_PROFILE`` / ``--profile``, ``AWS_ENDPOINT_URL`` and
``AWS_ENDPOINT_URL_<SERVICE>``. A refused call (no credentials, an expired
token, AccessDenied) stops the run with one ``iamgen: error:`` line naming
the call, exit 7 for trail reading (5 for grants), even with ``-q``; it never
reads as "nothing usable was read" (exit 4).

AWS is never reached: S3 and IAM are the moto server on 127.0.0.1
(tests/awsserver.py, with its IAM checks turned on for AccessDenied);
LookupEvents, which moto lacks, is a tiny HTTP handler on 127.0.0.1 that
answers an empty page and records the region each request was signed for;
error responses are botocore's Stubber.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner

from iamgen.cli import build_app
from iamgen.errors import AwsRefusedError, GrantsError
from iamgen.grants.load import iam_client, load_live
from iamgen.scanning.scan import scan
from iamgen.model import Filters, Principal, PrincipalKind, Window
from iamgen.sources.aws import ClientFactory
from iamgen.sources.lookup import LookupSource
from tests.awsserver import (  # noqa: F401 - fixtures
    _moto_server,
    answer_json,
    aws_endpoint,
    enforce_auth,
    iam,
    serve_locally,
)
from tests.records import record, role_identity

ACCOUNT = "111122223333"
BUCKET = "trail-bucket"
DAYS = ("2026/11/01", "2026/11/02", "2026/11/03")
ROLE = "PipelineRole"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_app(), list(args))
    return result.exit_code, result.stderr


# -- a LookupEvents endpoint on 127.0.0.1 ---------------------------------------------


class _Lookup(BaseHTTPRequestHandler):
    regions: list[str]

    def do_POST(self) -> None:  # noqa: N802 - the http.server hook
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        scope = re.search(r"Credential=[^/]+/\d{8}/([^/]+)/cloudtrail/",
                          self.headers.get("Authorization") or "")
        self.regions.append(scope[1] if scope else "?")
        body = b'{"Events": []}'
        answer_json(self, body)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def lookup_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The regions LookupEvents requests were signed for; AWS_ENDPOINT_URL_CLOUDTRAIL
    points at the handler."""
    regions: list[str] = []
    with serve_locally(type("Handler", (_Lookup,), {"regions": regions})) as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", url)
        yield regions


def test_aws_region_is_the_region_lookup_reads(lookup_server: list[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "eu-west-2")
    code, err = run("suggest", ROLE, "--source", "lookup", "--since", "1d")
    assert code == 4 and "nothing usable was read" in err  # an empty account, read
    assert lookup_server and set(lookup_server) == {"eu-west-2"}


def test_aws_region_wins_over_aws_default_region(lookup_server: list[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")
    run("suggest", ROLE, "--source", "lookup", "--since", "1d", "-q")
    assert set(lookup_server) == {"ap-southeast-2"}
    assert ClientFactory("cloudtrail")().meta.region_name == "ap-southeast-2"


def test_region_filters_name_the_regions_lookup_reads(lookup_server: list[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")
    run("suggest", ROLE, "--source", "lookup", "--since", "1d", "-q",
        "--region", "eu-west-1", "--region", "us-west-2")
    assert set(lookup_server) == {"eu-west-1", "us-west-2"}


def test_no_region_at_all_says_how_to_name_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    code, err = run("suggest", ROLE, "--source", "lookup", "--since", "1d", "-q")
    assert code == 2
    [line] = err.splitlines()
    assert line.startswith("iamgen: error: LookupEvents is regional")
    assert "--region" in line and "AWS_REGION" in line


def test_per_service_endpoint_settings_are_followed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:10")
    monkeypatch.setenv("AWS_ENDPOINT_URL_IAM", "http://127.0.0.1:11")
    assert ClientFactory("s3")().meta.endpoint_url == "http://127.0.0.1:10"
    assert ClientFactory("cloudtrail")().meta.endpoint_url == "http://127.0.0.1:9"
    assert iam_client().meta.endpoint_url == "http://127.0.0.1:11"


@pytest.mark.parametrize("command", ["suggest", "diff", "graph", "who", "chains", "review",
                                     "backtest"])
def test_every_command_reading_aws_takes_profile(command: str) -> None:
    result = CliRunner().invoke(build_app(), [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "--profile" in result.output


def test_an_unknown_profile_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    code, err = run("suggest", ROLE, "--source", "lookup", "--since", "1d", "-q",
                    "--region", "us-east-1")
    [line] = err.splitlines()
    assert code == 3 and "no-such-profile" in line and line.startswith("iamgen: error:")


# -- no credentials --------------------------------------------------------------------


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")


@pytest.mark.parametrize("quiet", [[], ["-q"]])
def test_lookup_without_credentials_stops_in_one_line(
        no_credentials: None, lookup_server: list[str], quiet: list[str]) -> None:
    code, err = run("suggest", ROLE, "--source", "lookup", "--since", "3d",
                    "--region", "us-east-1", *quiet)
    assert code == 7
    [line] = err.splitlines()
    assert line.startswith("iamgen: error: cloudtrail:LookupEvents in us-east-1: "
                           "no AWS credentials were found")
    assert "AWS_PROFILE" in line and "--profile" in line
    assert lookup_server == []


def test_s3_without_credentials_stops_in_one_line(no_credentials: None,
                                                  aws_endpoint: str) -> None:  # noqa: F811
    code, err = run("suggest", ROLE, "--trail", f"s3://{BUCKET}/AWSLogs/", "-q")
    assert code == 7
    [line] = err.splitlines()
    assert line.startswith(f"iamgen: error: s3:ListObjectsV2 on s3://{BUCKET}/AWSLogs/: "
                           "no AWS credentials were found")


def test_live_grants_without_credentials_name_the_call(no_credentials: None,
                                                       aws_endpoint: str) -> None:  # noqa: F811
    with pytest.raises(GrantsError, match=r"cannot read role Trainer: iam:GetRole: "
                                          r"no AWS credentials were found"):
        load_live(iam_client(), Principal(f"arn:aws:iam::{ACCOUNT}:role/Trainer",
                                          PrincipalKind.ROLE))


# -- AccessDenied from S3 (moto checking IAM permissions) -------------------------------


def _trail_object(day: str) -> bytes:
    stamp = day.replace("/", "-") + "T10:00:00Z"
    event = record(role_identity(ROLE), "s3.amazonaws.com", "ListBuckets", {}, time=stamp)
    return gzip.compress(json.dumps({"Records": [event]}).encode())


def _key(day: str) -> str:
    compact = day.replace("/", "")
    return (f"AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/{day}/"
            f"{ACCOUNT}_CloudTrail_us-east-1_{compact}T1000Z_abc.json.gz")


def _limited_user(iam: Any, aws_endpoint: str, actions: list[str],  # noqa: F811
                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A bucket of trail files, and credentials of a user allowed only ``actions``
    (from now on the server checks every request)."""
    s3 = boto3.client("s3", endpoint_url=aws_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    for day in DAYS:
        s3.put_object(Bucket=BUCKET, Key=_key(day), Body=_trail_object(day))
    iam.create_user(UserName="reader")
    if actions:
        iam.put_user_policy(UserName="reader", PolicyName="some", PolicyDocument=json.dumps(
            {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}))
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    enforce_auth(aws_endpoint, True)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_denied_listing_stops_in_one_line(iam: Any, aws_endpoint: str,  # noqa: F811
                                          monkeypatch: pytest.MonkeyPatch, workers: str) -> None:
    _limited_user(iam, aws_endpoint, [], monkeypatch)
    code, err = run("suggest", ROLE, "--trail", f"s3://{BUCKET}/AWSLogs/{ACCOUNT}/",
                    "--workers", workers, "-q")
    assert code == 7
    [line] = err.splitlines()
    assert line.startswith(f"iamgen: error: s3:ListObjectsV2 on s3://{BUCKET}/AWSLogs/"
                           f"{ACCOUNT}/: access denied (AccessDenied")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_denied_object_read_stops_in_one_line(iam: Any, aws_endpoint: str,  # noqa: F811
                                              monkeypatch: pytest.MonkeyPatch,
                                              workers: str) -> None:
    _limited_user(iam, aws_endpoint, ["s3:ListBucket"], monkeypatch)
    code, err = run("suggest", ROLE, "--trail", f"s3://{BUCKET}/AWSLogs/{ACCOUNT}/",
                    "--since", "2026-11-01", "--until", "2026-11-03", "--workers", workers)
    assert code == 7, err
    [line] = err.splitlines()
    assert re.match(rf"iamgen: error: s3:GetObject s3://{BUCKET}/AWSLogs/{ACCOUNT}/CloudTrail/"
                    r"us-east-1/2026/11/0\d/\S+\.json\.gz: access denied \(AccessDenied", line)


def test_allowed_reads_still_warn_of_a_damaged_object(iam: Any, aws_endpoint: str,  # noqa: F811
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _limited_user(iam, aws_endpoint, ["s3:ListBucket", "s3:GetObject"], monkeypatch)
    enforce_auth(aws_endpoint, False)
    s3 = boto3.client("s3", endpoint_url=aws_endpoint, region_name="us-east-1")
    s3.put_object(Bucket=BUCKET, Key=_key("2026/11/02"), Body=_trail_object("2026/11/02")[:20])
    enforce_auth(aws_endpoint, True)
    code, err = run("suggest", ROLE, "--trail", f"s3://{BUCKET}/AWSLogs/{ACCOUNT}/",
                    "--since", "2026-11-01", "--until", "2026-11-03", "--workers", "2")
    assert code == 0, err
    assert "warning: " in err and "2026/11/02" in err


# -- expired or invalid tokens on LookupEvents (Stubber) ------------------------------


@pytest.mark.parametrize("code", ["ExpiredTokenException", "UnrecognizedClientException",
                                  "AccessDeniedException"])
def test_refused_lookup_stops_the_run(code: str) -> None:
    client = ClientFactory("cloudtrail", region="us-east-1")()
    source = LookupSource(lambda region: client, now=datetime(2026, 11, 2, 12, tzinfo=UTC),
                          sleep=lambda _: None)
    stub = Stubber(client)
    stub.add_client_error("lookup_events", service_error_code=code, service_message="nope",
                          http_status_code=400 if code != "AccessDeniedException" else 403)
    with stub, pytest.raises(AwsRefusedError) as caught:
        scan(source, Filters(window=Window(datetime(2026, 11, 1, tzinfo=UTC), None)))
    message = str(caught.value)
    assert message.startswith("cloudtrail:LookupEvents in us-east-1: ")
    assert f"({code}: nope)" in message
    assert caught.value.exit_code == 7


def test_expired_token_reading_grants_names_the_call() -> None:
    client = boto3.client("iam", region_name="us-east-1")
    stub = Stubber(client)
    stub.add_client_error("get_role", service_error_code="ExpiredToken",
                          service_message="The security token included in the request is "
                          "expired", http_status_code=403)
    with stub, pytest.raises(GrantsError, match=r"cannot read role Trainer: iam:GetRole: the "
                                                r"AWS credentials are invalid or have expired"):
        load_live(client, Principal(f"arn:aws:iam::{ACCOUNT}:role/Trainer", PrincipalKind.ROLE))


@pytest.mark.parametrize("code", ["AccessDenied", "AccessDeniedException", "AllAccessDisabled",
                                  "UnauthorizedOperation", "ForbiddenException"])
def test_a_refusal_is_what_cloudtrail_logs_as_denied(code: str) -> None:
    # One list of "denied" codes serves the trail's records and iamgen's own calls.
    from botocore.exceptions import ClientError

    from iamgen.model import is_access_denied
    from iamgen.sources.aws import refusal

    error = ClientError({"Error": {"Code": code, "Message": "no"}}, "ListObjectsV2")
    assert is_access_denied(code)
    assert (refusal(error) or "").startswith("access denied")
    assert refusal(ClientError({"Error": {"Code": "NoSuchBucket", "Message": "x"}}, "X")) is None
