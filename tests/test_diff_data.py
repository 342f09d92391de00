"""The diff's data files: every not-observable entry and finding code, checked."""

from __future__ import annotations

import pytest

from iamgen.catalog import load_catalog
from iamgen.findings import finding_catalog
from iamgen.grants.observable import Visibility, blind_spots, load_blind_spots, recorded_groups

ENTRIES = load_blind_spots()


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.id for e in ENTRIES])
def test_every_not_observable_entry_names_catalog_actions_and_an_aws_source(entry) -> None:
    catalog = load_catalog()
    for action in entry.actions:
        info = catalog.action(action)
        assert info is not None, f"{entry.id}: {action} is not in the IAM catalog"
        assert info.full_name == action, f"{entry.id}: spell {action} as {info.full_name}"
    assert entry.source.startswith("https://docs.aws.amazon.com/"), entry.id
    assert len(entry.note) > 40, entry.id
    if entry.visibility is Visibility.DATA_EVENT:
        assert entry.service, entry.id
        assert all(a.startswith(f"{entry.service}:") for a in entry.resolve(catalog)), entry.id


def test_ids_are_unique_and_no_action_has_two_reasons() -> None:
    catalog = load_catalog()
    assert len({e.id for e in ENTRIES}) == len(ENTRIES)
    seen: dict[str, str] = {}
    for entry in ENTRIES:
        for action in entry.resolve(catalog):
            assert action not in seen, f"{action} in {seen.get(action)} and {entry.id}"
            seen[action] = entry.id


def test_s3_object_actions_come_from_the_catalogs_object_resource_type() -> None:
    """Object-level S3 API calls are data events; the catalog's ``object`` type finds them.

    https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-s3-info.html
    """
    table = blind_spots(load_catalog())
    for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:GetObjectTagging",
                   "s3:AbortMultipartUpload", "s3:ListBucket"):
        assert table[action.lower()].id == "s3-objects", action
    for action in ("s3:CreateBucket", "s3:PutBucketPolicy", "s3:GetBucketLocation"):
        assert action.lower() not in table, action


def test_the_ml_blind_spots_the_issue_names_are_covered() -> None:
    table = blind_spots(load_catalog())
    expected = {
        "iam:passrole": Visibility.NEVER_LOGGED,
        "sagemaker:invokeendpoint": Visibility.NEVER_LOGGED,
        "lambda:invokefunction": Visibility.DATA_EVENT,
        "dynamodb:getitem": Visibility.DATA_EVENT,
        "bedrock:invokeagent": Visibility.DATA_EVENT,
        "bedrock:retrieve": Visibility.DATA_EVENT,
        "kms:decrypt": Visibility.INDIRECT,
    }
    assert {a: table[a].visibility for a in expected} == expected
    # Bedrock model invocation is a management event: judged, never kept blindly.
    assert "bedrock:invokemodel" not in table


def test_a_data_event_group_counts_as_recorded_only_when_seen() -> None:
    table = blind_spots(load_catalog())
    assert recorded_groups(["dynamodb:DescribeTable"], table) == frozenset()
    assert recorded_groups(["dynamodb:Query", "s3:GetObject", "iam:PassRole"], table) == {
        "dynamodb-items", "s3-objects"}


def test_finding_catalog_is_complete() -> None:
    kinds = finding_catalog()
    assert set(kinds) == {"USED_GRANTED", "USED_CONDITIONAL", "UNUSED_SERVICE", "UNUSED_ACTION",
                          "INEFFECTIVE_GRANT", "USED_NOT_GRANTED", "DENIED", "NOT_OBSERVABLE"}
    for code, kind in kinds.items():
        assert kind.code == code
        assert kind.severity in {"info", "low", "medium", "high"}
        assert kind.title and len(kind.description) > 40
