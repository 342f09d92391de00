"""Policy documents used as "current grants" in the diff and grants tests.

Written for these tests in the shape of real grants (an AWS-managed-style
SageMaker policy with service wildcards and NotResource, inline data access,
a boundary, a group policy); not copied from AWS.
"""

from __future__ import annotations

from typing import Any

ACCOUNT = "111122223333"

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
