"""Parameter transforms: how a logged value becomes a placeholder's value.

``iamgen/data/resource_params.toml`` names them per placeholder
(``transforms = ["strip_leading_slash"]``); each is a function from the value
to the value to use, or None when the value does not fit this placeholder.
A name the data uses that is not registered here is an error when the rule
data loads (:func:`iamgen.mapping.rules.placeholder_specs`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

Transform = Callable[[str], "str | None"]


def _lower(value: str) -> str | None:
    return value.lower()


def _strip_leading_slash(value: str) -> str | None:
    return value.removeprefix("/")


def _last_path_segment(value: str) -> str | None:
    return value.rstrip("/").rsplit("/", 1)[-1] or None


def secret_name(value: str) -> str:
    """A secret's name or ARN as its full ARN matches it (see below)."""
    # A secret's ARN ends in "-" plus six random characters: a bare name, or a
    # partial ARN (one without them, which SecretId takes too), gets six "?".
    # A name that itself ends in "-" and six letters or digits cannot be told
    # from a full ARN; AWS warns against such names for this very reason.
    if value.startswith("arn:"):
        return value if _SECRET_SUFFIX.search(value.split(":", 6)[-1]) else f"{value}-??????"
    return f"{value}-??????"


_SECRET_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")


def _not_alias(value: str) -> str | None:
    return None if value.startswith("alias/") else value


def _alias_only(value: str) -> str | None:
    return value if value.startswith("alias/") else None


def _strip_alias_prefix(value: str) -> str | None:
    return value.removeprefix("alias/")


def _log_group_name(value: str) -> str | None:
    # A log group named by its ARN (logGroupIdentifier): the name, without ":*".
    if value.startswith("arn:"):
        parts = value.split(":", 6)
        return parts[6].removesuffix(":*") if len(parts) == 7 and parts[5] == "log-group" \
            else None
    return value


def log_group_any(value: str) -> str:
    """A log group's name or ARN as IAM matches the group: ending in ``:*``."""
    return value if value.endswith(":*") else f"{value}:*"


def _before_pipe(value: str) -> str | None:
    return value.split("|", 1)[0]


def _lambda_function_name(value: str) -> str | None:
    # name, name:qualifier, or the partial ARN 123456789012:function:name[:qualifier]:
    # the function's name (an invocation keeps its qualifier: handlers.lambda_invoke)
    if ":function:" in value:
        value = value.split(":function:", 1)[1]
    return value.removeprefix("function:").split(":", 1)[0] or None


def _flow_id(value: str) -> str | None:
    # A Bedrock flow's id, or its ARN (arn:...:flow/ID): the id.
    if value.startswith("arn:"):
        resource = value.split(":", 5)[-1]
        return resource.split("/", 1)[1] if resource.startswith("flow/") \
            and resource.count("/") == 1 else None
    return value


def _managed_instance_id(value: str) -> str | None:
    return value if value.startswith("mi-") else None


def _s3_bucket_of_path(value: str) -> str | None:
    return value.lstrip("/").split("/", 1)[0] or None


def _glue_child_catalog(value: str) -> str | None:
    # catalogId: an account id names the account's root catalog (no name);
    # "<account>:<catalog path>" or "<catalog path>" names a child catalog.
    owner, colon, rest = value.partition(":")
    name = rest if colon and owner.isdigit() else value
    return None if name.isdigit() else name or None


TRANSFORMS: dict[str, Transform] = {
    "lower": _lower,
    "strip_leading_slash": _strip_leading_slash,
    "last_path_segment": _last_path_segment,
    "secret_name": secret_name,
    "not_alias": _not_alias,
    "alias_only": _alias_only,
    "strip_alias_prefix": _strip_alias_prefix,
    "log_group_name": _log_group_name,
    "log_group_any": log_group_any,
    "before_pipe": _before_pipe,
    "lambda_function_name": _lambda_function_name,
    "managed_instance_id": _managed_instance_id,
    "flow_id": _flow_id,
    "s3_bucket_of_path": _s3_bucket_of_path,
    "glue_child_catalog": _glue_child_catalog,
}

# The transforms that also apply to a value that is already an ARN.
ARN_TRANSFORMS = frozenset({"before_pipe", "log_group_name", "secret_name", "flow_id"})
