"""Sample policies for the rendering tests: split over three documents, and
one of values chosen to break naive quoting."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from iamgen.model import Condition, PolicyDocument, Principal, PrincipalKind, Provenance, Statement
from iamgen.render import RenderedFile, render_policies

ACCOUNT = "123456789012"
ROLE = Principal(
    f"arn:aws:iam::{ACCOUNT}:role/service-role/SageMakerTrainingRole", PrincipalKind.ROLE
)
FIRST = datetime(2026, 11, 2, 8, 15, 0, tzinfo=UTC)
LAST = datetime(2026, 11, 8, 17, 45, 30, tzinfo=UTC)
PROVENANCE = Provenance(ROLE, FIRST, LAST, 1234, "0.1.202610271", "0.1.0")


def document(*statements: Statement) -> PolicyDocument:
    """A policy document of ``statements``, in that order."""
    return PolicyDocument(statements)


ML_POLICY = document(
    Statement(
        sid="BedrockInvoke",
        actions=("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"),
        resources=(
            f"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/us.anthropic.claude-v2",
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-v2",
            "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-v2",
        ),
        conditions=(
            Condition("StringEquals", "aws:RequestedRegion", ("us-east-1", "us-west-2")),
        ),
    ),
    Statement(
        sid="S3ListTrainingData",
        actions=("s3:ListBucket",),
        resources=("arn:aws:s3:::ml-training-data",),
        conditions=(Condition("StringLike", "s3:prefix", ("train/*", "eval/*", "")),),
    ),
    Statement(
        sid="S3ReadOwnPrefix",
        actions=("s3:GetObject",),
        resources=("arn:aws:s3:::ml-training-data/${aws:PrincipalTag/team}/*",),
    ),
    Statement(
        sid="PassRoleToSageMaker",
        actions=("iam:PassRole",),
        resources=(f"arn:aws:iam::{ACCOUNT}:role/service-role/SageMakerExecution",),
        conditions=(
            Condition("StringEquals", "iam:PassedToService", ("sagemaker.amazonaws.com",)),
        ),
    ),
    Statement(
        sid="KmsViaS3",
        actions=("kms:Decrypt", "kms:GenerateDataKey"),
        resources=(
            f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ),
        conditions=(
            # canonical order: sorted by operator, then key (as JSON groups them)
            Condition("Bool", "aws:SecureTransport", ("true",)),
            Condition("StringEquals", "aws:ResourceAccount", (ACCOUNT,)),
            Condition("StringEquals", "kms:ViaService", ("s3.us-east-1.amazonaws.com",)),
        ),
    ),
    Statement(sid="EcrLogin", actions=("ecr:GetAuthorizationToken",), resources=("*",)),
    Statement(
        sid="DenyOutsideRegions",
        effect="Deny",
        not_actions=("iam:*", "sts:*", "support:*"),
        resources=("*",),
        conditions=(
            Condition("StringNotEquals", "aws:RequestedRegion", ("us-east-1", "us-west-2")),
        ),
    ),
    Statement(
        sid="DenyOtherBuckets",
        effect="Deny",
        actions=("s3:*",),
        not_resources=("arn:aws:s3:::ml-training-data", "arn:aws:s3:::ml-training-data/*"),
    ),
)
LOGS_POLICY = document(
    Statement(
        sid="Logs",
        actions=("logs:CreateLogStream", "logs:PutLogEvents"),
        resources=(f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/sagemaker/TrainingJobs:*",),
    ),
    Statement(
        sid="Secrets",
        actions=("secretsmanager:GetSecretValue",),
        resources=(f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:hf-token-??????",),
    ),
)
DYNAMO_POLICY = document(
    Statement(
        actions=("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"),
        resources=(f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/feature-cache",),
    ),
)
SPLIT = (ML_POLICY, LOGS_POLICY, DYNAMO_POLICY)

# Values chosen to break naive quoting: quotes, backslashes, template and
# interpolation markers, YAML indicators, comment signs, line breaks, non-ASCII.
ODD_VALUES = (
    'quote"inside',
    "back\\slash",
    "${aws:username}",
    "$${already}",
    "%{if x}",
    "100%",
    "# not a comment",
    "key: value",
    "- dash",
    "!Ref Evil",
    "*",
    "true",
    "null",
    "2012-10-17",
    "0x1F",
    "line\nbreak",
    "tab\there",
    "cr\rlf",
    "bell\x07",
    "caf\u00e9 \u65e5\u672c \U0001f916",
    "\u2028sep",
    "",
    " leading and trailing ",
)
ODD_POLICY = document(
    Statement(
        sid="Odd",
        actions=("s3:GetObject",),
        resources=tuple(f"arn:aws:s3:::b/{v}" for v in ODD_VALUES),
        conditions=(
            Condition("StringLike", 'aws:PrincipalTag/te"am', ODD_VALUES),
            Condition("StringEquals", "true", ("yes",)),
            Condition("ForAnyValue:StringEquals", "aws:TagKeys", ("a", "b")),
        ),
    ),
)


def render_sample(
    fmt: str, documents: tuple[PolicyDocument, ...] = SPLIT, name: str = ROLE.name, **kw: Any
) -> tuple[RenderedFile, ...]:
    """``documents`` rendered in ``fmt`` for ROLE, with PROVENANCE."""
    return render_policies(name, documents, PROVENANCE, fmt, **kw)
