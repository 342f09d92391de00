"""Which request parameter fills which placeholder of a multi-part ARN.

A parameter named after a placeholder belongs to it before any other
placeholder takes it as a fallback.
"""

from __future__ import annotations

import pytest

from iamgen.mapping.resolve import resolve
from tests.resolving import assert_granted, grants, record




@pytest.mark.parametrize("group", [
    "arn:aws:logs:us-east-1:111122223333:log-group:/aws/sagemaker/TrainingJobs",
    "arn:aws:logs:us-east-1:111122223333:log-group:/aws/sagemaker/TrainingJobs:*",
    "/aws/sagemaker/TrainingJobs",
])
def test_log_stream_group_comes_from_log_group_identifier_never_from_the_stream(group: str) -> None:
    # GetLogEvents takes logGroupName or logGroupIdentifier (a name or the group's ARN):
    # https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetLogEvents.html
    rec = record("logs", "GetLogEvents", {"logGroupIdentifier": group, "logStreamName": "algo-1"})
    assert grants(resolve(rec)) == {(
        "logs:GetLogEvents",
        "arn:aws:logs:us-east-1:111122223333:log-group:/aws/sagemaker/TrainingJobs"
        ":log-stream:algo-1")}


def test_a_stream_without_its_group_is_not_granted_on_a_made_up_group() -> None:
    rec = record("logs", "GetLogEvents", {"logStreamName": "algo-1"})
    resolution = resolve(rec)
    assert_granted(resolution, {("logs:GetLogEvents", "*")}, unknown=("logs:GetLogEvents",))


def test_a_log_group_named_by_its_arn_keeps_its_region_and_account() -> None:
    # Cross-account observability: logGroupIdentifier may be another account's group ARN.
    rec = record("logs", "GetLogEvents", {
        "logGroupIdentifier": "arn:aws:logs:eu-west-1:999999999999:log-group:/app/x",
        "logStreamName": "s1"})
    assert grants(resolve(rec)) == {
        ("logs:GetLogEvents", "arn:aws:logs:eu-west-1:999999999999:log-group:/app/x:log-stream:s1")}


def test_one_member_never_fills_two_placeholders_whatever_its_case() -> None:
    # The any-case fallback must not take again a member another placeholder took.
    rec = record("appconfig", "DeleteConfigurationProfile", {"configurationProfileId": "prof1"})
    assert all("/prof1/" not in p.resource for p in resolve(rec).permissions)
