"""``iamgen suggest ROLE`` with no --trail: the account's trail is found and read.

AWS is never reached: STS, CloudTrail, S3 and IAM are the moto server on
127.0.0.1 (tests/awsserver.py); LookupEvents, which moto lacks, is a tiny
handler on 127.0.0.1; refusals are botocore's Stubber.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner

from iamgen.catalog import load_catalog
from iamgen.cli import build_app
from iamgen.commands.reading import discovery_window
from iamgen.errors import NothingUsableError
from iamgen.grants.observable import load_blind_spots
from iamgen.model import Window
from iamgen.policy import parse_policy
from iamgen.sources.discover import check_principals, discover, selector_coverage
from tests.awsserver import (  # noqa: F401 - fixtures
    _moto_server,
    answer_json,
    aws_endpoint,
    iam,
    serve_locally,
)
from tests.records import record, role_identity

ACCOUNT = "123456789012"  # moto's account
BUCKET = "trail-bucket"
PREFIX = "logs"
ROLE = "PipelineRole"
NOW = datetime.now(UTC)
DAYS = tuple(NOW - timedelta(days=n) for n in (3, 2, 1))


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(build_app(), list(args))
    return result.exit_code, result.stdout, result.stderr


def client(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")


def _records(day: datetime) -> list[dict[str, Any]]:
    me = role_identity(ROLE, account=ACCOUNT)
    stamp = day.strftime("%Y-%m-%dT%H:%M:%SZ")
    return [
        record(me, "s3.amazonaws.com", "GetObject", {"bucketName": "data", "key": "in/a.csv"},
               time=stamp, account=ACCOUNT,
               resources=[{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::data/in/a.csv"}]),
        record(me, "ecr.amazonaws.com", "GetAuthorizationToken", {}, time=stamp, account=ACCOUNT),
    ]


def _upload(s3: Any, root: str) -> None:
    for day in DAYS:
        key = (f"{root}AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/{day:%Y/%m/%d}/"
               f"{ACCOUNT}_CloudTrail_us-east-1_{day:%Y%m%dT%H%MZ}_AbCdEf0123456789.json.gz")
        body = gzip.compress(json.dumps({"Records": _records(day)}).encode(), mtime=0)
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)


@pytest.fixture
def account(aws_endpoint: str, iam: Any, monkeypatch: pytest.MonkeyPatch) -> str:  # noqa: F811
    """A bucket, a logging multi-region trail delivering to it, its files, a role."""
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    s3 = client("s3", aws_endpoint)
    s3.create_bucket(Bucket=BUCKET)
    _upload(s3, f"{PREFIX}/")
    cloudtrail = client("cloudtrail", aws_endpoint)
    cloudtrail.create_trail(Name="main", S3BucketName=BUCKET, S3KeyPrefix=PREFIX,
                            IsMultiRegionTrail=True)
    cloudtrail.start_logging(Name="main")
    iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument="{}")
    return aws_endpoint


def test_suggest_with_nothing_but_credentials_reads_the_trail(account: str) -> None:
    code, found, err = run("suggest", ROLE)
    assert code == 0, err
    assert "trail: main (home region us-east-1, multi-region, logging)" in err
    assert f"read: s3://{BUCKET}/{PREFIX}/AWSLogs/{ACCOUNT}/CloudTrail/" in err
    assert "(the default without --trail: the last 90 days)" in err
    code, given, err_given = run("suggest", ROLE, "--trail", f"s3://{BUCKET}/{PREFIX}")
    assert code == 0, err_given
    assert found == given and "s3:GetObject" in found


def test_selectors_without_s3_data_events_are_one_note(account: str) -> None:
    client("cloudtrail", account).put_event_selectors(TrailName="main", EventSelectors=[{
        "ReadWriteType": "All", "IncludeManagementEvents": True,
        "DataResources": [{"Type": "AWS::Lambda::Function", "Values": ["arn:aws:lambda"]}],
    }])
    code, _, err = run("suggest", ROLE)
    assert code == 0, err
    [line] = [x for x in err.splitlines() if "no data events" in x]
    assert "the trail's event selectors record none for:" in line
    assert "s3-objects" in line and "lambda-invoke" not in line
    # The guess from events seen is replaced: S3 object events were seen here.
    assert "no data events in the trail for" not in err


def test_default_window_and_since_overrides(account: str) -> None:
    code, _, err = run("suggest", ROLE, "--since", "2026-01-01")
    assert code == 0 and "window: 2026-01-01T00:00:00Z .. now\n" in err


def test_a_role_iam_does_not_know_is_one_error_line(account: str) -> None:
    code, found, err = run("suggest", "NoSuchRole")
    assert code == 4 and not found
    assert err.strip().splitlines() == [
        f"iamgen: error: no such role or user in account {ACCOUNT}: NoSuchRole "
        "(iam:GetRole, iam:GetUser)"]
    code, _, err = run("suggest", f"arn:aws:iam::{ACCOUNT}:role/other/{ROLE}")
    assert code == 4 and "no such role or user" in err  # the path must match too


def test_a_stopped_trail_is_noted(account: str) -> None:
    client("cloudtrail", account).stop_logging(Name="main")
    code, _, err = run("suggest", ROLE)
    assert code == 0 and "note: trail main is not logging" in err


# -- no trail: LookupEvents ---------------------------------------------------------


class _CloudTrail(BaseHTTPRequestHandler):
    """DescribeTrails: none. LookupEvents: the role's calls, one page."""

    calls: list[str]

    def do_POST(self) -> None:  # noqa: N802 - the http.server hook
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        operation = (self.headers.get("X-Amz-Target") or "").rsplit(".", 1)[-1]
        self.calls.append(operation)
        if operation == "LookupEvents":
            events = [{"EventTime": (NOW - timedelta(hours=1)).timestamp(),
                       "CloudTrailEvent": json.dumps(r)}
                      for r in _records(NOW - timedelta(hours=1))]
            body = json.dumps({"Events": events}).encode()
        else:
            body = b'{"trailList": []}'
        answer_json(self, body)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def no_trail(aws_endpoint: str, iam: Any,  # noqa: F811
             monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument="{}")
    calls: list[str] = []
    with serve_locally(type("H", (_CloudTrail,), {"calls": calls})) as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", url)
        yield calls


def test_no_trail_falls_back_to_lookup_events(no_trail: list[str]) -> None:
    code, found, err = run("suggest", ROLE, "--since", "1d")
    assert code == 0, err
    assert "DescribeTrails" in no_trail and "LookupEvents" in no_trail
    assert "note: no CloudTrail trail that delivers this account's management events" in err
    assert "reading the LookupEvents API instead" in err
    assert "read: the LookupEvents API (management events only)" in err
    assert "no data events: LookupEvents shows none for: " in err and "s3-objects" in err
    assert "ecr:GetAuthorizationToken" in found


# -- refusals, straight into discover() --------------------------------------------


def _trail(name: str = "main", org: bool = False) -> dict[str, Any]:
    return {"Name": name, "S3BucketName": BUCKET, "S3KeyPrefix": PREFIX,
            "TrailARN": f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{name}",
            "HomeRegion": "us-east-1", "IsMultiRegionTrail": True, "IsOrganizationTrail": org}


def _stubbed(service: str) -> tuple[Any, Stubber]:
    made = boto3.client(service, region_name="us-east-1")
    return made, Stubber(made)


def _clients(trails: list[dict[str, Any]]) -> dict[str, tuple[Any, Stubber]]:
    out = {s: _stubbed(s) for s in ("sts", "cloudtrail", "s3", "organizations")}
    out["sts"][1].add_response("get_caller_identity", {"Account": ACCOUNT})
    out["cloudtrail"][1].add_response("describe_trails", {"trailList": trails})
    for trail in trails:
        out["cloudtrail"][1].add_response("get_trail_status", {"IsLogging": True})
        out["cloudtrail"][1].add_response("get_event_selectors", {"EventSelectors": [
            {"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": []}]})
    return out


def _discover(clients: dict[str, tuple[Any, Stubber]]) -> Any:
    for _, stub in clients.values():
        stub.activate()
    return discover(**{name: made for name, (made, _) in clients.items()})


def test_a_bucket_that_cannot_be_listed_falls_back_with_a_note() -> None:
    clients = _clients([_trail()])
    clients["s3"][1].add_client_error("list_objects_v2", "AccessDenied", "denied",
                                      http_status_code=403)
    plan = _discover(clients)
    assert plan.use_lookup and plan.url is None and plan.trail_name == "main"
    [note] = plan.notes
    assert note.startswith(f"s3:ListBucket on s3://{BUCKET}/{PREFIX}/AWSLogs/ failed "
                           "(AccessDenied: denied): reading the LookupEvents API instead")


def test_describe_trails_refused_falls_back_naming_the_call() -> None:
    clients = {s: _stubbed(s) for s in ("sts", "cloudtrail", "s3")}
    clients["sts"][1].add_response("get_caller_identity", {"Account": ACCOUNT})
    clients["cloudtrail"][1].add_client_error("describe_trails", "AccessDeniedException",
                                              "no", http_status_code=400)
    plan = _discover(clients)
    assert plan.use_lookup and plan.trail_name is None
    assert plan.notes[0].startswith("cloudtrail:DescribeTrails failed (AccessDeniedException")
    assert "s3-objects" in (plan.unrecorded or ())


def test_organization_trail_finds_its_folder_when_organizations_is_refused() -> None:
    clients = _clients([_trail("org", org=True)])
    s3 = clients["s3"][1]
    s3.add_response("list_objects_v2", {"CommonPrefixes": [
        {"Prefix": f"{PREFIX}/AWSLogs/o-a1b2c3d4e5/"}]})
    clients["organizations"][1].add_client_error("describe_organization", "AccessDeniedException",
                                                 "no", http_status_code=400)
    s3.add_response("list_objects_v2", {"CommonPrefixes": [
        {"Prefix": f"{PREFIX}/AWSLogs/o-a1b2c3d4e5/{ACCOUNT}/"}]})
    plan = _discover(clients)
    assert not plan.use_lookup and plan.organization_id == "o-a1b2c3d4e5"
    assert plan.url == f"s3://{BUCKET}/{PREFIX}/AWSLogs/o-a1b2c3d4e5/{ACCOUNT}/CloudTrail/"
    assert plan.unrecorded and "s3-objects" in plan.unrecorded


def test_logging_trails_come_first_then_multi_region() -> None:
    single = {**_trail("a-single"), "IsMultiRegionTrail": False}
    clients = {s: _stubbed(s) for s in ("sts", "cloudtrail", "s3")}
    clients["sts"][1].add_response("get_caller_identity", {"Account": ACCOUNT})
    ct = clients["cloudtrail"][1]
    ct.add_response("describe_trails", {"trailList": [single, _trail("b-stopped"),
                                                      _trail("c-multi")]})
    for logging in (True, False, True):
        ct.add_response("get_trail_status", {"IsLogging": logging})
        ct.add_response("get_event_selectors", {"AdvancedEventSelectors": [{"FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Management"]}]}]})
    clients["s3"][1].add_response("list_objects_v2", {"CommonPrefixes": [
        {"Prefix": f"{PREFIX}/AWSLogs/{ACCOUNT}/"}]})
    clients["s3"][1].add_response("list_objects_v2", {"CommonPrefixes": [
        {"Prefix": f"{PREFIX}/AWSLogs/{ACCOUNT}/"}]})
    plan = _discover(clients)
    assert plan.trail_name == "c-multi" and plan.logging is True
    assert "other trails of this account: a-single, b-stopped" in plan.notes


def test_advanced_selectors_name_the_groups_they_record() -> None:
    groups = [g for g in load_blind_spots() if g.trail_resource_types]
    management, recorded = selector_coverage([], [
        {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]},
                            {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}]},
        {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]},
                            {"Field": "resources.type", "Equals": ["AWS::Bedrock::AgentAlias"]}]},
    ], groups)
    assert not management and recorded == {"s3-objects", "bedrock-agents"}


def test_every_data_event_group_names_its_selector_types() -> None:
    data = [g for g in load_blind_spots() if g.visibility.value == "data_event"]
    assert data and all(g.trail_resource_types for g in data)
    assert all(t.startswith("AWS::") for g in data for t in g.trail_resource_types)


def test_iam_refusing_the_check_is_only_a_note() -> None:
    made, stub = _stubbed("iam")
    stub.add_client_error("get_role", "AccessDenied", "no", http_status_code=403)
    with stub:
        notes = check_principals(made, ACCOUNT, ["Somebody", "root",
                                                 "arn:aws:iam::999999999999:role/X"])
    assert len(notes) == 1 and notes[0].startswith("iam:GetRole Somebody failed (AccessDenied")
    made, stub = _stubbed("iam")
    stub.add_client_error("get_role", "NoSuchEntity", "no", http_status_code=404)
    stub.add_client_error("get_user", "NoSuchEntity", "no", http_status_code=404)
    with stub, pytest.raises(NothingUsableError, match="Nobody"):
        check_principals(made, ACCOUNT, ["Nobody"])


def test_discovery_window() -> None:
    assert discovery_window(Window(), NOW) == Window(since=NOW - timedelta(days=90))
    given = Window(since=NOW - timedelta(days=5))
    assert discovery_window(given, NOW) is given
    old = NOW - timedelta(days=200)
    assert discovery_window(Window(until=old), NOW).since == old - timedelta(days=90)


def test_the_reader_policy_parses_and_names_real_actions(repo_root: Any) -> None:
    document = parse_policy(json.loads(
        (repo_root / "docs" / "iamgen-reader-policy.json").read_text("utf-8")))
    catalog = load_catalog()
    actions = {a for s in document.statements for a in s.actions}
    assert {"sts:GetCallerIdentity", "cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus",
            "cloudtrail:GetEventSelectors", "cloudtrail:LookupEvents", "s3:ListBucket",
            "s3:GetObject", "iam:GetRole", "iam:GetUser"} <= actions
    assert [a for a in actions if catalog.action(a) is None] == []


@pytest.mark.parametrize("command", [
    ["diff", ROLE], ["review"], ["graph"], ["who", "arn:aws:s3:::data/*"],
    ["backtest", ROLE, "--holdout", "1d"],
])
def test_every_command_that_reads_a_trail_finds_it(account: str, command: list[str]) -> None:
    code, _, err = run(*command)
    assert code in (0, 10, 11), err
    assert f"read: s3://{BUCKET}/{PREFIX}/AWSLogs/{ACCOUNT}/CloudTrail/" in err


def test_the_readme_shows_the_reader_policy_file(repo_root: Any) -> None:
    text = (repo_root / "docs" / "iamgen-reader-policy.json").read_text("utf-8")
    assert f"```json\n{text}```" in (repo_root / "README.md").read_text("utf-8")


def test_backtest_discovers_once_and_reads_the_found_trail_twice(
        account: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from iamgen.commands import reading

    calls: list[object] = []
    real = reading.discover_trail

    def counted(*args: Any) -> Any:
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(reading, "discover_trail", counted)
    code, _, err = run("backtest", ROLE, "--holdout", "1d")
    assert code in (0, 11), err
    assert len(calls) == 1
