"""Reading current grants live through the IAM API, against moto in server mode.

No boto3 mocking: the loader talks HTTP to a moto server on 127.0.0.1.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from iamgen.errors import GrantsError
from iamgen.grants import load
from iamgen.grants.load import find_live, iam_client, list_live, load_live
from iamgen.grants.model import PolicyKind
from iamgen.model import Principal, PrincipalKind
from tests.awsserver import _moto_server, aws_endpoint, enforce_auth, iam  # noqa: F401
from tests.grant_policies import (
    ANALYST_GROUP_INLINE,
    BOUNDARY,
    READ_DATASETS_MANAGED,
    SAGEMAKER_BROAD,
    TRAINING_DATA_INLINE,
    USER_INLINE,
)

MOTO_ACCOUNT = "123456789012"  # moto's default account
TRUST = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
})


def make_training_role(iam: Any, boundary: bool = True) -> str:  # noqa: F811
    """A SageMaker execution role: broad managed policy, inline data access, a boundary."""
    broad = iam.create_policy(PolicyName="ml-sagemaker-broad",
                              PolicyDocument=json.dumps(SAGEMAKER_BROAD))["Policy"]["Arn"]
    extra: dict[str, Any] = {}
    if boundary:
        extra["PermissionsBoundary"] = iam.create_policy(
            PolicyName="ml-boundary", Path="/boundaries/",
            PolicyDocument=json.dumps(BOUNDARY))["Policy"]["Arn"]
    role = iam.create_role(RoleName="Trainer", Path="/service-role/",
                           AssumeRolePolicyDocument=TRUST, **extra)["Role"]
    iam.attach_role_policy(RoleName="Trainer", PolicyArn=broad)
    iam.put_role_policy(RoleName="Trainer", PolicyName="training-data",
                        PolicyDocument=json.dumps(TRAINING_DATA_INLINE))
    return str(role["Arn"])


def role(arn: str) -> Principal:
    return Principal(arn, PrincipalKind.ROLE)


def test_role_inline_managed_and_boundary_are_read(iam: Any) -> None:  # noqa: F811
    arn = make_training_role(iam)
    grants = load_live(iam, role(arn))
    assert grants.source == "iam"
    assert grants.principal.arn == f"arn:aws:iam::{MOTO_ACCOUNT}:role/service-role/Trainer"
    kinds = {(p.kind, p.name) for p in grants.policies}
    assert kinds == {(PolicyKind.INLINE, "training-data"),
                     (PolicyKind.MANAGED, "ml-sagemaker-broad")}
    managed = next(p for p in grants.policies if p.kind is PolicyKind.MANAGED)
    assert managed.arn == f"arn:aws:iam::{MOTO_ACCOUNT}:policy/ml-sagemaker-broad"
    assert managed.document.statements[0].not_resources  # NotResource survived the trip
    assert grants.boundary is not None
    assert grants.boundary.kind is PolicyKind.BOUNDARY
    assert grants.boundary.arn == f"arn:aws:iam::{MOTO_ACCOUNT}:policy/boundaries/ml-boundary"
    assert [s.sid for s in grants.boundary.document.statements] == ["OnlyMlServices",
                                                                   "NeverDeleteData"]


def test_role_seen_without_its_path_is_found_by_name(iam: Any) -> None:  # noqa: F811
    make_training_role(iam, boundary=False)
    grants = load_live(iam, role(f"arn:aws:iam::{MOTO_ACCOUNT}:role/Trainer"))
    assert grants.boundary is None
    assert len(grants.policies) == 2


def test_managed_policy_default_version_is_the_one_read(iam: Any) -> None:  # noqa: F811
    """GetPolicyVersion of DefaultVersionId, not v1: IAM keeps up to five versions.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-versioning.html
    """
    make_training_role(iam, boundary=False)
    arn = f"arn:aws:iam::{MOTO_ACCOUNT}:policy/ml-sagemaker-broad"
    narrowed = {"Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sagemaker:ListModels",
                               "Resource": "*"}]}
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(narrowed),
                              SetAsDefault=True)
    grants = load_live(iam, role(f"arn:aws:iam::{MOTO_ACCOUNT}:role/service-role/Trainer"))
    managed = next(p for p in grants.policies if p.kind is PolicyKind.MANAGED)
    assert managed.document.statements[0].actions == ("sagemaker:ListModels",)


def test_user_with_groups_reads_group_inline_and_attached(iam: Any) -> None:  # noqa: F811
    iam.create_user(UserName="dana", Path="/people/")  # moto 5 keeps no user boundary
    iam.put_user_policy(UserName="dana", PolicyName="own", PolicyDocument=json.dumps(USER_INLINE))
    iam.create_group(GroupName="analysts")
    iam.put_group_policy(GroupName="analysts", PolicyName="athena",
                         PolicyDocument=json.dumps(ANALYST_GROUP_INLINE))
    datasets = iam.create_policy(PolicyName="read-datasets",
                                 PolicyDocument=json.dumps(READ_DATASETS_MANAGED))["Policy"]["Arn"]
    iam.attach_group_policy(GroupName="analysts", PolicyArn=datasets)
    iam.add_user_to_group(GroupName="analysts", UserName="dana")
    user = Principal(f"arn:aws:iam::{MOTO_ACCOUNT}:user/people/dana", PrincipalKind.USER)
    grants = load_live(iam, user)
    labels = sorted(p.label for p in grants.policies)
    assert labels == ["group/analysts:athena", "group/analysts:read-datasets", "inline:own"]
    attached = next(p for p in grants.policies if p.name == "read-datasets")
    assert attached.kind is PolicyKind.GROUP and attached.arn == datasets
    assert attached.group == "analysts"


def test_every_page_is_read(iam: Any, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """ListAttachedRolePolicies is paginated (Marker/IsTruncated); moto honours MaxItems."""
    make_training_role(iam, boundary=False)
    for index in range(4):
        arn = iam.create_policy(PolicyName=f"extra-{index}",
                                PolicyDocument=json.dumps(USER_INLINE))["Policy"]["Arn"]
        iam.attach_role_policy(RoleName="Trainer", PolicyArn=arn)
    first = iam.list_attached_role_policies(RoleName="Trainer", MaxItems=2)
    assert first["IsTruncated"] is True  # the server really pages
    monkeypatch.setattr(load, "PAGE_SIZE", 2)
    grants = load_live(iam, role(f"arn:aws:iam::{MOTO_ACCOUNT}:role/service-role/Trainer"))
    managed = [p.name for p in grants.policies if p.kind is PolicyKind.MANAGED]
    assert managed == ["extra-0", "extra-1", "extra-2", "extra-3", "ml-sagemaker-broad"]


def test_missing_role_is_a_clear_error(iam: Any) -> None:  # noqa: F811
    with pytest.raises(GrantsError, match=r"cannot read role Ghost: it does not exist"):
        load_live(iam, role(f"arn:aws:iam::{MOTO_ACCOUNT}:role/Ghost"))


def test_access_denied_names_the_call_and_is_never_an_empty_grant_set(
    iam: Any, aws_endpoint: str  # noqa: F811
) -> None:
    make_training_role(iam)
    iam.create_user(UserName="auditor")
    iam.put_user_policy(UserName="auditor", PolicyName="only-get-role", PolicyDocument=json.dumps(
        {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="auditor")["AccessKey"]
    limited = boto3.client("iam", endpoint_url=aws_endpoint, region_name="us-east-1",
                           aws_access_key_id=key["AccessKeyId"],
                           aws_secret_access_key=key["SecretAccessKey"])
    enforce_auth(aws_endpoint, True)
    with pytest.raises(GrantsError) as caught:
        load_live(limited, role(f"arn:aws:iam::{MOTO_ACCOUNT}:role/service-role/Trainer"))
    message = str(caught.value)
    assert "inline policies of role Trainer" in message
    assert "iam:ListRolePolicies was denied (AccessDenied)" in message


def test_root_has_no_grants_to_diff(iam: Any) -> None:  # noqa: F811
    with pytest.raises(GrantsError, match="root"):
        load_live(iam, Principal(f"arn:aws:iam::{MOTO_ACCOUNT}:root", PrincipalKind.ROOT))


def test_find_live_prefers_a_role_then_a_user(iam: Any) -> None:  # noqa: F811
    make_training_role(iam, boundary=False)
    iam.create_user(UserName="dana")
    assert find_live(iam, "Trainer").kind is PrincipalKind.ROLE
    assert find_live(iam, "dana") == Principal(f"arn:aws:iam::{MOTO_ACCOUNT}:user/dana",
                                               PrincipalKind.USER)
    with pytest.raises(GrantsError, match="does not exist"):
        find_live(iam, "nobody")


def test_list_live_reads_every_page_of_roles_and_users(
    iam: Any, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    """ListRoles and ListUsers are paginated (Marker/IsTruncated): every page counts.

    https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListRoles.html
    """
    for index in range(5):
        iam.create_role(RoleName=f"r{index}", Path="/team/", AssumeRolePolicyDocument=TRUST)
    for name in ("ana", "bo", "cy"):
        iam.create_user(UserName=name)
    assert iam.list_roles(MaxItems=2)["IsTruncated"] is True  # the server really pages
    monkeypatch.setattr(load, "PAGE_SIZE", 2)
    listed = list_live(iam)
    assert [(p.kind, p.arn.split(":", 5)[-1]) for p in listed] == (
        [(PrincipalKind.ROLE, f"role/team/r{i}") for i in range(5)]
        + [(PrincipalKind.USER, f"user/{n}") for n in ("ana", "bo", "cy")])
    assert {p.account for p in listed} == {MOTO_ACCOUNT}


def test_list_live_of_an_empty_account_is_empty(iam: Any) -> None:  # noqa: F811
    assert list_live(iam) == ()


@pytest.mark.parametrize(("allowed", "denied"), [("iam:ListUsers", "ListRoles"),
                                                 ("iam:ListRoles", "ListUsers")])
def test_list_live_denied_names_the_call(iam: Any, aws_endpoint: str,  # noqa: F811
                                         allowed: str, denied: str) -> None:
    """A denied listing is an error, never a shorter list of principals."""
    iam.create_role(RoleName="Trainer", AssumeRolePolicyDocument=TRUST)
    iam.create_user(UserName="auditor")
    iam.put_user_policy(UserName="auditor", PolicyName="half", PolicyDocument=json.dumps(
        {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": allowed, "Resource": "*"}]}))
    key = iam.create_access_key(UserName="auditor")["AccessKey"]
    limited = boto3.client("iam", endpoint_url=aws_endpoint, region_name="us-east-1",
                           aws_access_key_id=key["AccessKeyId"],
                           aws_secret_access_key=key["SecretAccessKey"])
    enforce_auth(aws_endpoint, True)
    with pytest.raises(GrantsError, match=f"iam:{denied} was denied \\(AccessDenied\\)"):
        list_live(limited)


def test_client_follows_aws_endpoint_url(aws_endpoint: str) -> None:  # noqa: F811
    """boto3 reads AWS_ENDPOINT_URL itself (set by the fixture): no endpoint passed here.

    https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html
    """
    client = iam_client()
    assert client.meta.endpoint_url == aws_endpoint
    client.create_role(RoleName="Viaenv", AssumeRolePolicyDocument=TRUST)
    assert load_live(client, role(f"arn:aws:iam::{MOTO_ACCOUNT}:role/Viaenv")).policies == ()


def test_unknown_profile_is_a_grants_error() -> None:
    with pytest.raises(GrantsError, match="cannot set up an IAM client"):
        iam_client(profile="no-such-profile")
