"""Records for resolver tests, and what a resolution grants, in a form easy to compare."""

from __future__ import annotations

from typing import Any

from iamgen.model import Resolution

ACCOUNT = "111122223333"
REGION = "us-east-1"


def record(source: str, name: str, params: Any = None, **extra: Any) -> dict[str, Any]:
    """A minimal management-event record by an assumed-role session."""
    rec: dict[str, Any] = {
        "eventVersion": "1.09",
        "eventSource": source if "." in source else f"{source}.amazonaws.com",
        "eventName": name,
        "eventType": "AwsApiCall",
        "awsRegion": REGION,
        "recipientAccountId": ACCOUNT,
        "userIdentity": {
            "type": "AssumedRole",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/Trainer/session",
            "accountId": ACCOUNT,
        },
        "requestParameters": params,
        "responseElements": None,
    }
    rec.update(extra)
    return rec


def grants(res: Resolution) -> set[tuple[str, str]]:
    return {(p.action, p.resource) for p in res.permissions}


def actions(res: Resolution) -> set[str]:
    return {p.action for p in res.permissions}


def assert_granted(res: Resolution, expected: set[tuple[str, str]], *,
                   unknown: tuple[str, ...] = ()) -> None:
    """``res`` grants exactly ``expected``, and reports as undetermined the resources of
    the actions in ``unknown`` (and of no other)."""
    assert grants(res) == expected
    assert res.unknown_resource == unknown
