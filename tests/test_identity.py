"""userIdentity -> principal, for every identity type CloudTrail logs.

Identity types and their fields: CloudTrail User Guide, "CloudTrail userIdentity element"
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html
"""

from __future__ import annotations

from iamgen.mapping.identity import principal_of
from iamgen.model import Principal, PrincipalKind
from tests.records import record, role_identity, user_identity

ACCT = "111122223333"


def test_assumed_role_counts_for_its_role_with_path() -> None:
    got = principal_of(record(role_identity("Trainer", path="/service-role/"), "s3.amazonaws.com", "ListBuckets"))
    assert got == Principal(f"arn:aws:iam::{ACCT}:role/service-role/Trainer", PrincipalKind.ROLE)


def test_assumed_role_without_issuer_falls_back_to_session_arn() -> None:
    identity = role_identity("Trainer")
    del identity["sessionContext"]
    got = principal_of(record(identity, "s3.amazonaws.com", "ListBuckets"))
    assert got == Principal(f"arn:aws:iam::{ACCT}:role/Trainer", PrincipalKind.ROLE)


def test_iam_user_and_root() -> None:
    assert principal_of(record(user_identity("alice"), "s3.amazonaws.com", "ListBuckets")) == Principal(
        f"arn:aws:iam::{ACCT}:user/alice", PrincipalKind.USER)
    root = {"type": "Root", "principalId": ACCT, "arn": f"arn:aws:iam::{ACCT}:root", "accountId": ACCT}
    assert principal_of(record(root, "s3.amazonaws.com", "ListBuckets")) == Principal(
        f"arn:aws:iam::{ACCT}:root", PrincipalKind.ROOT)


def test_federated_user_counts_for_the_issuing_user() -> None:
    identity = {
        "type": "FederatedUser", "arn": f"arn:aws:sts::{ACCT}:federated-user/bob", "accountId": ACCT,
        "sessionContext": {"sessionIssuer": {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCT}:user/alice",
                                             "userName": "alice", "accountId": ACCT}},
    }
    assert principal_of(record(identity, "s3.amazonaws.com", "ListBuckets")) == Principal(
        f"arn:aws:iam::{ACCT}:user/alice", PrincipalKind.USER)


def test_calls_by_aws_belong_to_nobody() -> None:
    service = {"type": "AWSService", "invokedBy": "sagemaker.amazonaws.com"}
    assert principal_of(record(service, "sts.amazonaws.com", "AssumeRole")) == "service_call"
    event = record({"accountId": ACCT, "invokedBy": "AWS Internal"}, "kms.amazonaws.com", "RotateKey",
                   eventType="AwsServiceEvent")
    assert principal_of(event) == "service_event"
    internal = role_identity("aws:ec2-infrastructure")
    del internal["sessionContext"]
    assert principal_of(record(internal, "kms.amazonaws.com", "Decrypt")) == "service_call"


def test_forward_access_session_still_belongs_to_the_caller() -> None:
    # A service calling KMS for the role (invokedBy) needs the role's own permission.
    identity = role_identity("Trainer") | {"invokedBy": "secretsmanager.amazonaws.com"}
    assert isinstance(principal_of(record(identity, "kms.amazonaws.com", "Decrypt")), Principal)


def test_other_account_and_missing_identity() -> None:
    other = {"type": "AWSAccount", "principalId": "AIDAX", "accountId": "444455556666"}
    assert principal_of(record(other, "s3.amazonaws.com", "GetObject")) == "other_account_caller"
    assert principal_of({"eventName": "X"}) == "missing_userIdentity"
