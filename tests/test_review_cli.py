"""``iamgen review`` through typer's CliRunner: offline, from a saved graph, live, the example."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from iamgen.cli import build_app
from tests.awsserver import _moto_server, aws_endpoint, iam  # noqa: F401
from tests.grant_policies import authorization_details_file
from tests.records import ACCOUNT, record, role_identity, trail_folder, write_trail_file

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ml-account"
MOTO_ACCOUNT = "123456789012"

BROAD_DOC = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
    {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"},
]}
NARROW_DOC = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
     "Resource": "arn:aws:s3:::ml-data/*"},
]}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(build_app(), list(args))
    return result.exit_code, result.stdout, result.stderr


def role_entry(name: str, document: dict[str, Any], account: str = ACCOUNT) -> dict[str, Any]:
    return {
        "Path": "/", "RoleName": name, "RoleId": f"AROA{name.upper()}",
        "Arn": f"arn:aws:iam::{account}:role/{name}", "CreateDate": "2026-01-01T00:00:00Z",
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
        "InstanceProfileList": [], "AttachedManagedPolicies": [], "Tags": [],
        "RolePolicyList": [{"PolicyName": f"{name}-inline", "PolicyDocument": document}],
        "RoleLastUsed": {},
    }


def records(account: str = ACCOUNT) -> list[dict[str, Any]]:
    out = []
    for name in ("Broad", "Narrow", "Stranger"):
        me = role_identity(name, account=account)
        out.append(record(me, "s3.amazonaws.com", "GetObject",
                          {"bucketName": "ml-data", "key": "a.csv"}, account=account,
                          resources=[{"type": "AWS::S3::Object",
                                      "ARN": "arn:aws:s3:::ml-data/a.csv"}],
                          eventCategory="Data", managementEvent=False))
    return out


@pytest.fixture
def trail(tmp_path: Path) -> Path:
    return trail_folder(tmp_path, records())


@pytest.fixture
def details(tmp_path: Path) -> Path:
    """Broad and Narrow are seen; Idle is granted but never seen; Stranger is not described."""
    return authorization_details_file(tmp_path, {
        "RoleDetailList": [role_entry("Broad", BROAD_DOC), role_entry("Narrow", NARROW_DOC),
                           role_entry("Idle", NARROW_DOC)],
        "UserDetailList": [], "GroupDetailList": [], "Policies": [],
    })


def test_review_text_ranks_risky_first_and_flags_unused(trail: Path, details: Path) -> None:
    code, out, err = run("review", "--trail", str(trail), "--grants", str(details), "-q")
    assert code == 0, err
    rows = [line.split() for line in out.splitlines()
            if line[:1].isdigit() and "role" in line.split()]
    assert [(r[1], r[3]) for r in rows] == [("Broad", "active"), ("Idle", "UNUSED"),
                                            ("Narrow", "active")]
    assert "Not reviewed:" in out and "Stranger: not described in" in out.replace(
        f"arn:aws:iam::{ACCOUNT}:role/", "")


def test_review_json_one_diff_entry_per_principal(trail: Path, details: Path) -> None:
    code, out, err = run("review", "--trail", str(trail), "--grants", str(details),
                         "--format", "json")
    assert code == 0, err
    body = json.loads(out)
    assert [e["principal"]["name"] for e in body] == ["Broad", "Idle", "Narrow"]
    assert [e["review"]["unused_principal"] for e in body] == [False, True, False]
    assert set(body[0]["review"]["risk_codes"]) == {"SERVICE_WILDCARD_ALL", "DATA_EVERY_BUCKET",
                                                    "PASSROLE_ANY_ROLE"}
    # s3:PutObject is kept: the trail shows S3 reads, and a trail records writes apart
    assert body[2]["summary"]["removable_actions"] == 0
    assert "note: not reviewed" in err and "Stranger" in err


def test_review_output_dir_writes_markdown_json_and_the_chart(trail: Path, details: Path,
                                                             tmp_path: Path) -> None:
    target = tmp_path / "out"
    code, out, err = run("review", "--trail", str(trail), "--grants", str(details),
                         "--output-dir", str(target))
    assert code == 0, err
    assert out == ""
    assert sorted(p.name for p in target.iterdir()) == ["review-ai.json", "review-excess.svg",
                                                        "review.json", "review.md"]
    assert "(review-excess.svg)" in (target / "review.md").read_text(encoding="utf-8")
    ET.fromstring((target / "review-excess.svg").read_text(encoding="utf-8"))
    assert len(json.loads((target / "review.json").read_text(encoding="utf-8"))) == 3


def test_review_markdown_with_chart_file(trail: Path, details: Path, tmp_path: Path) -> None:
    chart = tmp_path / "excess.svg"
    code, out, err = run("review", "--trail", str(trail), "--grants", str(details), "-q",
                         "--format", "markdown", "--chart", str(chart))
    assert code == 0, err
    assert f"]({chart})" in out
    assert chart.read_text(encoding="utf-8").startswith("<svg")


def test_review_with_plain_policy_documents_lists_no_one_unseen(trail: Path,
                                                               tmp_path: Path) -> None:
    """Policy documents describe no principal: each one seen gets them, and the note says
    that unused principals cannot be found this way."""
    doc = tmp_path / "team-policy.json"
    doc.write_text(json.dumps(NARROW_DOC), encoding="utf-8")
    code, out, err = run("review", "--trail", str(trail), "--grants", str(doc),
                         "--format", "json")
    assert code == 0, err
    body = json.loads(out)
    assert sorted(e["principal"]["name"] for e in body) == ["Broad", "Narrow", "Stranger"]
    assert not any(e["review"]["unused_principal"] for e in body)
    assert {e["grants"]["source"] for e in body} == {str(doc)}
    assert "principals never seen in the trail are not listed" in err


def test_review_from_a_saved_graph_ranks_the_same(trail: Path, details: Path,
                                                  tmp_path: Path) -> None:
    saved = tmp_path / "graph.json"
    assert run("graph", "--trail", str(trail), "-o", str(saved), "-q")[0] == 0
    code, out, err = run("review", "--graph", str(saved), "--grants", str(details), "-q",
                         "--format", "json")
    assert code == 0, err
    from_graph = json.loads(out)
    from_trail = json.loads(run("review", "--trail", str(trail), "--grants", str(details),
                                "-q", "--format", "json")[1])
    assert [(e["principal"]["arn"], e["summary"], e["review"]) for e in from_graph] == \
        [(e["principal"]["arn"], e["summary"], e["review"]) for e in from_trail]


def test_review_rejects_bad_format_and_missing_input(trail: Path, details: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run("review", "--trail", str(trail), "--grants", str(details), "-f", "html")
    assert code == 2 and "unknown --format" in err
    # No --trail: the account's trail is discovered (tests/test_discover.py); never AWS here.
    from iamgen.commands import reading
    from iamgen.errors import UsageError

    def no_account(*_: Any) -> None:
        raise UsageError("discovery asked")

    monkeypatch.setattr(reading, "discover_trail", no_account)
    code, _, err = run("review", "--grants", str(details))
    assert code == 2 and "discovery asked" in err


def test_review_live_against_moto_server(iam: Any, tmp_path: Path) -> None:  # noqa: F811
    for name, document in (("Broad", BROAD_DOC), ("Narrow", NARROW_DOC)):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")
        iam.put_role_policy(RoleName=name, PolicyName=f"{name}-inline",
                            PolicyDocument=json.dumps(document))
    root = trail_folder(tmp_path, records(MOTO_ACCOUNT)[:2], account=MOTO_ACCOUNT)
    code, out, err = run("review", "--trail", str(root), "--format", "json", "-q")
    assert code == 0, err
    body = json.loads(out)
    assert [e["principal"]["name"] for e in body] == ["Broad", "Narrow"]
    assert all(e["grants"]["source"] == "iam" for e in body)


def test_review_live_flags_principals_never_seen(iam: Any, tmp_path: Path) -> None:  # noqa: F811
    """ListRoles/ListUsers find who the trail never showed: unused, not silently left out."""
    for name, document in (("Broad", BROAD_DOC), ("Narrow", NARROW_DOC), ("Idle", NARROW_DOC)):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")
        iam.put_role_policy(RoleName=name, PolicyName=f"{name}-inline",
                            PolicyDocument=json.dumps(document))
    iam.create_user(UserName="old-ci")
    iam.put_user_policy(UserName="old-ci", PolicyName="deploy",
                        PolicyDocument=json.dumps(BROAD_DOC))
    linked = iam.create_service_linked_role(AWSServiceName="sagemaker.amazonaws.com")["Role"]
    root = trail_folder(tmp_path, records(MOTO_ACCOUNT)[:2], account=MOTO_ACCOUNT)
    code, out, err = run("review", "--trail", str(root), "--format", "json")
    assert code == 0, err
    body = json.loads(out)
    assert [(e["principal"]["name"], e["review"]["unused_principal"]) for e in body] == [
        ("old-ci", True), ("Broad", False), ("Idle", True), ("Narrow", False)]
    assert all(e["grants"]["source"] == "iam" for e in body)
    assert "principals never seen in the trail are not listed" not in err
    # A service-linked role's permissions cannot be edited: named, not ranked.
    assert f"not reviewed: {linked['Arn']}: service-linked role" in err


def test_review_live_leaves_other_accounts_alone(iam: Any, tmp_path: Path) -> None:  # noqa: F811
    """A same-named role of another account seen in the trail is not read from this one."""
    iam.create_role(RoleName="Broad", AssumeRolePolicyDocument="{}")
    iam.put_role_policy(RoleName="Broad", PolicyName="Broad-inline",
                        PolicyDocument=json.dumps(BROAD_DOC))
    root = tmp_path / "trail"
    write_trail_file(root, records(MOTO_ACCOUNT)[:1], account=MOTO_ACCOUNT)
    write_trail_file(root, records()[1:2])
    code, out, err = run("review", "--trail", str(root), "--format", "json")
    assert code == 0, err
    assert [e["principal"]["arn"] for e in json.loads(out)] == [
        f"arn:aws:iam::{MOTO_ACCOUNT}:role/Broad"]
    assert (f"not reviewed: arn:aws:iam::{ACCOUNT}:role/Narrow: account {ACCOUNT} is not the "
            f"account IAM was read in ({MOTO_ACCOUNT})") in err


def test_review_live_fails_loudly_when_a_role_is_missing(aws_endpoint: str,  # noqa: F811
                                                         tmp_path: Path) -> None:
    root = trail_folder(tmp_path, records(MOTO_ACCOUNT)[:1], account=MOTO_ACCOUNT)
    code, out, err = run("review", "--trail", str(root), "-q")
    assert code == 5 and out == ""
    assert "Broad" in err


def test_example_account_review_ranks_the_over_broad_roles_first() -> None:
    code, out, err = run("review", "--trail", str(EXAMPLE / "trail"), "--grants",
                         str(EXAMPLE / "grants" / "account-authorization-details.json"),
                         "--format", "json", "-q")
    assert code == 0, err
    body = json.loads(out)
    names = [e["principal"]["name"] for e in body]
    assert len(names) == 10
    risky = [bool(e["review"]["risk_codes"]) for e in body]
    assert risky == sorted(risky, reverse=True)  # every principal with risky grants first
    # The retired Jenkins user (README: "Granted, never seen") deploys anything and passes
    # any role: it leads, then the two roles holding s3:* on * and PassRole/sagemaker:*
    # ("broad in the way real ones are"); the registry role, scoped to its bucket, comes
    # last; batch scoring is scoped too, but decrypts with every key (kms:Decrypt on "*").
    assert names[0] == "jenkins-ml-deploy"
    assert set(names[1:3]) == {"AmazonSageMaker-ExecutionRole-20261014T093512",
                               "ml-deploy-pipeline"}
    assert names[-1] == "ml-model-registry-publisher"
    scoring = next(e for e in body if e["principal"]["name"] == "ml-batch-scoring")
    assert scoring["review"]["risk_codes"] == ["DECRYPT_EVERY_KEY"]
    unused = {e["principal"]["name"] for e in body if e["review"]["unused_principal"]}
    assert unused == {"jenkins-ml-deploy", "ml-notebook-pilot"}
    assert all(not e["review"]["seen_in_trail"] for e in body
               if e["principal"]["name"] in unused)
    notebook = next(e for e in body if e["principal"]["name"] == "ml-notebook-pilot")
    assert notebook["review"]["risk_codes"] == []  # unused, yet nothing risky: ranked by share
    assert notebook["summary"]["used_actions"] == 0
    pipeline = next(e for e in body if e["principal"]["name"] == "ml-deploy-pipeline")
    assert "PASSROLE_ANY_ROLE" in pipeline["review"]["risk_codes"]
    chat = next(e for e in body if e["principal"]["name"] == "chat-assistant-role-q3v8k2lw")
    assert "INVOKE_EVERY_MODEL" in chat["review"]["risk_codes"]


def test_a_service_linked_role_seen_in_the_trail_is_not_reviewed_either(tmp_path: Path) -> None:
    """Its permissions cannot be edited in IAM, whether or not it made calls."""
    linked = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/sagemaker.amazonaws.com/AWSServiceRoleForAmazonSageMaker"
    document = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    grants = tmp_path / "grants.json"
    grants.write_text(json.dumps({"RoleDetailList": [{
        "RoleName": "AWSServiceRoleForAmazonSageMaker", "Arn": linked,
        "Path": "/aws-service-role/sagemaker.amazonaws.com/",
        "RolePolicyList": [{"PolicyName": "p", "PolicyDocument": document}],
        "AttachedManagedPolicies": []}, {
        "RoleName": "Plain", "Arn": f"arn:aws:iam::{ACCOUNT}:role/Plain", "Path": "/",
        "RolePolicyList": [{"PolicyName": "p", "PolicyDocument": document}],
        "AttachedManagedPolicies": []}], "UserDetailList": [], "GroupDetailList": [],
        "Policies": []}))
    who = role_identity("AWSServiceRoleForAmazonSageMaker",
                        path="/aws-service-role/sagemaker.amazonaws.com/")
    root = trail_folder(tmp_path, [record(who, "s3.amazonaws.com", "ListBuckets", {}),
                                   record(role_identity("Plain"), "s3.amazonaws.com",
                                          "ListBuckets", {})])
    code, out, err = run("review", "--trail", str(root), "--grants", str(grants),
                         "--format", "json")
    assert code == 0, err
    assert [e["principal"]["name"] for e in json.loads(out)] == ["Plain"]
    assert f"not reviewed: {linked}: service-linked role" in err
