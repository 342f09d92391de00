"""One CloudTrail record -> the IAM permissions that authorized it.

The decision is made in this order, and every step is named in
``Resolution.rules`` for ``iamgen explain``:

1. eventType / userIdentity: service events, sign-in events and calls by AWS
   service principals need no grant.
2. eventSource -> IAM prefix (``service_aliases.toml``), then eventName ->
   action: an ``event_overrides.toml`` entry, else the catalog action of the
   same name (case-insensitive), else the name without an API-version suffix
   (``CreateFunction20150331`` -> ``lambda:CreateFunction``) when that is a
   real action. Nothing else is guessed: unknown calls are ``unresolved``.
3. Resources: ARNs in the request, ARNs built from request parameters with the
   catalog's ARN formats, else the record's ``resources[]``; ``"*"`` when the
   action takes none, or when none could be found (then listed in
   ``unknown_resource``).
4. What CloudTrail never shows: ``iam:PassRole`` for roles handed to a service,
   ``kms:ViaService`` for KMS calls a service made for the principal.

The principal is not decided here (see :mod:`iamgen.ingest.identity`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..catalog import ActionInfo, load_catalog
from ..model import Condition, Permission, Resolution
from .handlers import HANDLERS, Need
from .resources import (
    RecordContext,
    arns_from_params,
    arns_from_record,
    context_of,
    templates_of,
)
from .rules_data import (
    EventRule,
    event_rules,
    event_type_rules,
    kms_caller_exceptions,
    pass_role_settings,
    service_aliases,
)

_VERSION_SUFFIX = re.compile(r"^(?P<base>[A-Za-z][A-Za-z0-9]*?)(?P<suffix>\d{8}(?:v\d+)?)$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")
_SERVICE_HOST = ".amazonaws.com"


@dataclass(frozen=True, slots=True)
class _Plan:
    """How every record of one (eventSource, eventName) is resolved."""

    actions: tuple[ActionInfo, ...] = ()
    rule: str = ""
    no_grant: str | None = None
    handler: str | None = None
    unresolved: bool = False


def service_prefix(event_source: str) -> str:
    """The IAM service prefix for a CloudTrail eventSource."""
    alias = service_aliases().get(event_source)
    if alias is not None:
        return alias
    return event_source.removesuffix(_SERVICE_HOST)


@lru_cache(maxsize=65536)
def _plan(event_source: str, event_name: str) -> _Plan:
    catalog = load_catalog()
    entry: EventRule | None = event_rules().get((event_source, event_name.lower()))
    if entry is not None:
        if entry.no_grant is not None:
            return _Plan(rule=entry.rule_id, no_grant=entry.no_grant)
        infos = tuple(i for i in (catalog.action(a) for a in entry.actions) if i is not None)
        if entry.handler is None and len(infos) != len(entry.actions):
            return _Plan(rule=entry.rule_id, unresolved=True)
        return _Plan(actions=infos, rule=entry.rule_id, handler=entry.handler)
    prefix = service_prefix(event_source)
    info = catalog.action(f"{prefix}:{event_name}")
    if info is not None:
        return _Plan(actions=(info,), rule=f"catalog:{info.full_name}")
    match = _VERSION_SUFFIX.match(event_name)
    if match:
        info = catalog.action(f"{prefix}:{match['base']}")
        if info is not None:
            return _Plan(
                actions=(info,),
                rule=f"catalog:{info.full_name} (API version suffix {match['suffix']} removed)",
            )
    return _Plan(unresolved=True)


@lru_cache(maxsize=8192)
def _templates(full_name: str) -> tuple[Any, ...]:
    info = load_catalog().action(full_name)
    if info is None:
        return ()
    return templates_of(info.service, info.resource_types)


def resources_for(info: ActionInfo, ctx: RecordContext) -> tuple[tuple[str, ...], bool]:
    """The ARNs ``info`` applies to in this record, and whether they are unknown.

    ``("*",), False`` for actions that take no resource; ``("*",), True`` when
    the action takes one but the record does not say which.
    """
    if not info.resource_types:
        return ("*",), False
    templates = _templates(info.full_name)
    found: list[str] = []
    covered: set[str] = set()
    for tpl in templates:
        arns = [a for a in ctx.param_arns if tpl.matches(a)] or arns_from_params(tpl, ctx)
        if arns:
            covered.add(tpl.resource_type)
            found.extend(a for a in arns if a not in found)
    for tpl in templates:
        if tpl.resource_type in covered:
            continue
        arns = arns_from_record(tpl, ctx)
        if arns:
            covered.add(tpl.resource_type)
            found.extend(a for a in arns if a not in found)
    if not found:
        return ("*",), True
    return tuple(found), False


def resolve(record: Mapping[str, Any]) -> Resolution:
    """Which IAM actions, on which resources, authorized this record's call.

    Pure and total: odd input gives ``unresolved`` or ``"*"`` resources, never
    an exception. Records with an ``errorCode`` are resolved like the others.
    """
    try:
        return _resolve(record)
    except (AttributeError, KeyError, TypeError, ValueError, IndexError):
        return Resolution(unresolved=True, rules=("error:malformed_record",))


def _resolve(record: Mapping[str, Any]) -> Resolution:
    if not isinstance(record, Mapping):
        return Resolution(unresolved=True, rules=("error:not_a_record",))
    event_type = record.get("eventType")
    if isinstance(event_type, str):
        reason = event_type_rules().get(event_type)
        if reason is not None:
            return Resolution(no_grant=reason, rules=(f"event_overrides:event_type:{event_type}",))
    identity = record.get("userIdentity")
    if isinstance(identity, Mapping) and identity.get("type") == "AWSService":
        return Resolution(no_grant="aws_service_caller", rules=("identity:AWSService",))
    source = record.get("eventSource")
    name = record.get("eventName")
    if not isinstance(source, str) or not isinstance(name, str) or not source or not name:
        return Resolution(unresolved=True, rules=("error:no_event_name",))
    plan = _plan(source, name)
    if plan.no_grant is not None:
        return Resolution(no_grant=plan.no_grant, rules=(plan.rule,))
    if plan.unresolved:
        return Resolution(unresolved=True, rules=(plan.rule,) if plan.rule else ())
    ctx = context_of(record)
    rules = [plan.rule]
    permissions: list[Permission] = []
    unknown: list[str] = []

    def add(info: ActionInfo, arns: tuple[str, ...] | None) -> None:
        if arns is None:
            arns, missing = resources_for(info, ctx)
        else:
            missing = arns == ("*",) and info.takes_resource
        if missing and info.full_name not in unknown:
            unknown.append(info.full_name)
        for arn in arns:
            permissions.append(Permission(info.full_name, arn))

    if plan.handler is None:
        for info in plan.actions:
            add(info, None)
    else:
        by_name = {i.full_name.lower(): i for i in plan.actions}
        for need in HANDLERS[plan.handler](ctx):
            if need.note:
                rules.append(f"{plan.handler}:{need.note}")
            targets = plan.actions if not need.action else (by_name.get(need.action.lower()),)
            for info in targets:
                if info is not None:
                    add(info, need.resources)
    permissions.extend(_pass_role(source, name, ctx, plan, rules))
    permissions = _with_kms_via_service(permissions, identity, ctx, rules)
    return Resolution(
        permissions=tuple(dict.fromkeys(permissions)),
        rules=tuple(dict.fromkeys(rules)),
        unknown_resource=tuple(unknown),
    )


def _role_values(data: Any, key: str, depth: int, out: list[tuple[str, str]]) -> None:
    if depth > 4:
        return
    if isinstance(data, Mapping):
        for k, v in data.items():
            if isinstance(k, str):
                _role_values(v, k, depth + 1, out)
    elif isinstance(data, list):
        for v in data:
            _role_values(v, key, depth + 1, out)
    elif isinstance(data, str) and "role" in key.lower() and _ROLE_ARN.match(data):
        out.append((key, data))


def _pass_role(
    source: str, name: str, ctx: RecordContext, plan: _Plan, rules: list[str]
) -> list[Permission]:
    setting = pass_role_settings().get(source)
    passed_to = source
    if setting is not None:
        if not setting.event_names or name.lower() in setting.event_names:
            if setting.passed_to is None:
                return []
            passed_to = setting.passed_to
    found: list[tuple[str, str]] = []
    _role_values(ctx.params, "", 0, found)
    if not found:
        return []
    out: list[Permission] = []
    condition = (Condition("StringEquals", "iam:PassedToService", (passed_to,)),)
    for key, arn in found:
        out.append(Permission("iam:PassRole", arn, condition))
        rules.append(f"pass_role:{key}->{passed_to}")
    return out


def _with_kms_via_service(
    permissions: list[Permission], identity: Any, ctx: RecordContext, rules: list[str]
) -> list[Permission]:
    if not isinstance(identity, Mapping):
        return permissions
    invoked_by = identity.get("invokedBy")
    if (
        not isinstance(invoked_by, str)
        or not invoked_by.endswith(_SERVICE_HOST)
        or invoked_by in kms_caller_exceptions()
        or not any(p.action.startswith("kms:") for p in permissions)
    ):
        return permissions
    service = invoked_by.removesuffix(_SERVICE_HOST)
    if "." not in service and ctx.region:
        service = f"{service}.{ctx.region}"
    condition = Condition("StringEquals", "kms:ViaService", (f"{service}{_SERVICE_HOST}",))
    rules.append(f"kms_via_service:{invoked_by}")
    return [
        Permission(p.action, p.resource, (*p.conditions, condition))
        if p.action.startswith("kms:")
        else p
        for p in permissions
    ]
