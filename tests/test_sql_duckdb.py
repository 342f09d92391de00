"""The aggregation query run by DuckDB gives what reading the files gives: the
same usages (counts, first and last times, facts, example events), the same
principals, signals and correlations; the CLI prints byte-identical policies,
diffs and reviews on the example account, on bad input and on random trails."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from iamgen.cli import build_app
from iamgen.commands.reading import SourceChoice, read_chosen, read_trails
from iamgen.commands.sql_options import SqlSettings
from iamgen.errors import UsageError
from iamgen.model import Filters, Window
from iamgen.scanning.scan import scan
from iamgen.scanning.tally import ScanResult
from iamgen.sources.aws import ClientFactory
from iamgen.sources.local import LocalSource
from iamgen.sql.duckdb_engine import (DELIVERY, LINES, OTHER, PARQUET, DuckDBEngine, json_view,
                                      kind_of)
from iamgen.sql.read import read_duckdb
from tests.awsserver import _moto_server, aws_endpoint  # noqa: F401 - fixtures
from tests.records import ACCOUNT, record, role_identity, user_identity, write_trail_file

pytest.importorskip("duckdb")

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "ml-account"

# What must agree. Calls that failed for another reason than authorization
# reach the SQL path without their request (they are never granted): the
# summary's failed calls by action, and which of them count as unresolved,
# may then differ (iam:PassRole of a throttled CreateTrainingJob).
SAME = ("principal_events", "other_calls", "first_event", "last_event", "events_used",
        "denied_actions", "unknown_resource")
_FAILED = ("failed_call", "unresolved_action")


def file_path(paths: list[Path], filters: Filters = Filters()) -> ScanResult:
    return scan(LocalSource(tuple(str(p) for p in paths)), filters, workers=1)


def sql_path(paths: list[Path], filters: Filters = Filters()) -> ScanResult:
    result, _ = read_duckdb([str(p) for p in paths], filters, threads=1)
    return result


def assert_same(sql: ScanResult, files: ScanResult, *, counters: bool = True) -> None:
    assert sql.usages() == files.usages()
    for name in SAME:
        assert getattr(sql, name) == getattr(files, name), name
    assert sql.signals() == files.signals()
    assert sql.uncorrelated() == files.uncorrelated()
    if counters:  # files DuckDB reads hold no bad record: the rest agrees too
        for name in ("events_read", "files_read", "files_skipped"):
            assert getattr(sql, name) == getattr(files, name), name
        assert sql.sorted_warnings() == files.sorted_warnings()
        assert sum(sql.skipped.values()) == sum(files.skipped.values())
        assert {k: v for k, v in sql.skipped.items() if k not in _FAILED} == \
            {k: v for k, v in files.skipped.items() if k not in _FAILED}


# -- the example account -------------------------------------------------------


@pytest.mark.parametrize("filters", [
    Filters(),
    Filters(window=Window(datetime(2026, 11, 4, tzinfo=UTC), datetime(2026, 11, 6, tzinfo=UTC))),
    Filters(regions=frozenset({"us-west-2"})),
    Filters(accounts=frozenset({"444455556666"})),
], ids=["all", "window", "region", "account"])
def test_example_account_same_both_ways(filters: Filters) -> None:
    trail = EXAMPLE / "trail"
    assert_same(sql_path([trail], filters), file_path([trail], filters))


def run_cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(build_app(), list(args))
    return result.exit_code, result.stdout, result.stderr


GRANTS = str(EXAMPLE / "grants" / "account-authorization-details.json")
COMMANDS = [
    ("suggest", "ml-model-registry-publisher", "--format", "terraform"),
    ("diff", "--all", "--grants", GRANTS, "--format", "markdown"),
    ("diff", "AmazonSageMaker-ExecutionRole-20261014T093512", "--grants", GRANTS),
    ("review", "--grants", GRANTS, "--format", "json"),
    ("review", "--grants", GRANTS),
    ("graph", "--format", "json"),
    ("who", "arn:aws:s3:::ml-datasets-111122223333*"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c[:2]) for c in COMMANDS])
def test_cli_output_is_byte_identical_on_the_example(command: tuple[str, ...]) -> None:
    trail = ("--trail", str(EXAMPLE / "trail"), "--quiet")
    files = run_cli(*command, *trail)
    sql = run_cli(*command, *trail, "--source", "duckdb")
    assert files[0] == 0, files[2]
    assert sql[:2] == files[:2]


def test_suggest_output_dir_is_byte_identical(tmp_path: Path) -> None:
    trail = str(EXAMPLE / "trail")
    for name, extra in (("files", ()), ("sql", ("--source", "duckdb"))):
        code, _, err = run_cli("suggest", "--all", "--trail", trail, "--output-dir",
                               str(tmp_path / name), "-q", *extra)
        assert code == 0, err
    left = {p.name: p.read_bytes() for p in sorted((tmp_path / "files").iterdir())}
    right = {p.name: p.read_bytes() for p in sorted((tmp_path / "sql").iterdir())}
    assert left == right and left


def test_the_summary_reports_the_reduction() -> None:
    code, _, err = run_cli("suggest", "ml-model-registry-publisher", "--trail",
                           str(EXAMPLE / "trail"), "--source", "duckdb")
    assert code == 0, err
    line = next(x for x in err.splitlines() if x.startswith("  duckdb:"))
    assert "rows for" in line and "events" in line
    assert "damaged gzip data" in err  # the damaged file: the file path's warning
    assert "read by the file path" in err


def test_show_sql_prints_the_query_and_exits() -> None:
    code, out, _ = run_cli("suggest", "--all", "--trail", str(EXAMPLE / "trail"),
                           "--source", "duckdb", "--show-sql", "--since", "2026-11-03")
    assert code == 0
    assert out.startswith("WITH events AS") and "GROUP BY status, file, shape" in out
    assert "2026-11-03T00:00:00" in out


@pytest.mark.parametrize(("args", "text"), [
    (("--source", "duckdb"), "--source duckdb needs at least one --trail"),
    (("--source", "duckdb", "--trail", "x", "--athena-table", "a.b"),
     "--athena-table go with --source athena"),
    (("--trail", "x", "--show-sql"), "--show-sql goes with"),
    (("--source", "athena", "--trail", "x"), "give no --trail"),
    (("--source", "athena"), "needs --athena-table"),
    (("--source", "athena", "--athena-table", "nodot"), "use DATABASE.TABLE"),
    (("--source", "bogus", "--trail", "x"), "unknown source"),
])
def test_options_that_do_not_go_together(args: tuple[str, ...], text: str) -> None:
    code, _, err = run_cli("suggest", "--all", *args)
    assert code == 2, err
    assert text in err


def test_read_trails_takes_the_sql_options_it_is_given(capsys: pytest.CaptureFixture[str]) -> None:
    """No click context: the settings come from the call, not from a command."""
    trail = [str(EXAMPLE / "trail")]
    since = Filters(window=Window(datetime(2026, 11, 3, tzinfo=UTC), None))
    with pytest.raises(typer.Exit) as stopped:
        read_trails(trail, since, source="duckdb", sql=SqlSettings(show_sql=True))
    assert stopped.value.exit_code == 0
    out = capsys.readouterr().out
    assert out.startswith("WITH events AS") and "2026-11-03T00:00:00" in out
    with pytest.raises(UsageError, match="--athena-table go with --source athena"):
        read_trails(trail, Filters(), source="duckdb", sql=SqlSettings(athena_table="a.b"))
    with pytest.raises(UsageError, match="--show-sql goes with"):
        read_trails(trail, Filters(), sql=SqlSettings(show_sql=True))


def test_read_chosen_carries_the_choice_s_sql_options(capsys: pytest.CaptureFixture[str]) -> None:
    choice = SourceChoice(source="duckdb", quiet=True, sql=SqlSettings(show_sql=True))
    with pytest.raises(typer.Exit):
        read_chosen([str(EXAMPLE / "trail")], Filters(), 1, choice)
    assert capsys.readouterr().out.startswith("WITH events AS")


# -- bad input -----------------------------------------------------------------


def good(key: str = "a.csv", **extra: Any) -> dict[str, Any]:
    me = role_identity("Trainer", path="/service-role/")
    return record(me, "s3.amazonaws.com", "GetObject", {"bucketName": "data", "key": key},
                  resources=[{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::data/{key}"}],
                  **extra)


def odd_records() -> list[Any]:
    no_name = good("n")
    del no_name["eventName"]
    no_identity = good("i")
    del no_identity["userIdentity"]
    return [
        good("first"), no_name, no_identity, dict(good("e"), eventName=""),
        dict(good("7"), eventName=7), dict(good("s"), userIdentity="someone"),
        good("t1", time="2026-11-03T10:00:00.250Z"), good("t2", time="2026-11-03T12:00:00+02:00"),
        good("t3", time="2026-02-30T10:00:00Z"), good("t4", time="yesterday"),
        dict(good("r"), awsRegion=None), dict(good("d"), errorCode="AccessDenied"),
        dict(good("f"), errorCode="NoSuchKey"), dict(good("z"), errorCode=""),
        dict(good("x"), requestParameters=None, resources=[{"ARN": "arn:aws:s3:::data/x2"}]),
        dict(good("l"), resources=[{"arn": "arn:aws:s3:::data/lower"}]),
        dict(good("u"), userIdentity={"type": "IAMUser", "arn": "not-an-arn"}),
        dict(good("m"), userIdentity={**role_identity("Trainer"), "sessionContext": {
            "attributes": {"mfaAuthenticated": True}}}),
        "not a record", 42,
    ]


def bad_files(root: Path) -> None:
    write_trail_file(root, [good("ok")], suffix="Good000000000000")
    write_trail_file(root, odd_records(), suffix="Odd0000000000000", day="2026/11/04")
    body = gzip.compress(json.dumps({"Records": [good("lost")]}).encode(), mtime=0)
    folder = root / "AWSLogs" / ACCOUNT / "CloudTrail" / "us-east-1" / "2026" / "11" / "05"
    folder.mkdir(parents=True)
    (folder / f"{ACCOUNT}_CloudTrail_us-east-1_20261105T1000Z_Cut0000000000000.json.gz"
     ).write_bytes(body[: len(body) // 2])
    (folder / f"{ACCOUNT}_CloudTrail_us-east-1_20261105T1100Z_Bad0000000000000.json"
     ).write_bytes(b'{"Records": [1, 2')
    (folder / f"{ACCOUNT}_CloudTrail_us-east-1_20261105T1200Z_Emp0000000000000.json"
     ).write_bytes(b"")
    (folder / "other.json").write_text(json.dumps({"hello": ["world"]}))
    exports = root / "exports"
    exports.mkdir()
    lines = [json.dumps(good(f"line-{n}")) for n in range(3)]
    (exports / "lake.jsonl").write_text("\n".join(lines) + "\n")
    wrapped = [*lines, json.dumps({"CloudTrailEvent": json.dumps(good("wrapped"))})]
    (exports / "mixed.jsonl").write_text("\n".join(wrapped) + "\n")
    (exports / "broken.jsonl").write_text("\n".join([lines[0], "{not json", lines[1]]) + "\n")
    lookup = {"Events": [{"CloudTrailEvent": json.dumps(good("looked-up"))}]}
    (exports / "lookup.json").write_text(json.dumps(lookup))


def test_bad_input_same_both_ways(tmp_path: Path) -> None:
    bad_files(tmp_path)
    files = file_path([tmp_path])
    assert files.warnings  # there is damage to agree on
    assert_same(sql_path([tmp_path]), files)


def test_broken_files_go_to_the_file_path(tmp_path: Path) -> None:
    bad_files(tmp_path)
    _, report = read_duckdb([str(tmp_path)], Filters(), threads=1)
    names = sorted(Path(f).name.rsplit("_", 1)[-1] for f in report.fallback)
    assert names == sorted([
        "Odd0000000000000.json.gz", "Cut0000000000000.json.gz", "Bad0000000000000.json",
        "Emp0000000000000.json", "broken.jsonl", "lookup.json", "mixed.jsonl", "other.json"])
    assert report.files == 2  # the good delivery file and lake.jsonl


def test_file_kinds() -> None:
    assert kind_of("a.json", b' {\n "Records" : [') == DELIVERY
    assert kind_of("a.jsonl", b'{"eventVersion": "1.10"}\n{"eventVersion": "1.10"}\n') == LINES
    assert kind_of("a.jsonl", b'{"CloudTrailEvent": "{}"}\n{}\n') == OTHER
    assert kind_of("a.json", b'{"eventVersion": "1.10"}') == OTHER  # one record: one document
    assert kind_of("a.json", b'{"Events": []}') == OTHER
    assert kind_of("a.parquet", b"PAR1") == PARQUET


@pytest.mark.parametrize("kind", ["empty file", "not CloudTrail JSON", "truncated gzip"])
def test_cli_bad_paths_same_both_ways(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "bad.json"
    if kind == "empty file":
        path.write_bytes(b"")
    elif kind == "not CloudTrail JSON":
        path.write_text(json.dumps({"hello": ["world"]}))
    else:
        path = tmp_path / "cut.json.gz"
        body = gzip.compress(json.dumps({"Records": [good()]}).encode())
        path.write_bytes(body[: len(body) // 2])
    files = run_cli("suggest", "--all", "--trail", str(path))
    sql = run_cli("suggest", "--all", "--trail", str(path), "--source", "duckdb")
    assert files[0] == sql[0] == 4
    assert files[1] == sql[1]
    assert [x for x in files[2].splitlines() if x.startswith("warning")] == \
        [x for x in sql[2].splitlines() if x.startswith("warning")]


def test_a_missing_trail_is_an_input_error(tmp_path: Path) -> None:
    code, _, err = run_cli("suggest", "--all", "--trail", str(tmp_path / "nope"),
                           "--source", "duckdb")
    assert code == 3 and "no such file" in err


# -- Parquet copies of the Athena table ------------------------------------------


def parquet_copy(trail: Path, target: Path) -> Path:
    """What ``CREATE TABLE ... WITH (format = 'PARQUET') AS SELECT * FROM cloudtrail``
    gives: the Athena table's columns (those the query reads) in Parquet."""
    files = [f.location for f in LocalSource((str(trail),)).files(Filters())
             if kind_of(f.location, b'{"Records": [') == DELIVERY]
    readable = [f for f in files if "xEFoxdS9" not in f]  # the example's damaged file
    with DuckDBEngine(threads=1) as engine:
        engine.execute(json_view(readable, DELIVERY))
        engine.execute(f"COPY (SELECT * EXCLUDE (\"$path\") FROM cloudtrail) TO '{target}' "
                       "(FORMAT parquet)")
    return target


def test_a_parquet_copy_reads_the_same(tmp_path: Path) -> None:
    trail = EXAMPLE / "trail"
    copy = parquet_copy(trail, tmp_path / "cloudtrail.parquet")
    files = file_path([trail])
    sql = sql_path([copy])
    assert_same(sql, files, counters=False)
    assert sql.files_read == 1


def test_parquet_rows_the_file_path_would_warn_about_are_counted(tmp_path: Path) -> None:
    copy = tmp_path / "t.parquet"
    user = ("struct_pack(type := 'IAMUser', arn := 'arn:aws:iam::111122223333:user/u', "
            "accountid := '111122223333', invokedby := NULL::VARCHAR, sessioncontext := "
            "struct_pack(sessionissuer := struct_pack(type := NULL::VARCHAR, arn := "
            "NULL::VARCHAR), attributes := struct_pack(mfaauthenticated := NULL::VARCHAR)))")
    with DuckDBEngine(threads=1) as engine:
        engine.execute(f"""COPY (WITH t AS (SELECT * FROM (VALUES
          ({user}, '2026-11-03T10:00:00Z', 's3.amazonaws.com', 'ListBuckets'),
          (NULL, '2026-11-03T10:00:00Z', 's3.amazonaws.com', 'ListBuckets'),
          ({user}, 'soon', 's3.amazonaws.com', 'ListBuckets'),
          ({user}, '2026-11-03T10:00:00Z', 's3.amazonaws.com', NULL)
        ) AS v(useridentity, eventtime, eventsource, eventname))
        SELECT useridentity, eventtime, eventsource, eventname, 'us-east-1' AS awsregion,
          CAST(NULL AS VARCHAR) AS errorcode, CAST(NULL AS VARCHAR) AS requestparameters,
          CAST(NULL AS VARCHAR) AS responseelements, 'id' AS eventid,
          CAST(NULL AS STRUCT(arn VARCHAR)[]) AS resources, 'AwsApiCall' AS eventtype,
          '111122223333' AS recipientaccountid
        FROM t) TO '{copy}' (FORMAT parquet)""")
    result = sql_path([copy])
    assert result.events_read == 4
    assert result.skipped["missing_userIdentity"] == 1
    assert result.skipped["bad_eventTime"] == 1
    assert result.skipped["missing_eventName"] == 1
    assert len(result.warnings) == 3
    assert all(str(copy) in line for line in result.sorted_warnings())
    assert [u.permission.action for u in result.usages()] == ["s3:ListAllMyBuckets"]


# -- random trails ---------------------------------------------------------------

ROLES = ("Trainer", "Deployer", "Analyst")
ACCOUNTS = (ACCOUNT, "444455556666")
REGIONS = ("us-east-1", "eu-west-1")
QUERY_IDS = ("q-1", "q-2", "q-3")
NAMES = st.sampled_from(("a", "b", "c", "d"))


@st.composite
def identities(draw: st.DrawFn) -> dict[str, Any]:
    account = draw(st.sampled_from(ACCOUNTS))
    role = draw(st.sampled_from(ROLES))
    kind = draw(st.sampled_from(("session", "session", "session", "no_issuer", "user", "root",
                                 "service", "other_account", "empty")))
    if kind in ("session", "no_issuer"):
        identity = role_identity(role, account, path=draw(st.sampled_from(("/", "/ml/"))))
        identity["arn"] = identity["arn"].replace("/session", f"/s-{draw(NAMES)}")
        mfa = draw(st.sampled_from(("true", "false", None)))
        if mfa is None:
            del identity["sessionContext"]["attributes"]
        else:
            identity["sessionContext"]["attributes"]["mfaAuthenticated"] = mfa
        if kind == "no_issuer":
            del identity["sessionContext"]["sessionIssuer"]
        if draw(st.booleans()):
            identity["invokedBy"] = draw(st.sampled_from(("s3.amazonaws.com",
                                                          "secretsmanager.amazonaws.com")))
        return identity
    if kind == "user":
        return user_identity(draw(st.sampled_from(("alice", "bob"))), account)
    if kind == "root":
        return {"type": "Root", "accountId": account, "arn": f"arn:aws:iam::{account}:root"}
    if kind == "service":
        return {"type": "AWSService", "invokedBy": "lambda.amazonaws.com"}
    if kind == "other_account":
        return {"type": "AWSAccount", "accountId": "999988887777",
                "arn": f"arn:aws:sts::999988887777:assumed-role/X/s-{draw(NAMES)}"}
    return {}


@st.composite
def calls(draw: st.DrawFn, account: str, region: str
          ) -> tuple[str, str, Any, Any, list[dict[str, str]] | None]:
    """(eventSource, eventName, requestParameters, responseElements, resources)."""
    kind = draw(st.integers(0, 14))
    name = draw(NAMES)
    if kind == 0:
        key = f"{draw(NAMES)}/{draw(st.integers(0, 3))}.csv"
        params = {"bucketName": "data", "key": key, "Host": "data.s3.amazonaws.com"}
        if draw(st.booleans()):
            params["versionId"] = draw(NAMES)
        return ("s3.amazonaws.com", draw(st.sampled_from(("GetObject", "HeadObject"))), params,
                None, [{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::data/{key}"},
                       {"ARN": "arn:aws:s3:::data"}])
    if kind == 1:
        params = {"bucketName": "out", "key": f"runs/{name}.tar.gz"}
        if draw(st.booleans()):
            params["x-amz-server-side-encryption"] = "aws:kms"
        return "s3.amazonaws.com", "PutObject", params, None, None
    if kind == 2:
        key = f"arn:aws:kms:{region}:{account}:key/k-{name}"
        return ("kms.amazonaws.com", "Decrypt",
                {"encryptionContext": {"aws:s3:arn": f"arn:aws:s3:::data/{draw(st.uuids())}"},
                 "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}, None,
                [{"type": "AWS::KMS::Key", "ARN": key}])
    if kind == 3:
        return ("sts.amazonaws.com", "AssumeRole",
                {"roleArn": f"arn:aws:iam::{account}:role/{name}",
                 "roleSessionName": str(draw(st.uuids()))},
                {"credentials": {"sessionToken": str(draw(st.uuids()))},
                 "assumedRoleUser": {"arn": f"arn:aws:sts::{account}:assumed-role/{name}/x"}},
                None)
    if kind == 4:
        job = f"job-{name}-{draw(st.integers(0, 5))}"
        return ("sagemaker.amazonaws.com", "CreateTrainingJob",
                {"trainingJobName": job, "roleArn": f"arn:aws:iam::{account}:role/Trainer"},
                {"trainingJobArn": f"arn:aws:sagemaker:{region}:{account}:training-job/{job}"},
                None)
    if kind == 5:
        version = draw(st.integers(1, 4))
        return ("sagemaker.amazonaws.com", "CreateModelPackage",
                {"modelPackageGroupName": "churn", "clientToken": str(draw(st.uuids()))},
                {"modelPackageArn": f"arn:aws:sagemaker:{region}:{account}:model-package/churn/"
                                    f"{version}"}, None)
    if kind == 6:
        params = {"queryString": "SELECT 1", "clientRequestToken": str(draw(st.uuids()))}
        if draw(st.booleans()):
            params["workGroup"] = draw(st.sampled_from(("analysts", "etl")))
        return ("athena.amazonaws.com", "StartQueryExecution", params,
                {"queryExecutionId": draw(st.sampled_from(QUERY_IDS))}, None)
    if kind == 7:
        return ("athena.amazonaws.com",
                draw(st.sampled_from(("GetQueryExecution", "GetQueryResults"))),
                {"queryExecutionId": draw(st.sampled_from(QUERY_IDS))}, None, None)
    if kind == 8:
        return ("iam.amazonaws.com", "CreateRole", {"roleName": name, "path": "/"},
                {"role": {"arn": f"arn:aws:iam::{account}:role/{name}",
                          "roleId": str(draw(st.uuids()))}}, None)
    if kind == 9:
        return ("ec2.amazonaws.com", "DeleteFlowLogs",
                {"DeleteFlowLogsRequest": {"FlowLogId": {"content": name, "tag": 1}}},
                {"DeleteFlowLogsResponse": {"requestId": str(draw(st.uuids())),
                                            "unsuccessful": ""}}, None)
    if kind == 10:
        table = draw(st.sampled_from(("runs", "users")))
        return ("dynamodb.amazonaws.com", "GetItem",
                {"tableName": table, "key": {"pk": str(draw(st.uuids()))}}, None,
                [{"ARN": f"arn:aws:dynamodb:{region}:{account}:table/{table}"}])
    if kind == 11:
        return ("bedrock.amazonaws.com", draw(st.sampled_from(("InvokeModel", "Converse"))),
                {"modelId": draw(st.sampled_from(("anthropic.claude-3-haiku-20240307-v1:0",
                                                  "us.anthropic.claude-3-5-sonnet-20241022-v2:0"))),
                 "guardrailIdentifier": draw(st.sampled_from(("g1", None)))}, None, None)
    if kind == 12:
        return ("cloudtrail.amazonaws.com", "StopLogging",
                {"name": f"arn:aws:cloudtrail:{region}:{account}:trail/main"}, None, None)
    if kind == 13:
        policy = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                 "Resource": "arn:aws:s3:::data/*"}]}
        return ("s3.amazonaws.com", "PutBucketPolicy",
                {"bucketName": "data", "bucketPolicy": policy}, None, None)
    return "nosuch.amazonaws.com", f"Do{name}", {}, None, None


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    account = draw(st.sampled_from(ACCOUNTS))
    region = draw(st.sampled_from(REGIONS))
    source, name, params, response, resources = draw(calls(account, region))
    day = draw(st.integers(2, 6))
    stamp = f"2026-11-0{day}T{draw(st.sampled_from(('09', '10')))}:00:0{draw(st.integers(0, 2))}Z"
    extra: dict[str, Any] = {"eventID": f"e-{draw(st.integers(0, 30)):02d}"}
    if draw(st.booleans()):
        extra["vpcEndpointId"] = draw(st.sampled_from(("vpce-1", "vpce-2")))
    if draw(st.booleans()):
        extra["tlsDetails"] = {"tlsVersion": draw(st.sampled_from(("TLSv1.2", "TLSv1.3"))),
                               "cipherSuite": "x"}
    out = record(draw(identities()), source, name, params, time=stamp, region=region,
                 account=account, response=response, resources=resources,
                 error=draw(st.sampled_from((None, None, None, "AccessDenied",
                                             "ThrottlingException"))), **extra)
    if draw(st.integers(0, 20)) == 0:
        out["recipientAccountId"] = None
    return out


filters_strategy = st.sampled_from([
    Filters(),
    Filters(window=Window(datetime(2026, 11, 3, tzinfo=UTC), datetime(2026, 11, 5, 9, 30,
                                                                      tzinfo=UTC))),
    Filters(regions=frozenset({"eu-west-1"})),
    Filters(accounts=frozenset({ACCOUNT}), regions=frozenset({"us-east-1"})),
])


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large])
@given(trail=st.lists(st.lists(records(), min_size=1, max_size=12), min_size=1, max_size=3),
       lines=st.lists(records(), max_size=6), odd=st.booleans(), filters=filters_strategy)
def test_random_trails_same_both_ways(tmp_path_factory: pytest.TempPathFactory,
                                      trail: list[list[dict[str, Any]]],
                                      lines: list[dict[str, Any]], odd: bool,
                                      filters: Filters) -> None:
    root = tmp_path_factory.mktemp("trail")
    for index, file_records in enumerate(trail):
        if odd and index == 0:
            file_records = [*file_records, *odd_records()[1:6]]
        write_trail_file(root, file_records, suffix=f"Rand{index:012d}",
                         day=f"2026/11/0{2 + index}", stamp=f"2026110{2 + index}T1000Z")
    if lines:
        (root / "export.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    files = file_path([root], filters)
    assert_same(sql_path([root], filters), files)


# -- S3 ------------------------------------------------------------------------------


def test_an_s3_trail_is_fetched_in_batches_and_reads_the_same(aws_endpoint: str) -> None:
    s3 = boto3.client("s3", endpoint_url=aws_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="trail-bucket")
    trail = EXAMPLE / "trail"
    for path in sorted(trail.rglob("*.json.gz")):
        s3.put_object(Bucket="trail-bucket", Key=str(path.relative_to(trail)),
                      Body=path.read_bytes())
    factory = ClientFactory("s3")
    result, report = read_duckdb(["s3://trail-bucket/AWSLogs/"], Filters(), threads=1,
                                 s3_factory=factory, spool_bytes=100_000)
    files = file_path([trail])
    assert_same(result, files, counters=False)
    assert result.files_read == files.files_read
    assert sorted(result.sorted_warnings()) == [
        line.replace(str(trail) + "/", "s3://trail-bucket/") for line in files.sorted_warnings()]
    assert report.files == files.files_read - 1 and len(report.fallback) == 1
    code, out, err = run_cli("suggest", "ml-model-registry-publisher", "--source", "duckdb",
                             "--trail", "s3://trail-bucket/AWSLogs/", "-q")
    assert code == 0, err
    assert out == run_cli("suggest", "ml-model-registry-publisher", "--trail", str(trail),
                          "-q")[1]


def test_times_past_the_years_a_date_holds_are_skipped_as_files_skip_them(
        tmp_path: Path) -> None:
    """ISO text whose offset takes it before year 1 or after 9999 in UTC is
    an unreadable eventTime to the query, as to a file's reading (Python
    cannot hold such a moment)."""
    role = role_identity("EdgeRole")
    records = [record(role, "s3.amazonaws.com", "ListBuckets", {}, time=moment)
               for moment in ("2026-11-03T10:00:00Z", "0001-01-01T00:30:00+01:00",
                              "9999-12-31T23:30:00-01:00", "0001-01-01T05:00:00Z")]
    write_trail_file(tmp_path, records)
    files = file_path([tmp_path])
    assert files.skipped["bad_eventTime"] == 2
    sql = sql_path([tmp_path])
    assert sql.skipped["bad_eventTime"] == 2
    assert sql.usages() == files.usages()
    assert sql.first_event == files.first_event


def test_hours_and_offsets_python_refuses_are_skipped_as_files_skip_them(
        tmp_path: Path) -> None:
    """DuckDB reads year 0, hour 24 and offsets of a day or more; Python, and
    so a file's reading, does not: the query leaves such times to the file path."""
    role = role_identity("EdgeRole")
    records = [record(role, "s3.amazonaws.com", "GetObject",
                      {"bucketName": "b", "key": f"k{n}"}, time=moment)
               for n, moment in enumerate(("2026-11-03T10:00:00Z", "2026-11-03T24:00:00Z",
                                           "2026-11-03T10:00:00+24:00",
                                           "2026-11-03T10:00:00+99:00",
                                           "0000-12-31T23:00:00-02:00"))]
    write_trail_file(tmp_path, records)
    files = file_path([tmp_path])
    assert files.skipped["bad_eventTime"] == 4
    assert_same(sql_path([tmp_path]), files)


@pytest.mark.parametrize("number", ["1e400", "-1e400", "9" * 5000])
def test_a_number_out_of_msgspecs_range_in_a_request_reads_as_in_a_file(
        tmp_path: Path, number: str) -> None:
    """The file path reads such a number as the standard library does; the
    query's rows did not, and lost the request (the grant became "*")."""
    me = role_identity("Trainer")
    path = write_trail_file(tmp_path, [record(me, "s3.amazonaws.com", "GetObject",
                                              {"bucketName": "data", "key": "report.csv"})])
    text = path.read_bytes()
    body = gzip.decompress(text) if text[:2] == b"\x1f\x8b" else text
    body = body.replace(b'"key": "report.csv"', b'"key": "report.csv", "n": ' + number.encode())
    path.write_bytes(gzip.compress(body, mtime=0) if text[:2] == b"\x1f\x8b" else body)
    files = file_path([tmp_path])
    assert not files.unknown_resource
    sql, report = read_duckdb([str(tmp_path)], Filters(), threads=1)
    assert report.files == 1 and not report.fallback  # DuckDB read it, not the file path
    assert_same(sql, files)


def test_a_request_duckdb_reads_but_json_has_not_skips_its_record_never_widens(
        tmp_path: Path) -> None:
    """DuckDB reads NaN in a request (the file path refuses the whole file, as
    the README says): the record is skipped as invalid JSON, never resolved
    without its request (on "*")."""
    me = role_identity("Trainer")
    path = write_trail_file(tmp_path, [record(me, "s3.amazonaws.com", "GetObject",
                                              {"bucketName": "data", "key": "report.csv"})],
                            gz=False)
    path.write_bytes(path.read_bytes().replace(b'"key": "report.csv"',
                                               b'"key": "report.csv", "n": NaN'))
    sql, report = read_duckdb([str(tmp_path)], Filters(), threads=1)
    assert report.files == 1
    assert sql.skipped["invalid_json"] == 1
    assert not sql.usages() and not sql.unknown_resource
    assert sql.first_event is None  # a skipped record spans nothing, as on the file path
