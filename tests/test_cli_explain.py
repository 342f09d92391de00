"""``iamgen explain``: the mapping, resources and deciding rule per matching event."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from iamgen.cli import build_app
from tests.records import ACCOUNT, record, role_identity, user_identity, write_trail_file


def test_explain_names_actions_resources_and_rules(tmp_path: Path) -> None:
    deployer = role_identity("Deployer")
    trail = write_trail_file(tmp_path, [
        record(deployer, "lambda.amazonaws.com", "CreateFunction20150331",
               {"functionName": "summarize", "role": f"arn:aws:iam::{ACCOUNT}:role/service-role/fn"}),
        record(deployer, "sts.amazonaws.com", "GetCallerIdentity", None),
        record(user_identity("bob"), "lambda.amazonaws.com", "CreateFunction20150331",
               {"functionName": "other", "role": f"arn:aws:iam::{ACCOUNT}:role/fn2"}),
    ])
    result = CliRunner().invoke(build_app(), [
        "explain", "--trail", str(trail), "--event", "createfunction*", "--principal", "Deployer",
    ])
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert f"{trail}: record 0: lambda.amazonaws.com CreateFunction20150331" in out
    assert f"needs lambda:CreateFunction on arn:aws:lambda:us-east-1:{ACCOUNT}:function:summarize" in out
    assert (f"needs iam:PassRole on arn:aws:iam::{ACCOUNT}:role/service-role/fn "
            "if StringEquals iam:PassedToService in ['lambda.amazonaws.com']") in out
    assert "decided by:" in out
    assert "other" not in out  # bob's call is filtered out by --principal
    assert "1 events explained" in out


def test_explain_says_when_no_grant_is_needed(tmp_path: Path) -> None:
    trail = write_trail_file(tmp_path, [
        record(role_identity("Deployer"), "sts.amazonaws.com", "GetCallerIdentity", None),
    ])
    result = CliRunner().invoke(build_app(), ["explain", "--trail", str(trail)])
    assert result.exit_code == 0
    assert "no grant needed" in result.stdout


def test_explain_says_where_an_id_named_resource_comes_from() -> None:
    from iamgen.commands.explain import explain_lines
    from iamgen.mapping.resolve import resolve
    from tests.records import record, user_identity

    who = user_identity("analyst")
    start = record(who, "athena.amazonaws.com", "StartQueryExecution",
                   {"queryString": "select 1", "workGroup": "analysts"},
                   response={"queryExecutionId": "q-1"})
    read = record(who, "athena.amazonaws.com", "GetQueryResults", {"queryExecutionId": "q-1"})
    started = "\n".join(explain_lines("f", 0, start, resolve(start), "analyst"))
    assert "announces athena-query id q-1: its later calls need " \
           "arn:aws:athena:us-east-1:111122223333:workgroup/analysts" in started
    reading = "\n".join(explain_lines("f", 1, read, resolve(read), "analyst"))
    assert "returned athena-query id q-1" in reading


def test_explain_shows_the_name_pattern_behind_a_name(tmp_path: Path) -> None:
    pipeline = role_identity("Pipeline")
    trail = write_trail_file(tmp_path, [
        record(pipeline, "sagemaker.amazonaws.com", "DescribeTrainingJob",
               {"trainingJobName": f"churn-xgb-2026-11-0{day}"}) for day in (2, 3, 4)
    ])
    result = CliRunner().invoke(build_app(), ["explain", "--trail", str(trail), "--limit", "1"])
    assert result.exit_code == 0, result.stderr
    job = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/churn-xgb-"
    assert f"{job}????-??-??" in result.stdout
    assert ("stands for churn-xgb-2026-11-02 .. churn-xgb-2026-11-04, 3 names, varying: date"
            in result.stdout)
    quiet = CliRunner().invoke(build_app(), ["explain", "--trail", str(trail), "--no-patterns"])
    assert "stands for" not in quiet.stdout


def test_explain_shows_a_pattern_only_for_the_actions_it_serves(tmp_path: Path) -> None:
    """Reads of three names make a pattern; a delete seen on one of them keeps
    its exact name in suggest, and explain says no pattern for it."""
    worker = role_identity("Worker")
    reads = [record(worker, "s3.amazonaws.com", "GetObject",
                    {"bucketName": "b", "key": f"out/run-2026-11-0{day}.json"}) for day in (2, 3, 4)]
    delete = record(worker, "s3.amazonaws.com", "DeleteObject",
                    {"bucketName": "b", "key": "out/run-2026-11-02.json"})
    trail = write_trail_file(tmp_path, [*reads, delete])
    deleting = CliRunner().invoke(build_app(), ["explain", "--trail", str(trail),
                                                "--event", "DeleteObject"])
    assert deleting.exit_code == 0, deleting.stderr
    assert "stands for" not in deleting.stdout
    reading = CliRunner().invoke(build_app(), ["explain", "--trail", str(trail),
                                               "--event", "GetObject"])
    assert reading.stdout.count("stands for") == 1
    assert "arn:aws:s3:::b/out/run-????-??-??.json" in reading.stdout
