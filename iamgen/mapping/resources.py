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
from typing import Any, NamedTuple

from ..arn import literal, literal_arn
from ..catalog import ResourceTypeRef
from .rules import ParamSpec, PlaceholderSpecs, placeholder_specs

_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
_ARN_TRANSFORMS = frozenset({"before_pipe", "log_group_name"})
# A default spec's first paths are the placeholder's own names (camelCase, as written).
_OWN_DEFAULT_PATHS = 2
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


class CallerFacts(NamedTuple):
    """What resolving a call reads of its ``userIdentity``, and nothing more.

    The JSON values as logged (``None`` when absent or when ``userIdentity``
    is not an object), except the ARN, of which only its partition matters
    (``None`` when it is not an ARN). Immutable; a named tuple rather than a
    frozen dataclass because one is built for every record resolved (a frozen
    dataclass takes about 0.9 µs to build, this 0.2 µs).
    """

    type: Any = None
    invoked_by: Any = None
    account: Any = None
    partition: str | None = None


NO_CALLER = CallerFacts()


def caller_facts(identity: Any) -> CallerFacts:
    """The :class:`CallerFacts` of a ``userIdentity`` value."""
    if not isinstance(identity, dict):
        return NO_CALLER
    arn = identity.get("arn")
    partition = (arn.split(":", 2)[1] or "aws") if isinstance(arn, str) and arn.startswith("arn:") \
        else None
    return CallerFacts(identity.get("type"), identity.get("invokedBy"), identity.get("accountId"),
                       partition)


class Call(NamedTuple):
    """Everything :func:`iamgen.mapping.resolve.resolve` reads of a record.

    Fields hold the record's values as logged (``None`` when absent). The
    resolver sees a record only through this, so two records with equal
    calls always resolve alike (the scanner's memo relies on it). A named
    tuple for the reason given at :class:`CallerFacts`.
    """

    caller: CallerFacts
    event_type: Any = None
    event_source: Any = None
    event_name: Any = None
    region: Any = None  # awsRegion
    recipient: Any = None  # recipientAccountId
    params: Any = None  # requestParameters
    response: Any = None  # responseElements
    resources: Any = None


def call_of(record: Mapping[str, Any]) -> Call:
    """The :class:`Call` of a record (a mapping of its top-level fields)."""
    get = record.get
    return Call(  # positional: a named tuple builds faster so
        caller_facts(get("userIdentity")), get("eventType"), get("eventSource"),
        get("eventName"), get("awsRegion"), get("recipientAccountId"),
        get("requestParameters"), get("responseElements"), get("resources"),
    )


# What the resolver may do with a request (or response) object besides reading
# named members: see :class:`Observed`.
SAW_ARN_VALUES = ("arn_values",)  # every top-level value that is an ARN (or a list)
SAW_ROLE_WALK = ("role_walk",)  # role ARNs under keys naming a role, at any depth
SAW_ALL = ("all",)  # anything else: the whole object


def saw_any_case(name: str) -> tuple[str, str]:
    """The note for a look-up of the members whose name is ``name`` in any case."""
    return ("any_case", name.lower())


class Observed(dict[str, Any]):
    """A request (or response) object that notes how the resolver looks at it.

    ``seen`` collects the member names read (present or not) and the notes
    above. The scanner uses it to remember a resolution under only what it
    depended on (:mod:`iamgen.scanning.memo`). Whole-object uses that are not
    one of the noted kinds note :data:`SAW_ALL`; the number of members is
    not noted (the memo key always holds it).
    """

    __slots__ = ("seen",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        super().__init__(data)
        self.seen: set[Any] = set()

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.seen.add(key)
        return dict.get(self, key, default)

    def __getitem__(self, key: str) -> Any:
        self.seen.add(key)
        return dict.__getitem__(self, key)

    def __contains__(self, key: object) -> bool:
        self.seen.add(key)
        return dict.__contains__(self, key)

    def plain(self, note: Any) -> dict[str, Any]:
        """A plain copy, for a whole-object use the caller names with ``note``."""
        self.seen.add(note)
        return dict(dict.items(self))

    def _all(self) -> dict[str, Any]:
        self.seen.add(SAW_ALL)
        return dict(dict.items(self))

    def __iter__(self) -> Any:
        return iter(self._all())

    def keys(self) -> Any:  # type: ignore[override]
        return self._all().keys()

    def values(self) -> Any:  # type: ignore[override]
        return self._all().values()

    def items(self) -> Any:  # type: ignore[override]
        return self._all().items()

    def copy(self) -> dict[str, Any]:
        return self._all()

    def __eq__(self, other: object) -> bool:
        return self._all() == other

    def __ne__(self, other: object) -> bool:
        return self._all() != other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._all())

    def __reduce_ex__(self, protocol: Any) -> Any:
        return self._all().__reduce_ex__(protocol)

    def __or__(self, other: Any) -> Any:
        return self._all() | other

    def __ror__(self, other: Any) -> Any:
        return other | self._all()

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("request parameters are read-only while resolving")

    __setitem__ = __delitem__ = __ior__ = _refuse
    pop = popitem = setdefault = update = clear = _refuse  # type: ignore[assignment]


def _plain(data: Mapping[str, Any], note: Any) -> Mapping[str, Any]:
    """``data`` for a whole-object use named by ``note`` (noted when observed)."""
    return data.plain(note) if type(data) is Observed else data


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

    def param_any_case(self, name: str) -> Any:
        """The top-level request parameter named ``name`` in any case (the
        last such member, when several differ only in case)."""
        params = self.params
        if type(params) is Observed:
            # Only the members of this name (in any case) are looked at.
            params.seen.add(saw_any_case(name))
            members = dict.items(params)
        else:
            members = params.items()
        if self._lowered is None:
            self._lowered = {k.lower(): v for k, v in members if isinstance(k, str)}
        return self._lowered.get(name.lower())

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
    if how == "log_group_name":
        # A log group named by its ARN (logGroupIdentifier): the name, without ":*".
        if value.startswith("arn:"):
            parts = value.split(":", 6)
            return parts[6].removesuffix(":*") if len(parts) == 7 and parts[5] == "log-group" \
                else None
        return value
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
    is_arn = raw.startswith("arn:")
    # A name as logged is literal: a *, ? or ${ in it must not act as a wildcard
    # (transforms below may then add wildcards of their own, as a secret's -??????).
    value: str | None = literal_arn(raw) if is_arn else literal(raw)
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
    own_only: bool = False,
    origin: dict[str, str] | None = None,
) -> list[str]:
    """Values for one placeholder. ``taken`` holds the request paths earlier
    placeholders of the same ARN used: one request value never fills two
    placeholders (Glue DeleteDatabase's ``name`` is the database, not a table).
    The path used is added to it. ``own_only``: only parameters named after
    the placeholder itself (or listed for it in the data), no fallback.
    ``origin`` gets the region and account of a parent's ARN a value was cut
    from (a log group named by its ARN, in another account)."""
    found: list[str] = []
    paths = spec.parsed[:_OWN_DEFAULT_PATHS] if own_only and spec.rule_id == "default" \
        else spec.parsed
    for path in paths:
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
                if origin is not None and raw.__class__ is str and raw.startswith("arn:") \
                        and not value.startswith("arn:"):
                    parts = raw.split(":", 5)
                    if len(parts) == 6:
                        origin.setdefault("Region", parts[3])
                        origin.setdefault("Account", parts[4])
        if found:
            if taken is not None:
                taken.add(path.where)
            return found
    if own_only:
        return found
    if any_case and spec.rule_id == "default":
        # Parameter names differ in case across services (dBSnapshotIdentifier).
        used = {key.lower() for response, key in taken or () if not response}
        for path in spec.parsed:
            if path.key and path.key.lower() in used:  # any case: the same member
                continue
            if path.key and not path.response and (single or not path.optional):
                value = _clean(ctx.param_any_case(path.key), spec)
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
    claimed: dict[str, list[str]] = {}
    origin: dict[str, str] = {}
    if not single:
        # A parameter named after a placeholder is that placeholder's before any
        # other takes it as a fallback (GetLogEvents' logStreamName is the
        # stream, never the group).
        for name in tpl.names:
            claimed[name] = _param_values(ctx, specs.get(name), single, any_case, taken,
                                          own_only=True, origin=origin)
    for name in tpl.names:
        values = claimed.get(name) or _param_values(ctx, specs.get(name), single, any_case,
                                                    taken, notes, origin=origin)
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
        # Where a value was cut from a parent's ARN, the ARN is in that parent's
        # region and account; an owner the data names still decides the account.
        values = {**origin, **combo} if origin else combo
        out.append(tpl.fill(ctx, values if owner is None else {**values, "Account": owner}))
    return out


def arns_from_record(tpl: ArnTemplate, ctx: RecordContext) -> list[str]:
    """ARNs in the record's ``resources[]`` block that have this template's shape."""
    return [arn for arn in ctx.resource_arns if tpl.matches(arn)]


def context_of(record: Mapping[str, Any]) -> RecordContext:
    """Partition, region, account, parameters and ``resources[]`` ARNs of a record."""
    return context_of_call(call_of(record))


def context_of_call(call: Call) -> RecordContext:
    """Partition, region, account, parameters and ``resources[]`` ARNs of a call."""
    caller = call.caller
    region = call.region if isinstance(call.region, str) else ""
    account = call.recipient
    if not isinstance(account, str) or not account:
        account = caller.account if isinstance(caller.account, str) else ""
    if caller.partition is not None:
        partition = caller.partition
    elif region.startswith("cn-"):
        partition = "aws-cn"
    elif region.startswith("us-gov-"):
        partition = "aws-us-gov"
    else:
        partition = "aws"
    arns: list[str] = []
    listed = call.resources
    if isinstance(listed, list):
        for item in listed:
            if isinstance(item, dict):
                value = item.get("ARN") or item.get("arn")
                if isinstance(value, str) and value.startswith("arn:"):
                    arns.append(literal_arn(value))
    params, response = call.params, call.response
    return RecordContext(
        partition=partition,
        region=region,
        account=account,
        params=_unwrapped(params) if isinstance(params, dict) else {},
        response=_unwrapped(response) if isinstance(response, dict) else {},
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
    for value in _plain(data, SAW_ARN_VALUES).values():
        if isinstance(value, str):
            if value.startswith("arn:"):
                found.append(literal_arn(value))
        elif isinstance(value, list):
            found.extend(literal_arn(v) for v in value if isinstance(v, str) and v.startswith("arn:"))
    return tuple(found)
