"""ARN templates: the catalog's ARN formats, compiled once, filled and matched.

``arn:${Partition}:lambda:${Region}:${Account}:function:${FunctionName}`` is
split into literal text and placeholders; :meth:`ArnTemplate.fill` builds an
ARN from a record's context and placeholder values, :meth:`ArnTemplate.matches`
tells whether a concrete ARN has the template's shape.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

from ..catalog import ResourceTypeRef
from .context import RecordContext

_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
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
                out.append(values.get("Region", ctx.region))
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
        fixed = arn_format[pos : match.start()]
        if fixed:
            pieces.append((False, fixed))
            regex.append(re.escape(fixed))
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


def arns_from_record(tpl: ArnTemplate, ctx: RecordContext) -> list[str]:
    """ARNs in the record's ``resources[]`` block that have this template's shape."""
    return [arn for arn in ctx.resource_arns if tpl.matches(arn)]
