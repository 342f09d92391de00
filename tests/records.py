"""Build CloudTrail records and files shaped like AWS's own, for tests."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

ACCOUNT = "111122223333"


def role_identity(role: str, account: str = ACCOUNT, path: str = "/") -> dict[str, Any]:
    """userIdentity of an assumed-role session of ``role``."""
    return {
        "type": "AssumedRole",
        "principalId": "AROAEXAMPLEID:session",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/session",
        "accountId": account,
        "accessKeyId": "ASIAEXAMPLE",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROAEXAMPLEID",
                "arn": f"arn:aws:iam::{account}:role{path}{role}",
                "accountId": account,
                "userName": role,
            },
            "attributes": {"creationDate": "2026-11-02T00:00:00Z", "mfaAuthenticated": "false"},
        },
    }


def user_identity(user: str, account: str = ACCOUNT) -> dict[str, Any]:
    """userIdentity of an IAM user."""
    return {
        "type": "IAMUser",
        "principalId": "AIDAEXAMPLE",
        "arn": f"arn:aws:iam::{account}:user/{user}",
        "accountId": account,
        "accessKeyId": "AKIAEXAMPLE",
        "userName": user,
    }


def record(
    identity: dict[str, Any],
    source: str,
    name: str,
    params: dict[str, Any] | None = None,
    *,
    time: str = "2026-11-03T10:00:00Z",
    region: str = "us-east-1",
    account: str = ACCOUNT,
    error: str | None = None,
    resources: list[dict[str, str]] | None = None,
    response: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One CloudTrail record."""
    out: dict[str, Any] = {
        "eventVersion": "1.10",
        "userIdentity": identity,
        "eventTime": time,
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "Boto3/1.35.0",
        "requestParameters": params,
        "responseElements": response,
        "requestID": "00000000-0000-0000-0000-000000000000",
        "eventID": "00000000-0000-0000-0000-000000000001",
        "readOnly": name.startswith(("Get", "List", "Describe")),
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    if error:
        out["errorCode"] = error
        out["errorMessage"] = f"{error} for {name}"
    if resources is not None:
        out["resources"] = resources
    out.update(extra)
    return out


def write_trail_file(
    root: Path, records: list[dict[str, Any]], *, account: str = ACCOUNT,
    region: str = "us-east-1", day: str = "2026/11/03", stamp: str = "20261103T1000Z",
    suffix: str = "AbCdEfGh12345678", gz: bool = True,
) -> Path:
    """Write records as AWS delivers them: AWSLogs/ACCOUNT/CloudTrail/REGION/Y/M/D/..."""
    folder = root / "AWSLogs" / account / "CloudTrail" / region / day
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{account}_CloudTrail_{region}_{stamp}_{suffix}.json"
    body = json.dumps({"Records": records}).encode()
    if gz:
        path = folder / (name + ".gz")
        path.write_bytes(gzip.compress(body, mtime=0))
    else:
        path = folder / name
        path.write_bytes(body)
    return path


def trail_folder(tmp_path: Path, records: list[dict[str, Any]], **options: Any) -> Path:
    """``tmp_path``/trail holding one log file of ``records`` (``options``: write_trail_file's)."""
    root = tmp_path / "trail"
    write_trail_file(root, records, **options)
    return root
