"""``iamgen diff`` end to end through typer's CliRunner: offline, live against moto, example."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from iamgen.cli import build_app
from iamgen.commands.diff import FAIL_ON_UNUSED_EXIT
from iamgen.policy import MANAGED_POLICY_LIMIT
from tests.awsserver import _moto_server, aws_endpoint, iam  # noqa: F401
from tests.grant_policies import (
    ACCOUNT,
    SAGEMAKER_BROAD,
    TRAINING_DATA_INLINE,
    authorization_details_file,
)
from tests.fakes import ContextsAsked
from tests.records import record, role_identity, trail_folder

MOTO_ACCOUNT = "123456789012"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ml-account"
EXAMPLE_ROLE = "AmazonSageMaker-ExecutionRole-20261014T093512"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(build_app(), list(args))
    return result.exit_code, result.stdout, result.stderr


def trainer_records(account: str = ACCOUNT) -> list[dict[str, Any]]:
    me = role_identity("Trainer", account=account, path="/service-role/")
    return [
        record(me, "ecr.amazonaws.com", "GetAuthorizationToken", {}, account=account),
        record(me, "s3.amazonaws.com", "GetObject",
               {"bucketName": "ml-data", "key": "train/a.csv"}, account=account,
               resources=[{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::ml-data/train/a.csv"}],
               eventCategory="Data", managementEvent=False),
        record(me, "glue.amazonaws.com", "DeleteTable",
               {"databaseName": "db", "name": "t"}, account=account, error="AccessDenied"),
    ]


@pytest.fixture
def trail(tmp_path: Path) -> Path:
    return trail_folder(tmp_path, trainer_records())


@pytest.fixture
def details_file(tmp_path: Path) -> Path:
    return authorization_details_file(tmp_path)


def test_offline_json_from_authorization_details(trail: Path, details_file: Path) -> None:
    code, out, err = run("diff", "Trainer", "--trail", str(trail), "--grants", str(details_file),
                         "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["principal"]["arn"] == f"arn:aws:iam::{ACCOUNT}:role/service-role/Trainer"
    assert report["grants"]["source"] == str(details_file)
    assert report["grants"]["boundary"]["name"] == "ml-boundary"
    used = {f["action"]: f for f in report["used_granted"]}
    assert used["ecr:GetAuthorizationToken"]["policy"] == "ml-sagemaker-broad"
    assert used["s3:GetObject"]["policy"] == "inline:training-data"
    assert {d["action"] for d in report["denied"]} == {"glue:DeleteTable"}
    assert "iam:PassRole" in {k["action"] for k in report["not_observable"]}
    assert report["summary"]["removable_actions"] > 100
    assert "iamgen summary" in err  # the run summary goes to stderr, not into the JSON


def test_offline_plain_policy_documents_and_fail_on_unused(trail: Path, tmp_path: Path) -> None:
    broad = tmp_path / "broad.json"
    broad.write_text(json.dumps(SAGEMAKER_BROAD), encoding="utf-8")
    code, out, err = run("diff", "Trainer", "--trail", str(trail), "--grants", str(broad),
                         "--fail-on-unused", "-q")
    assert code == FAIL_ON_UNUSED_EXIT == 10
    assert "removable" in out and "granted" in out
    # A policy granting exactly what was used leaves nothing to remove: exit 0.
    exact = tmp_path / "exact.json"
    exact.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::ml-data/*"},
    ]}), encoding="utf-8")
    code, out, err = run("diff", "Trainer", "--trail", str(trail), "--grants", str(exact),
                         "--fail-on-unused", "-q", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["summary"]["removable_actions"] == 0


def test_markdown_format(trail: Path, details_file: Path) -> None:
    code, out, err = run("diff", "Trainer", "--trail", str(trail), "--grants", str(details_file),
                         "--format", "markdown", "-q")
    assert code == 0, err
    assert out.startswith("## iamgen diff: role `Trainer`")
    assert "### Keep: not observable" in out and "### Proposed policy" in out


def test_principal_not_in_the_trail_but_in_the_grants(trail: Path, details_file: Path) -> None:
    code, out, err = run("diff", "dana", "--trail", str(trail), "--grants", str(details_file),
                         "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["principal"]["kind"] == "user"
    assert report["summary"]["used_actions"] == 0
    assert {f["action"] for f in report["unused_granted"]["actions"]} >= {
        "athena:GetQueryResults", "athena:StartQueryExecution"}
    assert "was not seen in the trail" in err


def test_unknown_principal_and_bad_format_are_errors(trail: Path, details_file: Path) -> None:
    code, _, err = run("diff", "Ghost", "--trail", str(trail), "--grants", str(details_file))
    assert code == 4 and "Ghost" in err
    code, _, err = run("diff", "Trainer", "--trail", str(trail), "--format", "yaml")
    assert code == 2 and "--format" in err
    code, _, err = run("diff", "--trail", str(trail))
    assert code == 2


def test_live_against_moto_server(iam: Any, tmp_path: Path) -> None:  # noqa: F811
    broad = iam.create_policy(PolicyName="ml-sagemaker-broad",
                              PolicyDocument=json.dumps(SAGEMAKER_BROAD))["Policy"]["Arn"]
    iam.create_role(RoleName="Trainer", Path="/service-role/", AssumeRolePolicyDocument="{}")
    iam.attach_role_policy(RoleName="Trainer", PolicyArn=broad)
    iam.put_role_policy(RoleName="Trainer", PolicyName="training-data",
                        PolicyDocument=json.dumps(TRAINING_DATA_INLINE))
    root = trail_folder(tmp_path, trainer_records(MOTO_ACCOUNT), account=MOTO_ACCOUNT)
    code, out, err = run("diff", "Trainer", "--trail", str(root), "--format", "json", "-q")
    assert code == 0, err
    report = json.loads(out)
    assert report["grants"]["source"] == "iam"
    assert [p["label"] for p in report["grants"]["policies"]] == ["inline:training-data",
                                                                  "ml-sagemaker-broad"]
    assert {f["action"] for f in report["used_granted"]} == {"ecr:GetAuthorizationToken",
                                                             "s3:GetObject"}


def test_live_endpoint_url_option(iam: Any, aws_endpoint: str, tmp_path: Path,  # noqa: F811
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    iam.create_role(RoleName="Trainer", Path="/service-role/", AssumeRolePolicyDocument="{}")
    root = trail_folder(tmp_path, trainer_records(MOTO_ACCOUNT), account=MOTO_ACCOUNT)
    code, out, err = run("diff", "Trainer", "--trail", str(root), "--format", "json", "-q",
                         "--endpoint-url", aws_endpoint)
    assert code == 0, err
    report = json.loads(out)
    assert report["grants"]["policies"] == []
    assert [f["action"] for f in report["used_not_granted"]] == ["ecr:GetAuthorizationToken",
                                                                 "s3:GetObject"]


def test_live_missing_role_exits_with_the_grants_error(aws_endpoint: str,  # noqa: F811
                                                       tmp_path: Path) -> None:
    root = trail_folder(tmp_path, trainer_records(MOTO_ACCOUNT), account=MOTO_ACCOUNT)
    code, out, err = run("diff", "Trainer", "--trail", str(root), "-q")
    assert code == 5
    assert out == ""
    assert "cannot read role Trainer: it does not exist" in err


def test_example_account_tells_a_right_sizing_story() -> None:
    code, out, err = run("diff", EXAMPLE_ROLE, "--trail", str(EXAMPLE / "trail"), "--grants",
                         str(EXAMPLE / "grants" / "account-authorization-details.json"),
                         "--format", "json", "-q")
    assert code == 0, err
    report = json.loads(out)
    summary = report["summary"]
    assert summary["used_actions"] > 0
    assert summary["removed_share"] > 0.5
    assert report["unused_granted"]["services"]
    assert "iam:PassRole" in {k["action"] for k in report["not_observable"]}
    assert any(s["verdict"] in ("delete", "narrow") for s in report["statements"])
    for size in report["proposed_policy"]["sizes"]:
        assert size <= MANAGED_POLICY_LIMIT
    again = run("diff", EXAMPLE_ROLE, "--trail", str(EXAMPLE / "trail"), "--grants",
                str(EXAMPLE / "grants" / "account-authorization-details.json"),
                "--format", "json", "-q")
    assert again[1] == out  # deterministic


@pytest.mark.parametrize("fmt", ["json", "markdown", "text"])
def test_diff_reads_without_request_contexts_and_says_the_same(
        repo_root: Path, monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    """diff reads without the calls' request context (faster; no finding
    reads it): its report is the one a read with it gives."""
    example = repo_root / "examples" / "ml-account"
    args = ["diff", "--all", "--trail", str(example / "trail"), "--grants",
            str(example / "grants" / "account-authorization-details.json"), "--format", fmt,
            "--quiet"]
    reads = ContextsAsked(monkeypatch)
    outputs = []
    for forced in (None, True):
        reads.forced = forced
        result = CliRunner().invoke(build_app(), args)
        assert result.exit_code == 0, result.stderr
        outputs.append(result.stdout)
    assert reads.asked == [False, False]
    assert len(outputs[0]) > 1000 and outputs[0] == outputs[1]
