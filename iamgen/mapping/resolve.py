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
   action takes none (or is a List action whose resource types are all
   optional), or when none could be found (then listed in
   ``unknown_resource``, with the data entry that found no value in ``rules``).
4. What CloudTrail never shows: ``iam:PassRole`` for roles handed to a service,
   ``kms:ViaService`` for KMS calls a service made for the principal.

The principal is not decided here (see :mod:`iamgen.mapping.identity`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..arn import literal, literal_arn
from ..catalog import ActionInfo, load_catalog
from ..model import Condition, Permission, Resolution
from .handlers import HANDLERS
from .call import Call, call_of
from .context import RecordContext, context_of_call
from .params import arns_from_params
from .paths import values_at
from .reads import NO_TRACKING, ROLE_WALK, ReadTracker
from .templates import ArnTemplate, arns_from_record, template, templates_of
from .transforms import log_group_any, secret_name
from .rules import (
    CorrelationRule,
    EventRule,
    PlaceholderSpecs,
    RequestAction,
    created_type,
    event_rules,
    event_type_rules,
    kms_caller_exceptions,
    correlation_rules,
    pass_role_settings,
    placeholder_specs,
    request_actions,
    service_aliases,
)

_VERSION_SUFFIX = re.compile(r"^(?P<base>[A-Za-z][A-Za-z0-9]*?)(?P<suffix>\d{8}(?:v\d+)?)$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[^:]*:role/.+$")
_SERVICE_HOST = ".amazonaws.com"


@dataclass(frozen=True, slots=True)
class _Step:
    """One action of a plan, with its ARN templates resolved once."""

    info: ActionInfo
    name: str  # info.full_name, lower-cased
    templates: tuple[tuple[ArnTemplate, PlaceholderSpecs], ...]
    # Whether "*" for this action means a resource went undetermined. Not for
    # List actions whose resource types are all optional in the SAR: they
    # enumerate, name no single resource, and "*" is what the SAR allows.
    needs_resource: bool = False


@dataclass(frozen=True, slots=True)
class _Plan:
    """How every record of one (eventSource, eventName) is resolved."""

    steps: tuple[_Step, ...] = ()
    rule: str = ""
    no_grant: str | None = None
    handler: str | None = None
    unresolved: bool = False
    passed_to: str | None = None  # receiving service for iam:PassRole; None: never
    role_name_paths: tuple[str, ...] = ()  # request paths that may name a role by name
    is_kms: bool = False
    extras: tuple[tuple[RequestAction, str], ...] = ()  # (extra action, its rule)


# Only calls that change a resource can hand it a role to act as: actions at
# these access levels (SAR "Access level") are checked for role ARNs.
_ROLE_PASSING_LEVELS = frozenset({"Write", "Permissions management"})


def service_prefix(event_source: str) -> str:
    """The IAM service prefix for a CloudTrail eventSource."""
    alias = service_aliases().get(event_source)
    if alias is not None:
        return alias
    return event_source.removesuffix(_SERVICE_HOST)


def _step(info: ActionInfo) -> _Step:
    action = info.full_name.lower()
    return _Step(
        info=info,
        name=action,
        templates=tuple(
            (tpl, placeholder_specs(tpl.service, tpl.resource_type, action))
            for tpl in templates_of(info.service, info.resource_types)
        ),
        needs_resource=bool(info.resource_types)
        and (info.access_level != "List" or any(rt.required for rt in info.resource_types)),
    )


def _passed_to(event_source: str, event_name: str, infos: tuple[ActionInfo, ...]) -> str | None:
    if not any(i.access_level in _ROLE_PASSING_LEVELS for i in infos):
        return None
    setting = pass_role_settings().get(event_source)
    if setting is not None and (
        not setting.event_names or event_name.lower() in setting.event_names
    ):
        return setting.passed_to
    return event_source


def _actions_plan(
    event_source: str, event_name: str, infos: tuple[ActionInfo, ...], rule: str,
    handler: str | None = None,
) -> _Plan:
    names = {i.full_name.lower() for i in infos}
    extras = tuple(
        (extra, f"request_action:{extra.path}->{extra.action}")
        for extra in request_actions()
        if extra.when_actions & names
    )
    setting = pass_role_settings().get(event_source)
    return _Plan(
        steps=tuple(_step(i) for i in infos),
        rule=rule,
        handler=handler,
        passed_to=_passed_to(event_source, event_name, infos),
        role_name_paths=setting.role_name_paths if setting is not None else (),
        is_kms=service_prefix(event_source) == "kms",
        extras=extras,
    )


@lru_cache(maxsize=65536)
def _plan(event_source: str, event_name: str) -> _Plan:
    catalog = load_catalog()
    entry: EventRule | None = event_rules().get((event_source, event_name.lower()))
    if entry is not None:
        if entry.no_grant is not None:
            return _Plan(rule=entry.rule_id, no_grant=entry.no_grant)
        infos = tuple(i for i in (catalog.action(a) for a in entry.actions) if i is not None)
        if len(infos) != len(entry.actions):
            return _Plan(rule=entry.rule_id, unresolved=True)
        return _actions_plan(event_source, event_name, infos, entry.rule_id, entry.handler)
    prefix = service_prefix(event_source)
    info = catalog.action(f"{prefix}:{event_name}")
    if info is not None:
        return _actions_plan(event_source, event_name, (info,), f"catalog:{info.full_name}")
    match = _VERSION_SUFFIX.match(event_name)
    if match:
        info = catalog.action(f"{prefix}:{match['base']}")
        if info is not None:
            rule = f"catalog:{info.full_name} (API version suffix {match['suffix']} removed)"
            return _actions_plan(event_source, event_name, (info,), rule)
    entry = event_rules().get((event_source, "*"))
    if entry is not None:
        infos = tuple(i for i in (catalog.action(a) for a in entry.actions) if i is not None)
        return _actions_plan(event_source, event_name, infos, entry.rule_id, entry.handler)
    return _Plan(unresolved=True)


def resources_for(info: ActionInfo, ctx: RecordContext) -> tuple[tuple[str, ...], bool]:
    """The ARNs ``info`` applies to in this record, and whether they are unknown.

    For each of the action's resource types, the first source that yields ARNs
    of its shape wins: the record's ``resources[]``, ARNs in the request,
    ARNs built from request parameters, ARNs in the response.

    ``("*",), False`` for actions that take no resource, and for List
    actions whose resource types are all optional in the Service
    Authorization Reference when none is named (``sagemaker:ListModelPackages``);
    ``("*",), True`` when the action takes a resource but the record does
    not say which.
    """
    return _resources(_step(info), ctx)


def _resources(
    step: _Step, ctx: RecordContext, rules: list[str] | None = None
) -> tuple[tuple[str, ...], bool]:
    """See :func:`resources_for`; data entries that decided (a default, a
    value the record lacks) are named in ``rules``."""
    if not step.templates:
        return _ANY, False
    found: list[str] = []
    covered: set[str] = set()
    for tpl, specs in step.templates:
        if tpl.resource_type in covered:
            continue
        arns = (
            arns_from_record(tpl, ctx)
            or [_as_authorized(tpl, a, step.name) for a in ctx.request_arns if tpl.matches(a)]
            or arns_from_params(tpl, ctx, specs, notes=rules)
            or [a for a in ctx.response_arns if tpl.matches(a)]
        )
        if arns:
            covered.add(tpl.resource_type)
            found.extend(a for a in arns if a not in found)
    if not found:
        # Last resort: parameter names that differ only in case from the placeholder.
        for tpl, specs in step.templates:
            found.extend(a for a in arns_from_params(tpl, ctx, specs, any_case=True) if a not in found)
    if not found:
        if step.needs_resource and rules is not None:
            rules.extend(
                f"{rule}: no value in this record"
                for tpl, specs in step.templates
                for rule in (specs.get(name).rule_id for name in tpl.names)
                if rule != "default"
            )
        return _ANY, step.needs_resource
    return tuple(found), False


_ANY = ("*",)


def _resource_type(arn: str) -> str:
    """An ARN's resource type: its resource part up to the first / or :."""
    return re.split(r"[/:]", arn.split(":", 5)[-1], maxsplit=1)[0]


def _filled(arn_format: str, ctx: RecordContext, value: str) -> str:
    """An extra action's ARN for a request value that is not an ARN (its
    characters literal: a * or ? in it is no wildcard)."""
    return (arn_format.replace("${Partition}", ctx.partition).replace("${Region}", ctx.region)
            .replace("${Account}", ctx.account).replace("${Value}", literal(value)))


def _as_authorized(tpl: ArnTemplate, arn: str, action: str) -> str:
    """A whole ARN from the request as the call ``action`` (lower-case) is
    authorized on it: a partial secret ARN (SecretId without AWS's six
    characters) ends in six ?, a log group's ARN in :* (as CloudWatch Logs
    matches it, but for the tagging actions, which take it without)."""
    if tpl.service == "secretsmanager" and tpl.resource_type.lower() == "secret":
        return secret_name(arn)
    if tpl.service == "logs" and tpl.resource_type.lower() == "log-group" \
            and action not in _LOG_GROUP_TAGGING:
        return log_group_any(arn)
    return arn


# API_LogGroup: these "require the ARN version that doesn't include a trailing :*".
_LOG_GROUP_TAGGING = frozenset({"logs:tagresource", "logs:untagresource",
                                "logs:listtagsforresource"})


def resolve(record: Mapping[str, Any]) -> Resolution:
    """Which IAM actions, on which resources, authorized this record's call.

    Pure and total: odd input gives ``unresolved`` or ``"*"`` resources, never
    an exception. Records with an ``errorCode`` are resolved like the others.
    Only the record's :class:`~iamgen.mapping.call.Call` is read.
    """
    if not isinstance(record, Mapping):
        return Resolution(unresolved=True, rules=("error:not_a_record",))
    try:
        call = call_of(record)
    except (AttributeError, KeyError, TypeError, ValueError, IndexError):
        return _MALFORMED
    return resolve_call(call)


def resolve_call(call: Call, tracker: ReadTracker = NO_TRACKING) -> Resolution:
    """:func:`resolve` for a record's :class:`~iamgen.mapping.call.Call`
    (``tracker`` hears of every whole-object use of its request and response:
    :mod:`iamgen.mapping.reads`)."""
    try:
        return _resolve_call(call, tracker)
    except (AttributeError, KeyError, TypeError, ValueError, IndexError):
        return _MALFORMED


_MALFORMED = Resolution(unresolved=True, rules=("error:malformed_record",))


def _resolve_call(call: Call, tracker: ReadTracker) -> Resolution:
    event_type = call.event_type
    if event_type is not None and event_type != "AwsApiCall":
        reason = event_type_rules().get(event_type) if isinstance(event_type, str) else None
        if reason is not None:
            return Resolution(no_grant=reason, rules=(f"event_overrides:event_type:{event_type}",))
    caller = call.caller
    if caller.type == "AWSService":
        return Resolution(no_grant="aws_service_caller", rules=("identity:AWSService",))
    source = call.event_source
    name = call.event_name
    if not isinstance(source, str) or not isinstance(name, str) or not source or not name:
        return Resolution(unresolved=True, rules=("error:no_event_name",))
    plan = _plan(source, name)
    if plan.no_grant is not None:
        return Resolution(no_grant=plan.no_grant, rules=(plan.rule,))
    if plan.unresolved:
        return Resolution(unresolved=True, rules=(plan.rule,) if plan.rule else ())
    ctx = context_of_call(call, tracker)
    rules = [plan.rule]
    permissions: list[Permission] = []
    unknown: list[str] = []
    if plan.handler is None:
        for step in plan.steps:
            arns, missing = _resources(step, ctx, rules)
            _add(permissions, unknown, step.info, arns, missing)
    else:
        for need in HANDLERS[plan.handler](ctx, name):
            if need.note:
                rules.append(f"{plan.handler}:{need.note}")
            wanted = need.action.lower()
            for step in plan.steps:
                if wanted and wanted != step.name:
                    continue
                if need.resources is None:
                    arns, missing = _resources(step, ctx, rules)
                else:
                    arns = need.resources
                    missing = arns == _ANY and step.needs_resource
                _add(permissions, unknown, step.info, arns, missing)
    for extra, rule in plan.extras:
        if extra.on_call and not any(values_at(ctx.params, extra.path)):
            arns = []
        elif extra.on_call and extra.arn_format:  # on what the format names, not the call's
            arns = [_filled(extra.arn_format, ctx, "")]
        elif extra.on_call:
            arns = [p.resource for p in permissions if p.action.lower() in extra.when_actions
                    and (not extra.created_only or p.resource == "*"
                         or _resource_type(p.resource) == created_type(p.action))]
        else:
            arns = [literal_arn(v) if v.startswith("arn:") else _filled(extra.arn_format, ctx, v)
                    for v in values_at(ctx.params, extra.path)
                    if isinstance(v, str) and v and (extra.arn_format or v.startswith("arn:"))]
        action = extra.action
        if arns:
            rules.append(rule)
            permissions.extend(Permission(action, arn) for arn in arns)
            if "*" in arns and action not in unknown:
                unknown.append(action)  # the call's own resource was not determinable
    if plan.passed_to is not None:
        permissions.extend(_pass_role(plan.passed_to, ctx, rules, plan.role_name_paths))
    if plan.is_kms and caller.invoked_by:
        permissions = _with_kms_via_service(permissions, caller.invoked_by, ctx, rules)
    announces, awaits = _correlation(source, name, ctx, permissions, unknown, rules)
    return Resolution(
        permissions=tuple(dict.fromkeys(permissions)) if len(permissions) > 1 else tuple(permissions),
        rules=tuple(dict.fromkeys(rules)),
        unknown_resource=tuple(unknown),
        announces=announces,
        awaits=awaits,
    )


def _correlation(source: str, name: str, ctx: RecordContext, permissions: list[Permission],
                 unknown: list[str], rules: list[str]
                 ) -> tuple[tuple[str, str, tuple[str, ...]] | None, tuple[str, str] | None]:
    """What the call announces, or waits for, by id (``data/correlations.toml``)."""
    producers, consumers = correlation_rules()
    announces = awaits = None
    producer = producers.get((source, name.lower()))
    if producer is not None:
        found = _correlation_id(producer, ctx)
        shapes = _type_templates(service_prefix(source), producer.resource_type)
        resources = tuple(sorted({p.resource for p in permissions
                                  if any(t.matches(p.resource) for t in shapes)}))
        if found is not None and resources:
            announces = (producer.kind, found, resources)
            rules.append(f"correlations:announces {producer.kind}")
    consumer = consumers.get((source, name.lower()))
    if consumer is not None and unknown:
        found = _correlation_id(consumer, ctx)
        if found is not None:
            awaits = (consumer.kind, found)
            rules.append(f"correlations:awaits {consumer.kind}")
    return announces, awaits


@lru_cache(maxsize=64)
def _type_templates(service: str, resource_type: str) -> tuple[ArnTemplate, ...]:
    """The ARN templates of one resource type of a service (any case)."""
    formats = load_catalog().resource_arn_formats(service)
    return tuple(template(service, name, arn_format)
                 for name, arn_formats in formats.items() if name.lower() == resource_type.lower()
                 for arn_format in arn_formats)


def _correlation_id(rule: CorrelationRule, ctx: RecordContext) -> str | None:
    value = (ctx.response if rule.in_response else ctx.params).get(rule.key)
    return value if isinstance(value, str) and value else None


def actions_of_event(event_source: str, event_name: str) -> tuple[str, ...]:
    """Every IAM action a call of this kind may need (catalog spelling), whatever
    its parameters; () when it needs none or is not known."""
    if not event_source or not event_name:
        return ()
    plan = _plan(event_source, event_name)
    return tuple(step.info.full_name for step in plan.steps)


def _add(
    permissions: list[Permission], unknown: list[str], info: ActionInfo,
    arns: tuple[str, ...], missing: bool,
) -> None:
    name = info.full_name
    if missing and name not in unknown:
        unknown.append(name)
    permissions.extend(Permission(name, arn) for arn in arns)


def _role_arns(ctx: RecordContext) -> list[tuple[str, str]]:
    """(parameter name, role ARN) for every role ARN under a key naming a role."""
    params = ctx.tracker.whole(ctx.params, ROLE_WALK)
    found: list[tuple[str, str]] = []
    stack: list[tuple[str, Any, int]] = [("", params, 0)]
    while stack:
        key, value, depth = stack.pop()
        if isinstance(value, str):
            if ":role/" in value and "role" in key.lower() and _ROLE_ARN.match(value):
                found.append((key, value))
        elif depth < 5:
            if isinstance(value, dict):
                stack.extend((k, v, depth + 1) for k, v in value.items() if isinstance(k, str))
            elif isinstance(value, list):
                stack.extend((key, v, depth + 1) for v in value)
    found.sort()
    return found


def _pass_role(
    passed_to: str, ctx: RecordContext, rules: list[str], role_name_paths: tuple[str, ...] = ()
) -> list[Permission]:
    found = _role_arns(ctx)
    for path in role_name_paths:
        for name in values_at(ctx.params, path):
            if isinstance(name, str) and name and not name.startswith("arn:") and "/" not in name:
                found.append((path, f"arn:{ctx.partition}:iam::{ctx.account}:role/{name}"))
    if not found:
        return []
    condition = (Condition("StringEquals", "iam:PassedToService", (passed_to,)),)
    out: list[Permission] = []
    for key, arn in found:
        out.append(Permission("iam:PassRole", arn, condition))
        rules.append(f"pass_role:{key}->{passed_to}")
    return out


def _with_kms_via_service(
    permissions: list[Permission], invoked_by: Any, ctx: RecordContext, rules: list[str]
) -> list[Permission]:
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
