"""The resolution rules that are data: ``iamgen/data/*.toml``, typed and cached.

Each file is read on first use through :mod:`importlib.resources`, never at
import. Every entry carries a ``note`` and an AWS ``source`` URL; the tests in
``tests/test_overrides_data.py`` hold the files to that and check every
target action against the catalog.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from .transforms import TRANSFORMS


@dataclass(frozen=True, slots=True)
class EventRule:
    """What one (eventSource, eventName) needs when it is not the same-named action."""

    event_source: str
    event_name: str
    actions: tuple[str, ...]
    no_grant: str | None
    handler: str | None
    note: str
    source: str

    @property
    def rule_id(self) -> str:
        """The name ``iamgen explain`` prints for this entry."""
        service = self.event_source.removesuffix(".amazonaws.com")
        return f"event_overrides:{service}:{self.event_name}"


@dataclass(frozen=True, slots=True)
class ParamPath:
    """One parsed path: where to look, and whether it needs a walk."""

    optional: bool  # "?name": only for ARN formats with a single placeholder
    response: bool  # "@response.": look in responseElements
    key: str  # the first step
    rest: str  # the remaining dotted path ("" when the key alone is the path)

    @property
    def where(self) -> tuple[bool, str]:
        """Which request (or response) value the path reads."""
        return (self.response, self.key or self.rest)


def _parse_path(path: str) -> ParamPath:
    optional = path.startswith("?")
    path = path.lstrip("?")
    response = path.startswith("@response.")
    path = path.removeprefix("@response.")
    if "." in path or path.endswith("[]"):
        return ParamPath(optional, response, "", path)
    return ParamPath(optional, response, path, "")


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """Where a ``${Placeholder}`` value is found, and how it is cleaned."""

    paths: tuple[str, ...]
    transforms: tuple[str, ...] = ()
    default: str | None = None
    rule_id: str = "default"
    parsed: tuple[ParamPath, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parsed", tuple(_parse_path(p) for p in self.paths))


@dataclass(frozen=True, slots=True)
class PassRoleSetting:
    """How calls to one service hand roles over (``iam:PassRole``)."""

    event_source: str
    passed_to: str | None  # the service principal; None: the call passes no role
    event_names: tuple[str, ...]  # empty: every call of the service
    note: str
    source: str
    role_name_paths: tuple[str, ...] = ()  # request paths that may hold a bare role name


@cache
def _load(name: str) -> dict[str, Any]:
    text = resources.files("iamgen.data").joinpath(name).read_text(encoding="utf-8")
    return tomllib.loads(text)


@cache
def event_rules() -> Mapping[tuple[str, str], EventRule]:
    """(eventSource, lower-cased eventName) -> the override entry."""
    table: dict[tuple[str, str], EventRule] = {}
    for entry in _load("event_overrides.toml").get("event", []):
        for name in entry["event_names"]:
            table[(entry["event_source"], name.lower())] = EventRule(
                event_source=entry["event_source"],
                event_name=name,
                actions=tuple(entry.get("actions", ())),
                no_grant=entry.get("no_grant"),
                handler=entry.get("handler"),
                note=entry["note"],
                source=entry["source"],
            )
    return table


@cache
def event_type_rules() -> Mapping[str, str]:
    """CloudTrail ``eventType`` values that are never a principal's API call -> reason."""
    return {
        e["event_type"]: e["no_grant"]
        for e in _load("event_overrides.toml").get("event_type", [])
    }


@cache
def service_aliases() -> Mapping[str, str]:
    """eventSource -> IAM service prefix, where the two differ."""
    return {
        e["event_source"]: e["prefix"] for e in _load("service_aliases.toml").get("alias", [])
    }


@cache
def _param_table() -> Mapping[tuple[str, str, str, str], ParamSpec]:
    """(service, resource type, placeholder, lower-cased action or "*") -> spec."""
    return param_table(_load_resource_params().get("param", []))


def param_table(entries: list[dict[str, Any]]) -> dict[tuple[str, str, str, str], ParamSpec]:
    """The ``[[param]]`` entries of ``resource_params.toml`` as a table keyed by
    (service, resource type, placeholder, lower-cased action or "*").
    Raises ValueError for a transform no code implements."""
    table: dict[tuple[str, str, str, str], ParamSpec] = {}
    for entry in entries:
        service = entry.get("service", "*")
        rtype = entry.get("resource_type", "*").lower()
        placeholder = entry["placeholder"]
        base = f"resource_params:{service}:{rtype}:{placeholder}"
        transforms = tuple(entry.get("transforms", ()))
        unknown = [name for name in transforms if name not in TRANSFORMS]
        if unknown:
            raise ValueError(f"resource_params.toml: {base}: unknown transform {unknown[0]!r} "
                             f"(known: {', '.join(sorted(TRANSFORMS))})")
        for action in entry.get("actions", ("*",)):
            table[(service, rtype, placeholder, action.lower())] = ParamSpec(
                paths=tuple(entry["paths"]),
                transforms=transforms,
                default=entry.get("default"),
                rule_id=base if action == "*" else f"{base}[{action}]",
            )
    return table


def _camel(words: str) -> str:
    parts = [p for p in words.replace("_", "-").replace("/", "-").split("-") if p]
    if not parts:
        return ""
    return parts[0][:1].lower() + parts[0][1:] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


def _default_paths(placeholder: str, resource_type: str) -> tuple[str, ...]:
    """Where an unlisted placeholder is looked for: its own name, then the
    resource type's name with Name/Id/Identifier/Arn, then (single-placeholder
    ARNs only, marked "?") a plain ``name``."""
    own = placeholder[:1].lower() + placeholder[1:]
    base = _camel(resource_type)
    paths = [own, placeholder]
    if base:
        paths += [base + "Name", base + "Id", base + "Identifier", base + "Arn"]
    if placeholder.endswith("Name"):
        paths += ["?name", "?Name"]
    return tuple(dict.fromkeys(paths))


def _load_resource_params() -> dict[str, Any]:
    return _load("resource_params.toml")


@cache
def lowercase_services() -> frozenset[str]:
    """Services whose ARNs use lower-cased resource names (SageMaker)."""
    return frozenset(_load_resource_params().get("lowercase", {}).get("services", []))


# An owner_account value's account: an account id, one followed by ":...",
# or a URL whose last-but-one path segment is one (an SQS queue URL). An
# entry's own "pattern" (group 1 the account) replaces it.
_OWNER_DEFAULT = r"\A(?:[a-z]+://.*/)?([0-9]{12})(?::|/[^/]+/?\Z|\Z)"


class PlaceholderSpecs:
    """Placeholder -> :class:`ParamSpec` for one (service, resource type), as
    one action sees it (entries may be scoped to actions)."""

    __slots__ = ("_action", "_cache", "_owned", "_owner_paths", "_rtype", "_service")

    def __init__(self, service: str, resource_type: str, action: str = "*") -> None:
        self._service = service
        self._rtype = resource_type.lower()
        self._action = action.lower()
        self._cache: dict[str, ParamSpec] = {}
        self._owned = tuple(
            (e["placeholder"], tuple(e["prefixes"]))
            for e in _load_resource_params().get("aws_owned", [])
            if e["service"] == service and e["resource_type"].lower() == self._rtype
        )
        self._owner_paths = tuple(
            (path, re.compile(e.get("pattern", _OWNER_DEFAULT)))
            for e in _load_resource_params().get("owner_account", [])
            if e["service"] == service
            and self._rtype in {t.lower() for t in e.get("resource_types", [self._rtype])}
            for path in e["paths"]
        )

    def account_for(self, values: Mapping[str, str], params: Mapping[str, Any] | None = None) -> str | None:
        """The account the ARN names when it is not the record's: "" for an
        AWS-owned resource (ARN without account), the owner named by a
        request parameter (Glue ``catalogId``, ECR ``registryId``, an SQS
        queue URL, a partial Lambda ARN ``123456789012:function:name``), else None."""
        for placeholder, prefixes in self._owned:
            if values.get(placeholder, "").startswith(prefixes):
                return ""
        if params:
            for path, pattern in self._owner_paths:
                value = params.get(path)
                if isinstance(value, str):
                    found = pattern.search(value)
                    if found:
                        return found.group(1)
        return None

    def get(self, name: str) -> ParamSpec:
        """The spec for ``name``: the most specific data entry, else the camelCase key."""
        spec = self._cache.get(name)
        if spec is None:
            table = _param_table()
            spec = (
                table.get((self._service, self._rtype, name, self._action))
                or table.get((self._service, "*", name, self._action))
                or table.get((self._service, self._rtype, name, "*"))
                or table.get((self._service, "*", name, "*"))
                or table.get(("*", "*", name, "*"))
                or ParamSpec(paths=_default_paths(name, self._rtype))
            )
            if self._service in lowercase_services():
                spec = ParamSpec(
                    spec.paths, (*spec.transforms, "lower"), spec.default, spec.rule_id
                )
            self._cache[name] = spec
        return spec


@cache
def placeholder_specs(service: str, resource_type: str, action: str = "*") -> PlaceholderSpecs:
    """The placeholder lookup for one resource type, as ``action`` (lower-cased
    ``service:Name``, or "*" for any) sees it (cached)."""
    return PlaceholderSpecs(service, resource_type, action)


@cache
def pass_role_settings() -> Mapping[str, PassRoleSetting]:
    """eventSource -> how its calls pass roles (services not listed: to themselves)."""
    table: dict[str, PassRoleSetting] = {}
    for e in _load("pass_role.toml").get("service", []):
        table[e["event_source"]] = PassRoleSetting(
            event_source=e["event_source"],
            passed_to=e.get("passed_to") or None,
            event_names=tuple(n.lower() for n in e.get("event_names", ())),
            note=e["note"],
            source=e["source"],
            role_name_paths=tuple(e.get("role_name_paths", ())),
        )
    return table


@cache
def inference_geographies() -> Mapping[str, tuple[str, ...]]:
    """Cross-region inference profile prefix (``us``, ``eu``...) -> destination regions."""
    return {
        g["prefix"]: tuple(g["regions"])
        for g in _load("inference_regions.toml").get("geography", [])
    }


@cache
def kms_caller_exceptions() -> frozenset[str]:
    """``invokedBy`` values that do not name the service calling KMS for the principal."""
    return frozenset(_load("event_overrides.toml").get("kms_via_service", {}).get("not_a_service", []))


@dataclass(frozen=True, slots=True)
class RequestAction:
    """An extra action a call needs when its request names certain resources."""

    when_actions: frozenset[str]  # lower-cased catalog actions that trigger it
    path: str
    action: str
    note: str
    source: str
    # The ARN a value that is not one names: ${Partition}, ${Region},
    # ${Account} (the call's) and ${Value}; empty: only ARNs count. With
    # on_call: the ARN the extra action is on, instead of the call's resources.
    arn_format: str = ""
    # True: the extra action is on the resources of the call's own action (one
    # of when_actions) whenever the request holds a value at ``path`` (tags
    # given at creation need the tagging action on what is created).
    on_call: bool = False
    # With on_call: only the resource the call creates, the one whose ARN's
    # resource type is the action's name after "Create" (CreateEndpointConfig
    # -> endpoint-config), not those it only uses.
    created_only: bool = False


@cache
def request_actions() -> tuple[RequestAction, ...]:
    """Parameter-dependent extra actions (layers -> lambda:GetLayerVersion...)."""
    return tuple(
        RequestAction(
            when_actions=frozenset(a.lower() for a in e["when_actions"]),
            path=e["path"],
            action=e["action"],
            note=e["note"],
            source=e["source"],
            arn_format=e.get("arn_format", ""),
            on_call=e.get("on", "request") in ("call", "created"),
            created_only=e.get("on", "request") == "created",
        )
        for e in _load("event_overrides.toml").get("request_action", [])
    )


def created_type(action: str) -> str:
    """The resource type a Create action makes, as its ARNs write it:
    ``sagemaker:CreateEndpointConfig`` -> ``endpoint-config`` (a few are
    spelled otherwise: ``_CREATED_TYPES``)."""
    spelled = _CREATED_TYPES.get(action.lower())
    if spelled is not None:
        return spelled
    name = action.split(":", 1)[-1].removeprefix("Create")
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name).lower()


# Create actions whose ARNs do not spell the type as their names do.
_CREATED_TYPES = {
    "sagemaker:createautomljob": "automl-job",
    "sagemaker:createautomljobv2": "automl-job",
    "sagemaker:createtrial": "experiment-trial",
    "sagemaker:createtrialcomponent": "experiment-trial-component",
}


def derived_actions() -> frozenset[str]:
    """Actions a call may need besides its own, from its request
    (:func:`request_actions`), lower-cased: never proof that a trail records
    the data events they belong to."""
    return frozenset(extra.action.lower() for extra in request_actions())


@cache
def apigateway_rules() -> tuple[Mapping[str, str], tuple[tuple[str, str], ...]]:
    """API Gateway: operation prefix -> HTTP verb, and (parameter, path segment) pairs."""
    raw = _load("event_overrides.toml").get("apigateway", {})
    return dict(raw.get("verbs", {})), tuple((p, s) for p, s in raw.get("path", []))


@dataclass(frozen=True, slots=True)
class CorrelationRule:
    """One side of an id correlation (``correlations.toml``): where a call's
    id is, and what kind of id it is."""

    kind: str
    in_response: bool
    key: str
    resource_type: str = ""  # producers: the type of the resources they announce


@cache
def correlation_rules() -> tuple[Mapping[tuple[str, str], CorrelationRule],
                                 Mapping[tuple[str, str], CorrelationRule]]:
    """(producers, consumers): (eventSource, lower-cased eventName) -> rule."""
    data = _load("correlations.toml")
    tables: tuple[dict[tuple[str, str], CorrelationRule], ...] = ({}, {})
    for table, side in zip(tables, ("producer", "consumer"), strict=True):
        for entry in data.get(side, []):
            path = str(entry["id_path"])
            in_response = path.startswith("@response.")
            rule = CorrelationRule(str(entry["kind"]), in_response,
                                   path.removeprefix("@response."),
                                   str(entry.get("resource_type", "")))
            for name in entry["event_names"]:
                table[(entry["event_source"], str(name).lower())] = rule
    return tables[0], tables[1]
