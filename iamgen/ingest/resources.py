"""Build the resource ARNs a permission applies to, from one CloudTrail record.

ARN shapes come from the catalog (``arn:${Partition}:lambda:${Region}:${Account}:function:${FunctionName}``);
the request parameters that fill each ``${Placeholder}`` come from
``iamgen/data/resource_params.toml``. Templates are compiled once per ARN
format and cached, so filling one costs a few dict lookups.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..catalog import ResourceTypeRef
from .rules_data import ParamSpec, placeholder_specs

_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
_ARN_TRANSFORMS = frozenset({"before_pipe"})
_CONTEXT = frozenset({"Partition", "Region", "Account"})
# Placeholders whose values may contain "/" (object keys, IAM paths, log groups...).
_PATHLIKE = frozenset(
    {
        "ObjectName",
        "RoleNameWithPath",
        "UserNameWithPath",
        "GroupNameWithPath",
        "PolicyNameWithPath",
        "InstanceProfileNameWithPath",
        "LogGroupName",
        "LogStreamName",
        "ParameterNameWithoutLeadingSlash",
        "RelativeId",
        "ResourceId",
    }
)


@dataclass(frozen=True, slots=True)
class RecordContext:
    """The parts of a record every ARN is built from (computed once per record)."""

    partition: str
    region: str
    account: str
    params: Mapping[str, Any]
    response: Mapping[str, Any]
    resource_arns: tuple[str, ...]
    param_arns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ArnTemplate:
    """One catalog ARN format, split into literal text and placeholders."""

    service: str
    resource_type: str
    arn_format: str
    pieces: tuple[tuple[bool, str], ...]  # (is_placeholder, text)
    names: tuple[str, ...]
    pattern: re.Pattern[str]

    def fill(self, ctx: RecordContext, values: Mapping[str, str]) -> str:
        """The ARN with context and ``values`` substituted (all must be present)."""
        out = []
        for is_name, text in self.pieces:
            if not is_name:
                out.append(text)
            elif text == "Partition":
                out.append(ctx.partition)
            elif text == "Region":
                out.append(ctx.region)
            elif text == "Account":
                out.append(values.get("Account", ctx.account))
            else:
                out.append(values[text])
        return "".join(out)

    def matches(self, arn: str) -> bool:
        """Whether a concrete ARN has this template's shape."""
        return self.pattern.fullmatch(arn) is not None


@cache
def template(service: str, resource_type: str, arn_format: str) -> ArnTemplate:
    """The compiled template for one catalog ARN format (cached)."""
    pieces: list[tuple[bool, str]] = []
    regex: list[str] = []
    names: list[str] = []
    pos = 0
    for match in _PLACEHOLDER.finditer(arn_format):
        literal = arn_format[pos : match.start()]
        if literal:
            pieces.append((False, literal))
            regex.append(re.escape(literal))
        name = match.group(1)
        pieces.append((True, name))
        if name not in _CONTEXT:
            names.append(name)
        last = match.end() == len(arn_format)
        if name == "Partition":
            regex.append(r"aws[a-z-]*")
        elif name in ("Region", "Account"):
            regex.append(r"[^:]*")
        elif name in _PATHLIKE or last:
            regex.append(r".+")
        else:
            regex.append(r"[^/:]+")
        pos = match.end()
    if pos < len(arn_format):
        pieces.append((False, arn_format[pos:]))
        regex.append(re.escape(arn_format[pos:]))
    return ArnTemplate(
        service=service,
        resource_type=resource_type,
        arn_format=arn_format,
        pieces=tuple(pieces),
        names=tuple(names),
        pattern=re.compile("".join(regex)),
    )


def templates_of(service: str, resource_types: Iterable[ResourceTypeRef]) -> tuple[ArnTemplate, ...]:
    """Every ARN template of an action's resource types, in catalog order."""
    return tuple(
        template(service, rt.name, fmt) for rt in resource_types for fmt in rt.arn_formats
    )


def values_at(data: Any, path: str) -> list[Any]:
    """The values at a dotted path; ``[]`` after a key walks every list item.

    ``values_at(p, "instancesSet.items[].instanceId")`` -> every instance id.
    Never raises: wrong types yield no values.
    """
    current: list[Any] = [data]
    for step in path.split("."):
        many = step.endswith("[]")
        key = step[:-2] if many else step
        found: list[Any] = []
        for node in current:
            if not isinstance(node, Mapping):
                continue
            value = node.get(key)
            if value is None:
                continue
            if many:
                if isinstance(value, list):
                    found.extend(v for v in value if v is not None)
                else:
                    found.append(value)
            else:
                found.append(value)
        current = found
        if not current:
            return []
    return current


def _transform(value: str, how: str) -> str | None:
    if how == "lower":
        return value.lower()
    if how == "strip_leading_slash":
        return value[1:] if value.startswith("/") else value
    if how == "last_path_segment":
        return value.rstrip("/").rsplit("/", 1)[-1] or None
    if how == "secret_name":
        # A bare name: the ARN ends in "-" plus six random characters.
        return f"{value}-??????"
    if how == "not_alias":
        return None if value.startswith("alias/") else value
    if how == "alias_only":
        return value if value.startswith("alias/") else None
    if how == "strip_alias_prefix":
        return value[len("alias/") :] if value.startswith("alias/") else value
    if how == "log_group_any":
        return value if value.endswith(":*") else f"{value}:*"
    if how == "before_pipe":
        return value.split("|", 1)[0]
    if how == "before_colon":
        return value.split(":", 1)[0]
    if how == "s3_bucket_of_path":
        return value.lstrip("/").split("/", 1)[0] or None
    return value


def _param_values(ctx: RecordContext, spec: ParamSpec) -> list[str]:
    found: list[str] = []
    for path in spec.paths:
        source = ctx.response if path.startswith("@response.") else ctx.params
        key = path.removeprefix("@response.")
        for raw in values_at(source, key):
            if isinstance(raw, (int, float)) and not isinstance(raw, bool):
                raw = str(raw)
            if not isinstance(raw, str) or not raw:
                continue
            value: str | None = raw
            is_arn = raw.startswith("arn:")
            for how in spec.transforms:
                if is_arn and how not in _ARN_TRANSFORMS:
                    continue
                if value is None:
                    break
                value = _transform(value, how)
            if value and value not in found:
                found.append(value)
        if found:
            break
    if not found and spec.default is not None:
        found.append(spec.default)
    return found


def arns_from_params(tpl: ArnTemplate, ctx: RecordContext) -> list[str]:
    """ARNs built by filling ``tpl`` from request (and response) parameters.

    A parameter that already holds an ARN of this shape is used as it is.
    Returns [] when any placeholder cannot be filled.
    """
    specs = placeholder_specs(tpl.service, tpl.resource_type)
    choices: list[tuple[str, list[str]]] = []
    for name in tpl.names:
        spec = specs.get(name)
        if spec is None:
            return []
        values = _param_values(ctx, spec)
        if not values:
            return []
        full = [v for v in values if v.startswith("arn:")]
        if full:
            if len(tpl.names) == 1:
                return [v for v in full if tpl.matches(v)]
            return [v for v in full if tpl.matches(v)] or []
        choices.append((name, values))
    if not choices and tpl.names:
        return []
    results: list[dict[str, str]] = [{}]
    for name, values in choices:
        results = [dict(r, **{name: v}) for r in results for v in values]
        if len(results) > 200:
            break
    arns = [tpl.fill(ctx, r) for r in results]
    return arns


def arns_from_record(tpl: ArnTemplate, ctx: RecordContext) -> list[str]:
    """ARNs in the record's ``resources[]`` block that have this template's shape."""
    return [arn for arn in ctx.resource_arns if tpl.matches(arn)]


def context_of(record: Mapping[str, Any]) -> RecordContext:
    """Partition, region, account, parameters and ``resources[]`` ARNs of a record."""
    identity = record.get("userIdentity")
    identity = identity if isinstance(identity, Mapping) else {}
    region = record.get("awsRegion")
    region = region if isinstance(region, str) else ""
    account = record.get("recipientAccountId")
    if not isinstance(account, str) or not account:
        account = identity.get("accountId")
        account = account if isinstance(account, str) else ""
    partition = "aws"
    arn = identity.get("arn")
    if isinstance(arn, str) and arn.startswith("arn:"):
        partition = arn.split(":", 2)[1] or "aws"
    elif region.startswith("cn-"):
        partition = "aws-cn"
    elif region.startswith("us-gov-"):
        partition = "aws-us-gov"
    params = record.get("requestParameters")
    response = record.get("responseElements")
    arns: list[str] = []
    listed = record.get("resources")
    if isinstance(listed, list):
        for item in listed:
            if isinstance(item, Mapping):
                value = item.get("ARN") or item.get("arn")
                if isinstance(value, str) and value.startswith("arn:"):
                    arns.append(value)
    params = params if isinstance(params, Mapping) else {}
    response = response if isinstance(response, Mapping) else {}
    return RecordContext(
        partition=partition,
        region=region,
        account=account,
        params=params,
        response=response,
        resource_arns=tuple(arns),
        param_arns=_top_level_arns(params) + _top_level_arns(response),
    )


def _top_level_arns(data: Mapping[str, Any]) -> tuple[str, ...]:
    found: list[str] = []
    for value in data.values():
        if isinstance(value, str):
            if value.startswith("arn:"):
                found.append(value)
        elif isinstance(value, list):
            found.extend(v for v in value if isinstance(v, str) and v.startswith("arn:"))
    return tuple(found)
