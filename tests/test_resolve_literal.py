"""Names that hold characters IAM reads as wildcards or variables stay literal.

S3 object keys may hold any character
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html). In a
policy's Resource, ``*`` and ``?`` are wildcards and ``${`` starts a variable;
``${*}``, ``${?}`` and ``${$}`` stand for the characters themselves
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-specialchars).
A policy for an object ``a*b.csv`` must not grant ``aXYZb.csv``.
"""

from __future__ import annotations

import pytest

from iamgen.arn import literal, literal_arn, unescape
from iamgen.grants.evaluate import Decision, Request, evaluate
from iamgen.mapping.resolve import resolve
from iamgen.model import Permission
from iamgen.synth import synthesize
from tests.resolving import grants, record

KEY = "reports/a*b?c${x}.csv"
POLICY_TEXT = "arn:aws:s3:::data/reports/a${*}b${?}c${$}{x}.csv"


@pytest.mark.parametrize("text", ["a*b", "?", "${aws:username}", "_$folder$", "${*}", "plain/x"])
def test_literal_round_trips(text: str) -> None:
    assert unescape(literal(text)) == text
    assert "*" not in literal(text).replace("${*}", "")


def test_object_key_from_the_record_resources_is_literal() -> None:
    rec = record("s3", "GetObject", {"bucketName": "data", "key": KEY},
                 resources=[{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::data/{KEY}"}])
    assert grants(resolve(rec)) == {("s3:GetObject", POLICY_TEXT)}


def test_object_key_from_the_request_is_literal() -> None:
    assert grants(resolve(record("s3", "PutObject", {"bucketName": "data", "key": KEY}))) == {
        ("s3:PutObject", POLICY_TEXT)}


def test_copy_source_question_mark_in_the_key_is_not_the_version_query() -> None:
    # x-amz-copy-source is URL-encoded; ?versionId= may follow it:
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html
    params = {"bucketName": "dst", "key": "out", "x-amz-copy-source": "src/a%3Fb.csv?versionId=7"}
    assert grants(resolve(record("s3", "CopyObject", params))) == {
        ("s3:GetObjectVersion", "arn:aws:s3:::src/a${?}b.csv"),
        ("s3:PutObject", "arn:aws:s3:::dst/out"),
    }


def test_aws_notation_in_logged_arns_is_kept() -> None:
    # A log group's ARN as AWS writes it ends in ":*"; it is not a name to escape:
    # https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_LogGroup.html
    group = "arn:aws:logs:us-east-1:111122223333:log-group:/aws/sagemaker/TrainingJobs:*"
    assert literal_arn(group) == group
    assert literal_arn(f"arn:aws:s3:::data/{KEY}") == POLICY_TEXT
    assert literal_arn("arn:aws:s3:::data") == "arn:aws:s3:::data"


def test_other_names_in_logged_arns_are_literal_too() -> None:
    # CloudWatch alarm names may hold any character but control characters:
    # https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
    alarm = "arn:aws:cloudwatch:us-east-1:111122223333:alarm:cpu*high"
    rec = record("monitoring", "TagResource", {"resourceARN": alarm, "tags": []})
    assert grants(resolve(rec)) == {
        ("cloudwatch:TagResource", "arn:aws:cloudwatch:us-east-1:111122223333:alarm:cpu${*}high")}


def test_the_policy_allows_the_object_and_nothing_its_name_would_match_as_a_pattern() -> None:
    [document] = synthesize([Permission("s3:GetObject", POLICY_TEXT)]).documents

    def decision(key: str) -> Decision:
        return evaluate([document], Request("s3:GetObject", f"arn:aws:s3:::data/{key}")).decision

    assert decision(KEY) is Decision.ALLOW
    assert decision("reports/aXYZbQc${x}.csv") is not Decision.ALLOW
    assert decision("reports/a*b?cX.csv") is not Decision.ALLOW

