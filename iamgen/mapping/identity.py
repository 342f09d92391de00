"""Who made a call: CloudTrail ``userIdentity`` -> the IAM principal whose policy applies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..model import Principal, PrincipalKind

_SERVICE_TYPES = frozenset({"AWSService"})
_UNOWNED_TYPES = {
    "AWSAccount": "other_account_caller",
    "Unknown": "unknown_identity",
    "IdentityCenterUser": "identity_center_user",
    "SAMLUser": "federated_identity",
    "WebIdentityUser": "federated_identity",
    "Directory": "directory_user",
}


# At most this much of an identity type iamgen does not know is shown (a
# damaged record may hold megabytes there).
_TYPE_SHOWN = 64


def principal_of(record: Mapping[str, Any]) -> Principal | str:
    """The role, user or root whose identity policy governs the call, or a skip reason.

    Assumed-role sessions count for their role (``sessionContext.sessionIssuer``,
    or the role named in the session ARN when the issuer is missing); federated
    users count for the IAM user that issued them. Calls by AWS services,
    AWS-internal roles and other accounts' callers belong to nobody here.
    """
    identity = record.get("userIdentity")
    if not isinstance(identity, Mapping):
        return "missing_userIdentity"
    kind = identity.get("type")
    if kind is not None and not isinstance(kind, str):  # a list or an object: no type
        return "unknown_identity"
    if kind in _SERVICE_TYPES:
        return "service_call"
    if kind is None:
        # AWS's own service events (KMS RotateKey, ...) carry only accountId/invokedBy.
        return "service_event" if record.get("eventType") == "AwsServiceEvent" else "unknown_identity"
    if kind in _UNOWNED_TYPES:
        return _UNOWNED_TYPES[kind]
    if kind in ("AssumedRole", "FederatedUser"):
        return _issuer(identity)
    if kind == "IAMUser":
        return _named_identity(identity.get("arn"))
    if kind == "Root":
        account = identity.get("accountId") or _account_in(identity.get("arn"))
        if isinstance(account, str) and account.isdigit():
            partition = _partition_in(identity.get("arn"))
            return Principal(f"arn:{partition}:iam::{account}:root", PrincipalKind.ROOT)
        return "bad_identity_arn"
    return f"unsupported_identity:{kind[:_TYPE_SHOWN]}"


def _issuer(identity: Mapping[str, Any]) -> Principal | str:
    context = identity.get("sessionContext")
    issuer = context.get("sessionIssuer") if isinstance(context, Mapping) else None
    if isinstance(issuer, Mapping) and isinstance(issuer.get("arn"), str):
        arn = issuer["arn"]
        if issuer.get("type") == "Role" and ":role/" in arn:
            if _is_aws_internal_role(arn.rsplit("/", 1)[-1]):
                return "service_call"
            return Principal(arn, PrincipalKind.ROLE)
        if issuer.get("type") == "IAMUser" and ":user/" in arn:
            return Principal(arn, PrincipalKind.USER)
        if issuer.get("type") == "Root":
            return Principal(arn if arn.endswith(":root") else f"{arn}", PrincipalKind.ROOT)
    return _role_from_session_arn(identity.get("arn"))


def _named_identity(arn: Any) -> Principal | str:
    """An IAM user's ARN as logged. AWS's own examples sometimes log a role ARN
    or an ``sts`` user ARN here; the ARN is kept as written, typed by its path."""
    if not isinstance(arn, str) or not arn.startswith("arn:"):
        return "bad_identity_arn"
    if ":user/" in arn:
        return Principal(arn, PrincipalKind.USER)
    if ":role/" in arn:
        return Principal(arn, PrincipalKind.ROLE)
    if ":assumed-role/" in arn:
        return _role_from_session_arn(arn)
    return "bad_identity_arn"


def _role_from_session_arn(arn: Any) -> Principal | str:
    """``arn:aws:sts::ACCT:assumed-role/NAME/SESSION`` -> the role (path not logged)."""
    if not isinstance(arn, str):
        return "bad_identity_arn"
    parts = arn.split(":", 5)
    if len(parts) != 6 or not parts[5].startswith("assumed-role/"):
        return "bad_identity_arn"
    name = parts[5].split("/")[1] if parts[5].count("/") >= 1 else ""
    if not name:
        return "bad_identity_arn"
    if _is_aws_internal_role(name):
        return "service_call"
    return Principal(f"arn:{parts[1]}:iam::{parts[4]}:role/{name}", PrincipalKind.ROLE)


def _is_aws_internal_role(name: str) -> bool:
    # IAM role names cannot contain ':'; AWS-internal roles such as
    # ``aws:ec2-infrastructure`` appear in CloudTrail for calls AWS makes itself.
    return ":" in name


def _account_in(arn: Any) -> str | None:
    if isinstance(arn, str) and arn.count(":") >= 5:
        return arn.split(":")[4] or None
    return None


def _partition_in(arn: Any) -> str:
    if isinstance(arn, str) and arn.startswith("arn:"):
        return arn.split(":")[1] or "aws"
    return "aws"
