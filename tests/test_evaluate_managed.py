"""The evaluator on real AWS managed policies from ../shared/data/managed-policies/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iamgen.arn import action_matches
from iamgen.catalog import load_catalog
from iamgen.grants.evaluate import Decision, NamedPolicy, Request, allows, evaluate
from iamgen.model import PolicyDocument
from iamgen.policy import parse_policy


def managed(shared_data: Path, name: str) -> NamedPolicy:
    raw = json.loads((shared_data / "managed-policies" / f"{name}.json").read_text())
    return NamedPolicy(name, parse_policy(raw["PolicyVersion"]["Document"]))


def all_managed(shared_data: Path) -> list[NamedPolicy]:
    return [
        managed(shared_data, p.stem)
        for p in sorted((shared_data / "managed-policies").glob("*.json"))
    ]


def test_every_document_parses(shared_data: Path) -> None:
    policies = all_managed(shared_data)
    assert len(policies) >= 10
    for pol in policies:
        assert pol.document.statements
        assert pol.document.version == "2012-10-17"


def test_s3_read_only(shared_data: Path) -> None:
    pol = managed(shared_data, "AmazonS3ReadOnlyAccess")
    assert allows(pol, "s3:GetObject", "arn:aws:s3:::any-bucket/any/key") is True
    assert allows(pol, "s3:ListBucket", "arn:aws:s3:::any-bucket") is True
    assert allows(pol, "s3:PutObject", "arn:aws:s3:::any-bucket/k") is False
    assert allows(pol, "s3:DeleteBucket", "arn:aws:s3:::any-bucket") is False
    assert allows(pol, "iam:CreateUser", "arn:aws:iam::1:user/x") is False


def test_lambda_basic_execution(shared_data: Path) -> None:
    pol = managed(shared_data, "AWSLambdaBasicExecutionRole")
    stream = "arn:aws:logs:us-east-1:111122223333:log-group:/aws/lambda/f:log-stream:s"
    assert allows(pol, "logs:PutLogEvents", stream) is True
    assert allows(pol, "logs:DeleteLogGroup", stream) is False


def test_sagemaker_full_access_pass_role_needs_the_service(shared_data: Path) -> None:
    pol = managed(shared_data, "AmazonSageMakerFullAccess")
    role = "arn:aws:iam::111122223333:role/TrainingRole"
    unknown = evaluate([pol], Request("iam:PassRole", role))
    assert unknown.decision is Decision.UNKNOWN
    assert "AllowPassRoleToSageMaker" in {r.sid for r in unknown.undecided}
    to_sagemaker = Request(
        "iam:PassRole", role, {"iam:PassedToService": ("sagemaker.amazonaws.com",)}
    )
    result = evaluate([pol], to_sagemaker)
    assert result.decision is Decision.ALLOW
    assert [r.sid for r in result.granting] == ["AllowPassRoleToSageMaker"]
    to_lambda = Request("iam:PassRole", role, {"iam:PassedToService": ("lambda.amazonaws.com",)})
    assert evaluate([pol], to_lambda).decision is Decision.IMPLICIT_DENY


def test_sagemaker_full_access_s3_objects(shared_data: Path) -> None:
    pol = managed(shared_data, "AmazonSageMakerFullAccess")
    assert allows(pol, "s3:PutObject", "arn:aws:s3:::my-sagemaker-bucket/x") is True
    # Another bucket: only the tag-conditioned GetObject statements could apply.
    assert allows(pol, "s3:PutObject", "arn:aws:s3:::data-lake/x") is False
    assert allows(pol, "s3:GetObject", "arn:aws:s3:::data-lake/x") is None
    tagged = {"s3:ExistingObjectTag/SageMaker": "TRUE"}
    assert allows(pol, "s3:GetObject", "arn:aws:s3:::data-lake/x", tagged) is True


def test_sagemaker_full_access_resource_variables(shared_data: Path) -> None:
    # AllowAllNonAdminSageMakerActions excludes space/* by NotResource; the space
    # statements put ${sagemaker:DomainId} in Resource and test the owner with Null.
    pol = managed(shared_data, "AmazonSageMakerFullAccess")
    space = "arn:aws:sagemaker:us-east-1:111122223333:space/d-abc/myspace"
    unknown = evaluate([pol], Request("sagemaker:CreateSpace", space))
    assert unknown.decision is Decision.UNKNOWN
    assert {r.sid for r in unknown.undecided} >= {"AllowMutatingActionsOnSharedSpacesWithoutOwner"}
    no_owner = Request(
        "sagemaker:CreateSpace",
        space,
        {"sagemaker:DomainId": ("d-abc",)},
        absent=frozenset({"sagemaker:OwnerUserProfileArn"}),
    )
    result = evaluate([pol], no_owner)
    assert result.decision is Decision.ALLOW
    assert [r.sid for r in result.granting] == ["AllowMutatingActionsOnSharedSpacesWithoutOwner"]
    other_domain = Request("sagemaker:CreateSpace", space, {"sagemaker:DomainId": ("d-xyz",)})
    assert evaluate([pol], other_domain).decision is Decision.IMPLICIT_DENY
    job = "arn:aws:sagemaker:us-east-1:111122223333:training-job/j"
    assert allows(pol, "sagemaker:CreateTrainingJob", job) is True


def test_bedrock_full_and_read_only(shared_data: Path) -> None:
    full = managed(shared_data, "AmazonBedrockFullAccess")
    read = managed(shared_data, "AmazonBedrockReadOnly")
    model = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
    assert allows(full, "bedrock:InvokeModel", model) is True
    assert allows(read, "bedrock:InvokeModel", model) is False
    assert allows(read, "bedrock:GetFoundationModel", model) is True
    # kms:DescribeKey is granted on arn:*:kms:*:::* only: keys carry an account.
    key = "arn:aws:kms:us-east-1:111122223333:key/1234"
    assert allows(full, "kms:DescribeKey", key) is False


def test_secrets_manager_read_write(shared_data: Path) -> None:
    pol = managed(shared_data, "SecretsManagerReadWrite")
    secret = "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf"
    assert allows(pol, "secretsmanager:GetSecretValue", secret) is True
    assert (
        allows(
            pol, "lambda:InvokeFunction", "arn:aws:lambda:us-east-1:1:function:SecretsManagerRotate"
        )
        is True
    )
    assert (
        allows(pol, "lambda:InvokeFunction", "arn:aws:lambda:us-east-1:1:function:Other") is False
    )


def _plain_allow_cases(doc: PolicyDocument) -> list[tuple[str, int]]:
    """(catalog action, statement index) for unconditional Allow-on-* statements."""
    catalog = load_catalog()
    cases = []
    for index, stmt in enumerate(doc.statements):
        if stmt.effect != "Allow" or stmt.conditions or stmt.resources != ("*",):
            continue
        for pattern in stmt.actions:
            prefix = pattern.split(":", 1)[0]
            matching = [
                a.full_name
                for a in catalog.actions_of(prefix)
                if action_matches(pattern, a.full_name)
            ]
            cases.extend((a, index) for a in matching[:3])
    return cases


def test_every_unconditional_grant_on_star_allows_its_actions(shared_data: Path) -> None:
    checked = 0
    for pol in all_managed(shared_data):
        for action, index in _plain_allow_cases(pol.document):
            result = evaluate([pol], Request(action, "*"))
            assert result.decision is Decision.ALLOW, (pol.name, action)
            assert index in {r.index for r in result.granting}
            checked += 1
    assert checked > 50


@pytest.mark.parametrize(
    "action", ["iam:CreateUser", "organizations:LeaveOrganization", "kms:ScheduleKeyDeletion"]
)
def test_nothing_grants_account_takeover_actions(shared_data: Path, action: str) -> None:
    for pol in all_managed(shared_data):
        assert allows(pol, action, "*") is False, pol.name
