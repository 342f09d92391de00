"""Resource kinds come from the catalog's ARN formats: the most specific one
an ARN matches names its type."""

from __future__ import annotations

import pytest

from iamgen.resource_kinds import resource_kind

ACCOUNT = "111122223333"


@pytest.mark.parametrize(("arn", "kind"), [
    ("*", "*"),
    ("arn:aws:s3:::ml-data", "s3:bucket"),
    ("arn:aws:s3:::ml-data/train/a.csv", "s3:object"),
    (f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab", "kms:key"),
    ("arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
     "bedrock:foundation-model"),
    (f"arn:aws:iam::{ACCOUNT}:role/service-role/X", "iam:role"),
    (f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/sagemaker/TrainingJobs:log-stream:j/a",
     "logs:log-stream"),
    (f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-AbCdEf", "secretsmanager:secret"),
    (f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/run-1", "sagemaker:training-job"),
    ("arn:aws:madeup:us-east-1:1:widget/x", "madeup:widget"),
])
def test_resource_kind_comes_from_catalog_arn_formats(arn: str, kind: str) -> None:
    assert resource_kind(arn) == kind
