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
from .rules_data import ParamSpec, PlaceholderSpecs, placeholder_specs

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
        "ModelPackageName",  # versioned packages: <group>/<version>
        "CatalogName",  # child catalogs: s3tablescatalog/<bucket>
        "SecretId",  # secret names may contain "/" (prod/db)
        "RepositoryName",  # ECR namespaces (ml-training/churn-xgboost)
        "Alias",  # KMS alias names (aws/s3)
        "OidcProviderName",  # oidc.eks.REGION.amazonaws.com/id/...
    }
)


class RecordContext:
    """The parts of a record every ARN is built from (computed once per record).

    ``request_arns`` and ``response_arns`` (top-level parameter values that
    are ARNs) are computed on first use only.
    """

    __slots__ = (
        "_lowered",
        "_request_arns",
        "_response_arns",
        "account",
        "params",
        "partition",
        "region",
        "resource_arns",
        "response",
    )

    def __init__(
        self,
        partition: str,
        region: str,
        account: str,
        params: Mapping[str, Any],
        response: Mapping[str, Any],
        resource_arns: tuple[str, ...],
    ) -> None:
        self.partition = partition
        self.region = region
        self.account = account
        self.params = params
        self.response = response
        self.resource_arns = resource_arns
        self._request_arns: tuple[str, ...] | None = None
        self._response_arns: tuple[str, ...] | None = None
        self._lowered: dict[str, Any] | None = None

    @property
    def lowered_params(self) -> dict[str, Any]:
        """Top-level request parameters keyed by lower-cased name."""
        if self._lowered is None:
            self._lowered = {k.lower(): v for k, v in self.params.items() if isinstance(k, str)}
        return self._lowered

    @property
    def request_arns(self) -> tuple[str, ...]:
        """Top-level request parameter values (or list items) that are ARNs."""
        if self._request_arns is None:
            self._request_arns = _top_level_arns(self.params)
        return self._request_arns

    @property
    def response_arns(self) -> tuple[str, ...]:
        """Top-level response element values (or list items) that are ARNs."""
        if self._response_arns is None:
            self._response_arns = _top_level_arns(self.response)
        return self._response_arns


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
        elif name in _PATHLIKE:
            regex.append(r".+")
        elif last:
            regex.append(r"[^/|]+")
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
            if not isinstance(node, dict):
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
        return value.removeprefix("/")
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
        return value.removeprefix("alias/")
    if how == "log_group_any":
        return value if value.endswith(":*") else f"{value}:*"
    if how == "before_pipe":
        return value.split("|", 1)[0]
    if how == "lambda_function_name":
        # name, name:qualifier, or the partial ARN 123456789012:function:name[:qualifier]
        if ":function:" in value:
            value = value.split(":function:", 1)[1]
        return value.split(":", 1)[0] or None
    if how == "managed_instance_id":
        return value if value.startswith("mi-") else None
    if how == "s3_bucket_of_path":
        return value.lstrip("/").split("/", 1)[0] or None
    if how == "glue_child_catalog":
        # catalogId: an account id names the account's root catalog (no name);
        # "<account>:<catalog path>" or "<catalog path>" names a child catalog.
        owner, colon, rest = value.partition(":")
        name = rest if colon and owner.isdigit() else value
        return None if name.isdigit() else name or None
    return value


def _clean(raw: Any, spec: ParamSpec) -> str | None:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str) or not raw:
        return None
    value: str | None = raw
    is_arn = raw.startswith("arn:")
    for how in spec.transforms:
        if value is None:
            break
        if is_arn and how not in _ARN_TRANSFORMS:
            continue
        value = _transform(value, how)
    return value


def _param_values(
    ctx: RecordContext,
    spec: ParamSpec,
    single: bool,
    any_case: bool = False,
    taken: set[tuple[bool, str]] | None = None,
    notes: list[str] | None = None,
) -> list[str]:
    """Values for one placeholder. ``taken`` holds the request paths earlier
    placeholders of the same ARN used: one request value never fills two
    placeholders (Glue DeleteDatabase's ``name`` is the database, not a table).
    The path used is added to it."""
    found: list[str] = []
    for path in spec.parsed:
        if path.optional and not single:
            continue
        if taken and path.where in taken:
            continue
        source = ctx.response if path.response else ctx.params
        if path.key:
            raw = source.get(path.key)
            if raw is None:
                continue
            raws = raw if isinstance(raw, list) else (raw,)
        else:
            raws = values_at(source, path.rest)
        for raw in raws:
            value = _clean(raw, spec)
            if value and value not in found:
                found.append(value)
        if found:
            if taken is not None:
                taken.add(path.where)
            return found
    if any_case and spec.rule_id == "default":
        # Parameter names differ in case across services (dBSnapshotIdentifier).
        lowered = ctx.lowered_params
        for path in spec.parsed:
            if path.key and not path.response and (single or not path.optional):
                value = _clean(lowered.get(path.key.lower()), spec)
                if value:
                    return [value]
    if spec.default is not None:
        found.append(spec.default)
        if notes is not None:
            notes.append(f"{spec.rule_id}: default {spec.default}")
    return found


_MAX_COMBINATIONS = 200


def arns_from_params(
    tpl: ArnTemplate,
    ctx: RecordContext,
    specs: PlaceholderSpecs | None = None,
    any_case: bool = False,
    notes: list[str] | None = None,
) -> list[str]:
    """ARNs built by filling ``tpl`` from request (and response) parameters.

    A parameter that already holds an ARN of this shape is used as it is.
    With ``any_case``, unlisted placeholders also match parameter names that
    differ in case (``dBSnapshotIdentifier``). Returns [] when any
    placeholder cannot be filled. Defaults used are named in ``notes``.
    """
    if specs is None:
        specs = placeholder_specs(tpl.service, tpl.resource_type)
    if not tpl.names:
        owner = specs.account_for({}, ctx.params)
        return [tpl.fill(ctx, {} if owner is None else {"Account": owner})]
    single = len(tpl.names) == 1
    choices: list[tuple[str, list[str]]] = []
    complete = True
    taken: set[tuple[bool, str]] | None = None if single else set()
    for name in tpl.names:
        values = _param_values(ctx, specs.get(name), single, any_case, taken, notes)
        full = [v for v in values if v.startswith("arn:")]
        if full:
            # A whole ARN (functionName, secretId, stateMachineArn...) decides alone.
            return [v for v in full if tpl.matches(v)]
        if not values:
            complete = False
        choices.append((name, values))
    if not complete:
        return []
    combos: list[dict[str, str]] = [{}]
    for name, values in choices:
        combos = [{**c, name: v} for c in combos for v in values][:_MAX_COMBINATIONS]
    out = []
    for combo in combos:
        owner = specs.account_for(combo, ctx.params)
        out.append(tpl.fill(ctx, combo if owner is None else {**combo, "Account": owner}))
    return out


def arns_from_record(tpl: ArnTemplate, ctx: RecordContext) -> list[str]:
    """ARNs in the record's ``resources[]`` block that have this template's shape."""
    return [arn for arn in ctx.resource_arns if tpl.matches(arn)]


def context_of(record: Mapping[str, Any]) -> RecordContext:
    """Partition, region, account, parameters and ``resources[]`` ARNs of a record."""
    identity = record.get("userIdentity")
    identity = identity if isinstance(identity, dict) else {}
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
            if isinstance(item, dict):
                value = item.get("ARN") or item.get("arn")
                if isinstance(value, str) and value.startswith("arn:"):
                    arns.append(value)
    params = _unwrapped(params) if isinstance(params, dict) else {}
    response = _unwrapped(response) if isinstance(response, dict) else {}
    return RecordContext(
        partition=partition,
        region=region,
        account=account,
        params=params,
        response=response,
        resource_arns=tuple(arns),
    )


def _unwrapped(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """Newer EC2 records wrap parameters: {"DeleteFlowLogsRequest": {...}}."""
    if len(data) == 1:
        (key, inner), = data.items()
        if isinstance(key, str) and key.endswith(("Request", "Response")) and isinstance(inner, dict):
            return inner
    return data


def _top_level_arns(data: Mapping[str, Any]) -> tuple[str, ...]:
    found: list[str] = []
    for value in data.values():
        if isinstance(value, str):
            if value.startswith("arn:"):
                found.append(value)
        elif isinstance(value, list):
            found.extend(v for v in value if isinstance(v, str) and v.startswith("arn:"))
    return tuple(found)
