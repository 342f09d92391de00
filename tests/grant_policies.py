"""Policy documents used as "current grants" in the diff and grants tests.

Written for these tests in the shape of real grants (an AWS-managed-style
SageMaker policy with service wildcards and NotResource, inline data access,
a boundary, a group policy); not copied from AWS.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

ACCOUNT = "111122223333"
BROAD_ARN = f"arn:aws:iam::{ACCOUNT}:policy/ml-sagemaker-broad"
BOUNDARY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/boundaries/ml-boundary"
DATASETS_ARN = f"arn:aws:iam::{ACCOUNT}:policy/read-datasets"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/service-role/Trainer"

SAGEMAKER_BROAD: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "AllSageMakerButDomains",
            "Effect": "Allow",
            "Action": "sagemaker:*",
            "NotResource": [
                "arn:aws:sagemaker:*:*:domain/*",
                "arn:aws:sagemaker:*:*:user-profile/*",
            ],
        },
        {
            "Sid": "SupportingServices",
            "Effect": "Allow",
            "Action": [
                "ecr:*",
                "cloudwatch:*",
                "logs:*",
                "glue:*",
                "athena:*",
                "ec2:Describe*",
                "kms:DescribeKey",
                "kms:ListAliases",
                "lambda:InvokeFunction",
                "lambda:ListFunctions",
                "sns:ListTopics",
            ],
            "Resource": "*",
        },
        {
            "Sid": "ModelBuckets",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"],
            "Resource": ["arn:aws:s3:::*sagemaker*", "arn:aws:s3:::*sagemaker*/*"],
        },
        {
            "Sid": "PassExecutionRoles",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": f"arn:aws:iam::{ACCOUNT}:role/*",
            "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        },
    ],
}

TRAINING_DATA_INLINE: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "ReadTrainingData",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": ["arn:aws:s3:::ml-data", "arn:aws:s3:::ml-data/*"],
        },
        {
            "Sid": "Secrets",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:ml/*",
        },
    ],
}

BOUNDARY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "OnlyMlServices",
            "Effect": "Allow",
            "Action": ["sagemaker:*", "s3:*", "ecr:*", "logs:*", "iam:PassRole", "kms:*",
                       "secretsmanager:GetSecretValue", "cloudwatch:*"],
            "Resource": "*",
        },
        {"Sid": "NeverDeleteData", "Effect": "Deny", "Action": "s3:DeleteObject",
         "Resource": "*"},
    ],
}

ANALYST_GROUP_INLINE: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["athena:StartQueryExecution", "athena:GetQueryResults"],
         "Resource": "*"},
    ],
}

READ_DATASETS_MANAGED: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
         "Resource": ["arn:aws:s3:::datasets", "arn:aws:s3:::datasets/*"]},
    ],
}

USER_INLINE: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "glue:GetTable", "Resource": "*"}],
}


def managed_entry(name: str, arn: str, document: Any, default: str = "v2") -> dict[str, Any]:
    """A Policies entry with an old non-default version and the default one."""
    old = {"Version": "2012-10-17",
           "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    return {
        "PolicyName": name, "PolicyId": "ANPAEXAMPLE", "Arn": arn, "Path": "/",
        "DefaultVersionId": default, "AttachmentCount": 1, "IsAttachable": True,
        "PolicyVersionList": [
            {"Document": old, "VersionId": "v1", "IsDefaultVersion": default == "v1",
             "CreateDate": "2026-01-01T00:00:00Z"},
            {"Document": document, "VersionId": "v2", "IsDefaultVersion": default == "v2",
             "CreateDate": "2026-02-01T00:00:00Z"},
        ],
    }


def authorization_details(encoded: bool = False) -> dict[str, Any]:
    """An authorization-details document as ``aws iam get-account-authorization-details``
    prints it; ``encoded`` gives documents URL-encoded, as the raw IAM API returns them."""

    def doc(value: dict[str, Any]) -> Any:
        return quote(json.dumps(value)) if encoded else value

    return {
        "UserDetailList": [{
            "Path": "/people/", "UserName": "dana", "UserId": "AIDAEXAMPLE",
            "Arn": f"arn:aws:iam::{ACCOUNT}:user/people/dana",
            "CreateDate": "2026-01-01T00:00:00Z", "GroupList": ["analysts"],
            "AttachedManagedPolicies": [], "UserPolicyList": [],
            "PermissionsBoundary": {"PermissionsBoundaryType": "Policy",
                                    "PermissionsBoundaryArn": BOUNDARY_ARN},
        }],
        "GroupDetailList": [{
            "Path": "/", "GroupName": "analysts", "GroupId": "AGPAEXAMPLE",
            "Arn": f"arn:aws:iam::{ACCOUNT}:group/analysts",
            "GroupPolicyList": [{"PolicyName": "athena",
                                 "PolicyDocument": doc(ANALYST_GROUP_INLINE)}],
            "AttachedManagedPolicies": [{"PolicyName": "read-datasets",
                                         "PolicyArn": DATASETS_ARN}],
        }],
        "RoleDetailList": [{
            "Path": "/service-role/", "RoleName": "Trainer", "RoleId": "AROAEXAMPLE",
            "Arn": ROLE_ARN, "CreateDate": "2026-01-01T00:00:00Z",
            "AssumeRolePolicyDocument": doc({"Version": "2012-10-17", "Statement": []}),
            "InstanceProfileList": [],
            "RolePolicyList": [{"PolicyName": "training-data",
                                "PolicyDocument": doc(TRAINING_DATA_INLINE)}],
            "AttachedManagedPolicies": [{"PolicyName": "ml-sagemaker-broad",
                                         "PolicyArn": BROAD_ARN}],
            "PermissionsBoundary": {"PermissionsBoundaryType": "Policy",
                                    "PermissionsBoundaryArn": BOUNDARY_ARN},
            "Tags": [], "RoleLastUsed": {},
        }],
        "Policies": [
            managed_entry("ml-sagemaker-broad", BROAD_ARN, doc(SAGEMAKER_BROAD)),
            managed_entry("ml-boundary", BOUNDARY_ARN, doc(BOUNDARY), default="v2"),
            managed_entry("read-datasets", DATASETS_ARN, doc(READ_DATASETS_MANAGED)),
        ],
    }


def authorization_details_file(folder: Path, details: dict[str, Any] | None = None) -> Path:
    """``folder``/auth.json holding ``details`` (by default, authorization_details())."""
    path = folder / "auth.json"
    path.write_text(json.dumps(authorization_details() if details is None else details),
                    encoding="utf-8")
    return path
