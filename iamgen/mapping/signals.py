"""Records that matter whoever made them: logging switched off, resources opened to everyone.

:func:`signals_of` reads one whole decoded CloudTrail record and returns the
:class:`Signal` s it raises (none for most records): a trail stopped, deleted
or narrowed, Bedrock model invocation logging deleted or changed, a bucket
policy, ACL, resource policy, Lambda permission or function URL opened to
everyone. Which (eventSource, eventName) raise which finding code, and the
function that reads each, are data (``[[signal]]`` of ``data/ai_lens.toml``);
the scanner calls :func:`signals_of` only for records whose lower-cased
eventName is in :func:`signal_event_names`, by any caller (AWS services and
other accounts included), and counts each distinct signal with its evidence.

Only successful calls raise signals. Pure, and tolerant: a record of an
unexpected shape raises nothing rather than an error.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ..model import Principal
from .identity import principal_of


@dataclass(frozen=True, slots=True, order=True)
class Signal:
    """One account-wide finding raised by a record.

    ``principal``: who made the call (a role, user or root ARN, else what
    ``userIdentity`` says: ``AWS service ...``, ``account ...``);
    ``subject``: what it was done to (a trail, bucket, function, ...);
    ``detail``: what exactly (``grants s3:GetObject to everyone``), stable
    across records so that equal signals are counted together.
    """

    code: str
    principal: str
    subject: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class SignalRule:
    """A ``[[signal]]`` entry of ``data/ai_lens.toml``."""

    check: str
    code: str
    event_source: str
    event_names: tuple[str, ...]
    policy_params: tuple[str, ...] = ()
    subject_params: tuple[str, ...] = ()


CONDITIONAL_SUFFIX = "_CONDITIONAL"
"""A policy check's code for a grant to everyone under a condition (``AI_RESOURCE_PUBLIC_CONDITIONAL``)."""


@cache
def lens_data() -> Mapping[str, Any]:
    """``data/ai_lens.toml``, parsed (read on first use; the AI lens,
    :mod:`iamgen.ai_lens`, reads its other tables from here too)."""
    text = resources.files("iamgen.data").joinpath("ai_lens.toml").read_text("utf-8")
    return tomllib.loads(text)


@cache
def signal_rules() -> tuple[SignalRule, ...]:
    """The ``[[signal]]`` entries (read on first use)."""
    return tuple(
        SignalRule(str(raw["check"]), str(raw["code"]), str(raw["event_source"]),
                   tuple(map(str, raw["event_names"])), tuple(map(str, raw.get("policy_params", ()))),
                   tuple(map(str, raw.get("subject_params", ()))))
        for raw in lens_data().get("signal", []))


@cache
def _rules_by_event() -> Mapping[tuple[str, str], tuple[SignalRule, ...]]:
    table: dict[tuple[str, str], list[SignalRule]] = {}
    for rule in signal_rules():
        for name in rule.event_names:
            table.setdefault((rule.event_source, name.lower()), []).append(rule)
    return {key: tuple(found) for key, found in table.items()}


@cache
def signal_event_names() -> frozenset[str]:
    """The lower-cased eventNames that can raise a signal."""
    return frozenset(name for _, name in _rules_by_event())


def signals_of(record: Mapping[str, Any]) -> tuple[Signal, ...]:
    """The signals one record raises, sorted (none for a failed call)."""
    if record.get("errorCode"):
        return ()
    source, name = record.get("eventSource"), record.get("eventName")
    if not isinstance(source, str) or not isinstance(name, str):
        return ()
    rules = _rules_by_event().get((source, name.lower()))
    if not rules:
        return ()
    params = record.get("requestParameters")
    params = params if isinstance(params, Mapping) else {}
    actor = actor_of(record)
    found: set[Signal] = set()
    for rule in rules:
        for code, subject, detail in _CHECKS[rule.check](record, params, rule):
            found.add(Signal(code, actor, subject, detail))
    return tuple(sorted(found))


def actor_of(record: Mapping[str, Any]) -> str:
    """Who made the call: the principal's ARN, else what ``userIdentity`` tells."""
    who = principal_of(record)
    if isinstance(who, Principal):
        return who.arn
    identity = record.get("userIdentity")
    if not isinstance(identity, Mapping):
        return "unknown caller"
    if isinstance(identity.get("invokedBy"), str) and identity.get("type") in ("AWSService", None):
        return f"AWS service {identity['invokedBy']}"
    if isinstance(identity.get("arn"), str):
        return identity["arn"]
    if isinstance(identity.get("accountId"), str):
        return f"account {identity['accountId']} ({identity.get('type') or 'unknown type'})"
    return f"{identity.get('type') or 'unknown'} caller"


# --- the checks: (record, requestParameters, rule) -> (code, subject, detail)... ----------

Found = list[tuple[str, str, str]]


def _first(params: Mapping[str, Any], names: Sequence[str]) -> Any:
    for name in names:
        value = params.get(name)
        if value not in (None, "", [], {}):
            return value
    return None


def _subject(params: Mapping[str, Any], rule: SignalRule, default: str = "") -> str:
    value = _first(params, rule.subject_params)
    return value if isinstance(value, str) else default


def _trail(record: Mapping[str, Any], params: Mapping[str, Any]) -> str:
    value = _first(params, ("name", "trailName"))
    return f"trail {value}" if isinstance(value, str) else "a trail"


def _invocation_logging_in(record: Mapping[str, Any]) -> str:
    return f"model invocation logging in {record.get('awsRegion') or '?'}"


def _always(record: Mapping[str, Any], params: Mapping[str, Any], rule: SignalRule) -> Found:
    return [(rule.code, _trail(record, params), "")]


def _invocation_logging_deleted(record: Mapping[str, Any], params: Mapping[str, Any],
                                rule: SignalRule) -> Found:
    return [(rule.code, _invocation_logging_in(record), "")]


def _trail_update(record: Mapping[str, Any], params: Mapping[str, Any],
                  rule: SignalRule) -> Found:
    changed = sorted(key for key in params if key != "name")
    return [(rule.code, _trail(record, params),
             f"set {', '.join(changed)}" if changed else "")]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _event_selectors(record: Mapping[str, Any], params: Mapping[str, Any],
                     rule: SignalRule) -> Found:
    basic = _listed(_first(params, ("eventSelectors", "EventSelectors")))
    advanced = _listed(_first(params, ("advancedEventSelectors", "AdvancedEventSelectors")))
    if not basic and not advanced:
        return []
    data = management = False
    for selector in basic:
        if not isinstance(selector, Mapping):
            continue
        if _listed(_first(selector, ("dataResources", "DataResources"))):
            data = True
        if selector.get("includeManagementEvents",
                        selector.get("IncludeManagementEvents", True)) is not False:
            management = True
    for selector in advanced:
        if not isinstance(selector, Mapping):
            continue
        for field in _listed(_first(selector, ("fieldSelectors", "FieldSelectors"))):
            if not isinstance(field, Mapping):
                continue
            if str(field.get("field", field.get("Field", ""))) != "eventCategory":
                continue
            equals = _listed(field.get("equals", field.get("Equals")))
            data = data or "Data" in equals
            management = management or "Management" in equals
    dropped = [what for what, kept in (("data events", data), ("management events", management))
               if not kept]
    if not dropped:
        return []
    return [(rule.code, _trail(record, params), f"records no {' and no '.join(dropped)}")]


_DELIVERIES = (("textDataDeliveryEnabled", "text"), ("imageDataDeliveryEnabled", "image"),
               ("embeddingDataDeliveryEnabled", "embedding"),
               ("videoDataDeliveryEnabled", "video"))


def _invocation_logging(record: Mapping[str, Any], params: Mapping[str, Any],
                        rule: SignalRule) -> Found:
    config = params.get("loggingConfig")
    config = config if isinstance(config, Mapping) else {}
    off = [name for key, name in _DELIVERIES if config.get(key) is False]
    to = [name for key, name in (("s3Config", "S3"), ("cloudWatchConfig", "CloudWatch Logs"))
          if config.get(key)]
    parts = []
    if off:
        parts.append(f"no longer delivers {', '.join(off)} data")
    parts.append(f"delivers to {' and '.join(to)}" if to else "names no destination")
    return [(rule.code, _invocation_logging_in(record), "; ".join(parts))]


def _everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        value = principal.get("AWS")
        return value == "*" or (isinstance(value, list) and "*" in value)
    return False


def _document(value: Any) -> Mapping[str, Any] | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, Mapping) else None


def _policy_document(record: Mapping[str, Any], params: Mapping[str, Any],
                     rule: SignalRule) -> Found:
    document = _document(_first(params, rule.policy_params))
    if document is None:
        return []
    statements = document.get("Statement")
    statements = [statements] if isinstance(statements, Mapping) else _listed(statements)
    subject = _subject(params, rule, "a resource")
    found: Found = []
    for statement in statements:
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        if not _everyone(statement.get("Principal")):
            continue
        actions = statement.get("Action", statement.get("NotAction", "*"))
        actions = ", ".join(sorted(map(str, actions))) if isinstance(actions, list) else str(actions)
        condition = statement.get("Condition")
        if isinstance(condition, Mapping) and condition:
            keys = sorted({str(key) for block in condition.values() if isinstance(block, Mapping)
                           for key in block})
            found.append((rule.code + CONDITIONAL_SUFFIX, subject,
                          f"grants {actions} to everyone if {', '.join(keys)}"))
        else:
            found.append((rule.code, subject, f"grants {actions} to everyone"))
    return found


_PUBLIC_ACLS = frozenset({"public-read", "public-read-write", "authenticated-read"})
_PUBLIC_GROUPS = ("acs.amazonaws.com/groups/global/AllUsers",
                  "acs.amazonaws.com/groups/global/AuthenticatedUsers")


def _bucket_acl(record: Mapping[str, Any], params: Mapping[str, Any], rule: SignalRule) -> Found:
    subject = _subject(params, rule, "a bucket")
    canned = params.get("x-amz-acl")
    if isinstance(canned, str) and canned in _PUBLIC_ACLS:
        return [(rule.code, subject, f"canned ACL {canned}")]
    policy = params.get("AccessControlPolicy")
    text = json.dumps(policy, sort_keys=True, default=str) if policy is not None else ""
    groups = [group.rsplit("/", 1)[-1] for group in _PUBLIC_GROUPS if group in text]
    if groups:
        return [(rule.code, subject, f"ACL grant to {', '.join(groups)}")]
    return []


_BLOCKS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def _public_access_block(record: Mapping[str, Any], params: Mapping[str, Any],
                         rule: SignalRule) -> Found:
    subject = _subject(params, rule, "a bucket")
    if str(record.get("eventName", "")).lower().startswith("delete"):
        return [(rule.code, subject, "public access block removed")]
    config = params.get("PublicAccessBlockConfiguration")
    config = config if isinstance(config, Mapping) else {}
    off = [name for name in _BLOCKS if config.get(name) is False]
    return [(rule.code, subject, f"turned off {', '.join(off)}")] if off else []


def _lambda_permission(record: Mapping[str, Any], params: Mapping[str, Any],
                       rule: SignalRule) -> Found:
    if params.get("principal") != "*":
        return []
    subject = _subject(params, rule, "a function")
    action = params.get("action") if isinstance(params.get("action"), str) else "an action"
    if params.get("functionUrlAuthType") == "NONE":
        return [(rule.code, subject, f"{action} for everyone through a function URL without "
                 "authentication")]
    narrowing = [key for key in ("sourceArn", "sourceAccount", "principalOrgID")
                 if params.get(key)]
    if narrowing:
        return [(rule.code + CONDITIONAL_SUFFIX, subject,
                 f"{action} for everyone if {', '.join(narrowing)}")]
    return [(rule.code, subject, f"{action} for everyone")]


def _function_url(record: Mapping[str, Any], params: Mapping[str, Any],
                  rule: SignalRule) -> Found:
    if params.get("authType") != "NONE":
        return []
    return [(rule.code, _subject(params, rule, "a function"),
             "function URL without authentication (AuthType NONE)")]


Check = Callable[[Mapping[str, Any], Mapping[str, Any], SignalRule], Found]

_CHECKS: dict[str, Check] = {
    "always": _always,
    "trail_update": _trail_update,
    "event_selectors": _event_selectors,
    "invocation_logging": _invocation_logging,
    "invocation_logging_deleted": _invocation_logging_deleted,
    "policy_document": _policy_document,
    "bucket_acl": _bucket_acl,
    "public_access_block": _public_access_block,
    "lambda_permission": _lambda_permission,
    "function_url": _function_url,
}


def check_names() -> frozenset[str]:
    """The checks a ``[[signal]]`` entry may name."""
    return frozenset(_CHECKS)
